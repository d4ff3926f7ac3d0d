/* exchange_rpc.c
 * RPC/TCP evidence: what endpoint-mapper towers and DCE/RPC BINDs say about
 * a TCP conversation.
 *
 * Decides:
 *   - a 135 conversation whose ept_map names an Exchange interface is the
 *     endpoint mapper (inferred from the request, certain from the answer);
 *   - every tower of an EPM answer that names an Exchange interface teaches
 *     (server address, port) -> interface; later connections there are
 *     tagged "learned", and the port is handed to the DCE/RPC dissector (a
 *     template conversation), which also beats X11 on 6001-6004;
 *   - a BIND/ALTER_CONTEXT naming an Exchange interface is inferred until
 *     the server accepts it (BIND_ACK/ALTER_CONTEXT_RESP), then certain; a
 *     BIND_NAK or a refusal of every context takes the role away; a BIND
 *     naming only other interfaces proves "not Exchange";
 *   - a connection begun before the capture, to an endpoint where the server
 *     accepted another connection's Exchange BIND, serves the same
 *     ("learned");
 *   - DCE/RPC without a BIND to an address an ept_map answer or a BIND
 *     proved an Exchange RPC server, on a port nothing explains: "unknown",
 *     inferred;
 *   - after the first pass (exch_rpc_late()), the same rules with what the
 *     whole capture taught, for the connections still undecided.
 * BINDs are read from the stock DCE/RPC fields; where no stock dissector
 * decoded the bytes (X11 owns 6000-6063), a small bounded parser reads them.
 *
 * Memory: the learned table holds at most EXCH_MAX_LEARNED endpoints per file.
 *
 * Of the conversation it writes only c->rpc (which learned-table generation
 * it last checked, whether DCE/RPC was seen, the BIND waiting for its
 * answer); roles go through
 * exch_conv_offer() and, after the first pass, exch_conv_offer_late().
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#include <epan/conversation.h>
#include <epan/guid-utils.h>
#include <epan/to_str.h>

#define EXCH_MAX_LEARNED   65536

#define DCERPC_PT_REQUEST   0
#define DCERPC_PT_RESPONSE  2
#define DCERPC_PT_BIND      11
#define DCERPC_PT_ALTER     14
#define EPM_OPNUM_LOOKUP    2
#define EPM_OPNUM_MAP       3
#define EPM_OPNUM_MAP_AUTH  7

static dissector_handle_t dcerpc_tcp_handle;
static wmem_map_t *learned_map;     /* exch_learned_t* -> same, keyed by addr+port */
static guint learned_gen;           /* bumped whenever either table changes */
static guint learned_count;
exch_pref_bool_t exch_pref_decode_learned = TRUE;

/* Server endpoints an Exchange BIND went to: on Exchange one endpoint
 * belongs to one service process (EMSMDB and AsyncEMSMDB, or NSPI and
 * RFR), so another connection there serves the same. */
typedef struct {
    exch_endpoint_t ep;
    exch_iface_t    iface;
    guint32         frame;
    guint32         stream;
} bound_t;
static wmem_map_t *bound_map;       /* bound_t* -> same, keyed by ep */

/* Addresses proved to be Exchange RPC servers -> why (file scope). */
static wmem_map_t *server_map;
static guint32 late_mark;           /* exch_conv_first_pass_frames() at the last late pass */

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

static guint
bound_hash(gconstpointer k)
{
    const bound_t *b = (const bound_t *)k;
    return add_address_to_hash(b->ep.port, &b->ep.addr);
}

static gboolean
bound_equal(gconstpointer a, gconstpointer b)
{
    const bound_t *x = (const bound_t *)a, *y = (const bound_t *)b;
    return x->ep.port == y->ep.port && addresses_equal(&x->ep.addr, &y->ep.addr);
}

static guint
address_hash(gconstpointer k)
{
    return add_address_to_hash(0, (const address *)k);
}

static gboolean
address_equal(gconstpointer a, gconstpointer b)
{
    return addresses_equal((const address *)a, (const address *)b);
}

static void
prove_server(const address *addr, const char *why)
{
    if (wmem_map_lookup(server_map, addr))
        return;
    address *a = wmem_new(wmem_file_scope(), address);
    copy_address_wmem(wmem_file_scope(), a, addr);
    wmem_map_insert(server_map, a, wmem_strdup(wmem_file_scope(), why));
}

/* Called at every file open (register_init_routine). */
void
exch_rpc_init(void)
{
    bound_map = wmem_map_new(wmem_file_scope(), bound_hash, bound_equal);
    server_map = wmem_map_new(wmem_file_scope(), address_hash, address_equal);
    late_mark = 0;
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

/* ---- BINDs ---- */

/* Remember where an accepted Exchange BIND went (the server sent the
 * answer: the frame's source is the server). */
static void
note_bind(const exch_conv_t *c, packet_info *pinfo, exch_iface_t iface, guint32 bind_frame)
{
    bound_t key;
    key.ep.addr = pinfo->src;
    key.ep.port = (guint16)pinfo->srcport;
    if (c->not_exchange || wmem_map_lookup(bound_map, &key))
        return;
    bound_t *b = wmem_new0(wmem_file_scope(), bound_t);
    copy_address_wmem(wmem_file_scope(), &b->ep.addr, &key.ep.addr);
    b->ep.port = key.ep.port;
    b->iface = iface;
    b->frame = bind_frame;
    b->stream = c->stream;
    wmem_map_insert(bound_map, b, b);
    learned_gen++;
    prove_server(&b->ep.addr, wmem_strdup_printf(pinfo->pool, "a BIND to %s in frame %u went to it and was accepted",
                                                 exch_iface_name(iface), bind_frame));
}

/* Turn the interfaces named by one BIND/ALTER_CONTEXT frame into the role
 * of an RPC/TCP connection.  (Inside RPC/HTTP channels they name the
 * channel's target instead: exchange_http.c reads those.) */
static void
offer_binds(const exch_conv_t *c, exch_rpc_state_t *r, packet_info *pinfo, const exch_bind_t *b)
{
    exch_evidence_t ev = { 0 };
    ev.sender_is_client = TRUE;
    ev.conf = EXCH_CONF_CERTAIN;
    ev.transport = EXCH_TRANSPORT_RPC_TCP;
    ev.ifaces = b->mask;

    /* A mailbox interface decides before a directory one when a single PDU
     * names both (Exchange 2013+ serves NSPI on the mailbox endpoint too). */
    ev.iface = b->mailbox != EXCH_IF_NONE ? b->mailbox : b->directory;
    if (ev.iface != EXCH_IF_NONE) {
        ev.role = exch_dcerpc_iface_role(ev.iface);
        ev.text = wmem_strdup_printf(pinfo->pool, "%s to %s in frame %u", b->what,
                                     exch_iface_name(ev.iface), pinfo->num);
        ev.conf = EXCH_CONF_INFERRED;   /* until the server accepts it */
        exch_conv_offer(c, pinfo, &ev);
        if (r->bind_iface == EXCH_IF_NONE) {
            r->bind_iface = ev.iface;
            r->bind_frame = pinfo->num;
            r->bind_what = b->what;
        }
        r->bind_ifaces |= b->mask;
    } else if (!(b->mask & (1u << EXCH_IF_EPM)) && b->have_foreign) {
        /* Only non-Exchange interfaces (not even the endpoint mapper). */
        ev.role = EXCH_ROLE_NONE;
        ev.text = wmem_strdup_printf(pinfo->pool, "%s to %s (not Exchange) in frame %u", b->what,
                                     guid_to_str(pinfo->pool, &b->foreign), pinfo->num);
        exch_conv_offer(c, pinfo, &ev);
    }
}

/* The server's answer to the BIND waiting for it. */
static void
bind_answered(const exch_conv_t *c, exch_rpc_state_t *r, packet_info *pinfo, proto_tree *tree)
{
    if (r->bind_iface == EXCH_IF_NONE)
        return;
    exch_bind_answer_t a = exch_dcerpc_bind_answer(tree);
    if (a == EXCH_BIND_NO_ANSWER)
        return;
    exch_evidence_t ev = { 0 };
    ev.sender_is_server = TRUE;
    ev.conf = EXCH_CONF_CERTAIN;
    ev.transport = EXCH_TRANSPORT_RPC_TCP;
    ev.iface = a == EXCH_BIND_ACCEPTED ? r->bind_iface : EXCH_IF_NONE;
    ev.ifaces = a == EXCH_BIND_ACCEPTED ? r->bind_ifaces : 0;
    ev.role = exch_dcerpc_iface_role(ev.iface);
    ev.text = wmem_strdup_printf(pinfo->pool, "%s to %s in frame %u, %s by the server in frame %u", r->bind_what,
                                 exch_iface_name(r->bind_iface), r->bind_frame,
                                 a == EXCH_BIND_ACCEPTED ? "accepted" : "refused", pinfo->num);
    exch_conv_offer(c, pinfo, &ev);
    if (a == EXCH_BIND_ACCEPTED)
        note_bind(c, pinfo, r->bind_iface, r->bind_frame);
    r->bind_iface = EXCH_IF_NONE;
    r->bind_ifaces = 0;
}

/* BINDs as decoded by the stock DCE/RPC dissector. */
static gboolean
bind_from_fields(const exch_conv_t *c, exch_rpc_state_t *r, packet_info *pinfo, proto_tree *tree)
{
    exch_bind_t b;
    if (!exch_dcerpc_bind_fields(tree, &b))
        return FALSE;
    if (c->transport != EXCH_TRANSPORT_RPC_HTTP)
        offer_binds(c, r, pinfo, &b);
    return TRUE;
}

/* BINDs in bytes no stock dissector decoded as DCE/RPC. */
static void
bind_from_payload(const exch_conv_t *c, exch_rpc_state_t *r, packet_info *pinfo, proto_tree *tree)
{
    /* HTTP connections carry their PDUs in bodies: exchange_http.c reads them. */
    if (c->http.seen || c->transport == EXCH_TRANSPORT_RPC_HTTP)
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
    exch_dcerpc_scan(p, len, &scan);
    if (scan.malformed) {
        EXCH_FRAME_PART(pinfo, exch_frame_rpc_t, EXCH_FRAME_RPC, TRUE)->bad_bind = TRUE;
        return;
    }
    if (scan.n_uuids == 0)
        return;
    exch_bind_t b;
    exch_dcerpc_classify(scan.uuids, scan.n_uuids, scan.bind_ptype, &b);
    offer_binds(c, r, pinfo, &b);
    /* The stock dissectors missed this DCE/RPC connection (typically X11 on
     * 6001-6004): let DCE/RPC decode the rest of it. */
    if (c->role != EXCH_ROLE_NONE && exch_pref_decode_learned && dcerpc_tcp_handle) {
        conversation_t *conv = find_conversation_pinfo(pinfo, 0);
        if (conv)
            conversation_set_dissector(conv, dcerpc_tcp_handle);
    }
}

/* ---- Endpoint mapper ---- */


static void
learn(packet_info *pinfo, const exch_tower_t *t, const address *epm_server)
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
    exch_frame_rpc_t *f = EXCH_FRAME_PART(pinfo, exch_frame_rpc_t, EXCH_FRAME_RPC, TRUE);
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
    prove_server(&l->addr, wmem_strdup_printf(pinfo->pool, "an ept_map answer in frame %u names it", pinfo->num));

    if (!f->learned)
        f->learned = wmem_array_new(wmem_file_scope(), sizeof(exch_learned_t));
    wmem_array_append_one(f->learned, *l);
}

/* One finished tower of an ept_map/ept_lookup request or answer. */
static void
tower_done(const exch_conv_t *c, packet_info *pinfo, const exch_tower_t *t, guint32 opnum, gboolean answer)
{
    exch_role_t r = exch_dcerpc_iface_role(t->iface);
    if (r != EXCH_ROLE_MAILBOX && r != EXCH_ROLE_DIRECTORY)
        return;

    if (opnum == EPM_OPNUM_MAP || opnum == EPM_OPNUM_MAP_AUTH) {
        exch_evidence_t ev = { 0 };
        ev.role = EXCH_ROLE_ENDPOINT_MAPPER;
        ev.transport = EXCH_TRANSPORT_RPC_TCP;
        ev.iface = EXCH_IF_EPM;
        ev.ifaces = 1u << EXCH_IF_EPM;
        ev.conf = answer ? EXCH_CONF_CERTAIN : EXCH_CONF_INFERRED;
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
epm_from_fields(const exch_conv_t *c, packet_info *pinfo, proto_tree *tree)
{
    guint32 opnum;
    gboolean answer;
    wmem_array_t *towers = exch_epm_towers(pinfo, tree, &opnum, &answer);
    for (guint i = 0; towers && i < wmem_array_get_count(towers); i++)
        tower_done(c, pinfo, (const exch_tower_t *)wmem_array_index(towers, i), opnum, answer);
}

/* What an endpoint is known to serve, as learned evidence about c: an
 * ept_map answer naming it, else (for a connection begun before the
 * capture, or after the first pass) an Exchange BIND another connection
 * sent there.  FALSE when nothing is known. */
static gboolean
endpoint_evidence(const exch_conv_t *c, const address *addr, guint32 port, gboolean late,
                  wmem_allocator_t *scope, exch_evidence_t *ev)
{
    exch_endpoint_t ep = { *addr, (guint16)port };
    const char *when = late ? " (later in the capture)" : "";
    memset(ev, 0, sizeof *ev);
    ev->transport = EXCH_TRANSPORT_RPC_TCP;
    ev->conf = EXCH_CONF_LEARNED;

    exch_learned_t key;
    key.addr = *addr;
    key.port = (guint16)port;
    const exch_learned_t *l = learned_count ? (const exch_learned_t *)wmem_map_lookup(learned_map, &key) : NULL;
    if (l) {
        ev->role = exch_dcerpc_iface_role(l->iface);
        ev->iface = l->iface;
        ev->ifaces = l->ifaces;
        ev->learned_from = l->frame;
        wmem_strbuf_t *names = wmem_strbuf_new(scope, "");
        for (int i = EXCH_IF_NONE + 1; i < EXCH_IF_COUNT; i++) {
            if (l->ifaces & (1u << i))
                wmem_strbuf_append_printf(names, "%s%s", wmem_strbuf_get_len(names) ? ", " : "",
                                          exch_iface_name((exch_iface_t)i));
        }
        ev->text = wmem_strdup_printf(scope, "ept_map answer in frame %u%s mapped %s to %s", l->frame, when,
                                      wmem_strbuf_get_str(names), exch_endpoint_to_str(scope, &ep));
        return TRUE;
    }
    if (!late && c->opened_in)
        return FALSE;           /* its own BIND is in the capture, or none is */
    bound_t bkey;
    bkey.ep = ep;
    const bound_t *b = (const bound_t *)wmem_map_lookup(bound_map, &bkey);
    if (!b || b->stream == c->stream)
        return FALSE;
    ev->role = exch_dcerpc_iface_role(b->iface);
    ev->iface = b->iface;
    ev->ifaces = 1u << b->iface;
    ev->learned_from = b->frame;
    ev->text = wmem_strdup_printf(scope, "BIND to %s in frame %u%s (stream %u) went to the same endpoint %s",
                                  exch_iface_name(b->iface), b->frame, when, b->stream,
                                  exch_endpoint_to_str(scope, &ep));
    return TRUE;
}

/* An undecided conversation to a known endpoint takes its interface. */
static void
check_learned(const exch_conv_t *c, exch_rpc_state_t *r, packet_info *pinfo)
{
    if (c->conf >= EXCH_CONF_LEARNED || c->not_exchange || r->learned_gen == learned_gen)
        return;
    r->learned_gen = learned_gen;
    if (learned_count == 0 && wmem_map_size(bound_map) == 0)
        return;

    exch_evidence_t ev;
    if (endpoint_evidence(c, &pinfo->dst, pinfo->destport, FALSE, pinfo->pool, &ev))
        ev.sender_is_client = TRUE;
    else if (endpoint_evidence(c, &pinfo->src, pinfo->srcport, FALSE, pinfo->pool, &ev))
        ev.sender_is_server = TRUE;
    else
        return;
    exch_conv_offer(c, pinfo, &ev);
}

/* DCE/RPC to an Exchange RPC server on a port nothing explains: it is
 * Exchange, which service is not knowable.  The endpoint mapper's port is
 * not such a port. */
static void
evidence_unknown_service(const exch_endpoint_t *server, const char *why, wmem_allocator_t *scope,
                         exch_evidence_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->role = EXCH_ROLE_UNKNOWN;
    ev->transport = EXCH_TRANSPORT_RPC_TCP;
    ev->conf = EXCH_CONF_INFERRED;
    ev->text = wmem_strdup_printf(scope, "DCE/RPC without a BIND in the capture to %s, an Exchange RPC server (%s); "
                                  "the port's service is not known", exch_endpoint_to_str(scope, server), why);
}

static void
check_rpc_server(const exch_conv_t *c, exch_rpc_state_t *r, packet_info *pinfo, proto_tree *tree)
{
    guint32 ptype;
    if (!exch_field_uint(tree, EXCH_F_DCERPC_PKT_TYPE, &ptype) || c->transport == EXCH_TRANSPORT_RPC_HTTP ||
        c->http.seen)
        return;
    r->dcerpc = TRUE;
    /* Which side sent it tells the sides of a connection begun before the
     * capture, for the evidence that comes later. */
    gboolean from_client = exch_dcerpc_from_client(ptype);
    if (!c->have_endpoints || c->sides_by_port)
        exch_conv_set_endpoints(c, pinfo, from_client);
    if (c->role != EXCH_ROLE_NONE || c->not_exchange || wmem_map_size(server_map) == 0)
        return;
    exch_endpoint_t server = { from_client ? pinfo->dst : pinfo->src,
                               (guint16)(from_client ? pinfo->destport : pinfo->srcport) };
    const char *why = (const char *)wmem_map_lookup(server_map, &server.addr);
    if (!why || server.port == 135)
        return;
    exch_evidence_t ev;
    evidence_unknown_service(&server, why, pinfo->pool, &ev);
    ev.sender_is_client = from_client;
    ev.sender_is_server = !from_client;
    exch_conv_offer(c, pinfo, &ev);
}

/* After the first pass: what the whole capture knows about each endpoint
 * decides the connections the first pass left undecided (tshark -2, the
 * GUI).  Redone only when the first pass went on since (a live capture). */
void
exch_rpc_late(wmem_allocator_t *scratch)
{
    guint32 mark = exch_conv_first_pass_frames();
    if (mark == late_mark || !learned_map)
        return;
    late_mark = mark;
    if (learned_count == 0 && wmem_map_size(server_map) == 0)
        return;
    for (guint32 i = 0; i < exch_conv_count(); i++) {
        const exch_conv_t *c = exch_conv_find(i);
        if (!c || c->conf >= EXCH_CONF_LEARNED || c->not_exchange || c->http.seen || c->tls.seen)
            continue;
        /* The server's end if the sides are known, else either end. */
        const exch_endpoint_t *ends[2] = { NULL, NULL };
        if (c->have_endpoints && !c->sides_by_port) {
            ends[0] = &c->server;
        } else if (c->ends[0].addr.type != AT_NONE) {
            ends[0] = &c->ends[0];
            ends[1] = &c->ends[1];
        }
        exch_evidence_t ev;
        for (int k = 0; k < 2 && ends[k]; k++) {
            if (endpoint_evidence(c, &ends[k]->addr, ends[k]->port, TRUE, scratch, &ev)) {
                exch_conv_offer_late(c, &ev, ends[k]);
                break;
            }
        }
        if (c->role != EXCH_ROLE_NONE || !c->rpc.dcerpc || !c->have_endpoints || c->server.port == 135)
            continue;
        const char *why = (const char *)wmem_map_lookup(server_map, &c->server.addr);
        if (why) {
            evidence_unknown_service(&c->server, why, scratch, &ev);
            exch_conv_offer_late(c, &ev, NULL);
        }
    }
}

/* A connection opening towards a learned endpoint uses it. */
static void
note_use(const exch_conv_t *c, packet_info *pinfo)
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

/* All RPC/TCP evidence in one frame (first pass only): c is read, r (its
 * c->rpc) written. */
void
exch_rpc_analyze(packet_info *pinfo, proto_tree *tree, const exch_conv_t *c, exch_rpc_state_t *r)
{
    note_use(c, pinfo);
    epm_from_fields(c, pinfo, tree);
    if (c->conf < EXCH_CONF_CERTAIN || c->role == EXCH_ROLE_MAILBOX || c->role == EXCH_ROLE_DIRECTORY) {
        /* Certain roles still collect further interfaces (ALTER_CONTEXT). */
        if (!bind_from_fields(c, r, pinfo, tree))
            bind_from_payload(c, r, pinfo, tree);
        bind_answered(c, r, pinfo, tree);
    }
    check_learned(c, r, pinfo);
    check_rpc_server(c, r, pinfo, tree);
}
