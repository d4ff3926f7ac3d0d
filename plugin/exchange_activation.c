/* exchange_activation.c
 * Decides whether the plugin works at all in this run.
 *
 * The evidence comes from stock fields, and wanting them makes epan build a
 * protocol tree for every frame: a stock statistic then costs half as much
 * again.  So the fields are wanted only when something will read what the
 * plugin says:
 *   - Wireshark and sharkd, or the preference exchange.always_analyse;
 *   - the plugin's tables (-z exchange,conns|clients), whose init runs
 *     before tshark decides on a tree;
 *   - an exchange.* field named anywhere (a filter, -e, a column, a colour
 *     rule, Lua): the fields are registered only when first looked up, and
 *     that lookup is the sign;
 *   - on the first frame a tree is built for: a printed tree (-V, -O,
 *     PDML, JSON), a filter on the protocol itself or on expert infos
 *     (_ws.expert), or the expert tap.
 * Otherwise the postdissector returns at once and tshark runs as stock.
 * The decision is taken once per file, before its first frame's evidence.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#include <epan/proto.h>
#include <epan/tap.h>

exch_pref_bool_t exch_pref_always = FALSE;

static gboolean asked;      /* a field looked up, a table started, Wireshark itself */
static gboolean enabled;    /* the protocol is enabled for this file */
static gboolean decided;    /* for this file */
static gboolean active;
static dissector_handle_t handle;
static GArray *wanted;      /* the foreign ids; a copy goes to epan */

/* The foreign ids' ref_type before priming, restored when the first frame
 * finds the plugin not wanted. */
static GArray *primed;
typedef struct {
    header_field_info *hfinfo;
    hf_ref_type was;
} primed_t;

static void
want(void)
{
    GArray *copy = g_array_sized_new(FALSE, FALSE, (guint)sizeof(int), wanted->len);
    g_array_append_vals(copy, wanted->data, wanted->len);
    set_postdissector_wanted_hfids(handle, copy);
    active = TRUE;
    decided = TRUE;
}

static void
prime_one(header_field_info *hfinfo)
{
    if (hfinfo->ref_type >= HF_REF_TYPE_DIRECT)
        return;
    primed_t p = { hfinfo, hfinfo->ref_type };
    g_array_append_val(primed, p);
    hfinfo->ref_type = HF_REF_TYPE_DIRECT;
}

/* Until the first frame tells, keep the foreign fields in any tree built
 * (as a filter naming them would): a run that turns out to want the plugin
 * then has the first frame's evidence too.  Their protocols are left alone:
 * marking them would put them into the first frame of -z io,phs. */
static void
prime(void)
{
    primed = g_array_new(FALSE, FALSE, (guint)sizeof(primed_t));
    for (guint i = 0; i < wanted->len; i++) {
        prime_one(proto_registrar_get_nth((guint)g_array_index(wanted, int, i)));
    }
}

static void
unprime(void)
{
    if (!primed)
        return;
    for (guint i = primed->len; i-- > 0;) {
        primed_t *p = &g_array_index(primed, primed_t, i);
        p->hfinfo->ref_type = p->was;
    }
    g_array_free(primed, TRUE);
    primed = NULL;
}

void
exch_active_start(dissector_handle_t h, GArray *ids, gboolean on)
{
    unprime();
    if (wanted)
        g_array_free(wanted, TRUE);
    wanted = ids;
    handle = h;
    enabled = on;
    active = FALSE;
    decided = !on;
    set_postdissector_wanted_hfids(handle, NULL);
    if (on && (exch_pref_always || asked))
        want();
    else if (on)
        prime();
}

/* Asked before the file is opened (a filter, -e, a column, Lua), or after
 * (tshark starts its statistics then): still before the first frame, and
 * before tshark decides on a tree. */
void
exch_active_asked(void)
{
    asked = TRUE;
    if (wanted && enabled && !active) {
        unprime();
        want();
    }
}

gboolean
exch_active_frame(proto_tree *tree, int proto)
{
    if (decided)
        return active;
    unprime();
    decided = TRUE;
    int expert = find_tap_id("expert");
    header_field_info *expert_fields = proto_registrar_get_byname("_ws.expert");
    if (tree && (PTREE_DATA(tree)->visible || proto_registrar_get_nth((guint)proto)->ref_type != HF_REF_TYPE_NONE ||
                 (expert_fields && expert_fields->ref_type != HF_REF_TYPE_NONE) ||
                 (expert >= 0 && have_tap_listener(expert))))
        want();
    return active;
}
