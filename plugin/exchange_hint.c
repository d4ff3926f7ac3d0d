/* exchange_hint.c
 * Would naming servers in the exchange.servers preference help?  Decides
 * one hint per capture, only while that preference lists nothing: TLS
 * connections to port 443 that Wireshark did not decrypt and nothing
 * recognised (no role) look like Exchange's when
 *   (a) two of them to the same server endpoint, opened at most
 *       EXCH_FLOW_PAIR_WINDOW seconds apart, carry application data one
 *       way each, opposite ways, as RPC/HTTP's IN and OUT channels do
 *       (exchange_tls.c measures the flow, whatever the host); or
 *   (b) the name they were reached by lies under a domain whose
 *       "autodiscover." name is a TLS server name in the capture
 *       (mail.contoso.com beside autodiscover.contoso.com).
 * A connection's name is its TLS server name, else the name a DNS answer
 * gave its server's address, else that address.  "Not decrypted": data
 * ran both ways, or one way long enough to call it a flow, and no HTTP
 * request was read from it.
 *
 * The hint is worked out on the first pass and frozen, text included, in
 * the frame where it first held: single pass, -2 and the GUI show the
 * same text on the same frame, whatever the tree.  Its state is this
 * file's alone (file scope); it reads the conversations and writes none.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"


#include <epan/to_str.h>

#define AUTODISCOVER "autodiscover."
#define HINT_NAMES   3      /* names the text lists at most */

typedef struct {
    gboolean    sni_noted;      /* its server name was looked at */
    gboolean    counted;        /* counted as undecrypted TLS to its name */
    gboolean    flow_listed;    /* its one-way data was offered for pairing */
    const char *name;           /* file scope, once counted */
} hint_conv_t;

static wmem_map_t *convs;           /* tcp.stream + 1 -> hint_conv_t */
static wmem_map_t *counts;          /* name -> number of counted connections */
static wmem_map_t *parents;         /* a parent domain of a counted name -> that name */
static wmem_map_t *autodiscover;    /* domain of an autodiscover.<domain> server name -> its stream + 1 */
/* Counted one-way connections not paired, by the way they run and their
 * server: "<flow> <address>" -> list of tcp.stream + 1, the newest
 * ONE_WAY_KEPT only (a busy server's downloads would make pairing
 * quadratic; a partner opens within seconds). */
static wmem_map_t *one_way;
#define ONE_WAY_KEPT 64
static guint32 hint_frame;          /* 0: no hint (yet) */
static const char *hint_text;

void
exch_hint_init(void)
{
    convs = wmem_map_new(wmem_file_scope(), g_direct_hash, g_direct_equal);
    counts = wmem_map_new(wmem_file_scope(), g_str_hash, g_str_equal);
    parents = wmem_map_new(wmem_file_scope(), g_str_hash, g_str_equal);
    autodiscover = wmem_map_new(wmem_file_scope(), g_str_hash, g_str_equal);
    one_way = wmem_map_new(wmem_file_scope(), g_str_hash, g_str_equal);
    hint_frame = 0;
    hint_text = NULL;
}

const char *
exch_hint_message(guint32 frame)
{
    return hint_frame && frame == hint_frame ? hint_text : NULL;
}

/* Which domain an autodiscover.<domain> name serves; NULL for another
 * name, and for a top-level domain alone (autodiscover.com). */
static const char *
autodiscover_domain(const char *name)
{
    if (!g_str_has_prefix(name, AUTODISCOVER))
        return NULL;
    const char *d = name + strlen(AUTODISCOVER);
    return strchr(d, '.') ? d : NULL;
}

/* The domain of autodiscover_domain() above a counted name, or NULL. */
static const char *
autodiscover_above(const char *name)
{
    for (const char *p = strchr(name, '.'); p; p = strchr(p + 1, '.')) {
        if (wmem_map_contains(autodiscover, p + 1))
            return p + 1;
    }
    return NULL;
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Counted names under an autodiscover domain, but those already listed. */
static void
add_if_under(gpointer key, gpointer value _U_, gpointer user_data)
{
    GPtrArray *names = (GPtrArray *)user_data;
    for (guint i = 0; i < names->len; i++) {
        if (strcmp((const char *)g_ptr_array_index(names, i), (const char *)key) == 0)
            return;
    }
    if (autodiscover_above((const char *)key))
        g_ptr_array_add(names, key);
}

/* The hint, frozen now: every counted name the rules point at (the pair's
 * and those under an autodiscover domain), sorted, with its count. */
static void
hint(packet_info *pinfo, const char *pair_a, const char *pair_b, const char *why)
{
    GPtrArray *names = g_ptr_array_new();
    guint total = 0;
    if (pair_a)
        g_ptr_array_add(names, (gpointer)pair_a);
    if (pair_b && (!pair_a || strcmp(pair_b, pair_a) != 0))
        g_ptr_array_add(names, (gpointer)pair_b);
    if (wmem_map_size(autodiscover))
        wmem_map_foreach(counts, add_if_under, names);
    g_ptr_array_sort(names, compare_names);
    wmem_strbuf_t *listed = wmem_strbuf_new(pinfo->pool, "");
    wmem_strbuf_t *setting = wmem_strbuf_new(pinfo->pool, "");
    /* An expert text holds 240 bytes: the first names, and how many more. */
    for (guint i = 0; i < names->len && i < HINT_NAMES; i++) {
        const char *name = (const char *)g_ptr_array_index(names, i);
        guint n = GPOINTER_TO_UINT(wmem_map_lookup(counts, name));
        wmem_strbuf_append_printf(listed, "%s%s (%u connection%s so far)", i ? ", " : "", name, n, n == 1 ? "" : "s");
        total += n;
        wmem_strbuf_append_printf(setting, "%s%s", i ? "," : "", name);
    }
    if (names->len > HINT_NAMES) {
        wmem_strbuf_append_printf(listed, " and %u more names", names->len - HINT_NAMES);
        wmem_strbuf_append(setting, ",...");
        total += 2;
    }
    g_ptr_array_free(names, TRUE);
    hint_frame = pinfo->num;
    hint_text = wmem_strdup_printf(wmem_file_scope(),
                                   "Undecrypted TLS to %s looks like Exchange (%s): set "
                                   "exchange.servers to %s to recognise %s", wmem_strbuf_get_str(listed), why,
                                   wmem_strbuf_get_str(setting), total == 1 ? "it" : "them");
}

/* Rule (b) for a name just counted, or a domain just seen with its
 * autodiscover name: does a counted name now lie under such a domain? */
static void
check_names(packet_info *pinfo, const char *name, const char *domain)
{
    if (!domain)
        return;
    guint adv = GPOINTER_TO_UINT(wmem_map_lookup(autodiscover, domain)) - 1;
    hint(pinfo, NULL, NULL, wmem_strdup_printf(pinfo->pool, "%s is under %s, like " AUTODISCOVER "%s in stream %u",
                                               name, domain, domain, adv));
}

/* The name a connection was reached by (file scope); *literal: an address. */
static const char *
conv_name(packet_info *pinfo, const exch_conv_t *c, gboolean *literal)
{
    *literal = FALSE;
    if (c->tls.sni)
        return c->tls.sni;
    const char *dns = exch_tls_dns_name(&c->server.addr, pinfo->pool);
    if (dns)
        return dns;
    *literal = TRUE;
    return address_to_str(wmem_file_scope(), &c->server.addr);
}

static void
count(packet_info *pinfo, const exch_conv_t *c, hint_conv_t *h)
{
    gboolean literal;
    const char *name = conv_name(pinfo, c, &literal);
    gpointer key, n = NULL;
    if (wmem_map_lookup_extended(counts, name, (const void **)&key, &n))
        name = (const char *)key;   /* one copy per name */
    wmem_map_insert(counts, name, GUINT_TO_POINTER(GPOINTER_TO_UINT(n) + 1));
    h->counted = TRUE;
    h->name = name;
    if (literal)
        return;
    for (const char *p = strchr(name, '.'); p && strchr(p + 1, '.'); p = strchr(p + 1, '.')) {
        if (!wmem_map_contains(parents, p + 1))
            wmem_map_insert(parents, p + 1, (gpointer)name);
    }
    check_names(pinfo, name, autodiscover_above(name));
}

static gboolean
undecided(const exch_conv_t *c)
{
    return c->role == EXCH_ROLE_NONE && !c->http.seen && !c->not_exchange;
}

static wmem_list_t *
one_way_list(packet_info *pinfo, exch_role_t flow, const address *server, gboolean create)
{
    char *key = wmem_strdup_printf(pinfo->pool, "%d %s", (int)flow, address_to_str(pinfo->pool, server));
    wmem_list_t *l = (wmem_list_t *)wmem_map_lookup(one_way, key);
    if (!l && create) {
        l = wmem_list_new(wmem_file_scope());
        wmem_map_insert(one_way, wmem_strdup(wmem_file_scope(), key), l);
    }
    return l;
}

/* Rule (a): the nearest opposite one-way connection to the same server
 * (port 443 both), still unrecognised; else c waits for one. */
static void
pair(packet_info *pinfo, const exch_conv_t *c, const hint_conv_t *h)
{
    exch_role_t other = c->tls.flow == EXCH_ROLE_RPC_IN ? EXCH_ROLE_RPC_OUT : EXCH_ROLE_RPC_IN;
    wmem_list_t *opposite = one_way_list(pinfo, other, &c->server.addr, FALSE);
    const exch_conv_t *best = NULL;
    double best_gap = EXCH_FLOW_PAIR_WINDOW;
    for (wmem_list_frame_t *f = opposite ? wmem_list_head(opposite) : NULL; f; f = wmem_list_frame_next(f)) {
        const exch_conv_t *o = exch_conv_find(GPOINTER_TO_UINT(wmem_list_frame_data(f)) - 1);
        if (!o || !undecided(o))
            continue;
        double gap = exch_conv_start_gap(c, o);
        if (gap <= best_gap) {
            best = o;
            best_gap = gap;
        }
    }
    if (!best) {
        wmem_list_t *mine = one_way_list(pinfo, c->tls.flow, &c->server.addr, TRUE);
        wmem_list_append(mine, GUINT_TO_POINTER(c->stream + 1));
        if (wmem_list_count(mine) > ONE_WAY_KEPT)
            wmem_list_remove_frame(mine, wmem_list_head(mine));
        return;
    }
    const hint_conv_t *bh = (const hint_conv_t *)wmem_map_lookup(convs, GUINT_TO_POINTER(best->stream + 1));
    hint(pinfo, bh->name, h->name,
         wmem_strdup_printf(pinfo->pool, "streams %u and %u run one way each, opposite ways, opened %.3f s apart: "
                            "an RPC/HTTP channel pair", MIN(best->stream, c->stream), MAX(best->stream, c->stream),
                            best_gap));
}

/* One first-pass frame of c, after every evidence file has read it. */
void
exch_hint_analyze(packet_info *pinfo, const exch_conv_t *c)
{
    if (hint_frame || !c->tls.seen || exch_tls_servers_listed())
        return;
    hint_conv_t *h = (hint_conv_t *)wmem_map_lookup(convs, GUINT_TO_POINTER(c->stream + 1));
    if (!h) {
        h = wmem_new0(wmem_file_scope(), hint_conv_t);
        wmem_map_insert(convs, GUINT_TO_POINTER(c->stream + 1), h);
    }
    if (c->tls.sni && !h->sni_noted) {
        h->sni_noted = TRUE;
        const char *domain = autodiscover_domain(c->tls.sni);
        if (domain && !wmem_map_contains(autodiscover, domain)) {
            wmem_map_insert(autodiscover, domain, GUINT_TO_POINTER(c->stream + 1));
            const char *under = (const char *)wmem_map_lookup(parents, domain);
            if (under)
                check_names(pinfo, under, domain);
        }
        if (domain || hint_frame)
            return;
    }
    if (!undecided(c) || !c->have_endpoints || c->server.port != 443)
        return;
    const exch_tls_state_t *t = &c->tls;
    if (!h->counted && (t->flow != EXCH_ROLE_NONE || (t->app_records[0] && t->app_records[1]))) {
        count(pinfo, c, h);
        if (hint_frame)
            return;
    }
    if (h->counted && t->flow != EXCH_ROLE_NONE && !h->flow_listed) {
        h->flow_listed = TRUE;
        pair(pinfo, c, h);
    }
}
