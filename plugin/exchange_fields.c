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

typedef struct {
    const char *name;
    int         id;
} exch_foreign_t;

static exch_foreign_t foreign[EXCH_F_COUNT] = {
    [EXCH_F_TCP_PAYLOAD]      = { "tcp.payload", -1 },
    [EXCH_F_DCERPC_PKT_TYPE]  = { "dcerpc.pkt_type", -1 },
    [EXCH_F_DCERPC_OPNUM]     = { "dcerpc.opnum", -1 },
    [EXCH_F_DCERPC_BIND_UUID] = { "dcerpc.cn_bind_to_uuid", -1 },
    [EXCH_F_EPM_NUM_FLOORS]   = { "epm.tower.num_floors", -1 },
    [EXCH_F_EPM_UUID]         = { "epm.uuid", -1 },
    [EXCH_F_EPM_TCP_PORT]     = { "epm.proto.tcp_port", -1 },
    [EXCH_F_EPM_IP]           = { "epm.proto.ip", -1 },
    [EXCH_F_HTTP_METHOD]      = { "http.request.method", -1 },
    [EXCH_F_HTTP_URI]         = { "http.request.uri", -1 },
    [EXCH_F_HTTP_HOST]        = { "http.host", -1 },
    [EXCH_F_HTTP_USER_AGENT]  = { "http.user_agent", -1 },
    [EXCH_F_HTTP_REQUEST_LINE]= { "http.request.line", -1 },
    [EXCH_F_HTTP_FILE_DATA]   = { "http.file_data", -1 },
    [EXCH_F_DATA]             = { "data.data", -1 },
    [EXCH_F_RTS_COOKIE]       = { "dcerpc.cn_rts_command.cookie", -1 },
    [EXCH_F_TLS_SNI]          = { "tls.handshake.extensions_server_name", -1 },
    [EXCH_F_TLS_CONTENT_TYPE] = { "tls.record.content_type", -1 },
    [EXCH_F_TLS_RECORD_LENGTH]= { "tls.record.length", -1 },
    [EXCH_F_TLS_HANDSHAKE_TYPE]   = { "tls.handshake.type", -1 },
    [EXCH_F_TLS_SUPPORTED_VERSION]= { "tls.handshake.extensions.supported_version", -1 },
    [EXCH_F_HTTP_RESPONSE_CODE]   = { "http.response.code", -1 },
    [EXCH_F_HTTP_RESPONSE_LINE]   = { "http.response.line", -1 },
    [EXCH_F_HTTP_TIME]            = { "http.time", -1 },
    [EXCH_F_DCERPC_TIME]          = { "dcerpc.time", -1 },
    [EXCH_F_FRAME_COMMENT]        = { "frame.comment", -1 },
    [EXCH_F_PKTAP_PID]            = { "pktap.pid", -1 },
    [EXCH_F_PKTAP_CMDNAME]        = { "pktap.cmdname", -1 },
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
