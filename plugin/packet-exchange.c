/* packet-exchange.c
 * Microsoft Exchange connection roles: just the user interface.
 *
 * Registers the protocol, its fields, expert infos, preferences and tap,
 * and turns the conversation state built by the evidence files into
 * generated tree items on every pass.  No decision is taken here, and no
 * state written: on the first pass it hands each evidence file the
 * conversation (const) and the part that file owns.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#include <epan/expert.h>
#include <epan/tap.h>
#include <epan/to_str.h>

static int proto_exchange = -1;

static int hf_exchange_role = -1;
static int hf_exchange_role_id = -1;
static int hf_exchange_transport = -1;
static int hf_exchange_interface = -1;
static int hf_exchange_confidence = -1;
static int hf_exchange_evidence = -1;
static int hf_exchange_decided_in = -1;
static int hf_exchange_learned_from = -1;
static int hf_exchange_server = -1;
static int hf_exchange_client = -1;
static int hf_exchange_stream = -1;
static int hf_exchange_epm_learned = -1;
static int hf_exchange_epm_learned_port = -1;
static int hf_exchange_server_endpoint = -1;
static int hf_exchange_services = -1;
static int hf_exchange_rpc_target = -1;
static int hf_exchange_rpc_target_evidence = -1;
static int hf_exchange_rpch_cookie = -1;
static int hf_exchange_rpch_peer_stream = -1;
static int hf_exchange_mapi_request_type = -1;
static int hf_exchange_client_application = -1;
static int hf_exchange_mailbox = -1;
static int hf_exchange_tls_server_name = -1;
static int hf_exchange_service = -1;
static int hf_exchange_client_process = -1;
static int hf_exchange_client_pid = -1;
static int hf_exchange_client_host = -1;
static int hf_exchange_client_source = -1;
static int hf_exchange_frontend = -1;
static int hf_exchange_backend = -1;
static int hf_exchange_backend_later = -1;
static int hf_exchange_rpc_server = -1;
static int hf_exchange_failure = -1;
static int hf_exchange_failure_layer = -1;

static gint ett_exchange = -1;
static gint ett_exchange_learned = -1;

static expert_field ei_exchange_role_decided = EI_INIT;
static expert_field ei_exchange_role_changed = EI_INIT;
static expert_field ei_exchange_epm_learned = EI_INIT;
static expert_field ei_exchange_learn_limit = EI_INIT;
static expert_field ei_exchange_bad_bind = EI_INIT;
static expert_field ei_exchange_process_map = EI_INIT;
static expert_field ei_exchange_process_map_misfit = EI_INIT;
static expert_field ei_exchange_rpc_tcp_legacy = EI_INIT;
static expert_field ei_exchange_rpc_http_deprecated = EI_INIT;
static expert_field ei_exchange_channel_unpaired = EI_INIT;
static expert_field ei_exchange_extra_connection = EI_INIT;
static expert_field ei_exchange_epm_unused = EI_INIT;
static expert_field ei_exchange_backend_changed = EI_INIT;
static expert_field ei_exchange_servers_hint = EI_INIT;

static dissector_handle_t exchange_handle;
static int exchange_tap = -1;
static void exchange_register_fields(const char *match);

/* What failed in this frame, and the layers, one item each (so that
 * exchange.failure.layer == "nspi" finds every such answer). */
static void
add_failure(proto_tree *tree, tvbuff_t *tvb, const exch_frame_traffic_t *fr)
{
    proto_item_set_generated(proto_tree_add_string(tree, hf_exchange_failure, tvb, 0, 0, fr->failure));
    for (int l = 0; l < EXCH_FAIL_COUNT; l++) {
        if (fr->layers & (1u << l))
            proto_item_set_generated(proto_tree_add_string(tree, hf_exchange_failure_layer, tvb, 0, 0,
                                                           exch_fail_layer_name((exch_fail_layer_t)l)));
    }
}

static void
add_learned(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, proto_item *top, const exch_frame_rpc_t *fr)
{
    guint n = wmem_array_get_count(fr->learned);
    proto_tree *lt = proto_tree_add_subtree_format(tree, tvb, 0, 0, ett_exchange_learned, NULL,
                                                   "Endpoints learned from this ept_map answer: %u", n);
    for (guint i = 0; i < n; i++) {
        const exch_learned_t *l = (const exch_learned_t *)wmem_array_index(fr->learned, i);
        exch_endpoint_t ep = { l->addr, l->port };
        const char *where = exch_endpoint_to_str(pinfo->pool, &ep);
        proto_item *it = proto_tree_add_string_format_value(lt, hf_exchange_epm_learned, tvb, 0, 0, where,
                                                            "%s at %s", exch_iface_name(l->iface), where);
        proto_item_set_generated(it);
        proto_item_set_generated(proto_tree_add_uint(lt, hf_exchange_epm_learned_port, tvb, 0, 0, l->port));
        expert_add_info_format(pinfo, top, &ei_exchange_epm_learned,
                               "Endpoint mapper: %s is at %s", exch_iface_name(l->iface), where);
        /* Known only once the whole capture was read. */
        if (PINFO_FD_VISITED(pinfo) && exch_rpc_learned_unused(l))
            expert_add_info_format(pinfo, top, &ei_exchange_epm_unused,
                                   "Endpoint mapper announced %s at %s, but no connection to it follows",
                                   exch_iface_name(l->iface), where);
    }
}

static void
add_role(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, const exch_conv_t *c)
{
#define GEN(x) proto_item_set_generated(x)
/* Text that takes formatting is made only where the tree shows it or a
 * filter, column or tap reads the field (tshark -q -z ... reads none). */
#define WANTED(hf) proto_field_is_referenced(tree, hf)
    GEN(proto_tree_add_string(tree, hf_exchange_role, tvb, 0, 0, val_to_str_const(c->role, exch_role_vals, "?")));
    GEN(proto_tree_add_uint(tree, hf_exchange_role_id, tvb, 0, 0, c->role));
    GEN(proto_tree_add_string(tree, hf_exchange_transport, tvb, 0, 0,
                              val_to_str_const(c->transport, exch_transport_vals, "?")));
    /* The deciding interface first, then any other Exchange interface the
     * connection used (e.g. AsyncEMSMDB beside EMSMDB). */
    exch_iface_t main_iface;
    guint32 ifaces = exch_conv_ifaces(c, &main_iface);
    if (main_iface != EXCH_IF_NONE)
        GEN(proto_tree_add_string(tree, hf_exchange_interface, tvb, 0, 0, exch_iface_name(main_iface)));
    for (int i = EXCH_IF_NONE + 1; i < EXCH_IF_COUNT; i++) {
        if (i != (int)main_iface && (ifaces & (1u << i)))
            GEN(proto_tree_add_string(tree, hf_exchange_interface, tvb, 0, 0, exch_iface_name((exch_iface_t)i)));
    }
    GEN(proto_tree_add_string(tree, hf_exchange_confidence, tvb, 0, 0,
                              val_to_str_const(c->conf, exch_conf_vals, "?")));
    GEN(proto_tree_add_string(tree, hf_exchange_evidence, tvb, 0, 0, c->evidence));
    GEN(proto_tree_add_uint(tree, hf_exchange_decided_in, tvb, 0, 0, c->decided_in));
    if (c->learned_from)
        GEN(proto_tree_add_uint(tree, hf_exchange_learned_from, tvb, 0, 0, c->learned_from));
    const char *server_name = exch_conv_server_name(c);
    if (c->have_endpoints) {
        gboolean want_endpoint = WANTED(hf_exchange_server_endpoint) || (!server_name && WANTED(hf_exchange_server));
        const char *endpoint = want_endpoint ? exch_endpoint_to_str(pinfo->pool, &c->server) : "";
        if (WANTED(hf_exchange_client))
            GEN(proto_tree_add_string(tree, hf_exchange_client, tvb, 0, 0, exch_endpoint_to_str(pinfo->pool, &c->client)));
        GEN(proto_tree_add_string(tree, hf_exchange_server, tvb, 0, 0, server_name ? server_name : endpoint));
        GEN(proto_tree_add_string(tree, hf_exchange_server_endpoint, tvb, 0, 0, endpoint));
    } else if (server_name) {
        GEN(proto_tree_add_string(tree, hf_exchange_server, tvb, 0, 0, server_name));
    }
    if (c->http.frontend)
        GEN(proto_tree_add_string(tree, hf_exchange_frontend, tvb, 0, 0, c->http.frontend));
    if (c->http.backend)
        GEN(proto_tree_add_string(tree, hf_exchange_backend, tvb, 0, 0, c->http.backend));
    if (c->http.backend_later)
        GEN(proto_tree_add_string(tree, hf_exchange_backend_later, tvb, 0, 0, c->http.backend_later));
    if (c->http.rpc_server)
        GEN(proto_tree_add_string(tree, hf_exchange_rpc_server, tvb, 0, 0, c->http.rpc_server));
    GEN(proto_tree_add_uint(tree, hf_exchange_stream, tvb, 0, 0, c->stream));
    if (WANTED(hf_exchange_client_host))
        GEN(proto_tree_add_string(tree, hf_exchange_client_host, tvb, 0, 0, exch_attr_host(c, pinfo->pool)));
    if (c->proc.name)
        GEN(proto_tree_add_string(tree, hf_exchange_client_process, tvb, 0, 0, c->proc.name));
    if (c->proc.pid)
        GEN(proto_tree_add_uint(tree, hf_exchange_client_pid, tvb, 0, 0, c->proc.pid));
    GEN(proto_tree_add_string(tree, hf_exchange_client_source, tvb, 0, 0,
                              val_to_str_const(c->proc.source, exch_proc_source_vals, "?")));
    if (c->http.services && WANTED(hf_exchange_services)) {
        wmem_strbuf_t *list = wmem_strbuf_new(pinfo->pool, "");
        for (int r = EXCH_ROLE_NONE + 1; r < EXCH_ROLE_COUNT; r++) {
            if (c->http.services & (1u << r))
                wmem_strbuf_append_printf(list, "%s%s", wmem_strbuf_get_len(list) ? "," : "",
                                          val_to_str_const(r, exch_role_vals, "?"));
        }
        GEN(proto_tree_add_string(tree, hf_exchange_services, tvb, 0, 0, wmem_strbuf_get_str(list)));
    }
    const exch_conv_t *tc = exch_conv_target_source(c);
    if (tc->http.target != EXCH_TARGET_NONE) {
        GEN(proto_tree_add_string(tree, hf_exchange_rpc_target, tvb, 0, 0,
                                  val_to_str_const(tc->http.target, exch_target_vals, "?")));
        if (WANTED(hf_exchange_rpc_target_evidence))
            GEN(proto_tree_add_string(tree, hf_exchange_rpc_target_evidence, tvb, 0, 0,
                                      tc == c ? c->http.target_evidence
                                              : wmem_strdup_printf(pinfo->pool, "IN channel (stream %u): %s",
                                                                   tc->stream, tc->http.target_evidence)));
    }
    if (c->http.have_cookie)
        GEN(proto_tree_add_guid(tree, hf_exchange_rpch_cookie, tvb, 0, 0, &c->http.cookie));
    if (c->peer)
        GEN(proto_tree_add_uint(tree, hf_exchange_rpch_peer_stream, tvb, 0, 0, c->peer->stream));
    if (c->http.client_app)
        GEN(proto_tree_add_string(tree, hf_exchange_client_application, tvb, 0, 0, c->http.client_app));
    if (c->http.mailbox)
        GEN(proto_tree_add_string(tree, hf_exchange_mailbox, tvb, 0, 0, c->http.mailbox));
    if (c->tls.sni)
        GEN(proto_tree_add_string(tree, hf_exchange_tls_server_name, tvb, 0, 0, c->tls.sni));
#undef WANTED
#undef GEN
}

/* What an admin should know about a connection, told on its deciding frame
 * once the whole capture is known (the second pass, and the GUI). */
static void
add_health(packet_info *pinfo, proto_item *top, const exch_conv_t *c)
{
    if (c->role == EXCH_ROLE_NONE)
        return;
    if (c->transport == EXCH_TRANSPORT_RPC_TCP && c->role != EXCH_ROLE_ENDPOINT_MAPPER)
        expert_add_info_format(pinfo, top, &ei_exchange_rpc_tcp_legacy,
                               "Outlook uses RPC/TCP (%s): not supported by Exchange 2013 and later",
                               val_to_str_const(c->role, exch_role_vals, "?"));
    if (c->transport == EXCH_TRANSPORT_RPC_HTTP) {
        expert_add_info_format(pinfo, top, &ei_exchange_rpc_http_deprecated,
                               "Outlook uses RPC over HTTP (%s channel): deprecated, MAPI over HTTP replaces it",
                               c->role == EXCH_ROLE_RPC_IN ? "IN" : "OUT");
        if (c->http.have_cookie && !c->peer)
            expert_add_info_format(pinfo, top, &ei_exchange_channel_unpaired,
                                   "RPC/HTTP %s channel of virtual connection %s has no %s channel in this capture",
                                   c->role == EXCH_ROLE_RPC_IN ? "IN" : "OUT",
                                   guid_to_str(pinfo->pool, &c->http.cookie),
                                   c->role == EXCH_ROLE_RPC_IN ? "OUT" : "IN");
    }
    guint n = c->concurrent;
    if (n > 1)
        expert_add_info_format(pinfo, top, &ei_exchange_extra_connection,
                               "%s%s%u holds %u concurrent %s connections over %s to the same %s; the transport "
                               "needs one", c->proc.name ? c->proc.name : "process", c->proc.pid ? " PID " : "",
                               c->proc.pid, n, val_to_str_const(c->role, exch_role_vals, "?"),
                               val_to_str_const(c->transport, exch_transport_vals, "?"),
                               c->http.mailbox ? "mailbox" : "server");
}

static int
dissect_exchange(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    if (!exch_active_frame(tree, proto_exchange))
        return 0;
    exchange_register_fields(NULL);
    /* A problem with the process map is told once, on the first frame. */
    if (pinfo->num == 1 && exch_attr_map_message()) {
        proto_item *mi = proto_tree_add_item(tree, proto_exchange, tvb, 0, 0, ENC_NA);
        proto_item_set_generated(mi);
        expert_add_info_format(pinfo, mi, &ei_exchange_process_map, "%s", exch_attr_map_message());
    }
    gboolean first = !PINFO_FD_VISITED(pinfo);
    if (first && pinfo->ptype != PT_TCP) {
        exch_fields_frame(pinfo);
        exch_tls_dns(pinfo, tree);
        exch_fields_frame_done();
    }
    if (pinfo->ptype != PT_TCP)
        return 0;
    /* Once the first pass is over (tshark -2, the GUI), what the whole
     * capture says decides the connections it left undecided; before the
     * conversation is looked up, which works out the health from the roles. */
    if (!first) {
        exch_rpc_late(pinfo->pool);
        exch_tls_late(pinfo->pool);
    }

    exch_conv_parts_t own;
    const exch_conv_t *c = exch_conv_get(pinfo, first, &own);
    if (!c)
        return 0;
    if (first) {
        /* Each evidence file reads the whole conversation and writes only
         * its own part; exchange_conv.c writes the rest. */
        exch_fields_frame(pinfo);
        exch_tls_dns(pinfo, tree);
        exch_tls_analyze(pinfo, tree, c, own.tls);
        exch_http_analyze(pinfo, tree, c, own.http);
        exch_rpc_analyze(pinfo, tree, c, own.rpc);
        exch_tls_infer(pinfo, c, own.tls);
        exch_traffic_account(pinfo, tree, own.traffic);
        exch_attr_analyze(pinfo, tree, c, own.proc);
        exch_hint_analyze(pinfo, c);
        exch_fields_frame_done();
    }
    /* That the process map is not of this capture: once, on the frame that shows it. */
    const char *misfit = exch_attr_map_misfit(pinfo);
    if (misfit) {
        proto_item *mi = proto_tree_add_item(tree, proto_exchange, tvb, 0, 0, ENC_NA);
        proto_item_set_generated(mi);
        expert_add_info_format(pinfo, mi, &ei_exchange_process_map_misfit, "%s", misfit);
    }

    /* The tap hears of every frame of an Exchange connection (its counters
     * grow) and of frames whose evidence changed a role, withdrawals
     * included: the same frames in every pass. */
    const exch_frame_t *fr = EXCH_FRAME_PART(pinfo, exch_frame_t, EXCH_FRAME_CONV, FALSE);
    const exch_frame_rpc_t *frr = EXCH_FRAME_PART(pinfo, exch_frame_rpc_t, EXCH_FRAME_RPC, FALSE);
    const exch_frame_http_t *frh = EXCH_FRAME_PART(pinfo, exch_frame_http_t, EXCH_FRAME_HTTP, FALSE);
    const exch_frame_traffic_t *frt = EXCH_FRAME_PART(pinfo, exch_frame_traffic_t, EXCH_FRAME_TRAFFIC, FALSE);
    if (c->role != EXCH_ROLE_NONE || (fr && (fr->decided || fr->updated)) || (frh && frh->updated))
        tap_queue_packet(exchange_tap, pinfo, c);

    const char *hint = exch_hint_message(pinfo->num);
    if (c->role == EXCH_ROLE_NONE && !fr && !frr && !frh && !hint)
        return 0;

    proto_item *top = proto_tree_add_item(tree, proto_exchange, tvb, 0, 0, ENC_NA);
    proto_item_set_generated(top);
    proto_tree *et = proto_item_add_subtree(top, ett_exchange);
    if (c->role != EXCH_ROLE_NONE) {
        proto_item_append_text(top, ": %s (%s, %s)", val_to_str_const(c->role, exch_role_vals, "?"),
                               c->iface != EXCH_IF_NONE ? exch_iface_name(c->iface)
                                                        : val_to_str_const(c->transport, exch_transport_vals, "?"),
                               val_to_str_const(c->conf, exch_conf_vals, "?"));
        add_role(et, tvb, pinfo, c);
    }
    if (c->role != EXCH_ROLE_NONE && pinfo->num == c->http.backend_changed_in)
        expert_add_info_format(pinfo, top, &ei_exchange_backend_changed, "Back end changed from %s to %s",
                               c->http.backend, c->http.backend_later);
    if (fr && fr->decided) {
        /* What this frame's own evidence did, whatever came later. */
        const char *was = val_to_str_const(fr->previous_role, exch_role_vals, "?");
        const char *now = val_to_str_const(fr->new_role, exch_role_vals, "?");
        if (fr->previous_role == EXCH_ROLE_NONE)
            expert_add_info_format(pinfo, top, &ei_exchange_role_decided, "Exchange role %s: %s", now, fr->evidence);
        else if (fr->previous_role == fr->new_role)
            expert_add_info_format(pinfo, top, &ei_exchange_role_decided, "Exchange role %s confirmed: %s",
                                   now, fr->evidence);
        else if (fr->new_role == EXCH_ROLE_NONE)
            expert_add_info_format(pinfo, top, &ei_exchange_role_changed, "Exchange role %s withdrawn: %s",
                                   was, fr->evidence);
        else
            expert_add_info_format(pinfo, top, &ei_exchange_role_changed, "Exchange role changed from %s to %s: %s",
                                   was, now, fr->evidence);
        /* Why a connection has no role: the evidence that took it away. */
        if (fr->new_role == EXCH_ROLE_NONE && c->role == EXCH_ROLE_NONE)
            proto_item_set_generated(proto_tree_add_string(et, hf_exchange_evidence, tvb, 0, 0, fr->evidence));
    }
    if (c->decided_late && pinfo->num == c->decided_in)
        expert_add_info_format(pinfo, top, &ei_exchange_role_decided,
                               "Exchange role %s, from evidence later in the capture: %s",
                               val_to_str_const(c->role, exch_role_vals, "?"), c->evidence);
    if (((fr && fr->decided) || c->decided_late) && PINFO_FD_VISITED(pinfo) && pinfo->num == c->decided_in)
        add_health(pinfo, top, c);
    if (frh && frh->service) {
        proto_item *si = proto_tree_add_string(et, hf_exchange_service, tvb, 0, 0, frh->service);
        proto_item_set_generated(si);
    }
    if (frh && frh->request_type) {
        proto_item *ri = proto_tree_add_string(et, hf_exchange_mapi_request_type, tvb, 0, 0, frh->request_type);
        proto_item_set_generated(ri);
    }
    if (frt && c->role != EXCH_ROLE_NONE)
        add_failure(et, tvb, frt);
    if (frr && frr->learned)
        add_learned(et, tvb, pinfo, top, frr);
    if (frr && frr->learn_limit)
        expert_add_info(pinfo, top, &ei_exchange_learn_limit);
    if ((frr && frr->bad_bind) || (frh && frh->bad_bind))
        expert_add_info(pinfo, top, &ei_exchange_bad_bind);
    if (hint)
        expert_add_info_format(pinfo, top, &ei_exchange_servers_hint, "%s", hint);
    return tvb_captured_length(tvb);
}

static void
exchange_init(void)
{
    /* Wireshark 4.0 primes a disabled postdissector's wanted fields too:
     * a disabled plugin wants none. */
    exch_active_start(exchange_handle, exch_fields_wanted(),
                      proto_is_protocol_enabled(find_protocol_by_id(proto_exchange)));
    exch_rpc_init();
    exch_http_init();
    exch_tls_init();
    exch_hint_init();
    exch_conv_reset();
    exch_attr_init();
}

/* The connection index points into file-scope memory: empty it with the file. */
static void
exchange_cleanup(void)
{
    exch_attr_capture_done();       /* before the conversations go */
    exch_conv_reset();
}

static void
exchange_prefs_changed(void)
{
    exch_tls_prefs_changed();
    exch_attr_prefs_changed();
}

/* The fields are registered when first looked up (a filter, -e, a column,
 * Lua): the lookup tells exchange_activation.c that something reads them. */
static void
exchange_register_fields(const char *match)
{
    static gboolean done;
    if (match)
        exch_active_asked();
    if (done)
        return;
    done = TRUE;
    static hf_register_info hf[] = {
        { &hf_exchange_role,
          { "Role", "exchange.role", FT_STRING, BASE_NONE, NULL, 0x0,
            "What this TCP connection does for Outlook: mailbox, directory, rpc-in, rpc-out, ews, "
            "autodiscover, oab, endpoint-mapper or unknown", HFILL }},
        { &hf_exchange_role_id,
          { "Role ID", "exchange.role_id", FT_UINT8, BASE_DEC, VALS(exch_role_vals), 0x0,
            NULL, HFILL }},
        { &hf_exchange_transport,
          { "Transport", "exchange.transport", FT_STRING, BASE_NONE, NULL, 0x0,
            "How Outlook reaches Exchange on this connection: rpc-tcp, rpc-http, mapi-http, https, http", HFILL }},
        { &hf_exchange_interface,
          { "Interface", "exchange.interface", FT_STRING, BASE_NONE, NULL, 0x0,
            "DCE/RPC interface(s) used: EMSMDB, AsyncEMSMDB, NSPI, RFR, EPM; the deciding one first", HFILL }},
        { &hf_exchange_confidence,
          { "Confidence", "exchange.confidence", FT_STRING, BASE_NONE, NULL, 0x0,
            "certain (seen on this connection), learned (from an endpoint-mapper answer), "
            "inferred (from indirect signs)", HFILL }},
        { &hf_exchange_evidence,
          { "Evidence", "exchange.evidence", FT_STRING, BASE_NONE, NULL, 0x0,
            "What decided the role, and in which frame", HFILL }},
        { &hf_exchange_decided_in,
          { "Decided in", "exchange.decided_in", FT_FRAMENUM, BASE_NONE, NULL, 0x0,
            "Frame whose evidence decided the role", HFILL }},
        { &hf_exchange_learned_from,
          { "Learned from", "exchange.learned_from", FT_FRAMENUM, BASE_NONE, NULL, 0x0,
            "Endpoint-mapper answer that taught this server address and port", HFILL }},
        { &hf_exchange_server,
          { "Server", "exchange.server", FT_STRING, BASE_NONE, NULL, 0x0,
            "The Exchange server as the client names it: the HTTP Host, else the TLS server name, in lower case, "
            "with :port when the port is not the scheme's default (443 with TLS, 80 without); else address:port",
            HFILL }},
        { &hf_exchange_frontend,
          { "Front end", "exchange.frontend", FT_STRING, BASE_NONE, NULL, 0x0,
            "The Exchange front end that answered (X-FEServer of the first answer naming one)", HFILL }},
        { &hf_exchange_backend,
          { "Back end", "exchange.backend", FT_STRING, BASE_NONE, NULL, 0x0,
            "The mailbox server the front end sent the requests to (X-BEServer, else X-CalculatedBETarget, "
            "of the first answer naming one)", HFILL }},
        { &hf_exchange_backend_later,
          { "Later back end", "exchange.backend.later", FT_STRING, BASE_NONE, NULL, 0x0,
            "A different back end that a later answer on the same connection named (the first such)", HFILL }},
        { &hf_exchange_rpc_server,
          { "RPC server", "exchange.rpc.server", FT_STRING, BASE_NONE, NULL, 0x0,
            "RPC/HTTP: the RPC server and port behind the proxy, as the channel's URI names it "
            "(<name or GUID@domain>:<port>)", HFILL }},
        { &hf_exchange_client,
          { "Client", "exchange.client", FT_STRING, BASE_NONE, NULL, 0x0,
            "Outlook side of the connection (address:port)", HFILL }},
        { &hf_exchange_stream,
          { "TCP stream", "exchange.stream", FT_UINT32, BASE_DEC, NULL, 0x0,
            "tcp.stream of this connection", HFILL }},
        { &hf_exchange_epm_learned,
          { "Learned endpoint", "exchange.epm.learned", FT_STRING, BASE_NONE, NULL, 0x0,
            "Exchange endpoint announced by this endpoint-mapper answer (address:port)", HFILL }},
        { &hf_exchange_epm_learned_port,
          { "Learned port", "exchange.epm.learned_port", FT_UINT16, BASE_DEC, NULL, 0x0,
            "TCP port announced by this endpoint-mapper answer", HFILL }},
        { &hf_exchange_server_endpoint,
          { "Server endpoint", "exchange.server.endpoint", FT_STRING, BASE_NONE, NULL, 0x0,
            "TCP server side of the connection (address:port)", HFILL }},
        { &hf_exchange_services,
          { "Services", "exchange.services", FT_STRING, BASE_NONE, NULL, 0x0,
            "Every Exchange service seen on the connection (one keep-alive connection may carry several)",
            HFILL }},
        { &hf_exchange_service,
          { "Service of this request", "exchange.service", FT_STRING, BASE_NONE, NULL, 0x0,
            "Exchange service of the HTTP request in this frame", HFILL }},
        { &hf_exchange_rpc_target,
          { "RPC target", "exchange.rpc.target", FT_STRING, BASE_NONE, NULL, 0x0,
            "RPC endpoint an RPC/HTTP channel serves: mailbox, directory or referral", HFILL }},
        { &hf_exchange_rpc_target_evidence,
          { "RPC target evidence", "exchange.rpc.target_evidence", FT_STRING, BASE_NONE, NULL, 0x0,
            "What decided the RPC target: the BIND inside the IN channel, or the port in the URI", HFILL }},
        { &hf_exchange_rpch_cookie,
          { "Virtual connection cookie", "exchange.rpch.cookie", FT_GUID, BASE_NONE, NULL, 0x0,
            "RPC/HTTP virtual connection this channel belongs to (RTS CONN/A1, CONN/B1)", HFILL }},
        { &hf_exchange_rpch_peer_stream,
          { "Peer channel stream", "exchange.rpch.peer_stream", FT_UINT32, BASE_DEC, NULL, 0x0,
            "tcp.stream of the other channel of the same virtual connection", HFILL }},
        { &hf_exchange_failure,
          { "Failure", "exchange.failure", FT_STRING, BASE_NONE, NULL, 0x0,
            "The answers in this frame that failed: layer, call and code "
            "(\"nspi NspiBind MAPI_E_LOGON_FAILED (0x80040111)\", \"dcerpc FAULT ...\", \"http 503\")", HFILL }},
        { &hf_exchange_failure_layer,
          { "Failed at", "exchange.failure.layer", FT_STRING, BASE_NONE, NULL, 0x0,
            "A layer an answer in this frame failed at: dcerpc, nspi, emsmdb, http or mapi-http", HFILL }},
        { &hf_exchange_mapi_request_type,
          { "MAPI/HTTP request type", "exchange.mapi.request_type", FT_STRING, BASE_NONE, NULL, 0x0,
            "X-RequestType of the MAPI/HTTP request in this frame (Connect, Execute, NotificationWait, Bind, ...)",
            HFILL }},
        { &hf_exchange_client_application,
          { "Client application", "exchange.client.application", FT_STRING, BASE_NONE, NULL, 0x0,
            "X-ClientApplication, else User-Agent, of the connection's requests", HFILL }},
        { &hf_exchange_mailbox,
          { "Mailbox", "exchange.mailbox", FT_STRING, BASE_NONE, NULL, 0x0,
            "MailboxId of the MAPI/HTTP requests", HFILL }},
        { &hf_exchange_tls_server_name,
          { "TLS server name", "exchange.tls.server_name", FT_STRING, BASE_NONE, NULL, 0x0,
            "Server name (SNI) of the connection's TLS ClientHello", HFILL }},
        { &hf_exchange_client_process,
          { "Client process", "exchange.client.process", FT_STRING, BASE_NONE, NULL, 0x0,
            "Image name of the client process that owns the connection", HFILL }},
        { &hf_exchange_client_pid,
          { "Client PID", "exchange.client.pid", FT_UINT32, BASE_DEC, NULL, 0x0,
            "Process ID of the client process that owns the connection", HFILL }},
        { &hf_exchange_client_host,
          { "Client host", "exchange.client.host", FT_STRING, BASE_NONE, NULL, 0x0,
            "The client machine: its name from the process map (#host), else its address", HFILL }},
        { &hf_exchange_client_source,
          { "Process attribution", "exchange.client.source", FT_STRING, BASE_NONE, NULL, 0x0,
            "Where the client process came from: process-map, capture-comment, pktap, header or none", HFILL }},
    };
    static ei_register_info ei[] = {
        { &ei_exchange_role_decided,
          { "exchange.role_decided", PI_SEQUENCE, PI_CHAT, "Exchange role decided", EXPFILL }},
        { &ei_exchange_role_changed,
          { "exchange.role_changed", PI_SEQUENCE, PI_NOTE, "Exchange role changed by stronger evidence", EXPFILL }},
        { &ei_exchange_epm_learned,
          { "exchange.epm_learned", PI_SEQUENCE, PI_CHAT, "Endpoint mapper announced an Exchange endpoint", EXPFILL }},
        { &ei_exchange_learn_limit,
          { "exchange.learn_limit", PI_SEQUENCE, PI_WARN,
            "Too many learned endpoints in this capture; further endpoint-mapper answers are ignored", EXPFILL }},
        { &ei_exchange_bad_bind,
          { "exchange.bad_bind", PI_MALFORMED, PI_WARN,
            "Malformed DCE/RPC BIND in a connection no stock dissector decoded", EXPFILL }},
        { &ei_exchange_process_map,
          { "exchange.process_map_problem", PI_ASSUMPTION, PI_WARN,
            "The process map file could not be (fully) read", EXPFILL }},
        { &ei_exchange_process_map_misfit,
          { "exchange.process_map_mismatch", PI_ASSUMPTION, PI_WARN,
            "The process map does not fit this capture (another capture's or machine's)", EXPFILL }},
        { &ei_exchange_rpc_tcp_legacy,
          { "exchange.rpc_tcp_legacy", PI_DEPRECATED, PI_NOTE,
            "RPC/TCP in use: not supported by Exchange 2013 and later", EXPFILL }},
        { &ei_exchange_rpc_http_deprecated,
          { "exchange.rpc_http_deprecated", PI_DEPRECATED, PI_NOTE,
            "RPC over HTTP in use: deprecated in favour of MAPI over HTTP", EXPFILL }},
        { &ei_exchange_channel_unpaired,
          { "exchange.channel_unpaired", PI_SEQUENCE, PI_WARN,
            "RPC/HTTP channel without its partner channel", EXPFILL }},
        { &ei_exchange_extra_connection,
          { "exchange.extra_connection", PI_SEQUENCE, PI_NOTE,
            "A process holds more concurrent connections of this role than the transport needs", EXPFILL }},
        { &ei_exchange_backend_changed,
          { "exchange.backend_changed", PI_SEQUENCE, PI_NOTE,
            "A later answer on the connection names another back end", EXPFILL }},
        { &ei_exchange_epm_unused,
          { "exchange.epm_unused", PI_SEQUENCE, PI_NOTE,
            "Endpoint announced by the endpoint mapper, never connected to", EXPFILL }},
        { &ei_exchange_servers_hint,
          { "exchange.servers_hint", PI_SEQUENCE, PI_NOTE,
            "TLS connections that look like Exchange's: naming their servers in exchange.servers would "
            "recognise them", EXPFILL }},
    };

    proto_register_field_array(proto_exchange, hf, array_length(hf));
    expert_register_field_array(expert_register_protocol(proto_exchange), ei, array_length(ei));
}

void
proto_register_exchange(void)
{
    static gint *ett[] = { &ett_exchange, &ett_exchange_learned };
    proto_exchange = proto_register_protocol("Microsoft Exchange connection roles", "Exchange", "exchange");
    proto_register_subtree_array(ett, array_length(ett));
    /* Wireshark and sharkd may read the plugin's output at any time (a filter
     * typed, a dialog opened once the file is loaded): they always analyse. */
    const char *prg = g_get_prgname() ? g_get_prgname() : "";
    if (g_ascii_strcasecmp(prg, "wireshark") == 0 || g_ascii_strcasecmp(prg, "sharkd") == 0)
        exchange_register_fields(prg);
    else
        proto_register_prefix("exchange", exchange_register_fields);

    exch_prefs_register(proto_exchange, exchange_prefs_changed);
    exch_conv_init(proto_exchange);
    exchange_handle = register_dissector("exchange", dissect_exchange, proto_exchange);
    register_postdissector(exchange_handle);
    exchange_tap = register_tap("exchange");
    exch_stats_register();
    register_init_routine(exchange_init);
    register_cleanup_routine(exchange_cleanup);
}

void
proto_reg_handoff_exchange(void)
{
    exch_fields_resolve();
    exch_rpc_handoff();
}
