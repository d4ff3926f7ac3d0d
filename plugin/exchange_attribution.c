/* exchange_attribution.c
 * Which client process owns a connection.
 *
 * Decides, best source first:
 *   1. the process map (exchange.process_map: saved tasklist / netstat /
 *      PowerShell / ss output, parsed by exchange_process.c), by the
 *      connection's client and server endpoints;
 *   2. per-packet capture metadata: packet comments written by etl2pcapng
 *      ("PID=<n> TID=<m>") or ptcpdump ("PID: <n>\nCmd: <name>"), and the
 *      macOS PKTAP header (pktap.pid, pktap.cmdname).  etl2pcapng's PID is
 *      the context the packet event ran in, often not the socket owner, so
 *      the connection takes the majority, SYNs weighing most;
 *   3. the client's own headers (X-ClientApplication, User-Agent): a name
 *      without a PID;
 *   4. otherwise nothing: an unknown process on the client host.
 *
 * Also judges whether the map fits the capture at all, and says so once
 * per map and capture (expert info, and Wireshark's failure reporting: a
 * dialog in the GUI, stderr in tshark):
 *   - a connection the map contradicts (its client address and port are in
 *     the map, owned by a process, with another server): told at that
 *     connection's first frame, and the map names no process for it;
 *   - after the first pass (tshark -2, the GUI; single-pass tshark when the
 *     file is closed, without expert info): more than half of the map's
 *     connections between a client and a server the capture shows talking
 *     are not in the capture.
 *
 * Writes only its part of the conversation (c->proc); reads its sides, the
 * client application HTTP saw and, for the fit, every conversation's ends.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"
#include "exchange_process.h"

#include <epan/to_str.h>
#include <wsutil/report_message.h>

const char *exch_pref_process_map = "";
static char *map_path;          /* the file loaded, for the messages */
static char *map_message;       /* the last load's problem, or NULL */
static char *map_logged;        /* the last problem reported: each is reported once */
static guint map_gen = 1;

/* Whether the map fits the capture being read. */
static char   *misfit;          /* the first misfit found, or NULL */
static guint32 misfit_frame;    /* the frame that shows it */
static gboolean misfit_contradiction;
static guint32 fit_mark;        /* exch_conv_first_pass_frames() when the fit was last judged */
static char   *misfit_told;     /* the last misfit reported: re-dissecting a file tells nothing new */
static gboolean misfit_told_now;/* a misfit was reported since the map was loaded */

#define SYN_WEIGHT 8            /* a SYN's metadata is closest to the socket's creator */

/* (Re)load the map: when the preference changes and at every file open, so
 * a map file edited between two captures is read again. */
void
exch_attr_prefs_changed(void)
{
    const char *path = exch_pref_process_map ? exch_pref_process_map : "";
    g_free(map_message);
    map_message = NULL;
    g_free(map_path);
    map_path = g_strdup(path);
    gboolean loaded = exch_process_map_load(path, &map_message);
    /* The preference's apply and the file open both load: say it once.
     * A failure when nothing could be used, a warning when part was. */
    if (map_message && g_strcmp0(map_message, map_logged) != 0) {
        if (loaded)
            report_warning("%s", map_message);
        else
            report_failure("%s", map_message);
    }
    g_free(map_logged);
    map_logged = g_strdup(map_message);
    map_gen++;
    g_free(misfit);
    misfit = NULL;
    misfit_frame = fit_mark = 0;
    misfit_contradiction = misfit_told_now = FALSE;
}

void
exch_attr_init(void)
{
    exch_attr_prefs_changed();
}

const char *
exch_attr_map_message(void)
{
    return map_message;
}

/* ---- per-packet metadata ---- */

static void
vote(exch_proc_state_t *p, exch_proc_source_t source, guint32 pid, const char *name, guint weight)
{
    for (guint i = 0; i < p->n_votes; i++) {
        exch_proc_vote_t *v = &p->votes[i];
        if (v->pid == pid && v->source == source) {
            v->weight += weight;
            if (!v->name && name && *name)
                v->name = wmem_strdup(wmem_file_scope(), name);
            return;
        }
    }
    if (p->n_votes == EXCH_PROC_VOTES)
        return;     /* a connection's packets name few processes; more is noise */
    exch_proc_vote_t *v = &p->votes[p->n_votes++];
    v->pid = pid;
    v->name = (name && *name) ? wmem_strdup(wmem_file_scope(), name) : NULL;
    v->weight = weight;
    v->source = source;
}

/* "PID=4028 TID=5120" (etl2pcapng) or "PID: 2201\nCmd: evolution\n..."
 * (ptcpdump); anything else is not ours. */
static gboolean
parse_comment(const char *s, guint32 *pid, char **name)
{
    const char *p = strstr(s, "PID");
    if (!p || (p != s && g_ascii_isalnum(p[-1])))
        return FALSE;
    p += 3;
    if (*p == '=')
        p++;
    else if (*p == ':')
        p++;
    else
        return FALSE;
    while (*p == ' ')
        p++;
    if (!g_ascii_isdigit(*p))
        return FALSE;
    guint64 v = g_ascii_strtoull(p, NULL, 10);
    if (v == 0 || v > G_MAXUINT32)
        return FALSE;
    *pid = (guint32)v;
    *name = NULL;
    const char *cmd = strstr(s, "Cmd:");
    if (cmd) {
        cmd += 4;
        while (*cmd == ' ')
            cmd++;
        size_t len = strcspn(cmd, "\r\n");
        if (len > 0 && len < 256)
            *name = g_strndup(cmd, len);
    }
    return TRUE;
}

static void
read_metadata(packet_info *pinfo, proto_tree *tree, const exch_conv_t *c, exch_proc_state_t *p)
{
    /* A comment's PID is the context the capture event ran in: the sender
     * for what the client sends, anything (a DPC) for what it receives. */
    gboolean sent = c->have_endpoints && pinfo->srcport == c->client.port &&
                    addresses_equal(&pinfo->src, &c->client.addr);
    GPtrArray *comments = sent ? exch_field_all(tree, EXCH_F_FRAME_COMMENT) : NULL;
    guint32 pktap_pid;
    gboolean pktap = exch_field_uint(tree, EXCH_F_PKTAP_PID, &pktap_pid) && pktap_pid != 0;
    if (!comments && !pktap)
        return;                     /* most captures carry neither */

    /* The connection's opening frame (its SYN or SYN+ACK) weighs most. */
    guint weight = pinfo->num == c->opened_in ? SYN_WEIGHT : 1;
    for (guint i = 0; comments && i < comments->len; i++) {
        const char *s = exch_field_str(comments, i);
        guint32 pid;
        char *name;
        if (s && parse_comment(s, &pid, &name)) {
            vote(p, EXCH_PROC_COMMENT, pid, name, weight);
            g_free(name);
        }
    }

    if (pktap) {
        const char *name = exch_field_str(exch_field_all(tree, EXCH_F_PKTAP_CMDNAME), 0);
        vote(p, EXCH_PROC_PKTAP, pktap_pid, name, weight);
    }
}

/* ---- headers ---- */

/* The process a client application string names: Outlook's own tokens
 * map to its image name, and so does BITS ("Microsoft BITS/7.8", which
 * Outlook hands its OAB downloads to: the BITS service runs in
 * svchost.exe); another product token is taken as it is; a browser's
 * "Mozilla/5.0" or the RPC runtime's "MSRPC" names no process. */
static const char *
process_of_client_app(const char *app)
{
    if (!app || !*app)
        return NULL;
    if (g_str_has_prefix(app, "Outlook/") || strstr(app, "Microsoft Outlook") || strstr(app, "Outlook-Express"))
        return "OUTLOOK.EXE";
    if (g_str_has_prefix(app, "MacOutlook/"))
        return "Microsoft Outlook";
    if (g_str_has_prefix(app, "Microsoft BITS/"))
        return "svchost.exe";
    if (g_str_has_prefix(app, "Mozilla/") || g_str_has_prefix(app, "MSRPC"))
        return NULL;
    size_t len = strcspn(app, "/ ;(");
    if (len == 0 || len > 64)
        return NULL;
    return wmem_strndup(wmem_file_scope(), app, len);
}

/* ---- whether the map fits the capture ---- */

static char *
ends_to_str(const char *addr, guint port)
{
    return g_strdup_printf(strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr, port);
}

static char *
owner_to_str(const exch_proc_conn_t *row)
{
    return g_strdup_printf("%s PID %u", row->process ? row->process : "process", row->pid);
}

/* The first misfit of a capture is kept for its frame's expert info (short:
 * Wireshark cuts expert texts at 240 bytes) and reported once, with the
 * file's name. */
static void
misfit_found(guint32 frame, char *detail, gboolean contradiction)
{
    g_free(misfit);
    misfit = g_strdup_printf("Process map not of this capture: %s", detail);
    misfit_frame = frame;
    misfit_contradiction = contradiction;
    char *told = g_strdup_printf("exchange.process_map: %s does not fit this capture: %s", map_path, detail);
    /* Once per load (a live capture's later judgements change only the
     * expert info) and not again for the same text (a re-dissection). */
    if (!misfit_told_now && g_strcmp0(told, misfit_told) != 0)
        report_warning("%s", told);
    misfit_told_now = TRUE;
    g_free(misfit_told);
    misfit_told = told;
    g_free(detail);
}

static void
contradicted(packet_info *pinfo, const exch_conv_t *c, const exch_proc_conn_t *row)
{
    if (misfit_contradiction)
        return;                 /* the first one tells */
    char *local = ends_to_str(row->laddr, row->lport);
    char *named = ends_to_str(row->raddr, row->rport);
    char *owner = owner_to_str(row);
    misfit_found(pinfo->num, g_strdup_printf(
        "its line %u connects %s (%s) to %s, the capture to %s: no process from the map for it",
        row->line, local, owner, named, exch_endpoint_to_str(pinfo->pool, &c->server)), TRUE);
    g_free(local);
    g_free(named);
    g_free(owner);
}

typedef struct {
    GHashTable *pairs;          /* "client server": the capture has a connection between them */
    GHashTable *conns;          /* "client port server port": the capture's connections */
    GHashTable *counted;        /* the map's connections counted (ss lists some twice) */
    guint relevant, missing;
    exch_proc_conn_t first_missing;
} fit_t;

static void
capture_has(fit_t *f, const exch_endpoint_t *client, const exch_endpoint_t *server)
{
    if (client->addr.type == AT_NONE || server->addr.type == AT_NONE)
        return;
    char *ca = address_to_str(NULL, &client->addr), *sa = address_to_str(NULL, &server->addr);
    g_hash_table_add(f->pairs, g_strdup_printf("%s %s", ca, sa));
    g_hash_table_add(f->conns, g_strdup_printf("%s %u %s %u", ca, client->port, sa, server->port));
    wmem_free(NULL, ca);
    wmem_free(NULL, sa);
}

static void
map_conn(const exch_proc_conn_t *m, void *data)
{
    fit_t *f = data;
    /* Loopback and the host's own addresses never cross the capture. */
    if (g_str_has_prefix(m->raddr, "127.") || !strcmp(m->raddr, "::1") || !strcmp(m->raddr, m->laddr) ||
        !strcmp(m->laddr, "0.0.0.0") || !strcmp(m->laddr, "::") || !strcmp(m->laddr, "*"))
        return;
    char *pair = g_strdup_printf("%s %s", m->laddr, m->raddr);
    gboolean talks = g_hash_table_contains(f->pairs, pair);
    g_free(pair);
    if (!talks)
        return;                 /* a server this capture does not show: a capture filter's choice */
    char *conn = g_strdup_printf("%s %u %s %u", m->laddr, m->lport, m->raddr, m->rport);
    if (!g_hash_table_add(f->counted, conn))
        return;
    f->relevant++;
    if (g_hash_table_contains(f->conns, conn))
        return;
    if (!f->missing++ || m->line < f->first_missing.line)
        f->first_missing = *m;
}

/* Once the first pass is over (again, when it went on: a live capture). */
static void
judge_fit(void)
{
    guint32 mark = exch_conv_first_pass_frames();
    if (mark == fit_mark || !exch_process_map_sockets() || misfit_contradiction)
        return;
    fit_mark = mark;
    fit_t f = { g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL), 0, 0, { 0 } };
    guint32 first_frame = 0;
    for (guint32 i = 0; i < exch_conv_count(); i++) {
        const exch_conv_t *c = exch_conv_find(i);
        if (!c)
            continue;
        if (!first_frame || c->first_frame < first_frame)
            first_frame = c->first_frame;
        if (c->have_endpoints) {
            capture_has(&f, &c->client, &c->server);
        } else {
            capture_has(&f, &c->ends[0], &c->ends[1]);      /* sides not known: either */
            capture_has(&f, &c->ends[1], &c->ends[0]);
        }
    }
    exch_process_foreach_conn(map_conn, &f);
    /* Most: more than half.  A map saved after the capture misses its
     * closed connections (netstat forgets them), not most of its own. */
    if (f.missing * 2 > f.relevant) {
        char *local = ends_to_str(f.first_missing.laddr, f.first_missing.lport);
        char *named = ends_to_str(f.first_missing.raddr, f.first_missing.rport);
        char *owner = owner_to_str(&f.first_missing);
        misfit_found(first_frame, g_strdup_printf(
            "%u of its %u connections to servers in the capture are not in it (first: line %u, %s to %s, %s)",
            f.missing, f.relevant, f.first_missing.line, local, named, owner), FALSE);
        g_free(local);
        g_free(named);
        g_free(owner);
    } else if (misfit) {
        g_free(misfit);         /* a live capture caught up with the map */
        misfit = NULL;
    }
    g_hash_table_destroy(f.pairs);
    g_hash_table_destroy(f.conns);
    g_hash_table_destroy(f.counted);
}

const char *
exch_attr_map_misfit(packet_info *pinfo)
{
    if (PINFO_FD_VISITED(pinfo))
        judge_fit();
    return misfit && pinfo->num == misfit_frame ? misfit : NULL;
}

/* The file is closed: single-pass tshark judges the fit only now. */
void
exch_attr_capture_done(void)
{
    if (exch_conv_first_pass_frames())
        judge_fit();
    g_free(misfit);
    misfit = NULL;
    misfit_frame = fit_mark = 0;
    misfit_contradiction = misfit_told_now = FALSE;
}

/* ---- the decision ---- */

static gboolean
map_lookup(packet_info *pinfo, const exch_conv_t *c, exch_proc_state_t *p)
{
    if (!exch_process_map_sockets() || !c->have_endpoints)
        return FALSE;
    exch_proc_entry_t e;
    char *client = address_to_str(pinfo->pool, &c->client.addr);
    char *server = address_to_str(pinfo->pool, &c->server.addr);
    exch_proc_conn_t row;
    if (exch_process_contradiction(client, c->client.port, server, c->server.port, &row)) {
        contradicted(pinfo, c, &row);
        return FALSE;
    }
    /* PID 0 is netstat's TIME_WAIT: the socket has no owner any more. */
    if (!exch_process_lookup(client, c->client.port, server, c->server.port, &e) || e.pid == 0)
        return FALSE;
    p->source = EXCH_PROC_MAP;
    p->pid = e.pid;
    p->name = e.process ? wmem_strdup(wmem_file_scope(), e.process) : NULL;
    p->host = e.host ? wmem_strdup(wmem_file_scope(), e.host) : NULL;
    return TRUE;
}

/* First pass, every frame of a TCP connection: c is read, p (its c->proc)
 * written. */
void
exch_attr_analyze(packet_info *pinfo, proto_tree *tree, const exch_conv_t *c, exch_proc_state_t *p)
{
    if (p->map_gen != map_gen) {
        p->map_gen = map_gen;
        p->map_checked = FALSE;
        if (p->source == EXCH_PROC_MAP)
            p->source = EXCH_PROC_NONE;
    }
    if (!p->map_checked && c->have_endpoints) {
        p->map_checked = TRUE;
        map_lookup(pinfo, c, p);
    }
    if (p->source == EXCH_PROC_MAP)
        return;

    read_metadata(pinfo, tree, c, p);
    const exch_proc_vote_t *best = NULL;
    for (guint i = 0; i < p->n_votes; i++) {
        if (!best || p->votes[i].weight > best->weight ||
            (p->votes[i].weight == best->weight && p->votes[i].source > best->source))
            best = &p->votes[i];
    }
    if (best) {
        p->source = best->source;
        p->pid = best->pid;
        /* etl2pcapng gives only a PID: the client's headers may name it. */
        if (best->name)
            p->name = best->name;
        else if (!p->name)
            p->name = process_of_client_app(c->http.client_app);
        return;
    }

    if (p->source == EXCH_PROC_NONE && c->http.client_app) {
        const char *name = process_of_client_app(c->http.client_app);
        if (name) {
            p->source = EXCH_PROC_HEADER;
            p->name = name;
        }
    }
}

/* The client host as the table shows it: the map's host name, else the
 * client address. */
const char *
exch_attr_host(const exch_conv_t *c, wmem_allocator_t *scope)
{
    if (c->proc.host)
        return c->proc.host;
    return c->have_endpoints ? address_to_str(scope, &c->client.addr) : "";
}
