/* exchange_process.h
 * The process map: which client process owns which TCP connection, read
 * from saved tasklist / netstat / PowerShell / ss output (exchange_process.c).
 *
 * No epan types here, so the loader can be tested on its own.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef EXCHANGE_PROCESS_H
#define EXCHANGE_PROCESS_H

#include <glib.h>

typedef struct {
    const char *process;   /* image name as written, e.g. "OUTLOOK.EXE"; NULL if the PID has no name */
    guint32     pid;
    const char *host;      /* section host name (see "#host"), or NULL */
    guint       line;      /* 1-based line of the socket entry in the file */
} exch_proc_entry_t;

/* Parse the file (replacing what was loaded before).  Returns FALSE when
 * nothing usable came out (the map is then empty).  *message is NULL when
 * all went well, else one g_strdup'ed sentence naming the file and the
 * reason (caller frees).  An empty or NULL path clears the map and returns
 * TRUE.  message may be NULL. */
gboolean exch_process_map_load(const char *path, char **message);
guint    exch_process_map_sockets(void);   /* socket entries loaded */

/* The process owning the TCP socket local_addr:local_port (-> remote_addr:
 * remote_port).  Addresses as Wireshark prints them.  An entry that recorded
 * a remote end must match it; one without (LISTEN) matches on the local end
 * only; an exact local+remote match wins.  Entries on 0.0.0.0 / :: / * match
 * any local address of the port, but only when no entry for the address
 * itself matches, and only those of the "#host" section that names the
 * address, if one does.  The strings in *out stay valid until the next load
 * or clear.  Returns FALSE when nothing matches. */
gboolean exch_process_lookup(const char *local_addr, guint16 local_port, const char *remote_addr,
                             guint16 remote_port, exch_proc_entry_t *out);

/* One connection the map names: a socket with both ends recorded and an
 * owner (PID != 0: not TIME_WAIT).  Addresses canonical, as Wireshark
 * prints them.  Valid until the next load or clear. */
typedef struct {
    const char *laddr, *raddr;
    guint16     lport, rport;
    guint32     pid;
    const char *process;   /* NULL if the PID has no name */
    guint       line;
} exch_proc_conn_t;

/* Whether the map contradicts the connection local_addr:local_port ->
 * remote_addr:remote_port: no row has exactly these ends, but an owned row
 * gives the same local address and port a connection to another remote
 * end (the map is of another time or machine).  *row: the first such row. */
gboolean exch_process_contradiction(const char *local_addr, guint16 local_port, const char *remote_addr,
                                    guint16 remote_port, exch_proc_conn_t *row);

/* Every connection the map names (see exch_proc_conn_t), in no order. */
void     exch_process_foreach_conn(void (*fn)(const exch_proc_conn_t *conn, void *data), void *data);

#endif /* EXCHANGE_PROCESS_H */
