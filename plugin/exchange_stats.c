/* exchange_stats.c
 * Statistics from the "exchange" tap: one row per Exchange TCP connection
 * (exchange,conns), and connections per client process (exchange,clients).
 *
 * The tap fires on every frame of an Exchange connection and on frames
 * whose evidence withdrew a role, in single-pass tshark, with -2 and on GUI
 * retaps.  Both tables remember, per tcp.stream, where they counted the
 * connection, so each connection is counted once, moves when its role or
 * process changes and leaves when its role is withdrawn: they count
 * connections, never packets.  With -2 and in the GUI the state is the
 * final one; single-pass tshark ends with it too.
 *
 * The tap runs on every frame of every Exchange connection, so a frame that
 * changes nothing a row shows beyond its counters costs a hash lookup and a
 * few stores: rows are found by pointer (each row is its own heap block,
 * stable while the pointer array around it moves), kept sorted by binary
 * search, and their text cells are made again only when what they are made
 * of changed.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#include <epan/stat_tap_ui.h>
#include <epan/tap.h>

/* Column order is what the GUI dialog shows at its default size: what the
 * connection is for and whose it is first, then how it went; Evidence is not
 * the last column because Wireshark-Qt sizes every column but the last to
 * its contents, so the whole text stays reachable. */
enum {
    COL_ROLE, COL_PROCESS, COL_CLIENT, COL_SERVER, COL_TRANSPORT, COL_CONFIDENCE, COL_REQUESTS, COL_FAILURES,
    COL_FAILED_AT, COL_AVG_RESPONSE, COL_START, COL_DURATION, COL_FRAMES, COL_BYTES, COL_FRONTEND, COL_BACKEND,
    COL_INTERFACE, COL_TARGET, COL_DECIDED_IN, COL_EVIDENCE, COL_STREAM, COL_COUNT
};

static stat_tap_table_item conns_fields[COL_COUNT] = {
    [COL_STREAM]     = { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Stream",     "%u" },
    [COL_CLIENT]     = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Client",     "%-24s" },
    [COL_SERVER]     = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Server",     "%-24s" },
    [COL_FRONTEND]   = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Front end",  "%-9s" },
    [COL_BACKEND]    = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Back end",   "%-9s" },
    [COL_PROCESS]    = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Process",    "%-18s" },
    [COL_ROLE]       = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Role",       "%-15s" },
    [COL_TRANSPORT]  = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Transport",  "%-9s" },
    [COL_INTERFACE]  = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Interface",  "%-11s" },
    [COL_TARGET]     = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "RPC target", "%-10s" },
    [COL_CONFIDENCE] = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Confidence", "%-10s" },
    [COL_START]      = { TABLE_ITEM_STRING, TAP_ALIGN_RIGHT, "Start (s)",  "%s" },
    [COL_DURATION]   = { TABLE_ITEM_STRING, TAP_ALIGN_RIGHT, "Duration (s)", "%s" },
    [COL_FRAMES]     = { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Frames",     "%u" },
    [COL_BYTES]      = { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Bytes",      "%u" },
    [COL_REQUESTS]   = { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Requests",   "%u" },
    [COL_FAILURES]   = { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Failures",   "%u" },
    [COL_FAILED_AT]  = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Failed at",  "%-9s" },
    [COL_AVG_RESPONSE] = { TABLE_ITEM_STRING, TAP_ALIGN_RIGHT, "Avg response (ms)", "%s" },
    [COL_DECIDED_IN] = { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Decided in", "%u" },
    [COL_EVIDENCE]   = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Evidence",   "%s" },
};

static const char conns_table_name[] = "Exchange connections";

/* What a connection's row was made from: when none of it changed, a frame
 * only updates the row's counters. */
typedef struct {
    stat_tap_table_item_type *row;
    exch_role_t      role;
    exch_transport_t transport;
    exch_conf_t      conf;
    exch_target_t    target;
    guint32          ifaces;
    guint32          decided_in;
    guint32          pid;
    const char      *evidence;      /* file scope: a new decision makes a new string */
    const char      *proc_name;
    gboolean         have_endpoints;
    const char      *frontend;      /* file scope, set once */
    const char      *backend_later; /* ... the back end is set before it */
    const char      *backend;
    guint32          failed_layers; /* what the Failed at cell says (counters update it) */
} conn_row_t;

/* tcp.stream + 1 -> conn_row_t, for the one table this UI keeps. */
static GHashTable *conns_rows;

static void
conns_rows_clear(void)
{
    if (!conns_rows)
        conns_rows = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    g_hash_table_remove_all(conns_rows);
}

static void
conns_init(stat_tap_table_ui *ui)
{
    exch_table_init(ui, conns_table_name, COL_COUNT, conns_rows_clear);
    exch_active_asked();
}

/* "OUTLOOK.EXE 4028", "OUTLOOK.EXE", "PID 4028" or "-". */
static char *
process_label(wmem_allocator_t *scope, const exch_conv_t *c)
{
    if (c->proc.name && c->proc.pid)
        return wmem_strdup_printf(scope, "%s %u", c->proc.name, c->proc.pid);
    if (c->proc.name)
        return wmem_strdup(scope, c->proc.name);
    if (c->proc.pid)
        return wmem_strdup_printf(scope, "PID %u", c->proc.pid);
    return wmem_strdup(scope, "-");
}

/* Rows stay in tcp.stream order (the order connections opened), whatever
 * order their roles were decided in. */
static int
conn_row_cmp(const stat_tap_table_item_type *a, const stat_tap_table_item_type *b)
{
    guint x = a[COL_STREAM].value.uint_value, y = b[COL_STREAM].value.uint_value;
    return x < y ? -1 : x > y;
}

/* Does the row still say what c says, counters apart? */
static gboolean
conn_row_current(const conn_row_t *cr, const exch_conv_t *c)
{
    return cr->role == c->role && cr->transport == c->transport && cr->conf == c->conf &&
           cr->target == exch_conv_target_source(c)->http.target && cr->ifaces == exch_conv_ifaces(c, NULL) &&
           cr->decided_in == c->decided_in && cr->evidence == c->evidence && cr->pid == c->proc.pid &&
           cr->proc_name == c->proc.name && cr->have_endpoints == c->have_endpoints &&
           cr->frontend == c->http.frontend && cr->backend == c->http.backend &&
           cr->backend_later == c->http.backend_later;
}

static void
conn_row_remember(conn_row_t *cr, const exch_conv_t *c)
{
    cr->role = c->role;
    cr->transport = c->transport;
    cr->conf = c->conf;
    cr->target = exch_conv_target_source(c)->http.target;
    cr->ifaces = exch_conv_ifaces(c, NULL);
    cr->decided_in = c->decided_in;
    cr->evidence = c->evidence;
    cr->pid = c->proc.pid;
    cr->proc_name = c->proc.name;
    cr->have_endpoints = c->have_endpoints;
    cr->frontend = c->http.frontend;
    cr->backend = c->http.backend;
    cr->backend_later = c->http.backend_later;
    cr->failed_layers = c->traffic.failed_layers;
}

/* "nspi, emsmdb": the layers the connection's answers failed at, or "-". */
static void
set_failed_at(wmem_allocator_t *scope, stat_tap_table_item_type *row, guint32 layers)
{
    wmem_strbuf_t *s = wmem_strbuf_new(scope, "");
    for (int l = 0; l < EXCH_FAIL_COUNT; l++) {
        if (layers & (1u << l))
            wmem_strbuf_append_printf(s, "%s%s", wmem_strbuf_get_len(s) ? ", " : "",
                                      exch_fail_layer_name((exch_fail_layer_t)l));
    }
    exch_cell_free(NULL, 0, COL_FAILED_AT, &row[COL_FAILED_AT]);   /* a row's earlier text, if any */
    exch_cell_str(row, COL_FAILED_AT, wmem_strbuf_get_len(s) ? wmem_strbuf_get_str(s) : "-");
}

/* The cells that grow with every frame. */
static void
set_counters(stat_tap_table_item_type *row, const exch_conv_t *c)
{
    nstime_t duration;
    nstime_delta(&duration, &c->traffic.last, &c->start);
    exch_cell_number(row, COL_START, 10, 3, nstime_to_sec(&c->traffic.start_rel), TRUE);
    exch_cell_number(row, COL_DURATION, 10, 3, nstime_to_sec(&duration), TRUE);
    exch_cell_uint(row, COL_FRAMES, c->traffic.frames);
    exch_cell_uint(row, COL_BYTES, (guint)MIN(c->traffic.bytes, G_MAXUINT));
    exch_cell_uint(row, COL_REQUESTS, c->traffic.requests);
    exch_cell_uint(row, COL_FAILURES, c->traffic.failures);
    /* No answer timed (no keys, a learned connection): "-", never 0. */
    exch_cell_number(row, COL_AVG_RESPONSE, 9, 1, c->traffic.timed ? 1000.0 * c->traffic.time_sum / c->traffic.timed : 0.0,
                     c->traffic.timed > 0);
}

static tap_packet_status
conns_packet(void *tapdata, packet_info *pinfo, epan_dissect_t *edt _U_, const void *data, tap_flags_t flags _U_)
{
    stat_data_t *sd = (stat_data_t *)tapdata;
    const exch_conv_t *c = (const exch_conv_t *)data;
    stat_tap_table *t = g_array_index(sd->stat_tap_data->tables, stat_tap_table *, 0);
    gpointer key = GUINT_TO_POINTER(c->stream + 1);
    conn_row_t *cr = (conn_row_t *)g_hash_table_lookup(conns_rows, key);

    if (c->role == EXCH_ROLE_NONE) {
        /* A connection proved non-Exchange after it was counted: its row goes. */
        if (!cr)
            return TAP_PACKET_DONT_REDRAW;
        exch_row_remove(t, cr->row, conn_row_cmp);
        g_hash_table_remove(conns_rows, key);
        return TAP_PACKET_REDRAW;
    }
    if (cr && conn_row_current(cr, c)) {
        set_counters(cr->row, c);
        if (cr->failed_layers != c->traffic.failed_layers) {
            set_failed_at(pinfo->pool, cr->row, c->traffic.failed_layers);
            cr->failed_layers = c->traffic.failed_layers;
        }
        return TAP_PACKET_REDRAW;
    }

    stat_tap_table_item_type row[COL_COUNT];
    memset(row, 0, sizeof row);

    wmem_strbuf_t *ifaces = wmem_strbuf_new(pinfo->pool, "");
    guint32 mask = exch_conv_ifaces(c, NULL);
    for (int i = EXCH_IF_NONE + 1; i < EXCH_IF_COUNT; i++) {
        if (mask & (1u << i))
            wmem_strbuf_append_printf(ifaces, "%s%s", wmem_strbuf_get_len(ifaces) ? "," : "",
                                      exch_iface_name((exch_iface_t)i));
    }
    exch_cell_uint(row, COL_STREAM, c->stream);
    exch_cell_str(row, COL_CLIENT, c->have_endpoints ? exch_endpoint_to_str(pinfo->pool, &c->client) : "");
    exch_cell_str(row, COL_SERVER, c->have_endpoints ? exch_endpoint_to_str(pinfo->pool, &c->server) : "");
    exch_cell_str(row, COL_FRONTEND, c->http.frontend ? c->http.frontend : "-");
    exch_cell_str(row, COL_BACKEND, !c->http.backend ? "-" : !c->http.backend_later ? c->http.backend
                  : wmem_strdup_printf(pinfo->pool, "%s then %s", c->http.backend, c->http.backend_later));
    exch_cell_str(row, COL_PROCESS, process_label(pinfo->pool, c));
    exch_cell_str(row, COL_ROLE, val_to_str_const(c->role, exch_role_vals, "?"));
    exch_cell_str(row, COL_TRANSPORT, val_to_str_const(c->transport, exch_transport_vals, "?"));
    exch_cell_str(row, COL_INTERFACE, wmem_strbuf_get_len(ifaces) ? wmem_strbuf_get_str(ifaces) : "-");
    exch_target_t target = exch_conv_target_source(c)->http.target;
    exch_cell_str(row, COL_TARGET, target != EXCH_TARGET_NONE ? val_to_str_const(target, exch_target_vals, "?") : "-");
    exch_cell_str(row, COL_CONFIDENCE, val_to_str_const(c->conf, exch_conf_vals, "?"));
    set_counters(row, c);
    set_failed_at(pinfo->pool, row, c->traffic.failed_layers);
    exch_cell_uint(row, COL_DECIDED_IN, c->decided_in);
    exch_cell_str(row, COL_EVIDENCE, c->evidence);

    if (cr) {
        /* Same stream, same place: the row's block is overwritten. */
        gboolean found;
        guint pos = exch_row_position(t, cr->row, conn_row_cmp, &found);
        exch_row_free(t, pos);
        stat_tap_init_table_row(t, pos, COL_COUNT, row);
    } else {
        cr = g_new0(conn_row_t, 1);
        cr->row = exch_row_insert(t, COL_COUNT, row, conn_row_cmp);
        g_hash_table_insert(conns_rows, key, cr);
    }
    conn_row_remember(cr, c);
    return TAP_PACKET_REDRAW;
}

static void
conns_reset(stat_tap_table *t)
{
    exch_table_empty(t);
    conns_rows_clear();
}

/* ---- exchange,clients: connections per client process ---- */

/* The roles counted, in column order. */
static const exch_role_t client_roles[] = {
    EXCH_ROLE_MAILBOX, EXCH_ROLE_DIRECTORY, EXCH_ROLE_RPC_IN, EXCH_ROLE_RPC_OUT, EXCH_ROLE_EWS,
    EXCH_ROLE_AUTODISCOVER, EXCH_ROLE_OAB, EXCH_ROLE_ENDPOINT_MAPPER, EXCH_ROLE_UNKNOWN,
};

/* Whose connections first (process, PID, the client host), then the counts. */
enum {
    CCOL_PROCESS, CCOL_PID, CCOL_HOST, CCOL_SOURCE, CCOL_ROLES,
    CCOL_TOTAL = CCOL_ROLES + G_N_ELEMENTS(client_roles), CCOL_BACKENDS, CCOL_COUNT
};

static stat_tap_table_item clients_fields[CCOL_COUNT] = {
    [CCOL_HOST]    = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Host",    "%-16s" },
    [CCOL_PROCESS] = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Process", "%-16s" },
    [CCOL_PID]     = { TABLE_ITEM_STRING, TAP_ALIGN_RIGHT, "PID",     "%s" },
    [CCOL_SOURCE]  = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Source",  "%-15s" },
    [CCOL_ROLES + 0] = { TABLE_ITEM_UINT, TAP_ALIGN_RIGHT, "mailbox", "%u" },
    [CCOL_ROLES + 1] = { TABLE_ITEM_UINT, TAP_ALIGN_RIGHT, "directory", "%u" },
    [CCOL_ROLES + 2] = { TABLE_ITEM_UINT, TAP_ALIGN_RIGHT, "rpc-in", "%u" },
    [CCOL_ROLES + 3] = { TABLE_ITEM_UINT, TAP_ALIGN_RIGHT, "rpc-out", "%u" },
    [CCOL_ROLES + 4] = { TABLE_ITEM_UINT, TAP_ALIGN_RIGHT, "ews", "%u" },
    [CCOL_ROLES + 5] = { TABLE_ITEM_UINT, TAP_ALIGN_RIGHT, "autodiscover", "%u" },
    [CCOL_ROLES + 6] = { TABLE_ITEM_UINT, TAP_ALIGN_RIGHT, "oab", "%u" },
    [CCOL_ROLES + 7] = { TABLE_ITEM_UINT, TAP_ALIGN_RIGHT, "endpoint-mapper", "%u" },
    [CCOL_ROLES + 8] = { TABLE_ITEM_UINT, TAP_ALIGN_RIGHT, "unknown", "%u" },
    [CCOL_TOTAL]   = { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Total",   "%u" },
    [CCOL_BACKENDS] = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Back ends", "%s" },
};

static const char clients_table_name[] = "Exchange connections per client process";

/* One row, and the back ends of its connections: a process whose
 * connections reach more than one back end shows them all. */
typedef struct {
    stat_tap_table_item_type *cells;
    GHashTable         *backends;   /* short name, upper case -> connections */
} client_row_t;

/* Where one connection is counted, and what its row key was made from:
 * while none of that changes, a frame costs one lookup and no text. */
typedef struct {
    char               *key;        /* the row it is counted in */
    client_row_t       *row;
    const char         *backend;    /* file scope: the connection's first back end */
    exch_role_t         role;       /* the column */
    exch_proc_source_t  proc_source;
    guint32             pid;
    const char         *proc_name;  /* file scope */
    const char         *proc_host;  /* file scope */
    gboolean            have_endpoints;
} client_count_t;

static GHashTable *client_rows;     /* row key -> client_row_t */
static GHashTable *client_counted;  /* tcp.stream + 1 -> client_count_t* */

static void
client_count_free(gpointer p)
{
    client_count_t *cc = (client_count_t *)p;
    g_free(cc->key);
    g_free(cc);
}

static void
client_row_free(gpointer p)
{
    client_row_t *r = (client_row_t *)p;
    g_hash_table_destroy(r->backends);
    g_free(r);
}

static void
clients_state_clear(void)
{
    if (!client_rows) {
        client_rows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, client_row_free);
        client_counted = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, client_count_free);
    }
    g_hash_table_remove_all(client_rows);
    g_hash_table_remove_all(client_counted);
}

static void
clients_init(stat_tap_table_ui *ui)
{
    exch_table_init(ui, clients_table_name, CCOL_COUNT, clients_state_clear);
    exch_active_asked();
}

static int
role_column(exch_role_t role)
{
    for (guint i = 0; i < G_N_ELEMENTS(client_roles); i++) {
        if (client_roles[i] == role)
            return CCOL_ROLES + (int)i;
    }
    return -1;
}

/* Rows are ordered by host, process, PID and source. */
static int
client_row_cmp(const stat_tap_table_item_type *a, const stat_tap_table_item_type *b)
{
    static const int order[] = { CCOL_HOST, CCOL_PROCESS, CCOL_PID, CCOL_SOURCE };
    for (guint i = 0; i < G_N_ELEMENTS(order); i++) {
        int d = g_strcmp0(a[order[i]].value.string_value, b[order[i]].value.string_value);
        if (d)
            return d;
    }
    return 0;
}

/* Count a back end in or out of a row (EXCH02 and exch02.contoso.com are
 * one), and write its cell again: "EXCH02,EXCH03", or "-". */
static void
client_backends(client_row_t *r, const char *backend, gboolean in)
{
    if (backend) {
        char *name = g_ascii_strup(backend, (gssize)strcspn(backend, "."));
        guint n = GPOINTER_TO_UINT(g_hash_table_lookup(r->backends, name));
        n = in ? n + 1 : n - 1;
        if (n) {
            g_hash_table_insert(r->backends, name, GUINT_TO_POINTER(n));
        } else {
            g_hash_table_remove(r->backends, name);
            g_free(name);
        }
    }
    GList *names = g_list_sort(g_hash_table_get_keys(r->backends), (GCompareFunc)g_strcmp0);
    GString *cell = g_string_new(names ? "" : "-");
    for (GList *l = names; l; l = l->next)
        g_string_append_printf(cell, "%s%s", l == names ? "" : ",", (const char *)l->data);
    g_list_free(names);
    g_free((char *)r->cells[CCOL_BACKENDS].value.string_value);
    exch_cell_str(r->cells, CCOL_BACKENDS, cell->str);
    g_string_free(cell, TRUE);
}

/* Take one connection out of its row; an emptied row goes. */
static void
client_uncount(stat_tap_table *t, const client_count_t *cc)
{
    stat_tap_table_item_type *row = cc->row->cells;
    client_backends(cc->row, cc->backend, FALSE);
    row[role_column(cc->role)].value.uint_value--;
    if (--row[CCOL_TOTAL].value.uint_value > 0)
        return;
    g_hash_table_remove(client_rows, cc->key);
    exch_row_remove(t, row, client_row_cmp);
}

static client_row_t *
client_count(stat_tap_table *t, const exch_conv_t *c, const char *key, const char *host, const char *pid)
{
    client_row_t *r = (client_row_t *)g_hash_table_lookup(client_rows, key);
    if (!r) {
        stat_tap_table_item_type cells[CCOL_COUNT];
        memset(cells, 0, sizeof cells);
        exch_cell_str(cells, CCOL_HOST, host);
        exch_cell_str(cells, CCOL_PROCESS, c->proc.name ? c->proc.name : "unknown");
        exch_cell_str(cells, CCOL_PID, pid);
        exch_cell_str(cells, CCOL_SOURCE, val_to_str_const(c->proc.source, exch_proc_source_vals, "?"));
        for (int col = CCOL_ROLES; col <= CCOL_TOTAL; col++)
            exch_cell_uint(cells, col, 0);
        exch_cell_str(cells, CCOL_BACKENDS, "-");
        r = g_new0(client_row_t, 1);
        r->cells = exch_row_insert(t, CCOL_COUNT, cells, client_row_cmp);
        r->backends = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_hash_table_insert(client_rows, g_strdup(key), r);
    }
    r->cells[role_column(c->role)].value.uint_value++;
    r->cells[CCOL_TOTAL].value.uint_value++;
    client_backends(r, c->http.backend, TRUE);
    return r;
}

static gboolean
client_count_current(const client_count_t *cc, const exch_conv_t *c)
{
    return cc->role == c->role && cc->proc_source == c->proc.source && cc->pid == c->proc.pid &&
           cc->proc_name == c->proc.name && cc->proc_host == c->proc.host && cc->have_endpoints == c->have_endpoints &&
           cc->backend == c->http.backend;
}

static tap_packet_status
clients_packet(void *tapdata, packet_info *pinfo, epan_dissect_t *edt _U_, const void *data, tap_flags_t flags _U_)
{
    stat_data_t *sd = (stat_data_t *)tapdata;
    const exch_conv_t *c = (const exch_conv_t *)data;
    stat_tap_table *t = g_array_index(sd->stat_tap_data->tables, stat_tap_table *, 0);
    gpointer stream = GUINT_TO_POINTER(c->stream + 1);
    client_count_t *cc = (client_count_t *)g_hash_table_lookup(client_counted, stream);

    if (cc && client_count_current(cc, c))
        return TAP_PACKET_DONT_REDRAW;      /* counted already, where it belongs */

    char *key = NULL;
    const char *host = NULL, *pid = NULL;
    if (role_column(c->role) >= 0) {
        host = exch_attr_host(c, pinfo->pool);
        pid = c->proc.pid ? wmem_strdup_printf(pinfo->pool, "%u", c->proc.pid) : "-";
        key = g_strdup_printf("%s\x1f%s\x1f%s\x1f%s", host, c->proc.name ? c->proc.name : "unknown", pid,
                              val_to_str_const(c->proc.source, exch_proc_source_vals, "?"));
    }
    gboolean moved = !cc || !key || cc->role != c->role || strcmp(cc->key, key) != 0;
    if (cc && moved) {
        client_uncount(t, cc);
        g_hash_table_remove(client_counted, stream);
        if (!key)
            return TAP_PACKET_REDRAW;       /* no longer counted */
        cc = NULL;
    }
    if (!key)
        return TAP_PACKET_DONT_REDRAW;      /* never counted */
    if (!cc) {
        cc = g_new0(client_count_t, 1);
        cc->row = client_count(t, c, key, host, pid);
        cc->key = key;
        g_hash_table_insert(client_counted, stream, cc);
    } else {
        g_free(key);                        /* what changed did not move it */
        if (cc->backend != c->http.backend) {
            client_backends(cc->row, cc->backend, FALSE);
            client_backends(cc->row, c->http.backend, TRUE);
            moved = TRUE;                   /* redraw */
        }
    }
    cc->backend = c->http.backend;
    cc->role = c->role;
    cc->proc_source = c->proc.source;
    cc->pid = c->proc.pid;
    cc->proc_name = c->proc.name;
    cc->proc_host = c->proc.host;
    cc->have_endpoints = c->have_endpoints;
    return moved ? TAP_PACKET_REDRAW : TAP_PACKET_DONT_REDRAW;
}

static void
clients_reset(stat_tap_table *t)
{
    exch_table_empty(t);
    clients_state_clear();
}

void
exch_stats_register(void)
{
    static tap_param conns_params[] = {
        { PARAM_FILTER, "filter", "Filter", NULL, TRUE }
    };
    static stat_tap_table_ui conns_ui = {
        REGISTER_PACKET_STAT_GROUP_UNSORTED,
        "Exchange Connections",
        "exchange",
        "exchange,conns",
        conns_init,
        conns_packet,
        conns_reset,
        exch_cell_free,
        NULL,
        G_N_ELEMENTS(conns_fields), conns_fields,
        G_N_ELEMENTS(conns_params), conns_params,
        NULL,
        0
    };
    register_stat_tap_table_ui(&conns_ui);

    static tap_param clients_params[] = {
        { PARAM_FILTER, "filter", "Filter", NULL, TRUE }
    };
    static stat_tap_table_ui clients_ui = {
        REGISTER_PACKET_STAT_GROUP_UNSORTED,
        "Exchange Connections per Client Process",
        "exchange",
        "exchange,clients",
        clients_init,
        clients_packet,
        clients_reset,
        exch_cell_free,
        NULL,
        G_N_ELEMENTS(clients_fields), clients_fields,
        G_N_ELEMENTS(clients_params), clients_params,
        NULL,
        0
    };
    register_stat_tap_table_ui(&clients_ui);
}
