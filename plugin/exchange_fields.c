/* exchange_fields.c
 * The foreign fields this plugin reads, and the only code that reads them.
 *
 * Other dissectors (TCP, DCE/RPC, EPM) already decode the wire; we ask
 * epan to keep their fields for us (set_postdissector_wanted_hfids) and read
 * them on the first pass only.  The table and exch_field_t stay in
 * lock-step, like transum's hf_of_interest.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#include <epan/proto.h>
#include <epan/ftypes/ftypes.h>

#include <string.h>

/* The protocol whose dissector adds a field: when it is not among the
 * frame's layers the field cannot be in its tree, and the lookup (a hash
 * and an array per field, on every TCP frame) is skipped. */
enum { L_ANY = 0, L_DCERPC, L_HTTP, L_TLS, L_DNS, L_COUNT };
static const char *const layer_names[L_COUNT] = { NULL, "dcerpc", "http", "tls", "dns" };
static int layer_proto[L_COUNT] = { -1, -1, -1, -1, -1 };

/* A name can stand for several fields: a dissector may register one name
 * twice, with different types (and a series may change a field's type).
 * Every id is wanted and read, each by its own type. */
#define EXCH_IDS_MAX 4

typedef struct {
    const char *name;
    int         layer;
    int         ids[EXCH_IDS_MAX];
    guint       n_ids;
    gboolean    warned;             /* a type we cannot read was met (said once) */
} exch_foreign_t;

/* Between exch_fields_frame() and exch_fields_frame_done(): the layers of
 * the frame being analysed; outside, every lookup is made. */
static gboolean layers_known;
static guint    layers_present;         /* bit per L_* */
static wmem_allocator_t *frame_pool;    /* pinfo->pool of that frame */

/* Bytes read as text at the most (no reader looks further). */
#define EXCH_TEXT_MAX (1u << 20)

/* Occurrences of a field registered under several ids, merged (reused). */
static GPtrArray *merged[EXCH_F_COUNT];

static exch_foreign_t foreign[EXCH_F_COUNT] = {
    [EXCH_F_TCP_PAYLOAD]      = { .name = "tcp.payload", .layer = L_ANY },
    [EXCH_F_DCERPC_PKT_TYPE]  = { .name = "dcerpc.pkt_type", .layer = L_DCERPC },
    [EXCH_F_DCERPC_OPNUM]     = { .name = "dcerpc.opnum", .layer = L_DCERPC },
    [EXCH_F_DCERPC_BIND_UUID] = { .name = "dcerpc.cn_bind_to_uuid", .layer = L_DCERPC },
    [EXCH_F_EPM_NUM_FLOORS]   = { .name = "epm.tower.num_floors", .layer = L_DCERPC },
    [EXCH_F_EPM_UUID]         = { .name = "epm.uuid", .layer = L_DCERPC },
    [EXCH_F_EPM_TCP_PORT]     = { .name = "epm.proto.tcp_port", .layer = L_DCERPC },
    [EXCH_F_EPM_IP]           = { .name = "epm.proto.ip", .layer = L_DCERPC },
    [EXCH_F_HTTP_METHOD]      = { .name = "http.request.method", .layer = L_HTTP },
    [EXCH_F_HTTP_URI]         = { .name = "http.request.uri", .layer = L_HTTP },
    [EXCH_F_HTTP_HOST]        = { .name = "http.host", .layer = L_HTTP },
    [EXCH_F_HTTP_USER_AGENT]  = { .name = "http.user_agent", .layer = L_HTTP },
    [EXCH_F_HTTP_REQUEST_LINE]= { .name = "http.request.line", .layer = L_HTTP },
    [EXCH_F_HTTP_FILE_DATA]   = { .name = "http.file_data", .layer = L_HTTP },
    [EXCH_F_DATA]             = { .name = "data.data", .layer = L_ANY },
    [EXCH_F_RTS_COOKIE]       = { .name = "dcerpc.cn_rts_command.cookie", .layer = L_DCERPC },
    [EXCH_F_TLS_SNI]          = { .name = "tls.handshake.extensions_server_name", .layer = L_TLS },
    [EXCH_F_TLS_CONTENT_TYPE] = { .name = "tls.record.content_type", .layer = L_TLS },
    [EXCH_F_TLS_RECORD_LENGTH]= { .name = "tls.record.length", .layer = L_TLS },
    [EXCH_F_TLS_HANDSHAKE_TYPE]   = { .name = "tls.handshake.type", .layer = L_TLS },
    [EXCH_F_TLS_SUPPORTED_VERSION]= { .name = "tls.handshake.extensions.supported_version", .layer = L_TLS },
    [EXCH_F_HTTP_RESPONSE_CODE]   = { .name = "http.response.code", .layer = L_HTTP },
    [EXCH_F_HTTP_RESPONSE_LINE]   = { .name = "http.response.line", .layer = L_HTTP },
    [EXCH_F_HTTP_TIME]            = { .name = "http.time", .layer = L_HTTP },
    [EXCH_F_DCERPC_TIME]          = { .name = "dcerpc.time", .layer = L_DCERPC },
    [EXCH_F_FRAME_COMMENT]        = { .name = "frame.comment", .layer = L_ANY },
    [EXCH_F_PKTAP_PID]            = { .name = "pktap.pid", .layer = L_ANY },
    [EXCH_F_PKTAP_CMDNAME]        = { .name = "pktap.cmdname", .layer = L_ANY },
    [EXCH_F_DNS_QRY_NAME]         = { .name = "dns.qry.name", .layer = L_DNS },
    [EXCH_F_DNS_A]                = { .name = "dns.a", .layer = L_DNS },
    [EXCH_F_DNS_AAAA]             = { .name = "dns.aaaa", .layer = L_DNS },
    [EXCH_F_DCERPC_ACK_RESULT]    = { .name = "dcerpc.cn_ack_result", .layer = L_DCERPC },
    [EXCH_F_DCERPC_STATUS]        = { .name = "dcerpc.cn_status", .layer = L_DCERPC },
    [EXCH_F_DCERPC_STUB]          = { .name = "dcerpc.stub_data", .layer = L_DCERPC },
    /* NSPI and EMSMDB (stock's "mapi") answers, where stock decodes the
     * interface: DCE/RPC's sub-dissectors are not layers of their own. */
    [EXCH_F_NSPI_OPNUM]           = { .name = "nspi.opnum", .layer = L_DCERPC },
    [EXCH_F_NSPI_STATUS]          = { .name = "nspi.MAPISTATUS_status", .layer = L_DCERPC },
    [EXCH_F_MAPI_OPNUM]           = { .name = "mapi.opnum", .layer = L_DCERPC },
    [EXCH_F_MAPI_STATUS]          = { .name = EXCH_MAPI_RETURN_FIELD, .layer = L_DCERPC },
};

/* Ids are kept in registration order, so that the built-in field's
 * occurrences come first when a plugin registers the name again. */
static void
add_id(exch_foreign_t *f, int id)
{
    guint at = 0;
    while (at < f->n_ids && f->ids[at] < id)
        at++;
    if ((at < f->n_ids && f->ids[at] == id) || f->n_ids == EXCH_IDS_MAX)
        return;
    memmove(&f->ids[at + 1], &f->ids[at], (f->n_ids - at) * sizeof f->ids[0]);
    f->ids[at] = id;
    f->n_ids++;
}

/* Called from the handoff, when every built-in field is registered. */
void
exch_fields_resolve(void)
{
    for (int i = 0; i < EXCH_F_COUNT; i++) {
        exch_foreign_t *f = &foreign[i];
        f->n_ids = 0;
        header_field_info *head = proto_registrar_get_byname(f->name);
        /* Same-name fields are linked both ways; walk both. */
        for (header_field_info *h = head; h; h = h->same_name_next)
            add_id(f, h->id);
        for (header_field_info *h = head; h && h->same_name_prev_id >= 0;) {
            h = proto_registrar_get_nth(h->same_name_prev_id);
            if (h)
                add_id(f, h->id);
        }
        if (f->n_ids == 0)
            ws_warning("field %s is not registered; its evidence is unavailable", f->name);
    }
    for (int l = 1; l < L_COUNT; l++)
        layer_proto[l] = proto_get_id_by_filter_name(layer_names[l]);
}

/* Which of the gated protocols dissected this frame. */
void
exch_fields_frame(packet_info *pinfo)
{
    layers_present = 1u << L_ANY;
    for (wmem_list_frame_t *f = wmem_list_head(pinfo->layers); f; f = wmem_list_frame_next(f)) {
        int proto = GPOINTER_TO_INT(wmem_list_frame_data(f));
        for (int l = 1; l < L_COUNT; l++) {
            if (proto == layer_proto[l])
                layers_present |= 1u << l;
        }
    }
    layers_known = TRUE;
    frame_pool = pinfo->pool;
}

void
exch_fields_frame_done(void)
{
    layers_known = FALSE;
    frame_pool = NULL;
}

/* A new array of the resolved ids; epan takes ownership. */
GArray *
exch_fields_wanted(void)
{
    GArray *wanted = g_array_new(FALSE, FALSE, (guint)sizeof(int));
    for (int i = 0; i < EXCH_F_COUNT; i++) {
        for (guint k = 0; k < foreign[i].n_ids; k++)
            g_array_append_val(wanted, foreign[i].ids[k]);
    }
    return wanted;
}

/* Every occurrence of a field in this frame's tree, or NULL. */
GPtrArray *
exch_field_all(proto_tree *tree, exch_field_t f)
{
    const exch_foreign_t *ff = &foreign[f];
    if (!tree || ff->n_ids == 0)
        return NULL;
    if (layers_known && !(layers_present & (1u << ff->layer)))
        return NULL;
    if (ff->n_ids == 1) {
        GPtrArray *a = proto_get_finfo_ptr_array(tree, ff->ids[0]);
        return (a && a->len) ? a : NULL;
    }
    GPtrArray *found = NULL;
    for (guint k = 0; k < ff->n_ids; k++) {
        GPtrArray *a = proto_get_finfo_ptr_array(tree, ff->ids[k]);
        if (!a || !a->len)
            continue;
        if (!found) {
            found = a;
            continue;
        }
        if (found != merged[f]) {
            if (!merged[f])
                merged[f] = g_ptr_array_new();
            g_ptr_array_set_size(merged[f], 0);
            for (guint i = 0; i < found->len; i++)
                g_ptr_array_add(merged[f], g_ptr_array_index(found, i));
            found = merged[f];
        }
        for (guint i = 0; i < a->len; i++)
            g_ptr_array_add(found, g_ptr_array_index(a, i));
    }
    return found;
}

/* A field of a type the caller cannot use: skipped, said once per field. */
static void
unreadable(const field_info *fi, const char *wanted)
{
    for (int i = 0; i < EXCH_F_COUNT; i++) {
        for (guint k = 0; k < foreign[i].n_ids; k++) {
            if (foreign[i].ids[k] != fi->hfinfo->id)
                continue;
            if (!foreign[i].warned)
                ws_warning("field %s is of type %s here, not %s: its evidence is skipped",
                           fi->hfinfo->abbrev, ftype_name(fi->hfinfo->type), wanted);
            foreign[i].warned = TRUE;
            return;
        }
    }
}

static field_info *
nth(GPtrArray *a, guint which)
{
    return (a && which < a->len) ? (field_info *)g_ptr_array_index(a, which) : NULL;
}

/* The which-th occurrence when it has the one type a reader takes, else NULL
 * (and the field is said to be unreadable). */
static field_info *
nth_of_type(GPtrArray *a, guint which, enum ftenum type, const char *wanted)
{
    field_info *fi = nth(a, which);
    if (fi && fi->hfinfo->type != type) {
        unreadable(fi, wanted);
        return NULL;
    }
    return fi;
}

gboolean
exch_field_uint_at(GPtrArray *a, guint which, guint32 *out)
{
    field_info *fi = nth(a, which);
    if (!fi)
        return FALSE;
    switch (fi->hfinfo->type) {
    case FT_BOOLEAN:
        *out = fvalue_get_uinteger64(EXCH_FI_VALUE(fi)) ? 1 : 0;
        return TRUE;
    case FT_CHAR: case FT_UINT8: case FT_UINT16: case FT_UINT24: case FT_UINT32: case FT_FRAMENUM:
        *out = fvalue_get_uinteger(EXCH_FI_VALUE(fi));
        return TRUE;
    case FT_UINT40: case FT_UINT48: case FT_UINT56: case FT_UINT64: {
        guint64 v = fvalue_get_uinteger64(EXCH_FI_VALUE(fi));
        if (v > G_MAXUINT32)
            return FALSE;
        *out = (guint32)v;
        return TRUE;
    }
    default:
        unreadable(fi, "an unsigned integer");
        return FALSE;
    }
}

/* The last readable occurrence of an integer field: for fields of the
 * transport (tcp.flags) the last one is the innermost TCP header. */
gboolean
exch_field_uint(proto_tree *tree, exch_field_t f, guint32 *out)
{
    GPtrArray *a = exch_field_all(tree, f);
    for (guint i = a ? a->len : 0; i > 0; i--) {
        if (exch_field_uint_at(a, i - 1, out))
            return TRUE;
    }
    return FALSE;
}

gboolean
exch_field_guid_at(GPtrArray *a, guint which, e_guid_t *out)
{
    field_info *fi = nth_of_type(a, which, FT_GUID, "a GUID");
    if (!fi)
        return FALSE;
    *out = *fvalue_get_guid(EXCH_FI_VALUE(fi));
    return TRUE;
}

/* An IPv4 address in network byte order.  Read from the packet bytes the
 * field covers, which mean the same in every series: the fvalue getters
 * for FT_IPv4 differ between them (4.0 answered fvalue_get_uinteger). */
gboolean
exch_field_ipv4_at(GPtrArray *a, guint which, guint32 *out_net_order)
{
    field_info *fi = nth_of_type(a, which, FT_IPv4, "an IPv4 address");
    if (!fi || fi->length != 4 || !fi->ds_tvb || tvb_captured_length_remaining(fi->ds_tvb, fi->start) < 4)
        return FALSE;
    *out_net_order = tvb_get_ipv4(fi->ds_tvb, fi->start);
    return TRUE;
}

gboolean
exch_field_ipv6_at(GPtrArray *a, guint which, ws_in6_addr *out)
{
    field_info *fi = nth_of_type(a, which, FT_IPv6, "an IPv6 address");
    if (!fi || fi->length != 16 || !fi->ds_tvb || tvb_captured_length_remaining(fi->ds_tvb, fi->start) < 16)
        return FALSE;
    tvb_get_ipv6(fi->ds_tvb, fi->start, out);
    return TRUE;
}

/* The which-th occurrence of a relative-time field, in seconds. */
gboolean
exch_field_seconds(GPtrArray *a, guint which, double *out)
{
    field_info *fi = nth_of_type(a, which, FT_RELATIVE_TIME, "a relative time");
    if (!fi)
        return FALSE;
    *out = nstime_to_sec(fvalue_get_time(EXCH_FI_VALUE(fi)));
    return TRUE;
}

/* The bytes a field covers in its data source (what it was decoded from),
 * whatever its type; NULL when they are not there. */
const guint8 *
exch_field_bytes(GPtrArray *a, guint which, guint *len)
{
    field_info *fi = nth(a, which);
    if (!fi || !fi->ds_tvb || fi->start < 0 || fi->length <= 0)
        return NULL;
    gint avail = tvb_captured_length_remaining(fi->ds_tvb, fi->start);
    if (avail <= 0)
        return NULL;
    *len = (guint)MIN(avail, fi->length);
    return tvb_get_ptr(fi->ds_tvb, fi->start, *len);
}

/* Where the which-th occurrence sits, to put several fields in wire order. */
void
exch_field_where(GPtrArray *a, guint which, const void **source, gint *start)
{
    field_info *fi = nth(a, which);
    *source = fi ? (const void *)fi->ds_tvb : NULL;
    *start = fi ? fi->start : 0;
}

/* The string value of the which-th occurrence, or NULL.  A field that is
 * bytes in this series (http.file_data from 4.2 on) is read as text from
 * the bytes it covers, up to the first NUL, in the frame's pool. */
const char *
exch_field_str(GPtrArray *a, guint which)
{
    field_info *fi = nth(a, which);
    if (!fi)
        return NULL;
    switch (fi->hfinfo->type) {
    case FT_STRING: case FT_STRINGZ: case FT_UINT_STRING: case FT_STRINGZPAD: case FT_STRINGZTRUNC:
        return fvalue_get_string(EXCH_FI_VALUE(fi));
    case FT_BYTES: case FT_UINT_BYTES: {
        guint len = 0;
        const guint8 *p = frame_pool ? exch_field_bytes(a, which, &len) : NULL;
        return p ? wmem_strndup(frame_pool, (const char *)p, MIN(len, EXCH_TEXT_MAX)) : NULL;
    }
    default:
        unreadable(fi, "a string");
        return NULL;
    }
}
