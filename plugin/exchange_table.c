/* exchange_table.c
 * The rows of the -z tables (exchange_stats.c), whatever they count: each
 * row is its own heap block, stable while the pointer array around it
 * moves, kept in the order a comparison gives by binary search; text cells
 * own a g_strdup'ed copy, as a GUI table outlives the capture file.
 * Decides nothing about connections.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

/* A table's first init creates it; a later one (retap) empties it. */
void
exch_table_init(stat_tap_table_ui *ui, const char *name, int columns, void (*clear)(void))
{
    stat_tap_table *t = stat_tap_find_table(ui, name);
    if (t) {
        if (ui->stat_tap_reset_table_cb)
            ui->stat_tap_reset_table_cb(t);
        return;
    }
    stat_tap_add_table(ui, stat_tap_init_table(name, columns, 0, NULL));
    clear();
}

void
exch_cell_uint(stat_tap_table_item_type *row, int col, guint v)
{
    row[col].type = TABLE_ITEM_UINT;
    row[col].value.uint_value = v;
}

/* A number as tshark prints it, as text: Wireshark-Qt shows a float cell with
 * six decimals, and a text cell as it is.  Right-aligned in a fixed width, so
 * that the GUI, which sorts text cells as text, sorts these as numbers; "-"
 * (sorted first) says nothing was measured.  The cell's buffer is reused by
 * every later frame of the connection: no allocation per frame. */
#define EXCH_NUMBER_CELL 24
void
exch_cell_number(stat_tap_table_item_type *row, int col, int width, int decimals, double v, gboolean measured)
{
    if (row[col].type != TABLE_ITEM_STRING || !row[col].value.string_value) {
        row[col].type = TABLE_ITEM_STRING;
        row[col].value.string_value = g_malloc0(EXCH_NUMBER_CELL);
    }
    char *buf = (char *)row[col].value.string_value;
    if (measured)
        snprintf(buf, EXCH_NUMBER_CELL, "%*.*f", width, decimals, v);
    else
        snprintf(buf, EXCH_NUMBER_CELL, "%*s", width, "-");
}

void
exch_cell_str(stat_tap_table_item_type *row, int col, const char *s)
{
    row[col].type = TABLE_ITEM_STRING;
    row[col].value.string_value = g_strdup(s ? s : "");
}

void
exch_cell_free(stat_tap_table *t _U_, guint row _U_, guint col _U_, stat_tap_table_item_type *item)
{
    if (item->type == TABLE_ITEM_STRING) {
        g_free((char *)item->value.string_value);
        item->value.string_value = NULL;
    }
}

void
exch_row_free(stat_tap_table *t, guint r)
{
    for (guint f = 0; f < t->num_fields; f++)
        exch_cell_free(t, r, f, stat_tap_get_field_data(t, r, f));
}

/* Where a row goes in a table sorted by cmp: the first index whose row
 * sorts after it, or (*found) the index of an equal row. */
guint
exch_row_position(const stat_tap_table *t, const stat_tap_table_item_type *row, exch_row_cmp_t cmp, gboolean *found)
{
    guint lo = 0, hi = t->num_elements;
    *found = FALSE;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        int d = cmp(t->elements[mid], row);
        if (d == 0) {
            *found = TRUE;
            return mid;
        }
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Add a row in its sorted place; returns the table's copy of it. */
stat_tap_table_item_type *
exch_row_insert(stat_tap_table *t, guint columns, const stat_tap_table_item_type *cells, exch_row_cmp_t cmp)
{
    gboolean found;
    guint at = exch_row_position(t, cells, cmp, &found);
    stat_tap_init_table_row(t, t->num_elements, columns, cells);
    stat_tap_table_item_type *added = t->elements[t->num_elements - 1];
    memmove(&t->elements[at + 1], &t->elements[at], (t->num_elements - 1 - at) * sizeof t->elements[0]);
    t->elements[at] = added;
    return added;
}

/* Take a row out of a sorted table and free it. */
void
exch_row_remove(stat_tap_table *t, stat_tap_table_item_type *row, exch_row_cmp_t cmp)
{
    gboolean found;
    guint r = exch_row_position(t, row, cmp, &found);
    if (!found || t->elements[r] != row)
        return;
    exch_row_free(t, r);
    g_free(row);
    memmove(&t->elements[r], &t->elements[r + 1], (t->num_elements - r - 1) * sizeof t->elements[0]);
    t->num_elements--;
}

/* Rows are per connection, so a retap starts from an empty table. */
void
exch_table_empty(stat_tap_table *t)
{
    for (guint r = 0; r < t->num_elements; r++) {
        exch_row_free(t, r);
        g_free(t->elements[r]);
    }
    g_free(t->elements);
    t->elements = NULL;
    t->num_elements = 0;
}
