/* exchange_traffic.c
 * What the connections table counts for each connection, from the stock
 * fields of each first-pass frame: frames, bytes, requests (HTTP and
 * DCE/RPC), failed answers and the layers they failed at (which ones:
 * exchange_failures.c) and response times (http.time, dcerpc.time).  It
 * decides no role, and writes only the conversation's c->traffic, reading
 * nothing else of it, and this frame's record of what failed in it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#define DCERPC_REQUEST 0

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
        if (exch_field_uint_at(ptypes, i, &ptype) && ptype == DCERPC_REQUEST)
            t->requests++;
    }

    /* Failed answers, each once; the frame keeps what failed for its tree. */
    GPtrArray *codes = exch_field_all(tree, EXCH_F_HTTP_RESPONSE_CODE);
    exch_failures_t failed;
    exch_failures_find(pinfo, tree, &failed);
    if (failed.count) {
        t->failures += failed.count;
        t->failed_layers |= failed.layers;
        exch_frame_traffic_t *f = EXCH_FRAME_PART(pinfo, exch_frame_traffic_t, EXCH_FRAME_TRAFFIC, TRUE);
        f->failure = wmem_strdup(wmem_file_scope(), failed.text);
        f->layers = failed.layers;
    }

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
