/* exchange_failures.c
 * Which answers in one frame failed, and at which layer, from the stock
 * fields: a DCE/RPC FAULT PDU (dcerpc), an NSPI or EMSMDB call answered
 * with a return code other than 0 (nspi, emsmdb), an HTTP answer >= 400
 * but the 401 of an authentication leg (http), a MAPI/HTTP answer whose
 * X-ResponseCode is not 0 (mapi-http).  Each failed answer counts once, at
 * the innermost layer that says it failed (an HTTP 500 carrying an
 * X-ResponseCode is one mapi-http failure).  No state: exchange_traffic.c
 * adds the answer up per connection.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#include <wsutil/strtoi.h>

#define DCERPC_RESPONSE 2
#define DCERPC_FAULT    3
#define HTTP_NTLM_LEG   401

/* Response PDUs looked at in one frame, at most (each costs a walk over
 * the frame's return-code fields). */
#define EXCH_FAIL_PDUS_MAX 64

static const char *const layer_names[EXCH_FAIL_COUNT] = {
    [EXCH_FAIL_DCERPC] = "dcerpc", [EXCH_FAIL_NSPI] = "nspi", [EXCH_FAIL_EMSMDB] = "emsmdb",
    [EXCH_FAIL_HTTP] = "http", [EXCH_FAIL_MAPI_HTTP] = "mapi-http",
};

const char *
exch_fail_layer_name(exch_fail_layer_t l)
{
    return l < EXCH_FAIL_COUNT ? layer_names[l] : "?";
}

/* MS-NSPI 3.1.4.1 and MS-OXCRPC 3.1.4 method names (Wireshark 4.0 still
 * uses older names for some NSPI methods). */
static const value_string nspi_ops[] = {
    { 0, "NspiBind" }, { 1, "NspiUnbind" }, { 2, "NspiUpdateStat" }, { 3, "NspiQueryRows" },
    { 4, "NspiSeekEntries" }, { 5, "NspiGetMatches" }, { 6, "NspiResortRestriction" }, { 7, "NspiDNToMId" },
    { 8, "NspiGetPropList" }, { 9, "NspiGetProps" }, { 10, "NspiCompareMIds" }, { 11, "NspiModProps" },
    { 12, "NspiGetSpecialTable" }, { 13, "NspiGetTemplateInfo" }, { 14, "NspiModLinkAtt" },
    { 16, "NspiQueryColumns" }, { 17, "NspiGetNamesFromIDs" }, { 18, "NspiGetIDsFromNames" },
    { 19, "NspiResolveNames" }, { 20, "NspiResolveNamesW" },
    { 0, NULL }
};

static const value_string emsmdb_ops[] = {
    { 0, "EcDoConnect" }, { 1, "EcDoDisconnect" }, { 2, "EcDoRpc" }, { 3, "EcGetMoreRpc" },
    { 4, "EcRRegisterPushNotification" }, { 5, "EcRUnregisterPushNotification" }, { 6, "EcDummyRpc" },
    { 7, "EcRGetDCName" }, { 8, "EcRNetGetDCName" }, { 9, "EcDoRpcExt" }, { 10, "EcDoConnectEx" },
    { 11, "EcDoRpcExt2" }, { 14, "EcDoAsyncConnectEx" },
    { 0, NULL }
};

/* Return codes Exchange answers (MS-OXCDATA 2.4): the same names on every
 * series, whatever the stock field's own labels are. */
static const value_string mapi_codes[] = {
    { 0x80004005, "MAPI_E_CALL_FAILED" },
    { 0x80040102, "MAPI_E_NO_SUPPORT" },
    { 0x80040106, "MAPI_E_UNKNOWN_FLAGS" },
    { 0x8004010B, "MAPI_E_BUSY" },
    { 0x8004010F, "MAPI_E_NOT_FOUND" },
    { 0x80040111, "MAPI_E_LOGON_FAILED" },
    { 0x80040115, "MAPI_E_NETWORK_ERROR" },
    { 0x80040120, "MAPI_E_PASSWORD_CHANGE_REQUIRED" },
    { 0x80040121, "MAPI_E_PASSWORD_EXPIRED" },
    { 0x80040200, "MAPI_E_END_OF_SESSION" },
    { 0x80040401, "MAPI_E_TIMEOUT" },
    { 0x80070005, "MAPI_E_NO_ACCESS" },
    { 0x8007000E, "MAPI_E_NOT_ENOUGH_MEMORY" },
    { 0x80070057, "MAPI_E_INVALID_PARAMETER" },
    { 0x000004B6, "ecRpcFormat" },
    { 0, NULL }
};

/* FAULT statuses (C706 appendix E, and Windows' access denied). */
static const value_string fault_codes[] = {
    { 0x00000005, "rpc_s_access_denied" },
    { 0x000006F7, "rpc_x_bad_stub_data" },
    { 0x1c010002, "nca_s_op_rng_error" },
    { 0x1c010003, "nca_s_unk_if" },
    { 0x1c01000b, "nca_s_proto_error" },
    { 0, NULL }
};

static void
add(packet_info *pinfo, exch_failures_t *out, exch_fail_layer_t layer, const char *text)
{
    out->count++;
    out->layers |= 1u << layer;
    out->text = out->text ? wmem_strdup_printf(pinfo->pool, "%s; %s", out->text, text) : text;
}

static char *
coded(packet_info *pinfo, const value_string *names, guint32 code)
{
    const char *name = try_val_to_str(code, names);
    return name ? wmem_strdup_printf(pinfo->pool, "%s (0x%08x)", name, code)
                : wmem_strdup_printf(pinfo->pool, "0x%08x", code);
}

static gboolean
same_place_after(GPtrArray *a, guint i, const void *src, gint from, gint *start)
{
    const void *s;
    exch_field_where(a, i, &s, start);
    return s == src && *start >= from;
}

/* The return code of each call answered in this frame over one interface:
 * the PDUs are told apart by the interface's opnum item, which stock puts
 * at the start of each stub; a stub's return code is the last of its
 * status fields (EcDoRpc answers carry per-ROP statuses before it), or,
 * where the series does not decode the method (4.0: EcDoConnectEx,
 * EcDoRpcExt2), the last 4 bytes of the stub stock shows (NDR puts the
 * return value last; little-endian, as Windows servers send). */
static void
interface_returns(packet_info *pinfo, proto_tree *tree, exch_field_t opnum_f, exch_field_t status_f,
                  const value_string *ops, exch_fail_layer_t layer, exch_failures_t *out)
{
    GPtrArray *opnums = exch_field_all(tree, opnum_f);
    if (!opnums)
        return;
    GPtrArray *statuses = exch_field_all(tree, status_f);
    GPtrArray *stubs = NULL;
    gboolean stubs_read = FALSE;
    for (guint i = 0; i < opnums->len && i < EXCH_FAIL_PDUS_MAX; i++) {
        const void *src;
        gint from, until = G_MAXINT, at;
        guint32 opnum, code = 0;
        exch_field_where(opnums, i, &src, &from);
        if (!exch_field_uint_at(opnums, i, &opnum))
            continue;
        for (guint j = 0; j < opnums->len && j < EXCH_FAIL_PDUS_MAX; j++) {
            if (j != i && same_place_after(opnums, j, src, from + 1, &at) && at < until)
                until = at;
        }
        gboolean found = FALSE;
        gint best = -1;
        for (guint k = 0; statuses && k < statuses->len; k++) {
            guint32 v;
            if (same_place_after(statuses, k, src, from, &at) && at < until && at >= best &&
                exch_field_uint_at(statuses, k, &v)) {
                best = at;
                code = v;
                found = TRUE;
            }
        }
        if (!found) {
            if (!stubs_read) {
                stubs = exch_field_all(tree, EXCH_F_DCERPC_STUB);
                stubs_read = TRUE;
            }
            for (guint k = 0; stubs && k < stubs->len; k++) {
                guint len = 0;
                const guint8 *p;
                if (same_place_after(stubs, k, src, from, &at) && at < until &&
                    (p = exch_field_bytes(stubs, k, &len)) != NULL && len >= 4) {
                    code = exch_le32(p + len - 4);
                    found = TRUE;
                }
            }
        }
        if (!found || code == 0)
            continue;
        /* try_val_to_str(): val_to_str() takes a scope from 4.6 on. */
        const char *op = try_val_to_str(opnum, ops);
        add(pinfo, out, layer, wmem_strdup_printf(pinfo->pool, "%s %s %s", layer_names[layer],
                                                  op ? op : wmem_strdup_printf(pinfo->pool, "opnum %u", opnum),
                                                  coded(pinfo, mapi_codes, code)));
    }
}

static void
dcerpc_failures(packet_info *pinfo, proto_tree *tree, exch_failures_t *out)
{
    GPtrArray *ptypes = exch_field_all(tree, EXCH_F_DCERPC_PKT_TYPE);
    if (!ptypes)
        return;
    GPtrArray *codes = NULL;
    guint faults = 0;
    gboolean answers = FALSE;
    for (guint i = 0; i < ptypes->len; i++) {
        guint32 ptype;
        if (!exch_field_uint_at(ptypes, i, &ptype))
            continue;
        if (ptype == DCERPC_RESPONSE)
            answers = TRUE;
        if (ptype != DCERPC_FAULT)
            continue;
        if (faults++ == 0)
            codes = exch_field_all(tree, EXCH_F_DCERPC_STATUS);
        guint32 code;
        /* One status per FAULT PDU, in the same order. */
        add(pinfo, out, EXCH_FAIL_DCERPC, exch_field_uint_at(codes, faults - 1, &code)
            ? wmem_strdup_printf(pinfo->pool, "dcerpc FAULT %s", coded(pinfo, fault_codes, code))
            : "dcerpc FAULT");
    }
    /* A frame goes one way: the server's holds answers only, so every stub
     * of an interface in it is an answer's. */
    if (answers) {
        interface_returns(pinfo, tree, EXCH_F_NSPI_OPNUM, EXCH_F_NSPI_STATUS, nspi_ops, EXCH_FAIL_NSPI, out);
        interface_returns(pinfo, tree, EXCH_F_MAPI_OPNUM, EXCH_F_MAPI_STATUS, emsmdb_ops, EXCH_FAIL_EMSMDB, out);
    }
}

/* The first X-ResponseCode other than 0 in an HTTP header block, or 0. */
static guint32
mapi_response_code(GPtrArray *lines)
{
    for (guint i = 0; lines && i < lines->len; i++) {
        const char *l = exch_field_str(lines, i);
        if (l && g_ascii_strncasecmp(l, "X-ResponseCode:", 15) == 0) {
            const char *v = l + 15;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end;
            guint32 code;
            if (g_ascii_isdigit(*v) && ws_strtou32(v, &end, &code) && code != 0)
                return code;
        }
    }
    return 0;
}

static void
http_failures(packet_info *pinfo, proto_tree *tree, exch_failures_t *out)
{
    GPtrArray *codes = exch_field_all(tree, EXCH_F_HTTP_RESPONSE_CODE);
    if (!codes)
        return;
    guint32 xrc = mapi_response_code(exch_field_all(tree, EXCH_F_HTTP_RESPONSE_LINE));
    for (guint i = 0; i < codes->len; i++) {
        guint32 code;
        if (!exch_field_uint_at(codes, i, &code) || code < 400 || code == HTTP_NTLM_LEG)
            continue;
        /* The answer that carries the X-ResponseCode counts once, as mapi-http. */
        if (xrc)
            add(pinfo, out, EXCH_FAIL_MAPI_HTTP,
                wmem_strdup_printf(pinfo->pool, "mapi-http X-ResponseCode %u in HTTP %u", xrc, code));
        else
            add(pinfo, out, EXCH_FAIL_HTTP, wmem_strdup_printf(pinfo->pool, "http %u", code));
        xrc = 0;
    }
    if (xrc)
        add(pinfo, out, EXCH_FAIL_MAPI_HTTP, wmem_strdup_printf(pinfo->pool, "mapi-http X-ResponseCode %u", xrc));
}

void
exch_failures_find(packet_info *pinfo, proto_tree *tree, exch_failures_t *out)
{
    memset(out, 0, sizeof *out);
    dcerpc_failures(pinfo, tree, out);
    http_failures(pinfo, tree, out);
}
