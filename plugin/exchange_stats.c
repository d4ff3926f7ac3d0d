/* exchange_stats.c
 * Statistics from the "exchange" tap: one row per Exchange TCP connection.
 *
 * The tap fires on the frame where a conversation first got a role and on
 * every frame whose evidence changed it, in single-pass tshark, with -2 and
 * on GUI retaps.  Rows are keyed by tcp.stream, so each connection is one row
 * holding its latest state (a withdrawn role removes the row): the table
 * counts connections, never packets.  With -2 and in the GUI that state is
 * the final one; single-pass tshark ends with it too.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#include <epan/stat_tap_ui.h>
#include <epan/tap.h>

enum {
    COL_STREAM, COL_CLIENT, COL_SERVER, COL_ROLE, COL_TRANSPORT, COL_INTERFACE, COL_TARGET,
    COL_CONFIDENCE, COL_DECIDED_IN, COL_EVIDENCE, COL_COUNT
};

static stat_tap_table_item conns_fields[COL_COUNT] = {
    [COL_STREAM]     = { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Stream",     "%u" },
    [COL_CLIENT]     = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Client",     "%-24s" },
    [COL_SERVER]     = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Server",     "%-24s" },
    [COL_ROLE]       = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Role",       "%-15s" },
    [COL_TRANSPORT]  = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Transport",  "%-9s" },
    [COL_INTERFACE]  = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Interface",  "%-11s" },
    [COL_TARGET]     = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "RPC target", "%-10s" },
    [COL_CONFIDENCE] = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Confidence", "%-10s" },
    [COL_DECIDED_IN] = { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Decided in", "%u" },
    [COL_EVIDENCE]   = { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Evidence",   "%s" },
};

static const char conns_table_name[] = "Exchange connections";

/* tcp.stream + 1 -> row index + 1, for the one table this UI keeps. */
static GHashTable *conns_rows;

static void
conns_rows_clear(void)
{
    if (!conns_rows)
        conns_rows = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_hash_table_remove_all(conns_rows);
}

static void
conns_init(stat_tap_table_ui *ui)
{
    stat_tap_table *t = stat_tap_find_table(ui, conns_table_name);
    if (t) {
        if (ui->stat_tap_reset_table_cb)
            ui->stat_tap_reset_table_cb(t);
        return;
    }
    stat_tap_add_table(ui, stat_tap_init_table(conns_table_name, COL_COUNT, 0, NULL));
    conns_rows_clear();
}

static void
set_uint(stat_tap_table_item_type *row, int col, guint v)
{
    row[col].type = TABLE_ITEM_UINT;
    row[col].value.uint_value = v;
}

/* Cells own a g_strdup'ed copy: a GUI table outlives the capture file. */
static void
set_str(stat_tap_table_item_type *row, int col, const char *s)
{
    row[col].type = TABLE_ITEM_STRING;
    row[col].value.string_value = g_strdup(s ? s : "");
}

static void conns_free_item(stat_tap_table *t, guint row, guint col, stat_tap_table_item_type *item);

static void
free_row(stat_tap_table *t, guint r)
{
    for (guint f = 0; f < t->num_fields; f++)
        conns_free_item(t, r, f, stat_tap_get_field_data(t, r, f));
}

static void
reindex_rows(stat_tap_table *t)
{
    conns_rows_clear();
    for (guint i = 0; i < t->num_elements; i++)
        g_hash_table_insert(conns_rows, GUINT_TO_POINTER(t->elements[i][COL_STREAM].value.uint_value + 1),
                            GUINT_TO_POINTER(i + 1));
}

/* A connection proved non-Exchange after it was counted: drop its row. */
static void
remove_row(stat_tap_table *t, guint r)
{
    free_row(t, r);
    g_free(t->elements[r]);
    memmove(&t->elements[r], &t->elements[r + 1], (t->num_elements - r - 1) * sizeof t->elements[0]);
    t->num_elements--;
    reindex_rows(t);
}

/* Rows stay in tcp.stream order (the order connections opened), whatever
 * order their roles were decided in: move the last row into place. */
static void
sort_last_row(stat_tap_table *t)
{
    guint last = t->num_elements - 1, at = last;
    guint stream = t->elements[last][COL_STREAM].value.uint_value;
    while (at > 0 && t->elements[at - 1][COL_STREAM].value.uint_value > stream)
        at--;
    if (at == last)
        return;
    stat_tap_table_item_type *row = t->elements[last];
    memmove(&t->elements[at + 1], &t->elements[at], (last - at) * sizeof t->elements[0]);
    t->elements[at] = row;
    reindex_rows(t);
}

static tap_packet_status
conns_packet(void *tapdata, packet_info *pinfo, epan_dissect_t *edt _U_, const void *data, tap_flags_t flags _U_)
{
    stat_data_t *sd = (stat_data_t *)tapdata;
    const exch_conv_t *c = (const exch_conv_t *)data;
    stat_tap_table *t = g_array_index(sd->stat_tap_data->tables, stat_tap_table *, 0);
    gpointer key = GUINT_TO_POINTER(c->stream + 1);
    guint existing = GPOINTER_TO_UINT(g_hash_table_lookup(conns_rows, key));

    if (c->role == EXCH_ROLE_NONE) {
        if (!existing)
            return TAP_PACKET_DONT_REDRAW;
        remove_row(t, existing - 1);
        return TAP_PACKET_REDRAW;
    }

    stat_tap_table_item_type row[COL_COUNT];
    memset(row, 0, sizeof row);

    char *ifaces = NULL;
    guint32 mask = exch_conv_ifaces(c, NULL);
    for (int i = EXCH_IF_NONE + 1; i < EXCH_IF_COUNT; i++) {
        if (mask & (1u << i)) {
            char *next = ifaces ? g_strdup_printf("%s,%s", ifaces, exch_iface_name((exch_iface_t)i))
                                : g_strdup(exch_iface_name((exch_iface_t)i));
            g_free(ifaces);
            ifaces = next;
        }
    }
    set_uint(row, COL_STREAM, c->stream);
    set_str(row, COL_CLIENT, c->have_endpoints ? exch_endpoint_to_str(pinfo->pool, &c->client) : "");
    set_str(row, COL_SERVER, c->have_endpoints ? exch_endpoint_to_str(pinfo->pool, &c->server) : "");
    set_str(row, COL_ROLE, val_to_str_const(c->role, exch_role_vals, "?"));
    set_str(row, COL_TRANSPORT, val_to_str_const(c->transport, exch_transport_vals, "?"));
    set_str(row, COL_INTERFACE, ifaces ? ifaces : "-");
    exch_target_t target = exch_conv_target_source(c)->target;
    set_str(row, COL_TARGET, target != EXCH_TARGET_NONE ? val_to_str_const(target, exch_target_vals, "?") : "-");
    set_str(row, COL_CONFIDENCE, val_to_str_const(c->conf, exch_conf_vals, "?"));
    set_uint(row, COL_DECIDED_IN, c->decided_in);
    set_str(row, COL_EVIDENCE, c->evidence);
    g_free(ifaces);

    guint index = existing ? existing - 1 : t->num_elements;
    if (existing)
        free_row(t, index);
    else
        g_hash_table_insert(conns_rows, key, GUINT_TO_POINTER(index + 1));
    stat_tap_init_table_row(t, index, COL_COUNT, row);
    if (!existing)
        sort_last_row(t);
    return TAP_PACKET_REDRAW;
}

static void
conns_free_item(stat_tap_table *t _U_, guint row _U_, guint col _U_, stat_tap_table_item_type *item)
{
    if (item->type == TABLE_ITEM_STRING) {
        g_free((char *)item->value.string_value);
        item->value.string_value = NULL;
    }
}

/* Rows are per connection, so a retap starts from an empty table. */
static void
conns_reset(stat_tap_table *t)
{
    for (guint r = 0; r < t->num_elements; r++) {
        free_row(t, r);
        g_free(t->elements[r]);
    }
    g_free(t->elements);
    t->elements = NULL;
    t->num_elements = 0;
    conns_rows_clear();
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
        conns_free_item,
        NULL,
        G_N_ELEMENTS(conns_fields), conns_fields,
        G_N_ELEMENTS(conns_params), conns_params,
        NULL,
        0
    };
    register_stat_tap_table_ui(&conns_ui);
}
