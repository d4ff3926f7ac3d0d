/* plugin.c
 * The symbols Wireshark's plugin loader looks for, and nothing else.
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

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = PLUGIN_VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;

WS_DLL_PUBLIC void plugin_register(void);

void
plugin_register(void)
{
    static proto_plugin plug;   /* the loader keeps the pointer */

    plug.register_protoinfo = proto_register_exchange;
    plug.register_handoff = proto_reg_handoff_exchange;
    proto_register_plugin(&plug);
}
