/* exchange_conv.c
 * Per-TCP-conversation state, and the one rule that decides a role.
 *
 * exch_conv_t's own fields (role, transport, interfaces, confidence,
 * evidence, the two sides, the links between conversations) are written
 * only here.  Evidence files get conversations const and change these
 * fields through this file's entry points, which write through this file's
 * index (by_stream), the only writable pointers there are:
 *   - exch_conv_offer(): evidence, judged by the rule below;
 *   - exch_conv_set_transport(): RPC/HTTP, as soon as a channel request is
 *     seen, before any role;
 *   - exch_conv_set_endpoints(): the sides, from a frame whose sender's
 *     side is known (until then, for a connection begun before the
 *     capture, a well-known port against an ephemeral one is the server);
 *   - exch_conv_offer_late(): after the first pass, evidence from the whole
 *     capture for a connection the first pass left weaker;
 *   - exch_conv_add_ifaces(): interfaces bound inside an RPC/HTTP channel;
 *   - exch_conv_pair_channels(), exch_conv_pair_flows(): both sides of a
 *     link (RPC/HTTP channels of one virtual connection; opposite one-way
 *     TLS connections) at once;
 *   - exch_conv_confirm_peer(): the server's RTS answer on one channel
 *     confirms the other channel of its virtual connection.
 * The rule:
 *   - stronger confidence wins (certain > learned > inferred);
 *   - at equal confidence the first decisive evidence stays, except that a
 *     role replaces "unknown";
 *   - a certain BIND to a non-Exchange interface clears a learned or
 *     inferred role and keeps weaker evidence out from then on.
 * Each part of exch_conv_t (rpc, http, tls, traffic, proc) is written by
 * the one file its type names; exch_conv_get() hands the first pass's
 * caller write access to them.  State is written on the first pass only;
 * later passes read it, but for one thing this file works out once the
 * first pass is over (at the first later-pass lookup, and again only if the
 * first pass went on since, as in a live capture): each connection's
 * health, how many connections its process holds for the same need at the
 * same time (exch_conv_t.concurrent).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#include <epan/conversation.h>
#include <epan/proto_data.h>
#include <epan/to_str.h>
#include <epan/dissectors/packet-tcp.h>

static int exch_proto = -1;
static int tcp_proto = -1;
/* Every TCP connection's state, indexed by tcp.stream: TCP numbers its
 * connections densely from 0, so this is one array index per frame where a
 * conversation lookup would hash addresses and ports.  The array and the
 * states are file scope, gone with the file. */
static exch_conv_t **by_stream;
static guint32 by_stream_len, by_stream_cap;
static guint32 first_pass_frames;  /* TCP frames the first pass has seen */

/* Health (exch_conv_t.concurrent) is worked out once the first pass is
 * over, at the first later-pass lookup, and again only if the first pass
 * went on since (a live capture). */
static gboolean health_known;
static guint32 health_frames;      /* first_pass_frames when it was */

static void health_update(wmem_allocator_t *scratch);

void
exch_conv_init(int proto)
{
    exch_proto = proto;
}

/* The last first-pass answer of tcp_state(): most frames follow one of
 * their own connection.  It holds while a frame has the same addresses and
 * ports (either way) and TCP has begun no stream since; a reused port pair
 * always begins one (TCP makes a new conversation on its SYN), so a new
 * connection is never handed its predecessor's state.  Later passes, and
 * the GUI's random access, always ask. */
static struct {
    gboolean valid;
    guint32  streams;                   /* get_tcp_stream_count() then */
    int      type, len;                 /* AT_IPv4 or AT_IPv6 */
    guint8   addr[2][16];
    guint32  port[2];
    const struct tcp_analysis *tcpd;
} last_state;

static gboolean
same_address(const address *a, const guint8 *data)
{
    return a->type == last_state.type && a->len == last_state.len && memcmp(a->data, data, (size_t)a->len) == 0;
}

static gboolean
last_state_holds(const packet_info *pinfo)
{
    if (!last_state.valid || last_state.streams != get_tcp_stream_count())
        return FALSE;
    if (pinfo->srcport == last_state.port[0] && pinfo->destport == last_state.port[1] &&
        same_address(&pinfo->src, last_state.addr[0]) && same_address(&pinfo->dst, last_state.addr[1]))
        return TRUE;
    return pinfo->srcport == last_state.port[1] && pinfo->destport == last_state.port[0] &&
           same_address(&pinfo->src, last_state.addr[1]) && same_address(&pinfo->dst, last_state.addr[0]);
}

static void
keep_last_state(const packet_info *pinfo, const struct tcp_analysis *tcpd)
{
    last_state.valid = FALSE;
    if (!tcpd || pinfo->src.type != pinfo->dst.type || pinfo->src.len != pinfo->dst.len ||
        (pinfo->src.type != AT_IPv4 && pinfo->src.type != AT_IPv6) ||
        pinfo->src.len > (int)sizeof last_state.addr[0])
        return;
    last_state.type = pinfo->src.type;
    last_state.len = pinfo->src.len;
    memcpy(last_state.addr[0], pinfo->src.data, (size_t)pinfo->src.len);
    memcpy(last_state.addr[1], pinfo->dst.data, (size_t)pinfo->dst.len);
    last_state.port[0] = pinfo->srcport;
    last_state.port[1] = pinfo->destport;
    last_state.streams = get_tcp_stream_count();
    last_state.tcpd = tcpd;
    last_state.valid = TRUE;
}

/* TCP's own state of this frame's connection (the innermost TCP header,
 * as pinfo's ports are): its tcp.stream, and the server port its SYN or
 * SYN+ACK named.  At most one conversation lookup a frame; reading them as
 * fields would make epan keep three more fields on every TCP frame. */
static const struct tcp_analysis *
tcp_state(packet_info *pinfo)
{
    gboolean first = !PINFO_FD_VISITED(pinfo);
    if (first && last_state_holds(pinfo))
        return last_state.tcpd;
    conversation_t *conv = find_conversation_pinfo(pinfo, 0);
    const struct tcp_analysis *tcpd =
        conv ? (const struct tcp_analysis *)conversation_get_proto_data(conv, tcp_proto) : NULL;
    if (first)
        keep_last_state(pinfo, tcpd);
    return tcpd;
}

/* The conversation a const pointer names, writable: only this file holds
 * writable pointers (by_stream). */
static exch_conv_t *
writable(const exch_conv_t *c)
{
    DISSECTOR_ASSERT(c->stream < by_stream_len && by_stream[c->stream] == c);
    return by_stream[c->stream];
}

static void
set_endpoint(exch_endpoint_t *ep, const address *addr, guint32 port)
{
    copy_address_wmem(wmem_file_scope(), &ep->addr, addr);
    ep->port = (guint16)port;
}

static void
give_parts(exch_conv_t *c, exch_conv_parts_t *parts)
{
    if (!parts)
        return;
    parts->rpc = &c->rpc;
    parts->http = &c->http;
    parts->tls = &c->tls;
    parts->traffic = &c->traffic;
    parts->proc = &c->proc;
}

/* The state of this frame's TCP conversation.  Created only on the first
 * pass (create == TRUE), which alone gets its parts writable; later passes
 * find what the first pass left. */
const exch_conv_t *
exch_conv_get(packet_info *pinfo, gboolean create, exch_conv_parts_t *parts)
{
    const struct tcp_analysis *tcpd = tcp_state(pinfo);
    if (!tcpd)
        return NULL;
    guint32 stream = tcpd->stream;
    exch_conv_t *c = stream < by_stream_len ? by_stream[stream] : NULL;
    if (create)
        first_pass_frames++;
    else if (c)
        health_update(pinfo->pool);
    if (c || !create) {
        if (c && create)
            give_parts(c, parts);
        return c;
    }

    c = wmem_new0(wmem_file_scope(), exch_conv_t);
    c->stream = stream;
    c->first_frame = pinfo->num;
    c->start = pinfo->abs_ts;
    if (stream >= by_stream_cap) {
        guint32 cap = MAX(by_stream_cap * 2, MAX(stream + 1, 256));
        by_stream = wmem_realloc(wmem_file_scope(), by_stream, cap * sizeof *by_stream);
        memset(by_stream + by_stream_cap, 0, (cap - by_stream_cap) * sizeof *by_stream);
        by_stream_cap = cap;
    }
    by_stream_len = MAX(by_stream_len, stream + 1);
    by_stream[stream] = c;

    /* A first frame that is a SYN or SYN+ACK (TCP has just set the server
     * port from it) tells the sides before any evidence does. */
    if (tcpd->server_port && pinfo->srcport != pinfo->destport &&
        (pinfo->srcport == tcpd->server_port || pinfo->destport == tcpd->server_port)) {
        c->opened_in = pinfo->num;
        exch_conv_set_endpoints(c, pinfo, pinfo->destport == tcpd->server_port);
    } else {
        /* Begun before the capture: the late evidence looks at both ends,
         * and a well-known port against an ephemeral one is the server's
         * until a frame shows otherwise. */
        set_endpoint(&c->ends[0], &pinfo->src, pinfo->srcport);
        set_endpoint(&c->ends[1], &pinfo->dst, pinfo->destport);
        if ((pinfo->srcport < 1024) != (pinfo->destport < 1024)) {
            exch_conv_set_endpoints(c, pinfo, pinfo->destport < 1024);
            c->sides_by_port = TRUE;
        }
    }
    give_parts(c, parts);
    return c;
}

/* The conversation of a tcp.stream, or NULL: for files that keep lists of
 * conversations (by stream number, so read-only). */
const exch_conv_t *
exch_conv_find(guint32 stream)
{
    return stream < by_stream_len ? by_stream[stream] : NULL;
}

/* The per-frame records of what the first pass found here, one per writer. */
void *
exch_frame_part(packet_info *pinfo, exch_frame_key_t key, gsize size, gboolean create)
{
    void *f = p_get_proto_data(wmem_file_scope(), pinfo, exch_proto, key);
    if (f || !create)
        return f;
    f = wmem_alloc0(wmem_file_scope(), size);
    p_add_proto_data(wmem_file_scope(), pinfo, exch_proto, key, f);
    return f;
}

/* Record who is client and who is server, once, from a frame whose sender
 * we know the side of. */
void
exch_conv_set_endpoints(const exch_conv_t *cc, packet_info *pinfo, gboolean sender_is_client)
{
    exch_conv_t *c = writable(cc);
    /* Sides guessed from the ports give way to the first frame that shows
     * them (a sender told apart by what it sent). */
    if (c->have_endpoints && !c->sides_by_port)
        return;
    if (c->sides_by_port) {
        c->sides_by_port = FALSE;
        gboolean guessed = addresses_equal(&pinfo->src, &c->client.addr) && pinfo->srcport == c->client.port;
        if (guessed == sender_is_client)
            return;
    }
    if (sender_is_client) {
        set_endpoint(&c->client, &pinfo->src, pinfo->srcport);
        set_endpoint(&c->server, &pinfo->dst, pinfo->destport);
    } else {
        set_endpoint(&c->client, &pinfo->dst, pinfo->destport);
        set_endpoint(&c->server, &pinfo->src, pinfo->srcport);
    }
    c->have_endpoints = TRUE;
}

char *
exch_endpoint_to_str(wmem_allocator_t *scope, const exch_endpoint_t *ep)
{
    const char *a = address_to_str(scope, &ep->addr);
    if (ep->addr.type == AT_IPv6)
        return wmem_strdup_printf(scope, "[%s]:%u", a, ep->port);
    return wmem_strdup_printf(scope, "%s:%u", a, ep->port);
}

/* The decision itself, in a frame of the first pass or (late) after it. */
static void
assign(exch_conv_t *c, const exch_evidence_t *ev, guint32 frame, gboolean late)
{
    c->role = ev->role;
    c->transport = ev->transport;
    c->iface = ev->iface;
    c->conf = ev->conf;
    c->evidence = wmem_strdup(wmem_file_scope(), ev->text);
    c->decided_in = frame;
    c->learned_from = ev->learned_from;
    /* (a live capture's first pass may go on past a late decision) */
    c->decided_late = late;
    if (ev->role != EXCH_ROLE_NONE && c->counted_in == 0)
        c->counted_in = frame;
}

static void
take(exch_conv_t *c, packet_info *pinfo, const exch_evidence_t *ev)
{
    /* A frame record only where a role appears or goes: a conversation
     * proved non-Exchange before it ever had a role leaves no trace. */
    exch_frame_t *f = NULL;
    if (ev->role != EXCH_ROLE_NONE || c->role != EXCH_ROLE_NONE) {
        f = EXCH_FRAME_PART(pinfo, exch_frame_t, EXCH_FRAME_CONV, TRUE);
        if (!f->decided)
            f->previous_role = c->role;
        f->decided = TRUE;
    }

    assign(c, ev, pinfo->num, FALSE);
    if (f) {
        f->new_role = c->role;
        f->evidence = c->evidence;
    }
}

/* The transport a request names before any evidence decides a role. */
void
exch_conv_set_transport(const exch_conv_t *c, exch_transport_t t)
{
    writable(c)->transport = t;
}

/* Judge one piece of evidence (first pass only).  What it did shows in the
 * conversation and in the frame's record (exch_frame_t). */
void
exch_conv_offer(const exch_conv_t *cc, packet_info *pinfo, const exch_evidence_t *ev)
{
    exch_conv_t *c = writable(cc);
    if (ev->sender_is_client || ev->sender_is_server)
        exch_conv_set_endpoints(c, pinfo, ev->sender_is_client);

    if (ev->role == EXCH_ROLE_NONE) {
        /* Proof that this is not Exchange: only a certain proof counts, and
         * it never overrides a certain Exchange role. */
        if (ev->conf != EXCH_CONF_CERTAIN || c->conf == EXCH_CONF_CERTAIN || c->not_exchange)
            return;
        c->not_exchange = TRUE;
        take(c, pinfo, ev);
        c->ifaces = 0;
        /* No role, so no confidence: a later certain Exchange BIND on the
         * same connection (ALTER_CONTEXT) may still decide. */
        c->conf = EXCH_CONF_NONE;
        return;
    }

    if (c->not_exchange && ev->conf != EXCH_CONF_CERTAIN)
        return;
    /* The interface list belongs to the deciding confidence: an ept_map's
     * guess is dropped once a BIND shows what the connection really uses. */
    /* "unknown" is the weakest statement: a role at the same confidence
     * replaces it (an Exchange host's connection whose flow later shows
     * which RPC/HTTP channel it is). */
    if (ev->conf == c->conf && c->role == EXCH_ROLE_UNKNOWN && ev->role != EXCH_ROLE_UNKNOWN) {
        take(c, pinfo, ev);
        c->ifaces = ev->ifaces;
        return;
    }
    if (ev->conf == c->conf) {
        if (c->role != EXCH_ROLE_NONE && (ev->ifaces & ~c->ifaces))
            EXCH_FRAME_PART(pinfo, exch_frame_t, EXCH_FRAME_CONV, TRUE)->updated = TRUE;
        c->ifaces |= ev->ifaces;
        return;
    }
    if (ev->conf < c->conf)
        return;

    c->not_exchange = FALSE;
    take(c, pinfo, ev);
    c->ifaces = ev->ifaces;
}

/* Evidence from the whole capture, after the first pass (see exchange.h).
 * Only a connection the first pass left weaker than the evidence takes it;
 * nothing proved not to be Exchange does. */
void
exch_conv_offer_late(const exch_conv_t *cc, const exch_evidence_t *ev, const exch_endpoint_t *server)
{
    exch_conv_t *c = writable(cc);
    if (c->not_exchange || ev->role == EXCH_ROLE_NONE || ev->conf < c->conf ||
        (ev->conf == c->conf && (c->role != EXCH_ROLE_UNKNOWN || ev->role == EXCH_ROLE_UNKNOWN)))
        return;
    if (server && (!c->have_endpoints || c->sides_by_port)) {
        gboolean first_is_server = addresses_equal(&server->addr, &c->ends[0].addr) && server->port == c->ends[0].port;
        c->client = c->ends[first_is_server ? 1 : 0];
        c->server = c->ends[first_is_server ? 0 : 1];
        c->have_endpoints = TRUE;
        c->sides_by_port = FALSE;
    }
    assign(c, ev, c->first_frame, TRUE);
    c->ifaces = ev->ifaces;
}

guint32
exch_conv_first_pass_frames(void)
{
    return first_pass_frames;
}

guint32
exch_conv_count(void)
{
    return by_stream_len;
}

/* Interfaces bound inside an RPC/HTTP channel join its list, whatever the
 * channel's role and confidence (they name its target, not its role). */
void
exch_conv_add_ifaces(const exch_conv_t *c, guint32 ifaces)
{
    writable(c)->ifaces |= ifaces;
}

/* The two channels of one RPC/HTTP virtual connection (first pass): c, a
 * channel that just named its cookie, and first, the first channel that
 * named it, with the other role.  A recycled channel pairs with the
 * partner already known; the partner keeps its first pairing. */
void
exch_conv_pair_channels(const exch_conv_t *c, const exch_conv_t *first)
{
    writable(c)->peer = first;
    if (!first->peer)
        writable(first)->peer = c;
}

/* The server answered an RPC/HTTP virtual connection on c (its OUT channel:
 * CONN/A3 and CONN/C2, MS-RPCH 3.2.4.5; C2 follows the client's CONN/B1 on
 * the IN channel): the paired channel, which gets no answer of its own when
 * no authentication leg went before, is confirmed with it (first pass). */
void
exch_conv_confirm_peer(const exch_conv_t *c, packet_info *pinfo, const char *why)
{
    exch_conv_t *p = c->peer ? writable(c->peer) : NULL;
    if (!p || p->conf != EXCH_CONF_INFERRED || p->role == EXCH_ROLE_NONE || p->not_exchange)
        return;
    exch_evidence_t ev = { 0 };
    ev.role = p->role;
    ev.transport = p->transport;
    ev.iface = p->iface;
    ev.conf = EXCH_CONF_CERTAIN;
    ev.text = wmem_strdup_printf(pinfo->pool, "%s; the server %s on its virtual connection's other channel "
                                 "(stream %u) in frame %u", p->evidence, why, c->stream, pinfo->num);
    assign(p, &ev, pinfo->num, FALSE);
}

/* Two TLS connections whose data runs opposite ways, as RPC/HTTP's IN and
 * OUT channels do (first pass): each is the other's flow peer. */
void
exch_conv_pair_flows(const exch_conv_t *a, const exch_conv_t *b)
{
    writable(a)->flow_peer = b;
    writable(b)->flow_peer = a;
}

/* An RPC/HTTP OUT channel carries the answers of the interface bound on its
 * IN channel, so it serves that channel's target and interfaces. */
const exch_conv_t *
exch_conv_target_source(const exch_conv_t *c)
{
    return (c->role == EXCH_ROLE_RPC_OUT && c->peer && c->peer->http.target_conf > c->http.target_conf) ? c->peer : c;
}

/* The server as the client names it: the Host of its first request, else
 * its TLS server name; lower case, with the port when it is not the
 * scheme's default. */
const char *
exch_conv_server_name(const exch_conv_t *c)
{
    return c->http.server_name ? c->http.server_name : c->tls.server_name;
}

guint32
exch_conv_ifaces(const exch_conv_t *c, exch_iface_t *main_iface)
{
    if (c->role == EXCH_ROLE_RPC_OUT && c->iface == EXCH_IF_NONE && !c->ifaces && c->peer)
        c = c->peer;
    if (main_iface)
        *main_iface = c->iface;
    return c->ifaces | (c->iface != EXCH_IF_NONE ? 1u << c->iface : 0);
}

void
exch_conv_reset(void)
{
    if (tcp_proto < 0)
        tcp_proto = proto_get_id_by_filter_name("tcp");
    by_stream = NULL;                   /* file scope: freed with the file */
    by_stream_len = by_stream_cap = 0;
    last_state.valid = FALSE;           /* its pointer was into the closed file */
    first_pass_frames = 0;
    health_known = FALSE;
}

static gboolean
same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static gboolean
same_process(const exch_conv_t *a, const exch_conv_t *b)
{
    return a->proc.source == b->proc.source && a->proc.pid == b->proc.pid &&
           same_str(a->proc.name, b->proc.name) && same_str(a->proc.host, b->proc.host) &&
           (a->proc.host || (a->have_endpoints && b->have_endpoints && addresses_equal(&a->client.addr, &b->client.addr)));
}

/* Do a and b need separate connections?  What each transport needs, per
 * process: MAPI/HTTP one mailbox and one directory connection per mailbox;
 * RPC/HTTP one IN and one OUT channel per RPC endpoint; RPC/TCP one
 * connection per interface and server.  Other roles have no such rule. */
static gboolean
same_need(const exch_conv_t *a, const exch_conv_t *b)
{
    if (a->role != b->role || a->transport != b->transport)
        return FALSE;
    switch (a->transport) {
    case EXCH_TRANSPORT_MAPI_HTTP:
        return (a->role == EXCH_ROLE_MAILBOX || a->role == EXCH_ROLE_DIRECTORY) &&
               same_str(a->http.mailbox, b->http.mailbox);
    case EXCH_TRANSPORT_RPC_HTTP:
        /* per RPC endpoint: the URI's server behind the proxy, else (not
         * decrypted) the name the client used */
        return exch_conv_target_source(a)->http.target == exch_conv_target_source(b)->http.target &&
               same_str(a->http.rpc_server ? a->http.rpc_server : exch_conv_server_name(a),
                        b->http.rpc_server ? b->http.rpc_server : exch_conv_server_name(b));
    case EXCH_TRANSPORT_RPC_TCP:
        return (a->role == EXCH_ROLE_MAILBOX || a->role == EXCH_ROLE_DIRECTORY) && a->iface == b->iface &&
               a->have_endpoints && b->have_endpoints && addresses_equal(&a->server.addr, &b->server.addr);
    default:
        return FALSE;
    }
}

/* Connections that may be each other's peers share a bucket: equal role,
 * transport, process source, PID and process name. */
static guint
peer_bucket(const exch_conv_t *c)
{
    return ((guint)c->role * 31u + (guint)c->transport) * 31u + (guint)c->proc.source +
           c->proc.pid * 2654435761u + (c->proc.name ? g_str_hash(c->proc.name) : 0u);
}

static gboolean
attributed(const exch_conv_t *c)
{
    return c->role != EXCH_ROLE_NONE && c->proc.source != EXCH_PROC_NONE;
}

/* Set every connection's concurrent: how many connections of its process
 * serve what it serves at the same time as it (itself included); 0 when
 * its process is not known.  The buckets are scratch (packet scope): only
 * the counts stay, in the connections. */
static void
health_update(wmem_allocator_t *scratch)
{
    if (health_known && health_frames == first_pass_frames)
        return;
    health_known = TRUE;
    health_frames = first_pass_frames;

    wmem_map_t *buckets = wmem_map_new(scratch, g_direct_hash, g_direct_equal);
    for (guint32 i = 0; i < by_stream_len; i++) {
        const exch_conv_t *o = by_stream[i];
        if (!o || !attributed(o))
            continue;
        gpointer key = GUINT_TO_POINTER(peer_bucket(o));
        wmem_array_t *a = (wmem_array_t *)wmem_map_lookup(buckets, key);
        if (!a) {
            a = wmem_array_new(scratch, sizeof o);
            wmem_map_insert(buckets, key, a);
        }
        wmem_array_append_one(a, o);
    }
    for (guint32 i = 0; i < by_stream_len; i++) {
        exch_conv_t *c = by_stream[i];
        if (!c)
            continue;
        c->concurrent = 0;
        if (!attributed(c))
            continue;
        wmem_array_t *bucket = (wmem_array_t *)wmem_map_lookup(buckets, GUINT_TO_POINTER(peer_bucket(c)));
        guint n = bucket ? wmem_array_get_count(bucket) : 0;
        for (guint k = 0; k < n; k++) {
            const exch_conv_t *o = *(const exch_conv_t **)wmem_array_index(bucket, k);
            if (o != c && (!same_need(c, o) || !same_process(c, o)))
                continue;
            /* Lifetimes overlap: each starts before the other's last frame. */
            if (nstime_cmp(&o->start, &c->traffic.last) <= 0 && nstime_cmp(&c->start, &o->traffic.last) <= 0)
                c->concurrent++;
        }
    }
}
