/* plugin.c
 * The symbols Wireshark's plugin loader looks for, and nothing else.
 *
 * Built and tested against Wireshark 4.0, which finds plugin_version,
 * plugin_want_major/minor and plugin_register.  Later releases changed the
 * loader's interface; the guards below follow them by feature, not by
 * version number, so the file is ready for them (they are not built here):
 *   - 4.2 and later also ask plugin_describe() what kind of plugin this is;
 *   - newer releases register a struct ws_module through
 *     WIRESHARK_PLUGIN_REGISTER_EPAN() instead of the exported symbols.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_BUILD_DLL
#include <wireshark.h>
#include <epan/proto.h>
#if defined(__has_include)
#if __has_include(<wsutil/plugins.h>)   /* installed from 4.2 on: the describe flags, ws_module */
#include <wsutil/plugins.h>
#endif
#endif

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

#ifdef WIRESHARK_PLUGIN_REGISTER
static struct ws_module exchange_module = {
    .flags = WS_PLUGIN_DESC_DISSECTOR,
    .version = PLUGIN_VERSION,
    .spdx_id = "GPL-2.0-or-later",
    .home_url = "",
    .blurb = "Microsoft Exchange connection roles and client processes",
    .register_cb = &exchange_plugin_register,
};

WIRESHARK_PLUGIN_REGISTER_EPAN(&exchange_module, 0)
#else
WS_DLL_PUBLIC_DEF const gchar plugin_version[] = PLUGIN_VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;

WS_DLL_PUBLIC void plugin_register(void);

void
plugin_register(void)
{
    exchange_plugin_register();
}

#ifdef WS_PLUGIN_DESC_DISSECTOR
WS_DLL_PUBLIC uint32_t plugin_describe(void);

uint32_t
plugin_describe(void)
{
    return WS_PLUGIN_DESC_DISSECTOR;
}
#endif
#endif
