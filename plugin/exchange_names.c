/* exchange_names.c
 * The names every file and the user interface share: roles, transports,
 * confidences, process sources and DCE/RPC interfaces, as Wireshark value
 * strings.  Only data; it decides nothing.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "exchange.h"

const value_string exch_role_vals[] = {
    { EXCH_ROLE_NONE,            "none" },
    { EXCH_ROLE_MAILBOX,         "mailbox" },
    { EXCH_ROLE_DIRECTORY,       "directory" },
    { EXCH_ROLE_RPC_IN,          "rpc-in" },
    { EXCH_ROLE_RPC_OUT,         "rpc-out" },
    { EXCH_ROLE_EWS,             "ews" },
    { EXCH_ROLE_AUTODISCOVER,    "autodiscover" },
    { EXCH_ROLE_OAB,             "oab" },
    { EXCH_ROLE_ENDPOINT_MAPPER, "endpoint-mapper" },
    { EXCH_ROLE_UNKNOWN,         "unknown" },
    { 0, NULL }
};

const value_string exch_transport_vals[] = {
    { EXCH_TRANSPORT_NONE,      "none" },
    { EXCH_TRANSPORT_RPC_TCP,   "rpc-tcp" },
    { EXCH_TRANSPORT_RPC_HTTP,  "rpc-http" },
    { EXCH_TRANSPORT_MAPI_HTTP, "mapi-http" },
    { EXCH_TRANSPORT_HTTPS,     "https" },
    { EXCH_TRANSPORT_HTTP,      "http" },
    { 0, NULL }
};

const value_string exch_conf_vals[] = {
    { EXCH_CONF_NONE,     "none" },
    { EXCH_CONF_INFERRED, "inferred" },
    { EXCH_CONF_LEARNED,  "learned" },
    { EXCH_CONF_CERTAIN,  "certain" },
    { 0, NULL }
};

const value_string exch_proc_source_vals[] = {
    { EXCH_PROC_NONE,    "none" },
    { EXCH_PROC_HEADER,  "header" },
    { EXCH_PROC_PKTAP,   "pktap" },
    { EXCH_PROC_COMMENT, "capture-comment" },
    { EXCH_PROC_MAP,     "process-map" },
    { 0, NULL }
};

static const value_string exch_iface_vals[] = {
    { EXCH_IF_NONE,        "none" },
    { EXCH_IF_EMSMDB,      "EMSMDB" },
    { EXCH_IF_ASYNCEMSMDB, "AsyncEMSMDB" },
    { EXCH_IF_NSPI,        "NSPI" },
    { EXCH_IF_RFR,         "RFR" },
    { EXCH_IF_EPM,         "EPM" },
    { 0, NULL }
};

const char *
exch_iface_name(exch_iface_t i)
{
    return val_to_str_const(i, exch_iface_vals, "?");
}
