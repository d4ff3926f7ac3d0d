/* exchange_dcerpc.c
 * DCE/RPC facts, and no state: which interfaces are Exchange's and what
 * role each serves, what the BINDs of one frame name and what the server
 * answered to them (BIND_ACK, BIND_NAK), read from the
 * stock DCE/RPC fields or, where no stock dissector decoded the bytes, by a
 * small bounded walk over connection-oriented PDUs.  Used by both the
 * RPC/TCP evidence (exchange_rpc.c) and the RPC/HTTP evidence
 * (exchange_http.c); it calls neither.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#include <epan/guid-utils.h>

#include <string.h>

#define DCERPC_PT_BIND      11
#define DCERPC_PT_ALTER     14
#define DCERPC_PT_RTS       20
#define DCERPC_PT_BIND_ACK  12
#define DCERPC_PT_BIND_NAK  13
#define DCERPC_PT_ALTER_RESP 15
#define RTS_CMD_COOKIE      3

static const struct {
    e_guid_t     guid;
    exch_iface_t iface;
} known_ifaces[] = {
    /* Whole UUIDs: store admin (a4f1db00-ca47-1067-b31e-...) differs from
     * EMSMDB by one digit and must not match. */
    { { 0xa4f1db00, 0xca47, 0x1067, { 0xb3, 0x1f, 0x00, 0xdd, 0x01, 0x06, 0x62, 0xda } }, EXCH_IF_EMSMDB },
    { { 0x5261574a, 0x4572, 0x206e, { 0xb2, 0x68, 0x6b, 0x19, 0x92, 0x13, 0xb4, 0xe4 } }, EXCH_IF_ASYNCEMSMDB },
    { { 0xf5cc5a18, 0x4264, 0x101a, { 0x8c, 0x59, 0x08, 0x00, 0x2b, 0x2f, 0x84, 0x26 } }, EXCH_IF_NSPI },
    { { 0x1544f5e0, 0x613c, 0x11d1, { 0x93, 0xdf, 0x00, 0xc0, 0x4f, 0xd7, 0xbd, 0x09 } }, EXCH_IF_RFR },
    { { 0xe1af8308, 0x5d1f, 0x11c9, { 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa } }, EXCH_IF_EPM },
};

exch_iface_t
exch_dcerpc_iface(const e_guid_t *g)
{
    for (size_t i = 0; i < G_N_ELEMENTS(known_ifaces); i++) {
        if (guid_cmp(&known_ifaces[i].guid, g) == 0)
            return known_ifaces[i].iface;
    }
    return EXCH_IF_NONE;
}

exch_role_t
exch_dcerpc_iface_role(exch_iface_t i)
{
    switch (i) {
    case EXCH_IF_EMSMDB:
    case EXCH_IF_ASYNCEMSMDB:
        return EXCH_ROLE_MAILBOX;
    case EXCH_IF_NSPI:
    case EXCH_IF_RFR:
        return EXCH_ROLE_DIRECTORY;
    case EXCH_IF_EPM:
        return EXCH_ROLE_ENDPOINT_MAPPER;
    default:
        return EXCH_ROLE_NONE;
    }
}

/* What the abstract syntaxes of one BIND/ALTER_CONTEXT name. */
void
exch_dcerpc_classify(const e_guid_t *uuids, guint n, guint8 ptype, exch_bind_t *out)
{
    memset(out, 0, sizeof *out);
    out->what = ptype == DCERPC_PT_ALTER ? "ALTER_CONTEXT" : "BIND";
    for (guint i = 0; i < n; i++) {
        exch_iface_t ifc = exch_dcerpc_iface(&uuids[i]);
        if (ifc == EXCH_IF_NONE) {
            if (!out->have_foreign) {
                out->foreign = uuids[i];
                out->have_foreign = TRUE;
            }
            continue;
        }
        out->mask |= 1u << ifc;
        if (exch_dcerpc_iface_role(ifc) == EXCH_ROLE_MAILBOX && out->mailbox == EXCH_IF_NONE)
            out->mailbox = ifc;
        else if (exch_dcerpc_iface_role(ifc) == EXCH_ROLE_DIRECTORY && out->directory == EXCH_IF_NONE)
            out->directory = ifc;
    }
}

/* BINDs as decoded by the stock DCE/RPC dissector: FALSE when the frame
 * has none. */
gboolean
exch_dcerpc_bind_fields(proto_tree *tree, exch_bind_t *out)
{
    GPtrArray *a = exch_field_all(tree, EXCH_F_DCERPC_BIND_UUID);
    if (!a)
        return FALSE;
    guint8 ptype = DCERPC_PT_BIND;
    GPtrArray *types = exch_field_all(tree, EXCH_F_DCERPC_PKT_TYPE);
    for (guint i = 0; types && i < types->len; i++) {
        guint32 t;
        if (exch_field_uint_at(types, i, &t) && (t == DCERPC_PT_BIND || t == DCERPC_PT_ALTER)) {
            ptype = (guint8)t;
            break;
        }
    }
    guint n = 0;
    e_guid_t uuids[EXCH_SCAN_MAX_IFS];
    for (guint i = 0; i < a->len && n < EXCH_SCAN_MAX_IFS; i++) {
        if (exch_field_guid_at(a, i, &uuids[n]))
            n++;
    }
    exch_dcerpc_classify(uuids, n, ptype, out);
    return n > 0;
}

static void
get_uuid(const guint8 *p, gboolean le, e_guid_t *g)
{
    if (le) {
        g->data1 = exch_le32(p);
        g->data2 = exch_le16(p + 4);
        g->data3 = exch_le16(p + 6);
    } else {
        g->data1 = exch_be32(p);
        g->data2 = exch_be16(p + 4);
        g->data3 = exch_be16(p + 6);
    }
    memcpy(g->data4, p + 8, 8);
}

/* The first Cookie command of an RTS PDU body is the virtual-connection
 * cookie in both CONN/A1 and CONN/B1 (MS-RPCH 2.2.4.2, 2.2.4.5).  Commands
 * before it (Version) have fixed sizes; anything else ends the search. */
static gboolean
rts_vc_cookie(const guint8 *p, guint end, gboolean le, e_guid_t *cookie)
{
    guint ncmd = le ? exch_le16(p + 18) : exch_be16(p + 18);
    guint off = 20;
    for (guint i = 0; i < ncmd && off + 4 <= end; i++) {
        guint32 type = le ? exch_le32(p + off) : exch_be32(p + off);
        off += 4;
        if (type == RTS_CMD_COOKIE) {
            if (off + 16 > end)
                return FALSE;
            get_uuid(p + off, le, cookie);
            return TRUE;
        }
        if (type != 6 && type != 0 && type != 2 && type != 4 && type != 5)
            return FALSE;   /* not a 4-byte command: stop rather than guess */
        off += 4;
    }
    return FALSE;
}

/* See exchange.h.  Walks CO PDUs back to back and stops at the first bytes
 * that are not a PDU header; a PDU cut by the end of the bytes is read as
 * far as it goes. */
void
exch_dcerpc_scan(const guint8 *data, guint len, exch_pdu_scan_t *out)
{
    guint off = 0;
    memset(out, 0, sizeof *out);

    while (off + 16 <= len) {
        const guint8 *p = data + off;
        if (p[0] != 5 || p[1] > 1)
            break;
        gboolean le = (p[4] & 0x10) != 0;
        guint frag = le ? exch_le16(p + 8) : exch_be16(p + 8);
        if (frag < 16) {
            out->malformed = TRUE;
            return;
        }
        guint avail = MIN(frag, len - off);
        gboolean whole = frag <= len - off;

        if ((p[2] == DCERPC_PT_BIND || p[2] == DCERPC_PT_ALTER) && avail >= 28) {
            guint nctx = p[24];
            if (frag < 28 || nctx == 0) {
                out->malformed = TRUE;
                return;
            }
            if (!out->bind_ptype)
                out->bind_ptype = p[2];
            guint ctx = 28;
            for (guint i = 0; i < nctx; i++) {
                if (ctx + 24 > avail) {
                    out->malformed = whole;     /* a complete PDU too short for its contexts */
                    return;
                }
                if (out->n_uuids < EXCH_SCAN_MAX_IFS)
                    get_uuid(p + ctx + 4, le, &out->uuids[out->n_uuids++]);
                ctx += 24 + 20 * p[ctx + 2];
            }
        } else if (p[2] == DCERPC_PT_RTS && avail >= 20) {
            out->rts = TRUE;
            if (!out->have_cookie)
                out->have_cookie = rts_vc_cookie(p, avail, le, &out->cookie);
        }
        off += frag;
    }
}

/* Connection-oriented PDU types the client sends: REQUEST, BIND,
 * ALTER_CONTEXT, AUTH3, CO_CANCEL, ORPHANED (C706 12.6.4); the others are
 * the server's. */
gboolean
exch_dcerpc_from_client(guint32 ptype)
{
    return ptype == 0 || ptype == 11 || ptype == 14 || ptype == 16 || ptype == 18 || ptype == 19;
}

/* A BIND_ACK/ALTER_CONTEXT_RESP body in bytes: does one context result say
 * acceptance (C706 12.6.4.4: sec_addr, then the p_result_list)? */
static exch_bind_answer_t
ack_results(const guint8 *p, guint len)
{
    gboolean le = (p[4] & 0x10) != 0;
    if (len < 28)
        return EXCH_BIND_ACCEPTED;          /* cut short: the PDU type is all we have */
    guint off = 26 + (le ? exch_le16(p + 24) : exch_be16(p + 24));
    off = (off + 3) & ~3u;
    if (off + 4 > len)
        return EXCH_BIND_ACCEPTED;
    guint n = p[off];
    off += 4;
    for (guint i = 0; i < n && off + 2 <= len; i++, off += 24) {
        if ((le ? exch_le16(p + off) : exch_be16(p + off)) == 0)
            return EXCH_BIND_ACCEPTED;
    }
    return n ? EXCH_BIND_REFUSED : EXCH_BIND_ACCEPTED;
}

/* See exchange.h. */
exch_bind_answer_t
exch_dcerpc_bind_answer(proto_tree *tree)
{
    guint32 ptype, result;
    if (exch_field_uint(tree, EXCH_F_DCERPC_PKT_TYPE, &ptype)) {
        if (ptype == DCERPC_PT_BIND_NAK)
            return EXCH_BIND_REFUSED;
        if (ptype != DCERPC_PT_BIND_ACK && ptype != DCERPC_PT_ALTER_RESP)
            return EXCH_BIND_NO_ANSWER;
        GPtrArray *results = exch_field_all(tree, EXCH_F_DCERPC_ACK_RESULT);
        for (guint i = 0; results && i < results->len; i++) {
            if (exch_field_uint_at(results, i, &result) && result == 0)
                return EXCH_BIND_ACCEPTED;
        }
        return results ? EXCH_BIND_REFUSED : EXCH_BIND_ACCEPTED;
    }
    /* Bytes no stock dissector decoded (X11 owns 6000-6063). */
    GPtrArray *a = exch_field_all(tree, EXCH_F_TCP_PAYLOAD);
    guint len = 0;
    const guint8 *p = a ? exch_field_bytes(a, a->len - 1, &len) : NULL;
    if (!p || len < 16 || p[0] != 5 || p[1] > 1)
        return EXCH_BIND_NO_ANSWER;
    if (p[2] == DCERPC_PT_BIND_NAK)
        return EXCH_BIND_REFUSED;
    if (p[2] != DCERPC_PT_BIND_ACK && p[2] != DCERPC_PT_ALTER_RESP)
        return EXCH_BIND_NO_ANSWER;
    return ack_results(p, len);
}
