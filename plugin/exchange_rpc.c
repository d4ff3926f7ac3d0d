/* exchange_rpc.c
 * RPC/TCP evidence: what endpoint-mapper towers and DCE/RPC BINDs say about
 * a TCP conversation.
 *
 * Decides:
 *   - a 135 conversation whose ept_map names an Exchange interface is the
 *     endpoint mapper (certain);
 *   - every tower of an EPM answer that names an Exchange interface teaches
 *     (server address, port) -> interface; later connections there are
 *     tagged "learned", and the port is handed to the DCE/RPC dissector (a
 *     template conversation), which also beats X11 on 6001-6004;
 *   - a BIND/ALTER_CONTEXT naming an Exchange interface is certain; one
 *     naming only other interfaces proves "not Exchange".
 * BINDs are read from the stock DCE/RPC fields; where no stock dissector
 * decoded the bytes (X11 owns 6000-6063), a small bounded parser reads them.
 *
 * Memory: the learned table holds at most EXCH_MAX_LEARNED endpoints per file.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#include <epan/conversation.h>
#include <epan/guid-utils.h>
#include <epan/to_str.h>

#define EXCH_MAX_LEARNED   65536
#define EXCH_MAX_BIND_IFS  EXCH_SCAN_MAX_IFS

#define DCERPC_PT_REQUEST   0
#define DCERPC_PT_RESPONSE  2
#define DCERPC_PT_BIND      11
#define DCERPC_PT_ALTER     14
#define EPM_OPNUM_LOOKUP    2
#define EPM_OPNUM_MAP       3
#define EPM_OPNUM_MAP_AUTH  7

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

static dissector_handle_t dcerpc_tcp_handle;
static wmem_map_t *learned_map;     /* exch_learned_t* -> same, keyed by addr+port */
static guint learned_gen;           /* bumped whenever the table changes */
static guint learned_count;
exch_pref_bool_t exch_pref_decode_learned = TRUE;

exch_iface_t
exch_rpc_iface_from_guid(const e_guid_t *g)
{
    for (size_t i = 0; i < G_N_ELEMENTS(known_ifaces); i++) {
        if (guid_cmp(&known_ifaces[i].guid, g) == 0)
            return known_ifaces[i].iface;
    }
    return EXCH_IF_NONE;
}

exch_role_t
exch_rpc_iface_role(exch_iface_t i)
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

static guint
learned_hash(gconstpointer k)
{
    const exch_learned_t *l = (const exch_learned_t *)k;
    return add_address_to_hash(l->port, &l->addr);
}

static gboolean
learned_equal(gconstpointer a, gconstpointer b)
{
    const exch_learned_t *x = (const exch_learned_t *)a, *y = (const exch_learned_t *)b;
    return x->port == y->port && addresses_equal(&x->addr, &y->addr);
}

/* Called at every file open (register_init_routine). */
void
exch_rpc_init(void)
{
    learned_map = wmem_map_new(wmem_file_scope(), learned_hash, learned_equal);
    learned_gen = 1;
    learned_count = 0;
}

void
exch_rpc_handoff(void)
{
    dcerpc_tcp_handle = dissector_table_get_dissector_handle(find_dissector_table("tcp.port"), "DCERPC");
    if (!dcerpc_tcp_handle)
        ws_warning("DCE/RPC TCP dissector not found; learned ports keep their stock decoding");
}

guint
exch_rpc_learned_count(void)
{
    return learned_count;
}

/* ---- BINDs ---- */

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

#define DCERPC_PT_RTS       20
#define RTS_CMD_COOKIE      3

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
exch_rpc_scan(const guint8 *data, guint len, exch_pdu_scan_t *out)
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
        } else if (p[2] == DCERPC_PT_RTS && avail >= 20 && !out->have_cookie) {
            out->have_cookie = rts_vc_cookie(p, avail, le, &out->cookie);
        }
        off += frag;
    }
}

/* Turn the interfaces named by one BIND/ALTER_CONTEXT frame into evidence:
 * the role of an RPC/TCP connection, or the target of an RPC/HTTP channel. */
void
exch_rpc_offer_binds(exch_conv_t *c, packet_info *pinfo, const e_guid_t *uuids, guint n, guint8 ptype)
{
    guint32 mask = 0;
    exch_iface_t mailbox = EXCH_IF_NONE, directory = EXCH_IF_NONE;
    const e_guid_t *foreign = NULL;

    for (guint i = 0; i < n; i++) {
        exch_iface_t ifc = exch_rpc_iface_from_guid(&uuids[i]);
        if (ifc == EXCH_IF_NONE) {
            if (!foreign)
                foreign = &uuids[i];
            continue;
        }
        mask |= 1u << ifc;
        if (exch_rpc_iface_role(ifc) == EXCH_ROLE_MAILBOX && mailbox == EXCH_IF_NONE)
            mailbox = ifc;
        else if (exch_rpc_iface_role(ifc) == EXCH_ROLE_DIRECTORY && directory == EXCH_IF_NONE)
            directory = ifc;
    }

    const char *what = ptype == DCERPC_PT_ALTER ? "ALTER_CONTEXT" : "BIND";
    if (c->transport == EXCH_TRANSPORT_RPC_HTTP) {
        exch_iface_t decisive = mailbox != EXCH_IF_NONE ? mailbox : directory;
        if (decisive != EXCH_IF_NONE)
            exch_http_offer_bind(c, pinfo, decisive, mask, what);
        return;
    }
    exch_evidence_t ev = { 0 };
    ev.sender_is_client = TRUE;
    ev.conf = EXCH_CONF_CERTAIN;
    ev.transport = EXCH_TRANSPORT_RPC_TCP;
    ev.ifaces = mask;

    /* A mailbox interface decides before a directory one when a single PDU
     * names both (Exchange 2013+ serves NSPI on the mailbox endpoint too). */
    ev.iface = mailbox != EXCH_IF_NONE ? mailbox : directory;
    if (ev.iface != EXCH_IF_NONE) {
        ev.role = exch_rpc_iface_role(ev.iface);
        ev.text = wmem_strdup_printf(pinfo->pool, "%s to %s in frame %u", what,
                                     exch_iface_name(ev.iface), pinfo->num);
        exch_conv_offer(c, pinfo, &ev);
    } else if (!(mask & (1u << EXCH_IF_EPM)) && foreign) {
        /* Only non-Exchange interfaces (not even the endpoint mapper). */
        ev.role = EXCH_ROLE_NONE;
        ev.text = wmem_strdup_printf(pinfo->pool, "%s to %s (not Exchange) in frame %u", what,
                                     guid_to_str(pinfo->pool, foreign), pinfo->num);
        exch_conv_offer(c, pinfo, &ev);
    }
}

/* BINDs as decoded by the stock DCE/RPC dissector. */
static gboolean
bind_from_fields(exch_conv_t *c, packet_info *pinfo, proto_tree *tree)
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
    e_guid_t uuids[EXCH_MAX_BIND_IFS];
    for (guint i = 0; i < a->len && n < EXCH_MAX_BIND_IFS; i++) {
        if (exch_field_guid_at(a, i, &uuids[n]))
            n++;
    }
    if (n)
        exch_rpc_offer_binds(c, pinfo, uuids, n, ptype);
    return TRUE;
}

/* BINDs in bytes no stock dissector decoded as DCE/RPC. */
static void
bind_from_payload(exch_conv_t *c, packet_info *pinfo, proto_tree *tree)
{
    /* HTTP connections carry their PDUs in bodies: exchange_http.c reads them. */
    if (c->http_seen || c->transport == EXCH_TRANSPORT_RPC_HTTP)
        return;
    GPtrArray *a = exch_field_all(tree, EXCH_F_TCP_PAYLOAD);
    if (!a || exch_field_all(tree, EXCH_F_DCERPC_PKT_TYPE))
        return;
    guint len = 0;
    const guint8 *p = exch_field_bytes(a, a->len - 1, &len);
    if (!p || len < 28)
        return;
    if (p[0] != 5 || p[1] > 1 || (p[2] != DCERPC_PT_BIND && p[2] != DCERPC_PT_ALTER))
        return;

    exch_pdu_scan_t scan;
    exch_rpc_scan(p, len, &scan);
    if (scan.malformed) {
        exch_frame_get(pinfo, TRUE)->bad_bind = TRUE;
        return;
    }
    if (scan.n_uuids == 0)
        return;
    exch_rpc_offer_binds(c, pinfo, scan.uuids, scan.n_uuids, scan.bind_ptype);
    /* The stock dissectors missed this DCE/RPC connection (typically X11 on
     * 6001-6004): let DCE/RPC decode the rest of it. */
    if (c->role != EXCH_ROLE_NONE && exch_pref_decode_learned && dcerpc_tcp_handle) {
        conversation_t *conv = find_conversation_pinfo(pinfo, 0);
        if (conv)
            conversation_set_dissector(conv, dcerpc_tcp_handle);
    }
}

/* ---- Endpoint mapper ---- */

typedef struct {
    const void  *ds;
    gint         start;
    exch_field_t kind;
    GPtrArray   *found;         /* the field's occurrences ... */
    guint        index;         /* ... and which one this is */
} tower_item_t;

static int
tower_item_cmp(const void *a, const void *b)
{
    const tower_item_t *x = (const tower_item_t *)a, *y = (const tower_item_t *)b;
    if (x->ds != y->ds)
        return (x->ds < y->ds) ? -1 : 1;
    return (x->start > y->start) - (x->start < y->start);
}

typedef struct {
    exch_iface_t iface;
    gboolean     have_uuid;
    guint16      port;
    guint32      ipv4;          /* network order, 0 = none or 0.0.0.0 */
} tower_t;

static void
learn(packet_info *pinfo, const tower_t *t, const address *epm_server)
{
    exch_learned_t key;
    guint32 ip = t->ipv4;
    if (ip != 0)
        set_address(&key.addr, AT_IPv4, 4, &ip);
    else
        key.addr = *epm_server;
    key.port = t->port;

    exch_learned_t *l = (exch_learned_t *)wmem_map_lookup(learned_map, &key);
    if (l && l->iface == t->iface)
        return;
    exch_frame_t *f = exch_frame_get(pinfo, TRUE);
    if (!l) {
        if (learned_count >= EXCH_MAX_LEARNED) {
            f->learn_limit = TRUE;
            return;
        }
        l = wmem_new0(wmem_file_scope(), exch_learned_t);
        copy_address_wmem(wmem_file_scope(), &l->addr, &key.addr);
        l->port = key.port;
        wmem_map_insert(learned_map, l, l);
        learned_count++;
        if (exch_pref_decode_learned && dcerpc_tcp_handle) {
            conversation_t *tmpl = conversation_new(pinfo->num, &l->addr, NULL, CONVERSATION_TCP,
                                                    l->port, 0, NO_ADDR2 | NO_PORT2 | CONVERSATION_TEMPLATE);
            conversation_set_dissector(tmpl, dcerpc_tcp_handle);
        }
    }
    l->iface = t->iface;
    l->ifaces |= 1u << t->iface;
    l->frame = pinfo->num;
    learned_gen++;

    if (!f->learned)
        f->learned = wmem_array_new(wmem_file_scope(), sizeof(exch_learned_t));
    wmem_array_append_one(f->learned, *l);
}

/* One finished tower of an ept_map/ept_lookup request or answer. */
static void
tower_done(exch_conv_t *c, packet_info *pinfo, const tower_t *t, guint32 opnum, gboolean answer)
{
    exch_role_t r = exch_rpc_iface_role(t->iface);
    if (r != EXCH_ROLE_MAILBOX && r != EXCH_ROLE_DIRECTORY)
        return;

    if (opnum == EPM_OPNUM_MAP || opnum == EPM_OPNUM_MAP_AUTH) {
        exch_evidence_t ev = { 0 };
        ev.role = EXCH_ROLE_ENDPOINT_MAPPER;
        ev.transport = EXCH_TRANSPORT_RPC_TCP;
        ev.iface = EXCH_IF_EPM;
        ev.ifaces = 1u << EXCH_IF_EPM;
        ev.conf = EXCH_CONF_CERTAIN;
        ev.sender_is_client = !answer;
        ev.sender_is_server = answer;
        ev.text = wmem_strdup_printf(pinfo->pool, "ept_map %s for %s in frame %u",
                                     answer ? "answer" : "request", exch_iface_name(t->iface), pinfo->num);
        exch_conv_offer(c, pinfo, &ev);
    }
    if (answer && t->port != 0)
        learn(pinfo, t, &pinfo->src);
}

static void
epm_from_fields(exch_conv_t *c, packet_info *pinfo, proto_tree *tree)
{
    static const exch_field_t kinds[] = {
        EXCH_F_EPM_NUM_FLOORS, EXCH_F_EPM_UUID, EXCH_F_EPM_TCP_PORT, EXCH_F_EPM_IP
    };
    GPtrArray *floors = exch_field_all(tree, EXCH_F_EPM_NUM_FLOORS);
    if (!floors)
        return;

    guint32 opnum = 0, ptype = 0;
    exch_field_uint(tree, EXCH_F_DCERPC_OPNUM, &opnum);
    exch_field_uint(tree, EXCH_F_DCERPC_PKT_TYPE, &ptype);
    gboolean answer = ptype == DCERPC_PT_RESPONSE;

    /* The fields of all towers, in wire order: a tower starts at its
     * floor count, its first UUID is the interface (the second is the
     * transfer syntax), then come the TCP port and the IPv4 floors. */
    wmem_array_t *items = wmem_array_new(pinfo->pool, sizeof(tower_item_t));
    for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
        GPtrArray *a = exch_field_all(tree, kinds[k]);
        for (guint i = 0; a && i < a->len; i++) {
            tower_item_t it = { NULL, 0, kinds[k], a, i };
            exch_field_where(a, i, &it.ds, &it.start);
            wmem_array_append_one(items, it);
        }
    }
    wmem_array_sort(items, tower_item_cmp);

    tower_t t = { 0 };
    gboolean in_tower = FALSE;
    for (guint i = 0; i < wmem_array_get_count(items); i++) {
        tower_item_t *it = (tower_item_t *)wmem_array_index(items, i);
        guint32 v;
        e_guid_t g;
        switch (it->kind) {
        case EXCH_F_EPM_NUM_FLOORS:
            if (in_tower)
                tower_done(c, pinfo, &t, opnum, answer);
            memset(&t, 0, sizeof t);
            in_tower = TRUE;
            break;
        case EXCH_F_EPM_UUID:
            if (!t.have_uuid && exch_field_guid_at(it->found, it->index, &g)) {
                t.iface = exch_rpc_iface_from_guid(&g);
                t.have_uuid = TRUE;
            }
            break;
        case EXCH_F_EPM_TCP_PORT:
            if (exch_field_uint_at(it->found, it->index, &v))
                t.port = (guint16)v;
            break;
        case EXCH_F_EPM_IP:
            if (exch_field_ipv4_at(it->found, it->index, &v))
                t.ipv4 = v;
            break;
        default:
            break;
        }
    }
    if (in_tower)
        tower_done(c, pinfo, &t, opnum, answer);
}

/* An undecided conversation to a learned endpoint takes its interface. */
static void
check_learned(exch_conv_t *c, packet_info *pinfo)
{
    if (c->conf >= EXCH_CONF_LEARNED || c->not_exchange || c->learned_gen == learned_gen)
        return;
    c->learned_gen = learned_gen;
    if (learned_count == 0)
        return;

    exch_learned_t key;
    gboolean to_server = TRUE;
    key.addr = pinfo->dst;
    key.port = (guint16)pinfo->destport;
    exch_learned_t *l = (exch_learned_t *)wmem_map_lookup(learned_map, &key);
    if (!l) {
        key.addr = pinfo->src;
        key.port = (guint16)pinfo->srcport;
        l = (exch_learned_t *)wmem_map_lookup(learned_map, &key);
        to_server = FALSE;
    }
    if (!l)
        return;

    exch_evidence_t ev = { 0 };
    ev.role = exch_rpc_iface_role(l->iface);
    ev.transport = EXCH_TRANSPORT_RPC_TCP;
    ev.iface = l->iface;
    ev.ifaces = l->ifaces;
    ev.conf = EXCH_CONF_LEARNED;
    ev.learned_from = l->frame;
    ev.sender_is_client = to_server;
    ev.sender_is_server = !to_server;
    exch_endpoint_t ep = { l->addr, l->port };
    wmem_strbuf_t *names = wmem_strbuf_new(pinfo->pool, "");
    for (int i = EXCH_IF_NONE + 1; i < EXCH_IF_COUNT; i++) {
        if (l->ifaces & (1u << i))
            wmem_strbuf_append_printf(names, "%s%s", wmem_strbuf_get_len(names) ? ", " : "",
                                      exch_iface_name((exch_iface_t)i));
    }
    ev.text = wmem_strdup_printf(pinfo->pool, "ept_map answer in frame %u mapped %s to %s",
                                 l->frame, wmem_strbuf_get_str(names),
                                 exch_endpoint_to_str(pinfo->pool, &ep));
    exch_conv_offer(c, pinfo, &ev);
}

/* A connection opening towards a learned endpoint uses it. */
static void
note_use(exch_conv_t *c, packet_info *pinfo)
{
    if (learned_count == 0 || c->first_frame != pinfo->num)
        return;
    exch_learned_t key;
    key.addr = pinfo->dst;
    key.port = (guint16)pinfo->destport;
    exch_learned_t *l = (exch_learned_t *)wmem_map_lookup(learned_map, &key);
    if (l)
        l->used_in = pinfo->num;
}

/* Was an endpoint announced in one ept_map answer never connected to
 * afterwards?  (Read after the first pass.) */
gboolean
exch_rpc_learned_unused(const exch_learned_t *announced)
{
    exch_learned_t key;
    key.addr = announced->addr;
    key.port = announced->port;
    const exch_learned_t *l = learned_map ? (const exch_learned_t *)wmem_map_lookup(learned_map, &key) : NULL;
    return l && l->used_in < announced->frame;
}

/* All RPC/TCP evidence in one frame (first pass only). */
void
exch_rpc_analyze(packet_info *pinfo, proto_tree *tree, exch_conv_t *c)
{
    note_use(c, pinfo);
    epm_from_fields(c, pinfo, tree);
    if (c->conf < EXCH_CONF_CERTAIN || c->role == EXCH_ROLE_MAILBOX || c->role == EXCH_ROLE_DIRECTORY) {
        /* Certain roles still collect further interfaces (ALTER_CONTEXT). */
        if (!bind_from_fields(c, pinfo, tree))
            bind_from_payload(c, pinfo, tree);
    }
    check_learned(c, pinfo);
}
