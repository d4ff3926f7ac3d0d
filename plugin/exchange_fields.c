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

/* The protocol whose dissector adds a field: when it is not among the
 * frame's layers the field cannot be in its tree, and the lookup (a hash
 * and an array per field, on every TCP frame) is skipped. */
enum { L_ANY = 0, L_DCERPC, L_HTTP, L_TLS, L_COUNT };
static const char *const layer_names[L_COUNT] = { NULL, "dcerpc", "http", "tls" };
static int layer_proto[L_COUNT] = { -1, -1, -1, -1 };

typedef struct {
    const char *name;
    int         layer;
    int         id;
} exch_foreign_t;

/* Between exch_fields_frame() and exch_fields_frame_done(): the layers of
 * the frame being analysed; outside, every lookup is made. */
static gboolean layers_known;
static guint    layers_present;         /* bit per L_* */

static exch_foreign_t foreign[EXCH_F_COUNT] = {
    [EXCH_F_TCP_PAYLOAD]      = { "tcp.payload", L_ANY, -1 },
    [EXCH_F_DCERPC_PKT_TYPE]  = { "dcerpc.pkt_type", L_DCERPC, -1 },
    [EXCH_F_DCERPC_OPNUM]     = { "dcerpc.opnum", L_DCERPC, -1 },
    [EXCH_F_DCERPC_BIND_UUID] = { "dcerpc.cn_bind_to_uuid", L_DCERPC, -1 },
    [EXCH_F_EPM_NUM_FLOORS]   = { "epm.tower.num_floors", L_DCERPC, -1 },
    [EXCH_F_EPM_UUID]         = { "epm.uuid", L_DCERPC, -1 },
    [EXCH_F_EPM_TCP_PORT]     = { "epm.proto.tcp_port", L_DCERPC, -1 },
    [EXCH_F_EPM_IP]           = { "epm.proto.ip", L_DCERPC, -1 },
    [EXCH_F_HTTP_METHOD]      = { "http.request.method", L_HTTP, -1 },
    [EXCH_F_HTTP_URI]         = { "http.request.uri", L_HTTP, -1 },
    [EXCH_F_HTTP_HOST]        = { "http.host", L_HTTP, -1 },
    [EXCH_F_HTTP_USER_AGENT]  = { "http.user_agent", L_HTTP, -1 },
    [EXCH_F_HTTP_REQUEST_LINE]= { "http.request.line", L_HTTP, -1 },
    [EXCH_F_HTTP_FILE_DATA]   = { "http.file_data", L_HTTP, -1 },
    [EXCH_F_DATA]             = { "data.data", L_ANY, -1 },
    [EXCH_F_RTS_COOKIE]       = { "dcerpc.cn_rts_command.cookie", L_DCERPC, -1 },
    [EXCH_F_TLS_SNI]          = { "tls.handshake.extensions_server_name", L_TLS, -1 },
    [EXCH_F_TLS_CONTENT_TYPE] = { "tls.record.content_type", L_TLS, -1 },
    [EXCH_F_TLS_RECORD_LENGTH]= { "tls.record.length", L_TLS, -1 },
    [EXCH_F_TLS_HANDSHAKE_TYPE]   = { "tls.handshake.type", L_TLS, -1 },
    [EXCH_F_TLS_SUPPORTED_VERSION]= { "tls.handshake.extensions.supported_version", L_TLS, -1 },
    [EXCH_F_HTTP_RESPONSE_CODE]   = { "http.response.code", L_HTTP, -1 },
    [EXCH_F_HTTP_RESPONSE_LINE]   = { "http.response.line", L_HTTP, -1 },
    [EXCH_F_HTTP_TIME]            = { "http.time", L_HTTP, -1 },
    [EXCH_F_DCERPC_TIME]          = { "dcerpc.time", L_DCERPC, -1 },
    [EXCH_F_FRAME_COMMENT]        = { "frame.comment", L_ANY, -1 },
    [EXCH_F_PKTAP_PID]            = { "pktap.pid", L_ANY, -1 },
    [EXCH_F_PKTAP_CMDNAME]        = { "pktap.cmdname", L_ANY, -1 },
};

/* Called from the handoff, when every built-in field is registered. */
void
exch_fields_resolve(void)
{
    for (int i = 0; i < EXCH_F_COUNT; i++) {
        foreign[i].id = proto_registrar_get_id_byname(foreign[i].name);
        if (foreign[i].id < 0)
            ws_warning("field %s is not registered; its evidence is unavailable", foreign[i].name);
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
}

void
exch_fields_frame_done(void)
{
    layers_known = FALSE;
}

/* A new array of the resolved ids; epan takes ownership. */
GArray *
exch_fields_wanted(void)
{
    GArray *wanted = g_array_new(FALSE, FALSE, (guint)sizeof(int));
    for (int i = 0; i < EXCH_F_COUNT; i++) {
        if (foreign[i].id >= 0)
            g_array_append_val(wanted, foreign[i].id);
    }
    return wanted;
}

int
exch_field_id(exch_field_t f)
{
    return foreign[f].id;
}

/* Every occurrence of a field in this frame's tree, or NULL. */
GPtrArray *
exch_field_all(proto_tree *tree, exch_field_t f)
{
    if (!tree || foreign[f].id < 0)
        return NULL;
    if (layers_known && !(layers_present & (1u << foreign[f].layer)))
        return NULL;
    GPtrArray *a = proto_get_finfo_ptr_array(tree, foreign[f].id);
    return (a && a->len) ? a : NULL;
}

/* The last occurrence of an integer field: for fields of the transport
 * (tcp.flags) the last one is the innermost TCP header. */
gboolean
exch_field_uint(proto_tree *tree, exch_field_t f, guint32 *out)
{
    GPtrArray *a = exch_field_all(tree, f);
    if (!a)
        return FALSE;
    field_info *fi = (field_info *)g_ptr_array_index(a, a->len - 1);
    switch (fi->hfinfo->type) {
    case FT_BOOLEAN:
        *out = fvalue_get_uinteger64(EXCH_FI_VALUE(fi)) ? 1 : 0;
        return TRUE;
    case FT_UINT8: case FT_UINT16: case FT_UINT24: case FT_UINT32:
        *out = fvalue_get_uinteger(EXCH_FI_VALUE(fi));
        return TRUE;
    default:
        return FALSE;
    }
}

/* The index-th occurrence of a relative-time field, in seconds. */
gboolean
exch_field_seconds(GPtrArray *a, guint index, double *out)
{
    if (!a || index >= a->len)
        return FALSE;
    field_info *fi = (field_info *)g_ptr_array_index(a, index);
    if (fi->hfinfo->type != FT_RELATIVE_TIME)
        return FALSE;
    *out = nstime_to_sec(fvalue_get_time(EXCH_FI_VALUE(fi)));
    return TRUE;
}

/* The string value of the index-th occurrence, or NULL. */
const char *
exch_field_str(GPtrArray *a, guint index)
{
    if (!a || index >= a->len)
        return NULL;
    field_info *fi = (field_info *)g_ptr_array_index(a, index);
    return fvalue_get_string(EXCH_FI_VALUE(fi));
}
