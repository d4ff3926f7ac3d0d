/* exchange_tls.c
 * TLS evidence: which encrypted connections go to Exchange, and what can
 * honestly be said about them when Wireshark cannot decrypt them.
 *
 * Decides, never above confidence "inferred":
 *   - a server name that starts with "autodiscover." (or is Exchange
 *     Online's autodiscover-s.outlook.com) -> autodiscover;
 *   - a connection to an Exchange host -> "unknown", where Exchange hosts
 *     are Exchange Online's front doors, the names and addresses in the
 *     exchange.servers preference, and hosts that served decrypted or
 *     cleartext Exchange requests elsewhere in the capture; a name is also
 *     known by the addresses it was reached at (requests, server names)
 *     and those DNS answers in the capture give it, so a connection whose
 *     handshake is not in the capture is known by its server's address;
 *   - such a connection whose application data runs one way, as on an
 *     RPC/HTTP channel, -> rpc-in or rpc-out (see flow_of());
 *   - after the first pass (exch_tls_late()), the same with every host the
 *     whole capture proved, for connections still undecided.
 * Decrypted HTTP (exchange_http.c) replaces all of it with certain evidence.
 *
 * Writes only its part of the conversation (c->tls: SNI, record counts,
 * flow, host answer); the sides, the role and the pairing of two one-way
 * connections go through exchange_conv.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"


#include <epan/to_str.h>
#include <wsutil/inet_addr.h>

#define TLS_APPLICATION_DATA 23

/* Exchange Online front doors: MAPI/HTTP, EWS, OAB and Autodiscover all
 * hide behind these names, so the name alone says Exchange, not the role. */
static const char *const exo_hosts[] = {
    "outlook.office365.com",
    "outlook.office.com",
    "outlook.cloud.microsoft",
};

/* Flow thresholds for the RPC/HTTP channel inference (bytes of application
 * data after the handshake). */
#define FLOW_MIN_BYTES   512    /* one side sent at least this ... */
#define FLOW_MIN_RECORDS 4      /* ... in this many records, unanswered */
#define FLOW_PAIR_WINDOW EXCH_FLOW_PAIR_WINDOW

const char *exch_pref_servers = "";
static GHashTable *pref_hosts;     /* lower-case names and canonical addresses */
static wmem_map_t *learned_hosts;  /* lower-case host -> "why" (file scope) */
static guint hosts_gen = 1;        /* bumped when either list changes */
static wmem_list_t *flow_convs;    /* TLS connections to Exchange hosts with one-way data (tcp.stream + 1) */
/* Addresses DNS answers in the capture gave names to (first answer wins). */
typedef struct {
    const char *name;               /* lower case, file scope */
    guint32     frame;
} dns_name_t;
static wmem_map_t *dns_names;      /* canonical address -> dns_name_t */
static guint32 late_mark;          /* exch_conv_first_pass_frames() at the last late pass */

static char *
canonical_host(const char *s, size_t len)
{
    char *h = g_ascii_strdown(s, (gssize)len);
    ws_in6_addr a6;
    ws_in4_addr a4;
    if (ws_inet_pton4(h, &a4)) {
        address a;
        set_address(&a, AT_IPv4, 4, &a4);
        char *c = address_to_str(NULL, &a);
        g_free(h);
        h = g_strdup(c);
        wmem_free(NULL, c);
    } else if (ws_inet_pton6(h, &a6)) {
        address a;
        set_address(&a, AT_IPv6, 16, &a6);
        char *c = address_to_str(NULL, &a);
        g_free(h);
        h = g_strdup(c);
        wmem_free(NULL, c);
    }
    return h;
}

/* Re-read exchange.servers: names or addresses, separated by commas,
 * semicolons or blanks. */
void
exch_tls_prefs_changed(void)
{
    if (!pref_hosts)
        pref_hosts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_remove_all(pref_hosts);
    gchar **tokens = g_strsplit_set(exch_pref_servers ? exch_pref_servers : "", ",; \t", -1);
    for (gchar **t = tokens; *t; t++) {
        if (**t)
            g_hash_table_add(pref_hosts, canonical_host(*t, strlen(*t)));
    }
    g_strfreev(tokens);
    hosts_gen++;
}

void
exch_tls_init(void)
{
    learned_hosts = wmem_map_new(wmem_file_scope(), g_str_hash, g_str_equal);
    flow_convs = wmem_list_new(wmem_file_scope());
    dns_names = wmem_map_new(wmem_file_scope(), g_str_hash, g_str_equal);
    late_mark = 0;
    if (!pref_hosts)
        exch_tls_prefs_changed();
    hosts_gen++;
}

static void
learn_key(const char *key, const char *why)
{
    if (wmem_map_lookup(learned_hosts, key))
        return;
    wmem_map_insert(learned_hosts, wmem_strdup(wmem_file_scope(), key), wmem_strdup(wmem_file_scope(), why));
    hosts_gen++;
}

/* A host that served an Exchange request ("mail.contoso.com:443" and
 * "[2001:db8::1]:443" lose their port), and the address it served it at
 * (NULL when the name only was named, as in an Autodiscover answer). */
void
exch_tls_learn_host(packet_info *pinfo, const char *host, const address *at, const char *why)
{
    size_t len = strlen(host);
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        host++;
        len = end ? (size_t)(end - host) : len - 1;
    } else if (strchr(host, ':') == strrchr(host, ':') && strchr(host, ':')) {
        len = (size_t)(strchr(host, ':') - host);
    }
    char *h = canonical_host(host, len);
    learn_key(h, why);
    if (at)
        learn_key(address_to_str(pinfo->pool, at), wmem_strdup_printf(pinfo->pool, "(%s) %s", h, why));
    g_free(h);
}

/* A DNS answer (first pass, any transport): the addresses it gives the
 * name asked for. */
void
exch_tls_dns(packet_info *pinfo, proto_tree *tree)
{
    /* Only answers carry addresses. */
    GPtrArray *v4 = exch_field_all(tree, EXCH_F_DNS_A);
    GPtrArray *v6 = exch_field_all(tree, EXCH_F_DNS_AAAA);
    if (!v4 && !v6)
        return;
    const char *qname = exch_field_str(exch_field_all(tree, EXCH_F_DNS_QRY_NAME), 0);
    if (!qname || !*qname)
        return;
    const char *name = NULL;
    for (guint i = 0; i < (v4 ? v4->len : 0) + (v6 ? v6->len : 0); i++) {
        address a;
        ws_in4_addr a4;
        ws_in6_addr a6;
        if (v4 && i < v4->len) {
            if (!exch_field_ipv4_at(v4, i, &a4))
                continue;
            set_address(&a, AT_IPv4, 4, &a4);
        } else {
            if (!exch_field_ipv6_at(v6, i - (v4 ? v4->len : 0), &a6))
                continue;
            set_address(&a, AT_IPv6, 16, &a6);
        }
        const char *key = address_to_str(pinfo->pool, &a);
        if (wmem_map_lookup(dns_names, key))
            continue;
        if (!name) {
            char *lower = g_ascii_strdown(qname, -1);
            name = wmem_strdup(wmem_file_scope(), lower);
            g_free(lower);
        }
        dns_name_t *d = wmem_new(wmem_file_scope(), dns_name_t);
        d->name = name;
        d->frame = pinfo->num;
        wmem_map_insert(dns_names, wmem_strdup(wmem_file_scope(), key), d);
        hosts_gen++;
    }
}

/* exchange.servers lists at least one name or address. */
gboolean
exch_tls_servers_listed(void)
{
    return pref_hosts && g_hash_table_size(pref_hosts) > 0;
}

/* The name the first DNS answer in the capture (so far) gave an address, or NULL. */
const char *
exch_tls_dns_name(const address *a, wmem_allocator_t *scope)
{
    const dns_name_t *d = dns_names ? (const dns_name_t *)wmem_map_lookup(dns_names, address_to_str(scope, a)) : NULL;
    return d ? d->name : NULL;
}

/* Why a name is an Exchange host, or NULL. */
static const char *
name_why(const char *n, wmem_allocator_t *scope)
{
    for (size_t k = 0; k < G_N_ELEMENTS(exo_hosts); k++) {
        if (strcmp(n, exo_hosts[k]) == 0)
            return wmem_strdup_printf(scope, "%s is an Exchange Online front door", n);
    }
    if (pref_hosts && g_hash_table_contains(pref_hosts, n))
        return wmem_strdup_printf(scope, "%s is listed in exchange.servers", n);
    const char *why = (const char *)wmem_map_lookup(learned_hosts, n);
    return why ? wmem_strdup_printf(scope, "%s %s", n, why) : NULL;
}

/* Why this connection goes to Exchange, or NULL: its server name, its
 * server's address, or the name a DNS answer gave that address.  *by_sni:
 * the server name said so. */
static const char *
exchange_host_lookup(const exch_conv_t *c, const exch_tls_state_t *t, wmem_allocator_t *scope, gboolean *by_sni)
{
    const char *why;
    *by_sni = FALSE;
    if (t->sni && (why = name_why(t->sni, scope)) != NULL) {
        *by_sni = TRUE;
        return why;
    }
    if (!c->have_endpoints)
        return NULL;
    const char *server = address_to_str(scope, &c->server.addr);
    if ((why = name_why(server, scope)) != NULL)
        return why;
    const dns_name_t *d = (const dns_name_t *)wmem_map_lookup(dns_names, server);
    if (d && (why = name_why(d->name, scope)) != NULL)
        return wmem_strdup_printf(scope, "%s is %s by the DNS answer in frame %u; %s", server, d->name, d->frame, why);
    return NULL;
}

/* The same, asked on every TLS frame: looked up again only when the host
 * lists changed or the connection's server name or endpoints became known.
 * A server name that says Exchange binds the server's address to it. */
static const char *
exchange_host(const exch_conv_t *c, exch_tls_state_t *t, packet_info *pinfo)
{
    guint facts = (t->sni ? 2u : 0u) | (c->have_endpoints ? 1u : 0u);
    if (t->host_gen == hosts_gen && t->host_facts == facts)
        return t->host_why;
    gboolean by_sni;
    const char *why = exchange_host_lookup(c, t, pinfo->pool, &by_sni);
    if (why && by_sni && c->have_endpoints)
        learn_key(address_to_str(pinfo->pool, &c->server.addr),
                  wmem_strdup_printf(pinfo->pool, "was reached as %s in stream %u", t->sni, c->stream));
    t->host_gen = hosts_gen;
    t->host_facts = facts;
    if (!why)
        t->host_why = NULL;
    else if (!t->host_why || strcmp(t->host_why, why) != 0)
        t->host_why = wmem_strdup(wmem_file_scope(), why);
    return t->host_why;
}

static gboolean
is_autodiscover_name(const char *sni)
{
    return g_str_has_prefix(sni, "autodiscover.") || strcmp(sni, "autodiscover-s.outlook.com") == 0;
}

/* Which way application data runs.  An RPC/HTTP IN channel carries only
 * the client's data once its request is sent (the proxy answers nothing
 * until the channel closes); an OUT channel carries one short request and
 * then only the server's stream.  What came before (TLS handshake, a 401
 * authentication leg) does not count: only the run since the other side
 * last spoke.  Index 0 is client->server. */
static exch_role_t
flow_of(const exch_tls_state_t *t)
{
    if (t->run_bytes[0] >= FLOW_MIN_BYTES && t->run_records[0] >= FLOW_MIN_RECORDS)
        return EXCH_ROLE_RPC_IN;
    if (t->run_bytes[1] >= FLOW_MIN_BYTES && t->run_records[1] >= FLOW_MIN_RECORDS)
        return EXCH_ROLE_RPC_OUT;
    return EXCH_ROLE_NONE;
}

/* One-way data alone also fits an upload or a download (an EWS attachment,
 * an OAB file); RPC/HTTP opens its two channels together.  So a one-way
 * connection is called a channel only with an opposite one-way partner to
 * the same server endpoint opened within FLOW_PAIR_WINDOW seconds; the
 * nearest unpaired one is taken.  flow_convs holds only the unpaired. */
static void
flow_pair(const exch_conv_t *c)
{
    const exch_tls_state_t *t = &c->tls;
    const exch_conv_t *best = NULL;
    double best_gap = FLOW_PAIR_WINDOW;
    for (wmem_list_frame_t *f = wmem_list_head(flow_convs); f; f = wmem_list_frame_next(f)) {
        const exch_conv_t *o = exch_conv_find(GPOINTER_TO_UINT(wmem_list_frame_data(f)) - 1);
        if (o == c || o->tls.flow == t->flow || o->server.port != c->server.port ||
            !addresses_equal(&o->server.addr, &c->server.addr))
            continue;
        double gap = exch_conv_start_gap(c, o);
        if (gap <= best_gap) {
            best = o;
            best_gap = gap;
        }
    }
    if (!best) {
        if (!wmem_list_find(flow_convs, GUINT_TO_POINTER(c->stream + 1)))
            wmem_list_append(flow_convs, GUINT_TO_POINTER(c->stream + 1));
        return;
    }
    wmem_list_remove(flow_convs, GUINT_TO_POINTER(best->stream + 1));
    exch_conv_pair_flows(c, best);     /* best takes its role at its own next frame */
}

/* TLS bookkeeping of one frame (first pass): server name, and the
 * application data each side sent.  c is read, t (its c->tls) written. */
void
exch_tls_analyze(packet_info *pinfo, proto_tree *tree, const exch_conv_t *c, exch_tls_state_t *t)
{
    GPtrArray *sni = exch_field_all(tree, EXCH_F_TLS_SNI);
    if (sni && !t->sni) {
        const char *name = exch_field_str(sni, 0);
        if (name && *name) {
            char *lower = g_ascii_strdown(name, -1);
            t->sni = wmem_strdup(wmem_file_scope(), lower);
            /* exchange.server: the port too when not HTTPS's (the ClientHello goes to the server) */
            t->server_name = pinfo->destport == 443 ? t->sni
                           : wmem_strdup_printf(wmem_file_scope(), "%s:%u", lower, pinfo->destport);
            g_free(lower);
        }
        exch_conv_set_endpoints(c, pinfo, TRUE);     /* the ClientHello's sender */
    }

    GPtrArray *types = exch_field_all(tree, EXCH_F_TLS_CONTENT_TYPE);
    GPtrArray *lengths = exch_field_all(tree, EXCH_F_TLS_RECORD_LENGTH);
    if (!types)
        return;
    t->seen = TRUE;
    if (!c->have_endpoints || !lengths)
        return;
    int dir = (addresses_equal(&pinfo->src, &c->client.addr) && pinfo->srcport == c->client.port) ? 0 : 1;

    /* A ServerHello choosing TLS 1.3 (supported_versions 0x0304). */
    guint32 hs_type, version;
    if (dir == 1 && exch_field_uint(tree, EXCH_F_TLS_HANDSHAKE_TYPE, &hs_type) &&
        exch_field_uint(tree, EXCH_F_TLS_SUPPORTED_VERSION, &version) && version == 0x0304)
        t->tls13 = TRUE;

    for (guint i = 0; i < types->len && i < lengths->len; i++) {
        guint32 type, len;
        if (!exch_field_uint_at(types, i, &type) || type != TLS_APPLICATION_DATA ||
            !exch_field_uint_at(lengths, i, &len))
            continue;
        /* TLS 1.3 hides the rest of the handshake in application-data
         * records: the server's before the client's Finished, and that
         * Finished, the client's first.  They are not data. */
        if (t->tls13 && !t->client_finished) {
            if (dir == 0)
                t->client_finished = TRUE;
            continue;
        }
        t->app_bytes[dir] += len;
        t->app_records[dir]++;
        t->run_bytes[dir] += len;
        t->run_records[dir]++;
        t->run_bytes[!dir] = 0;
        t->run_records[!dir] = 0;
    }
    /* Which way the data runs, whatever the host: a host proved Exchange
     * later in the capture still pairs it (exch_tls_late()). */
    if (t->flow == EXCH_ROLE_NONE)
        t->flow = flow_of(t);
}

/* The evidence a connection to an Exchange host gives: an RPC/HTTP channel
 * when it has a one-way partner, else "unknown"; FALSE when it says
 * nothing new. */
static gboolean
host_evidence(const exch_conv_t *c, const char *why, wmem_allocator_t *scope, exch_evidence_t *ev)
{
    const exch_tls_state_t *t = &c->tls;
    memset(ev, 0, sizeof *ev);
    ev->transport = EXCH_TRANSPORT_HTTPS;
    ev->conf = EXCH_CONF_INFERRED;
    ev->role = c->flow_peer ? t->flow : EXCH_ROLE_UNKNOWN;
    if (ev->role == EXCH_ROLE_UNKNOWN && c->role == EXCH_ROLE_UNKNOWN)
        return FALSE;
    if (ev->role == EXCH_ROLE_UNKNOWN) {
        ev->text = wmem_strdup_printf(scope, "TLS to an Exchange host (%s); not decrypted, role unknown", why);
    } else {
        gboolean in = ev->role == EXCH_ROLE_RPC_IN;
        ev->text = wmem_strdup_printf(scope,
                                      "TLS to an Exchange host (%s); not decrypted; data runs one way, from the %s "
                                      "(client %" PRIu64 " B, server %" PRIu64 " B so far), and stream %u to the "
                                      "same server, opened %.3f s apart, runs the other way: as an RPC/HTTP %s channel",
                                      why, in ? "client" : "server", t->app_bytes[0], t->app_bytes[1],
                                      c->flow_peer->stream, exch_conv_start_gap(c, c->flow_peer), in ? "IN" : "OUT");
    }
    return TRUE;
}

/* What can be said of a TLS connection without its plaintext (first pass,
 * after the HTTP evidence of the same frame). */
void
exch_tls_infer(packet_info *pinfo, const exch_conv_t *c, exch_tls_state_t *t)
{
    if (!t->seen || c->http.seen || c->conf == EXCH_CONF_CERTAIN || c->not_exchange)
        return;
    /* Inferred evidence cannot change a learned role, nor an inferred one
     * other than "unknown" (exch_conv_offer): nothing to work out. */
    if (c->conf > EXCH_CONF_INFERRED || (c->conf == EXCH_CONF_INFERRED && c->role != EXCH_ROLE_UNKNOWN))
        return;

    exch_evidence_t ev = { 0 };
    ev.transport = EXCH_TRANSPORT_HTTPS;
    ev.conf = EXCH_CONF_INFERRED;
    if (t->sni && is_autodiscover_name(t->sni)) {
        ev.role = EXCH_ROLE_AUTODISCOVER;
        ev.text = wmem_strdup_printf(pinfo->pool, "TLS server name %s names an Autodiscover host; not decrypted",
                                     t->sni);
        exch_conv_offer(c, pinfo, &ev);
        return;
    }

    const char *why = exchange_host(c, t, pinfo);
    if (!why)
        return;
    if (t->flow != EXCH_ROLE_NONE && !t->flow_listed) {
        t->flow_listed = TRUE;
        flow_pair(c);
    }
    if (!host_evidence(c, why, pinfo->pool, &ev))
        return;                 /* said already */
    exch_conv_offer(c, pinfo, &ev);
}

/* After the first pass: TLS connections to hosts the whole capture proved
 * Exchange (a DNS answer, a request or server name later than their last
 * frame), paired as above where their data ran one way. */
void
exch_tls_late(wmem_allocator_t *scratch)
{
    guint32 mark = exch_conv_first_pass_frames();
    if (mark == late_mark || !learned_hosts)
        return;
    late_mark = mark;
    wmem_array_t *found = wmem_array_new(scratch, sizeof(const exch_conv_t *));
    wmem_array_t *whys = wmem_array_new(scratch, sizeof(const char *));
    for (guint32 i = 0; i < exch_conv_count(); i++) {
        const exch_conv_t *c = exch_conv_find(i);
        if (!c || !c->tls.seen || c->http.seen || c->not_exchange || c->conf > EXCH_CONF_INFERRED)
            continue;
        gboolean by_sni;
        const char *why = exchange_host_lookup(c, &c->tls, scratch, &by_sni);
        if (!why)
            continue;
        if (c->tls.flow != EXCH_ROLE_NONE && !c->flow_peer)
            flow_pair(c);
        wmem_array_append_one(found, c);
        wmem_array_append_one(whys, why);
    }
    for (guint i = 0; i < wmem_array_get_count(found); i++) {
        const exch_conv_t *c = *(const exch_conv_t **)wmem_array_index(found, i);
        exch_evidence_t ev;
        if (host_evidence(c, *(const char **)wmem_array_index(whys, i), scratch, &ev))
            exch_conv_offer_late(c, &ev, NULL);
    }
}
