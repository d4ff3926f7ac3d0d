/* plugin.c
 * The symbols Wireshark's plugin loader looks for, and nothing else.
 *
 * Every released series from 4.0 to 4.6 loads a plugin by its exported
 * plugin_version, plugin_want_major/minor and plugin_register, and refuses
 * one built for another major.minor: a module is built per series.  From
 * 4.4 the loader also asks the optional plugin_describe() what kind of
 * plugin it is (Help > About > Plugins shows it).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_BUILD_DLL
#include <wireshark.h>
#include <epan/proto.h>

#include "exchange.h"

#ifndef PLUGIN_VERSION
#error "PLUGIN_VERSION must be defined by the build"
#endif

static void
exchange_plugin_register(void)
{
    static proto_plugin plug;   /* the loader keeps the pointer */

    plug.register_protoinfo = proto_register_exchange;
    plug.register_handoff = proto_reg_handoff_exchange;
    proto_register_plugin(&plug);
}

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = PLUGIN_VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;

WS_DLL_PUBLIC void plugin_register(void);

void
plugin_register(void)
{
    exchange_plugin_register();
}

#if EXCH_WS_AT_LEAST(4, 4)
#include <wsutil/plugins.h>

WS_DLL_PUBLIC uint32_t plugin_describe(void);

uint32_t
plugin_describe(void)
{
    return WS_PLUGIN_DESC_DISSECTOR;
}
#endif
