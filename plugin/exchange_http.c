/* exchange_http.c
 * HTTP-borne evidence: what an HTTP request (cleartext or decrypted TLS) and
 * the bodies of RPC/HTTP channels say about a TCP conversation.
 *
 * Decides, "certain" once the server has shown itself as Exchange on the
 * connection (exchange_answer.c: its headers, a 401 offering Negotiate or
 * NTLM, an Exchange XML body, or an RTS PDU on an RPC/HTTP channel) and
 * "inferred" until then; an answer that contradicts (404, 405, a redirect,
 * without Exchange's signs) takes the role away again:
 *   - RPC over HTTP: a connection whose RPC_IN_DATA / RPC_OUT_DATA request
 *     opens a virtual connection (RTS CONN/B1 / CONN/A1 carry its cookie) is
 *     the rpc-in / rpc-out channel; a connection that only authenticates or
 *     echoes is not a channel.  The channel's target (mailbox, directory,
 *     referral) comes from the BIND inside the IN channel's body, else from
 *     the port in the URI; the OUT channel shares its IN partner's target.
 *     Channels pair by virtual-connection cookie.
 *   - MAPI over HTTP: POST /mapi/emsmdb -> mailbox, POST /mapi/nspi -> directory.
 *   - EWS, Autodiscover and OAB: the endpoints Exchange serves under /EWS/,
 *     /Autodiscover/ and /OAB/ (which requests those are: exchange_paths.c).
 * The host a request named is learned as an Exchange host (for TLS
 * connections that cannot be decrypted) only once the role is certain.
 * The answers also name the front end and back end that served them.  One
 * keep-alive connection may carry several services: the first decisive one
 * is the role, all of them are listed in exchange.services.
 *
 * Writes only its part of the conversation (c->http: services, names,
 * target, cookie, what the server answered, front and back end); the role, transport, channel interfaces and the pairing
 * of the two channels go through exchange_conv.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#include <epan/guid-utils.h>
#include <epan/to_str.h>
#include <wsutil/strtoi.h>

#define DCERPC_PT_RTS 20

const value_string exch_target_vals[] = {
    { EXCH_TARGET_NONE,      "none" },
    { EXCH_TARGET_MAILBOX,   "mailbox" },
    { EXCH_TARGET_DIRECTORY, "directory" },
    { EXCH_TARGET_REFERRAL,  "referral" },
    { 0, NULL }
};


/* Virtual-connection cookie -> the first channel that carried it (its
 * tcp.stream + 1). */
static wmem_map_t *channels;

static guint
cookie_hash(gconstpointer k)
{
    const e_guid_t *g = (const e_guid_t *)k;
    return g->data1 ^ ((guint)g->data2 << 16) ^ g->data3;
}

static gboolean
cookie_equal(gconstpointer a, gconstpointer b)
{
    return guid_cmp((const e_guid_t *)a, (const e_guid_t *)b) == 0;
}

void
exch_http_init(void)
{
    channels = wmem_map_new(wmem_file_scope(), cookie_hash, cookie_equal);
}

static exch_target_t
target_of_iface(exch_iface_t i)
{
    switch (i) {
    case EXCH_IF_EMSMDB:
    case EXCH_IF_ASYNCEMSMDB:
        return EXCH_TARGET_MAILBOX;
    case EXCH_IF_NSPI:
        return EXCH_TARGET_DIRECTORY;
    case EXCH_IF_RFR:
        return EXCH_TARGET_REFERRAL;
    default:
        return EXCH_TARGET_NONE;
    }
}


/* "X-Name: value\r\n" -> value (packet scope), for one header name. */
static const char *
header_value(packet_info *pinfo, GPtrArray *lines, const char *name)
{
    size_t n = strlen(name);
    for (guint i = 0; lines && i < lines->len; i++) {
        const char *l = exch_field_str(lines, i);
        if (l && g_ascii_strncasecmp(l, name, n) == 0 && l[n] == ':') {
            char *v = g_strstrip(wmem_strdup(pinfo->pool, l + n + 1));
            return v;
        }
    }
    return NULL;
}

/* Case-insensitive "MailboxId=" query parameter. */
static const char *
mailbox_id(packet_info *pinfo, const char *uri)
{
    const char *q = strchr(uri, '?');
    while (q) {
        q++;
        if (g_ascii_strncasecmp(q, "mailboxid=", 10) == 0) {
            size_t len = strcspn(q + 10, "&#");
            return len ? wmem_strndup(pinfo->pool, q + 10, len) : NULL;
        }
        q = strchr(q, '&');
    }
    return NULL;
}

static const char *
file_str(const char *s)
{
    return s ? wmem_strdup(wmem_file_scope(), s) : NULL;
}

/* exchange.server: the Host in lower case without its port, then the
 * connection's port when it is not the scheme's default (443 with TLS, 80
 * without); a request goes to the server, so that is its destination port. */
static const char *
host_server_name(packet_info *pinfo, const exch_conv_t *c, const char *host)
{
    const char *bracket = host[0] == '[' ? strchr(host, ']') : NULL;   /* [v6]:port */
    const char *colon = strchr(bracket ? bracket : host, ':');
    size_t len = strlen(host);
    if (colon && (bracket ? colon == bracket + 1 : !strchr(colon + 1, ':')))
        len = (size_t)(colon - host);
    char *name = g_ascii_strdown(host, (gssize)len);
    const char *s = pinfo->destport == (c->tls.seen ? 443 : 80) ? wmem_strdup(wmem_file_scope(), name)
                  : wmem_strdup_printf(wmem_file_scope(), "%s:%u", name, pinfo->destport);
    g_free(name);
    return s;
}

/* The Host of the first Exchange request: exchange.server, and the name
 * learned as an Exchange host once the role is certain. */
static void
note_host(packet_info *pinfo, const exch_conv_t *c, exch_http_state_t *h, proto_tree *tree)
{
    const char *host = exch_field_str(exch_field_all(tree, EXCH_F_HTTP_HOST), 0);
    if (host && !h->host)
        h->host = file_str(host);
    if (host && !h->server_name)
        h->server_name = host_server_name(pinfo, c, host);
}

/* A certain role: the host it was asked of serves Exchange, for TLS
 * connections to it that cannot be decrypted. */
static void
learn_host(packet_info *pinfo, const exch_http_state_t *h, const address *server, const char *evidence)
{
    if (h->host)
        exch_tls_learn_host(pinfo, h->host, server, wmem_strdup_printf(pinfo->pool, "served %s", evidence));
}

/* This frame's HTTP record, which only this file writes. */
static exch_frame_http_t *
frame_rec(packet_info *pinfo)
{
    return EXCH_FRAME_PART(pinfo, exch_frame_http_t, EXCH_FRAME_HTTP, TRUE);
}

static void
add_service(const exch_conv_t *c, exch_http_state_t *h, packet_info *pinfo, exch_role_t role, const char *what)
{
    exch_frame_http_t *f = frame_rec(pinfo);
    f->service = val_to_str_const(role, exch_role_vals, "?");
    if (!(h->services & (1u << role)) && c->role != EXCH_ROLE_NONE && c->role != role && what)
        f->updated = TRUE;
    h->services |= 1u << role;
}

/* Evidence a request (or an opened channel) gives: certain if the server
 * already showed itself as Exchange on this connection, else inferred and
 * waiting for the answer (the first one waits; the rest are listed). */
static void
offer_request(const exch_conv_t *c, exch_http_state_t *h, packet_info *pinfo, exch_evidence_t *ev)
{
    ev->sender_is_client = TRUE;
    if (h->confirmed_in) {
        ev->conf = EXCH_CONF_CERTAIN;
        ev->text = wmem_strdup_printf(pinfo->pool, "%s (the server %s in frame %u)", ev->text, h->confirmed_by,
                                      h->confirmed_in);
        learn_host(pinfo, h, &pinfo->dst, ev->text);
    } else {
        ev->conf = EXCH_CONF_INFERRED;
        if (h->ask_role == EXCH_ROLE_NONE) {
            h->ask_role = ev->role;
            h->ask_transport = ev->transport;
            h->ask_text = file_str(ev->text);
        }
    }
    exch_conv_offer(c, pinfo, ev);
}

/* The server answered (frame from the server): what it shows decides the
 * request waiting for it. */
static void
server_answered(const exch_conv_t *c, exch_http_state_t *h, packet_info *pinfo, exch_answer_verdict_t verdict,
                const char *why)
{
    if (!h->services)
        return;
    if (verdict == EXCH_ANSWER_CONFIRMS && !h->confirmed_in) {
        h->confirmed_in = pinfo->num;
        h->confirmed_by = file_str(why);
    }
    if (h->ask_role == EXCH_ROLE_NONE)
        return;
    if (verdict == EXCH_ANSWER_NEUTRAL) {
        /* Answered, neither way: the request stays inferred and the next
         * one on the connection waits for its own answer. */
        h->ask_role = EXCH_ROLE_NONE;
        return;
    }
    exch_evidence_t ev = { 0 };
    ev.role = verdict == EXCH_ANSWER_CONFIRMS ? h->ask_role : EXCH_ROLE_NONE;
    ev.transport = h->ask_transport;
    ev.conf = EXCH_CONF_CERTAIN;
    ev.sender_is_server = TRUE;
    ev.text = wmem_strdup_printf(pinfo->pool, "%s, %s in frame %u", h->ask_text, why, pinfo->num);
    h->ask_role = EXCH_ROLE_NONE;
    exch_conv_offer(c, pinfo, &ev);
    if (verdict == EXCH_ANSWER_CONFIRMS)
        learn_host(pinfo, h, &pinfo->src, ev.text);
}

/* ---- RPC over HTTP ---- */

/* An RTS PDU from the server: it answers the channel's virtual connection,
 * which confirms this channel and its partner. */
static void
rts_answered(const exch_conv_t *c, exch_http_state_t *h, packet_info *pinfo)
{
    static const char why[] = "answered with an RTS PDU";
    server_answered(c, h, pinfo, EXCH_ANSWER_CONFIRMS, why);
    if (!h->rts_answered && c->peer)
        exch_conv_confirm_peer(c, pinfo, why);
    h->rts_answered = TRUE;
}

/* "/rpc/rpcproxy.dll?<server>:<port>" -> server (packet scope) and port. */
static gboolean
rpch_uri(packet_info *pinfo, const char *uri, const char **server, guint *port)
{
    const char *q = strchr(uri, '?');
    if (!q)
        return FALSE;
    const char *colon = strrchr(q, ':');
    if (!colon || colon == q + 1)
        return FALSE;
    const char *end;
    guint16 p16;
    if (!ws_strtou16(colon + 1, &end, &p16))
        return FALSE;
    *server = wmem_strndup(pinfo->pool, q + 1, (size_t)(colon - q - 1));
    *port = p16;
    return TRUE;
}

static exch_target_t
target_of_port(guint port)
{
    switch (port) {
    case 6001: return EXCH_TARGET_MAILBOX;
    case 6002: return EXCH_TARGET_REFERRAL;
    case 6004: return EXCH_TARGET_DIRECTORY;
    default:   return EXCH_TARGET_NONE;
    }
}

static void
set_target(exch_http_state_t *h, exch_target_t t, exch_conf_t conf, const char *evidence)
{
    if (t == EXCH_TARGET_NONE || conf < h->target_conf || (conf == h->target_conf && h->target != EXCH_TARGET_NONE))
        return;
    h->target = t;
    h->target_conf = conf;
    h->target_evidence = file_str(evidence);
}

/* A BIND inside an RPC/HTTP channel names the endpoint behind the proxy. */
static void
offer_bind(const exch_conv_t *c, exch_http_state_t *h, packet_info *pinfo, const exch_bind_t *b)
{
    exch_iface_t iface = b->mailbox != EXCH_IF_NONE ? b->mailbox : b->directory;
    if (iface == EXCH_IF_NONE)
        return;
    exch_target_t t = target_of_iface(iface);
    exch_conv_add_ifaces(c, b->mask);
    exch_target_t before = h->target;
    set_target(h, t, EXCH_CONF_CERTAIN,
               wmem_strdup_printf(pinfo->pool, "%s to %s inside the channel in frame %u", b->what,
                                  exch_iface_name(iface), pinfo->num));
    if (h->target != before && c->role != EXCH_ROLE_NONE)
        frame_rec(pinfo)->updated = TRUE;
}

/* The channel's virtual connection is known: it is a channel now, and it
 * pairs with the other channel of the same cookie. */
static void
channel_opened(const exch_conv_t *c, exch_http_state_t *h, packet_info *pinfo, const e_guid_t *cookie)
{
    if (h->have_cookie)
        return;
    h->cookie = *cookie;
    h->have_cookie = TRUE;

    gboolean in = h->services & (1u << EXCH_ROLE_RPC_IN);
    exch_evidence_t ev = { 0 };
    ev.role = in ? EXCH_ROLE_RPC_IN : EXCH_ROLE_RPC_OUT;
    ev.transport = EXCH_TRANSPORT_RPC_HTTP;
    ev.text = wmem_strdup_printf(pinfo->pool, "%s opening virtual connection %s (CONN/%s) in frame %u",
                                 in ? "RPC_IN_DATA" : "RPC_OUT_DATA", guid_to_str(pinfo->pool, cookie),
                                 in ? "B1" : "A1", pinfo->num);
    offer_request(c, h, pinfo, &ev);
    frame_rec(pinfo)->service = val_to_str_const(ev.role, exch_role_vals, "?");

    guint32 first_stream = GPOINTER_TO_UINT(wmem_map_lookup(channels, &h->cookie));
    const exch_conv_t *first = first_stream ? exch_conv_find(first_stream - 1) : NULL;
    if (!first) {
        wmem_map_insert(channels, &h->cookie, GUINT_TO_POINTER(c->stream + 1));
    } else if (first != c && first->role != c->role) {
        exch_conv_pair_channels(c, first);
        /* The partner's virtual connection was answered already. */
        if (first->http.rts_answered)
            exch_conv_confirm_peer(first, pinfo, "answered with an RTS PDU");
    }
}

/* RPC/HTTP channel bodies: RTS CONN/A1 or B1, then (IN) BIND and requests.
 * Stock 4.0 leaves all but the header segment as HTTP "Continuation". */
static void
scan_channel_body(const exch_conv_t *c, exch_http_state_t *h, packet_info *pinfo, proto_tree *tree,
                  gboolean from_server)
{
    guint32 ptype;
    if (from_server && exch_field_uint(tree, EXCH_F_DCERPC_PKT_TYPE, &ptype) && ptype == DCERPC_PT_RTS)
        rts_answered(c, h, pinfo);
    GPtrArray *a = exch_field_all(tree, EXCH_F_DATA);
    for (guint i = 0; a && i < a->len; i++) {
        guint len = 0;
        const guint8 *bytes = exch_field_bytes(a, i, &len);
        if (!bytes || len < 16)
            continue;
        exch_pdu_scan_t scan;
        exch_dcerpc_scan(bytes, len, &scan);
        if (scan.rts && from_server)
            rts_answered(c, h, pinfo);
        if (scan.have_cookie)
            channel_opened(c, h, pinfo, &scan.cookie);
        if (scan.n_uuids) {
            exch_bind_t b;
            exch_dcerpc_classify(scan.uuids, scan.n_uuids, scan.bind_ptype, &b);
            offer_bind(c, h, pinfo, &b);
        }
        if (scan.malformed)
            frame_rec(pinfo)->bad_bind = TRUE;
    }
    /* The header segment's RTS PDU, when stock DCE/RPC decoded it. */
    e_guid_t cookie;
    if (!h->have_cookie && exch_field_guid_at(exch_field_all(tree, EXCH_F_RTS_COOKIE), 0, &cookie))
        channel_opened(c, h, pinfo, &cookie);
    /* A BIND that stock DCE/RPC decoded, until the channel is certain. */
    exch_bind_t b;
    if (c->conf < EXCH_CONF_CERTAIN && exch_dcerpc_bind_fields(tree, &b))
        offer_bind(c, h, pinfo, &b);
}

static void
rpch_request(const exch_conv_t *c, exch_http_state_t *h, packet_info *pinfo, proto_tree *tree, gboolean in,
             const char *uri)
{
    exch_conv_set_transport(c, EXCH_TRANSPORT_RPC_HTTP);   /* a channel request, before any role */
    /* Which channel it would be; not yet a service of the frame, as an echo
     * request or an authentication leg never becomes a channel. */
    h->services |= 1u << (in ? EXCH_ROLE_RPC_IN : EXCH_ROLE_RPC_OUT);
    note_host(pinfo, c, h, tree);

    const char *server;
    guint port;
    if (rpch_uri(pinfo, uri, &server, &port)) {
        if (!h->rpc_server)      /* the URI names the RPC server */
            h->rpc_server = wmem_strdup_printf(wmem_file_scope(), "%s:%u", server, port);
        set_target(h, target_of_port(port), EXCH_CONF_INFERRED,
                   wmem_strdup_printf(pinfo->pool, "URI port %u in frame %u", port, pinfo->num));
    }
    /* No role yet: echo requests and authentication legs open no virtual
     * connection, so a channel is decided by its CONN/B1 or CONN/A1
     * (scan_channel_body), not by the method. */
}

/* ---- Autodiscover answers ---- */

#define AUTODISCOVER_SCAN_MAX  65536   /* bytes of one answer we look at */
#define AUTODISCOVER_HOSTS_MAX 32      /* host names we take from one answer */

/* p points at the "://" of an http or https URL. */
static gboolean
after_http_scheme(const char *body, const char *p)
{
    return (p - body >= 5 && g_ascii_strncasecmp(p - 5, "https", 5) == 0) ||
           (p - body >= 4 && g_ascii_strncasecmp(p - 4, "http", 4) == 0);
}

/* An Autodiscover answer names the hosts of the user's Exchange services
 * (EwsUrl, OABUrl, the mapiHttp URLs, RPC/HTTP servers): remember them, so
 * that TLS connections to them are recognised without keys. */
static void
autodiscover_answer(const exch_conv_t *c, const exch_http_state_t *h, packet_info *pinfo, proto_tree *tree)
{
    if (!(h->services & (1u << EXCH_ROLE_AUTODISCOVER)) || !c->have_endpoints ||
        (addresses_equal(&pinfo->src, &c->client.addr) && pinfo->srcport == c->client.port))
        return;
    GPtrArray *bodies = exch_field_all(tree, EXCH_F_HTTP_FILE_DATA);
    for (guint i = 0; bodies && i < bodies->len; i++) {
        const char *body = exch_field_str(bodies, i);
        if (!body)
            continue;
        const char *end = body + strnlen(body, AUTODISCOVER_SCAN_MAX);
        const char *why = wmem_strdup_printf(pinfo->pool, "is named in the Autodiscover answer in frame %u",
                                             pinfo->num);
        guint taken = 0;
        for (const char *p = body; taken < AUTODISCOVER_HOSTS_MAX && (p = g_strstr_len(p, end - p, "://")); p += 3) {
            const char *host = p + 3;
            size_t len = strcspn(host, "/:?#\"'<> \r\n\t");
            if (!after_http_scheme(body, p) || len == 0 || len > 253)
                continue;
            exch_tls_learn_host(pinfo, wmem_strndup(pinfo->pool, host, len), NULL, why);
            taken++;
        }
    }
}

/* ---- MAPI/HTTP, EWS, Autodiscover, OAB ---- */

static void
service_request(const exch_conv_t *c, exch_http_state_t *h, packet_info *pinfo, proto_tree *tree,
                const char *method, const char *uri)
{
    exch_transport_t transport;
    size_t plen;
    const char *path;
    exch_role_t role = exch_http_service(method, uri, &transport, &path, &plen);
    if (role == EXCH_ROLE_NONE)
        return;
    exch_evidence_t ev = { 0 };
    ev.role = role;
    ev.transport = transport != EXCH_TRANSPORT_NONE ? transport
                 : (c->tls.seen ? EXCH_TRANSPORT_HTTPS : EXCH_TRANSPORT_HTTP);
    ev.text = wmem_strdup_printf(pinfo->pool, "%s %.*s in frame %u", method, (int)MIN(plen, 80), path,
                                 pinfo->num);
    add_service(c, h, pinfo, ev.role, ev.text);
    note_host(pinfo, c, h, tree);
    offer_request(c, h, pinfo, &ev);

    GPtrArray *lines = exch_field_all(tree, EXCH_F_HTTP_REQUEST_LINE);
    if (ev.transport == EXCH_TRANSPORT_MAPI_HTTP) {
        frame_rec(pinfo)->request_type = file_str(header_value(pinfo, lines, "X-RequestType"));
        if (!h->mailbox)
            h->mailbox = file_str(mailbox_id(pinfo, uri));
    }
    if (!h->client_app)
        h->client_app = file_str(header_value(pinfo, lines, "X-ClientApplication"));
    if (!h->client_app)
        h->client_app = file_str(exch_field_str(exch_field_all(tree, EXCH_F_HTTP_USER_AGENT), 0));
}

/* ---- Which servers answered ---- */

/* Do two names of a server name the same one?  X-BEServer gives its short
 * name (EXCH02), X-CalculatedBETarget its FQDN (exch02.contoso.com). */
static gboolean
same_server(const char *a, const char *b)
{
    size_t la = strcspn(a, "."), lb = strcspn(b, ".");
    return la == lb && g_ascii_strncasecmp(a, b, la) == 0;
}

/* An answer's front end (X-FEServer) and back end (X-BEServer, else
 * X-CalculatedBETarget): the first named of each is the connection's; the
 * first other back end a later answer names (the mailbox moved, or the load
 * balancer sent the connection elsewhere) is kept beside it, with its frame. */
static void
answering_servers(packet_info *pinfo, proto_tree *tree, exch_http_state_t *h)
{
    GPtrArray *lines = exch_field_all(tree, EXCH_F_HTTP_RESPONSE_LINE);    /* only answers have them */
    if (!lines)
        return;
    const char *fe = header_value(pinfo, lines, "X-FEServer");
    if (!h->frontend && fe && *fe)
        h->frontend = file_str(fe);
    const char *be = header_value(pinfo, lines, "X-BEServer");
    if (!be || !*be)
        be = header_value(pinfo, lines, "X-CalculatedBETarget");
    if (!be || !*be)
        return;
    if (!h->backend) {
        h->backend = file_str(be);
    } else if (!h->backend_later && !same_server(be, h->backend)) {
        h->backend_later = file_str(be);
        h->backend_changed_in = pinfo->num;
    }
}

/* All HTTP evidence in one frame (first pass only): c is read, h (its
 * c->http) written. */
void
exch_http_analyze(packet_info *pinfo, proto_tree *tree, const exch_conv_t *c, exch_http_state_t *h)
{
    GPtrArray *methods = exch_field_all(tree, EXCH_F_HTTP_METHOD);
    GPtrArray *uris = exch_field_all(tree, EXCH_F_HTTP_URI);
    for (guint i = 0; methods && uris && i < methods->len && i < uris->len; i++) {
        const char *method = exch_field_str(methods, i);
        const char *uri = exch_field_str(uris, i);
        if (!method || !uri)
            continue;
        h->seen = TRUE;
        if (strcmp(method, "RPC_IN_DATA") == 0 || strcmp(method, "RPC_OUT_DATA") == 0)
            rpch_request(c, h, pinfo, tree, method[4] == 'I', uri);
        else
            service_request(c, h, pinfo, tree, method, uri);
    }
    gboolean from_server = c->have_endpoints && pinfo->srcport == c->server.port &&
                           addresses_equal(&pinfo->src, &c->server.addr);
    /* An RTS PDU in the body answers before the HTTP status line it follows
     * (a 200 without Exchange's headers says nothing either way). */
    if (c->transport == EXCH_TRANSPORT_RPC_HTTP)
        scan_channel_body(c, h, pinfo, tree, from_server);
    exch_answer_t answer;
    if (from_server && h->services && exch_http_answer(pinfo, tree, &answer))
        server_answered(c, h, pinfo, answer.verdict, answer.why);
    autodiscover_answer(c, h, pinfo, tree);
    answering_servers(pinfo, tree, h);
}
