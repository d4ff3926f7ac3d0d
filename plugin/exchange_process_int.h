/* exchange_process_int.h
 * Between the process map's store (exchange_process.c) and its parser
 * (exchange_process_parse.c), which the store calls and which calls nothing
 * back; the rest of the plugin uses exchange_process.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef EXCHANGE_PROCESS_INT_H
#define EXCHANGE_PROCESS_INT_H

#include "exchange_process.h"
#include "exchange_compat.h"

#include <wsutil/inet_addr.h>

#define EXCH_PMAP_ADDR_LEN WS_INET6_ADDRSTRLEN

/* An address as Wireshark prints it: "[v6%zone]" loses brackets and zone,
 * ::ffff:a.b.c.d becomes a.b.c.d; "*" stays "*".  FALSE: not an address. */
gboolean exch_pmap_canon_addr(const char *s, size_t len, char out[EXCH_PMAP_ADDR_LEN]);

/* Where the parser puts what it finds: the store hands it one, so the
 * parser calls nothing of the store.  section(): the section a "#host NAME"
 * line starts (0 comes before any); add_name(): a PID's process name (the
 * first one given wins); add_socket(): a socket an owner was named for
 * (addresses canonical; rport <= 0 or a 0.0.0.0 / :: / * remote address:
 * none recorded). */
typedef struct {
    guint (*section)(const char *host);
    void  (*add_name)(guint section, guint32 pid, const char *name, size_t len);
    void  (*add_socket)(guint section, const char *la, int lport, const char *ra, int rport, guint32 pid,
                        const char *name, size_t name_len, guint line);
} exch_pmap_sink_t;

/* The parser: read the whole text (len bytes, NUL-terminated, lines split
 * in place) into the sink. */
typedef struct {
    guint lines;        /* lines in the text */
    guint bad;          /* lines not understood */
    guint first_bad;    /* the first of them, 1-based */
    guint pidless;      /* connection rows that name no owner */
} exch_pmap_parse_result_t;

void exch_pmap_parse(char *text, size_t len, const exch_pmap_sink_t *sink, exch_pmap_parse_result_t *r);

#endif /* EXCHANGE_PROCESS_INT_H */
