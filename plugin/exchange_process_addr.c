/* exchange_process_addr.c
 * Addresses in the process map, written as Wireshark prints them, so that
 * what the parser read and what a packet says compare as strings.  Used by
 * the store (exchange_process.c) and the parser (exchange_process_parse.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "exchange_process_int.h"

#include <string.h>

#include <wsutil/inet_addr.h>

#define ADDR_LEN EXCH_PMAP_ADDR_LEN

/* An address as Wireshark prints it: "[v6%zone]" loses brackets and zone,
 * ::ffff:a.b.c.d becomes a.b.c.d; "*" stays "*". */
gboolean
exch_pmap_canon_addr(const char *s, size_t len, char out[EXCH_PMAP_ADDR_LEN])
{
    static const guint8 v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    char buf[ADDR_LEN + 1];
    ws_in4_addr a4;
    ws_in6_addr a6;

    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
    }
    const char *pct = memchr(s, '%', len);
    if (pct)
        len = (size_t)(pct - s);
    if (len == 0 || len > ADDR_LEN)
        return FALSE;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (!strcmp(buf, "*"))
        g_strlcpy(out, "*", ADDR_LEN);
    else if (ws_inet_pton4(buf, &a4))
        ws_inet_ntop4(&a4, out, ADDR_LEN);
    else if (!ws_inet_pton6(buf, &a6))
        return FALSE;
    else if (!memcmp(a6.bytes, v4mapped, sizeof v4mapped))
        ws_inet_ntop4(a6.bytes + 12, out, ADDR_LEN);
    else
        ws_inet_ntop6(&a6, out, ADDR_LEN);
    return TRUE;
}
