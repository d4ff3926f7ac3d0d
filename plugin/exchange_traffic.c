/* exchange_traffic.c
 * What the connections table counts for each connection, from the stock
 * fields of each first-pass frame: frames, bytes, requests (HTTP and
 * DCE/RPC), failed answers (DCE/RPC faults, HTTP errors but the 401 of an
 * authentication leg, MAPI/HTTP X-ResponseCode other than 0) and response
 * times (http.time, dcerpc.time).  It decides no role, and writes only the
 * conversation's c->traffic, reading nothing else of it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#include <wsutil/strtoi.h>

#define DCERPC_REQUEST 0
#define DCERPC_FAULT   3

/* Does an HTTP response header block say MAPI/HTTP failed (X-ResponseCode
 * other than 0)? */
static gboolean
mapi_failed(GPtrArray *lines)
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
                return TRUE;
        }
    }
    return FALSE;
}

/* What the connections table counts for one frame (first pass): frames,
 * bytes, requests, failed answers and response times, into t (the
 * conversation's traffic part: nothing else of it is read). */
void
exch_traffic_account(packet_info *pinfo, proto_tree *tree, exch_traffic_state_t *t)
{
    if (t->frames == 0)
        t->start_rel = pinfo->rel_ts;   /* the connection's first frame */
    t->frames++;
    t->bytes += pinfo->fd->pkt_len;
    t->last = pinfo->abs_ts;

    GPtrArray *methods = exch_field_all(tree, EXCH_F_HTTP_METHOD);
    t->requests += methods ? methods->len : 0;
    GPtrArray *ptypes = exch_field_all(tree, EXCH_F_DCERPC_PKT_TYPE);
    for (guint i = 0; ptypes && i < ptypes->len; i++) {
        guint32 ptype;
        if (!exch_field_uint_at(ptypes, i, &ptype))
            continue;
        if (ptype == DCERPC_REQUEST)
            t->requests++;
        else if (ptype == DCERPC_FAULT)
            t->failures++;
    }

    /* 401 is the first leg of NTLM/Negotiate, not a failure. */
    GPtrArray *codes = exch_field_all(tree, EXCH_F_HTTP_RESPONSE_CODE);
    guint http_failed = 0;
    for (guint i = 0; codes && i < codes->len; i++) {
        guint32 code;
        if (exch_field_uint_at(codes, i, &code) && code >= 400 && code != 401)
            http_failed++;
    }
    if (!http_failed && codes && mapi_failed(exch_field_all(tree, EXCH_F_HTTP_RESPONSE_LINE)))
        http_failed = 1;
    t->failures += http_failed;

    /* Response times come with an HTTP response code or a DCE/RPC PDU:
     * most frames have neither, so their lookups are skipped. */
    const exch_field_t timed[] = { EXCH_F_HTTP_TIME, EXCH_F_DCERPC_TIME };
    const gboolean may_be_timed[] = { codes != NULL, ptypes != NULL };
    for (size_t k = 0; k < G_N_ELEMENTS(timed); k++) {
        GPtrArray *a = may_be_timed[k] ? exch_field_all(tree, timed[k]) : NULL;
        double secs;
        for (guint i = 0; a && i < a->len; i++) {
            if (exch_field_seconds(a, i, &secs)) {
                t->time_sum += secs;
                t->timed++;
            }
        }
    }
}
