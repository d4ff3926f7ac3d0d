/* clash.c
 * A test module, never installed: it registers, a second time and with
 * other types, names of fields the Exchange plugin reads (as a dissector
 * that registers one name twice does), and puts them in the tree of every
 * TCP segment before the stock dissectors run (a heuristic tried first that
 * declines) and of every MAPI/HTTP body.  test_series.py checks that the Exchange plugin skips what it
 * cannot read, says so once per field, and decides as without this module.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_BUILD_DLL
#include <wireshark.h>
#include <epan/packet.h>
#include <epan/proto.h>

#include "exchange_compat.h"

static int proto_clash = -1;
static int hf_port_text = -1, hf_ip_number = -1, hf_uuid_text = -1, hf_ptype_text = -1;
static int hf_code_text = -1, hf_record_type_text = -1, hf_time_number = -1, hf_host_number = -1;
static int ett_clash = -1;

static void
add_clashing_fields(tvbuff_t *tvb, proto_tree *tree)
{
    proto_item *ti = proto_tree_add_item(tree, proto_clash, tvb, 0, 0, ENC_NA);
    proto_tree *t = proto_item_add_subtree(ti, ett_clash);
    proto_tree_add_string(t, hf_port_text, tvb, 0, 0, "not a port");
    proto_tree_add_uint(t, hf_ip_number, tvb, 0, 0, 7);
    proto_tree_add_string(t, hf_uuid_text, tvb, 0, 0, "not a uuid");
    proto_tree_add_string(t, hf_ptype_text, tvb, 0, 0, "bind?");
    proto_tree_add_string(t, hf_code_text, tvb, 0, 0, "five hundred");
    proto_tree_add_string(t, hf_record_type_text, tvb, 0, 0, "application data?");
    proto_tree_add_double(t, hf_time_number, tvb, 0, 0, 1.5);
    proto_tree_add_uint(t, hf_host_number, tvb, 0, 0, 42);
}

/* Tried first on every TCP segment TCP gives to heuristics, then declines:
 * the stock dissectors go on as usual. */
static exch_heur_result_t
dissect_clash_tcp(tvbuff_t *tvb, packet_info *pinfo _U_, proto_tree *tree, void *data _U_)
{
    add_clashing_fields(tvb, tree);
    return FALSE;
}

/* MAPI/HTTP bodies, which stock Wireshark shows as plain media: newer series
 * hand an HTTP connection to its conversation's dissector without trying
 * heuristics, but HTTP still passes each body on by its Content-Type. */
static int
dissect_clash_body(tvbuff_t *tvb, packet_info *pinfo _U_, proto_tree *tree, void *data _U_)
{
    add_clashing_fields(tvb, tree);
    return tvb_captured_length(tvb);
}

static void
proto_register_clash(void)
{
    static hf_register_info hf[] = {
        { &hf_port_text, { "Port as text", "epm.proto.tcp_port", FT_STRING, BASE_NONE, NULL, 0, NULL, HFILL }},
        { &hf_ip_number, { "IP as a number", "epm.proto.ip", FT_UINT32, BASE_DEC, NULL, 0, NULL, HFILL }},
        { &hf_uuid_text, { "UUID as text", "epm.uuid", FT_STRING, BASE_NONE, NULL, 0, NULL, HFILL }},
        { &hf_ptype_text, { "Packet type as text", "dcerpc.pkt_type", FT_STRING, BASE_NONE, NULL, 0, NULL, HFILL }},
        { &hf_code_text, { "Status as text", "http.response.code", FT_STRING, BASE_NONE, NULL, 0, NULL, HFILL }},
        { &hf_record_type_text, { "Record type as text", "tls.record.content_type", FT_STRING, BASE_NONE, NULL, 0,
                                  NULL, HFILL }},
        { &hf_time_number, { "Time as a number", "http.time", FT_DOUBLE, BASE_NONE, NULL, 0, NULL, HFILL }},
        { &hf_host_number, { "Host as a number", "http.host", FT_UINT32, BASE_DEC, NULL, 0, NULL, HFILL }},
    };
    static int *ett[] = { &ett_clash };
    proto_clash = proto_register_protocol("Same-name fields of other types (test)", "clash", "clash");
    proto_register_field_array(proto_clash, hf, array_length(hf));
    proto_register_subtree_array(ett, array_length(ett));
}

static void
proto_reg_handoff_clash(void)
{
    heur_dissector_add("tcp", dissect_clash_tcp, "Same-name fields (test)", "clash_tcp", proto_clash,
                       HEURISTIC_ENABLE);
    dissector_add_string("media_type", "application/mapi-http",
                         create_dissector_handle(dissect_clash_body, proto_clash));
}

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = "0";
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;

WS_DLL_PUBLIC void plugin_register(void);

void
plugin_register(void)
{
    static proto_plugin plug;
    plug.register_protoinfo = proto_register_clash;
    plug.register_handoff = proto_reg_handoff_clash;
    proto_register_plugin(&plug);
}
