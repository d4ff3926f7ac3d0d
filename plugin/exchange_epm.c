/* exchange_epm.c
 * What endpoint-mapper PDUs carry: the towers of an ept_map/ept_lookup
 * request or answer, in wire order, each with its interface, TCP port and
 * IPv4 address.  No state: exchange_rpc.c decides what they teach.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#define DCERPC_PT_RESPONSE  2

typedef struct {
    const void  *ds;
    gint         start;
    exch_field_t kind;
    GPtrArray   *found;         /* the field's occurrences ... */
    guint        which;         /* ... and which one this is */
} tower_item_t;

static int
tower_item_cmp(const void *a, const void *b)
{
    const tower_item_t *x = (const tower_item_t *)a, *y = (const tower_item_t *)b;
    if (x->ds != y->ds)
        return (x->ds < y->ds) ? -1 : 1;
    return (x->start > y->start) - (x->start < y->start);
}

/* See exchange.h. */
wmem_array_t *
exch_epm_towers(packet_info *pinfo, proto_tree *tree, guint32 *opnum_out, gboolean *answer_out)
{
    static const exch_field_t kinds[] = {
        EXCH_F_EPM_NUM_FLOORS, EXCH_F_EPM_UUID, EXCH_F_EPM_TCP_PORT, EXCH_F_EPM_IP
    };
    GPtrArray *floors = exch_field_all(tree, EXCH_F_EPM_NUM_FLOORS);
    if (!floors)
        return NULL;

    guint32 opnum = 0, ptype = 0;
    exch_field_uint(tree, EXCH_F_DCERPC_OPNUM, &opnum);
    exch_field_uint(tree, EXCH_F_DCERPC_PKT_TYPE, &ptype);
    *opnum_out = opnum;
    *answer_out = ptype == DCERPC_PT_RESPONSE;
    wmem_array_t *towers = wmem_array_new(pinfo->pool, sizeof(exch_tower_t));

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

    exch_tower_t t = { 0 };
    gboolean in_tower = FALSE;
    for (guint i = 0; i < wmem_array_get_count(items); i++) {
        tower_item_t *it = (tower_item_t *)wmem_array_index(items, i);
        guint32 v;
        e_guid_t g;
        switch (it->kind) {
        case EXCH_F_EPM_NUM_FLOORS:
            if (in_tower)
                wmem_array_append_one(towers, t);
            memset(&t, 0, sizeof t);
            in_tower = TRUE;
            break;
        case EXCH_F_EPM_UUID:
            if (!t.have_uuid && exch_field_guid_at(it->found, it->which, &g)) {
                t.iface = exch_dcerpc_iface(&g);
                t.have_uuid = TRUE;
            }
            break;
        case EXCH_F_EPM_TCP_PORT:
            if (exch_field_uint_at(it->found, it->which, &v))
                t.port = (guint16)v;
            break;
        case EXCH_F_EPM_IP:
            if (exch_field_ipv4_at(it->found, it->which, &v))
                t.ipv4 = v;
            break;
        default:
            break;
        }
    }
    if (in_tower)
        wmem_array_append_one(towers, t);
    return towers;
}
