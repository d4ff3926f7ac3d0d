/* exchange_prefs.c
 * The preferences as the user sees them: names and texts.  Each variable
 * lives in the file whose decisions it changes.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#include <epan/prefs.h>

void
exch_prefs_register(int proto, void (*changed)(void))
{
    module_t *m = prefs_register_protocol(proto, changed);
    prefs_register_bool_preference(m, "decode_learned_ports",
        "Decode learned Exchange ports as DCE/RPC",
        "Hand TCP ports announced by endpoint-mapper answers, and connections whose first bytes are an "
        "Exchange BIND, to the DCE/RPC dissector (fixes Exchange on 6001-6004 being shown as X11)",
        &exch_pref_decode_learned);
    prefs_register_string_preference(m, "servers",
        "Exchange servers",
        "Host names and addresses of Exchange servers (separated by commas or blanks), so that TLS connections "
        "Wireshark cannot decrypt are recognised; Exchange Online's front doors are known already",
        &exch_pref_servers);
    prefs_register_filename_preference(m, "process_map",
        "Process map file",
        "A text file saved on the client: tasklist, netstat -ano, Get-NetTCPConnection, Get-Process or ss -tnp "
        "output, in any mix (UTF-8 or UTF-16). Connections are attributed to the processes it names",
        &exch_pref_process_map, FALSE);
    prefs_register_bool_preference(m, "always_analyse", "Analyse every capture",
        "Also where nothing shows the plugin's output: tshark -2 -V with no exchange filter, field or table, "
        "or learned ports decoded as DCE/RPC under stock filters. Costs a protocol tree on every frame",
        &exch_pref_always);
}
