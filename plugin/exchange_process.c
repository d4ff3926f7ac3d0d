/* exchange_process.c
 * The process map: command output saved on the client machine that says
 * which process owns each TCP connection (exchange.process_map).  This
 * file reads the file (size limit, encodings), keeps what the parser
 * (exchange_process_parse.c) found in it and answers lookups.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange_process_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>


#define MAX_FILE_SIZE (64u << 20)
#define ADDR_LEN      EXCH_PMAP_ADDR_LEN

typedef struct {
    char    *laddr, *raddr;     /* canonical; raddr NULL when none was recorded */
    guint16  lport, rport;
    guint32  pid;
    char    *name;              /* ss names the process per socket, else NULL */
    guint    section, line;
} sock_t;

static GPtrArray  *hosts;       /* section -> host; section 0 (NULL) comes before any "#host" */
static GHashTable *host_section;/* lower-case host -> its section: many machines' output in one file */
static GHashTable *names;       /* "section/pid" -> process name */
static GHashTable *by_local;    /* "addr port" -> GPtrArray of sock_t, in file order */
static GHashTable *addr_host;   /* a named local address -> 1 + the first section with it */
static guint       n_socks;

/* ---- the map ---- */

static void
sock_free(gpointer p)
{
    sock_t *s = p;
    g_free(s->laddr);
    g_free(s->raddr);
    g_free(s->name);
    g_free(s);
}

static void
map_clear(void)
{
    if (hosts) {
        g_ptr_array_free(hosts, TRUE);
        g_hash_table_destroy(names);
        g_hash_table_destroy(by_local);
        g_hash_table_destroy(addr_host);
        g_hash_table_destroy(host_section);
    }
    hosts = NULL;
    names = by_local = addr_host = host_section = NULL;
    n_socks = 0;
}

guint
exch_process_map_sockets(void)
{
    return n_socks;
}

static guint
map_names(void)
{
    return names ? g_hash_table_size(names) : 0;
}

/* ---- what the parser found ---- */

static guint
section_of(const char *host)
{
    char *key = g_ascii_strdown(host, -1);      /* names compare case-insensitively */
    guint i = GPOINTER_TO_UINT(g_hash_table_lookup(host_section, key));
    if (i) {
        g_free(key);
        return i;
    }
    i = hosts->len;
    g_ptr_array_add(hosts, g_strdup(host));
    g_hash_table_insert(host_section, key, GUINT_TO_POINTER(i));
    return i;
}

static void
add_name(guint section, guint32 pid, const char *name, size_t len)
{
    char key[24];
    snprintf(key, sizeof key, "%u/%u", section, pid);
    /* The first source wins; a later one may have seen the PID reused. */
    if (len && !g_hash_table_contains(names, key))
        g_hash_table_insert(names, g_strdup(key), g_strndup(name, len));
}

static void
add_socket(guint section, const char *la, int lport, const char *ra, int rport, guint32 pid,
           const char *name, size_t name_len, guint line)
{
    char key[ADDR_LEN + 8];
    sock_t *s = g_new0(sock_t, 1);
    s->laddr = g_strdup(la);
    s->lport = (guint16)lport;
    if (strcmp(la, "0.0.0.0") && strcmp(la, "::") && strcmp(la, "*") && !g_hash_table_contains(addr_host, la))
        g_hash_table_insert(addr_host, g_strdup(la), GUINT_TO_POINTER(section + 1));
    /* 0.0.0.0:0, [::]:0 and *:* are a listener's "remote": none. */
    if (ra && rport > 0 && strcmp(ra, "0.0.0.0") && strcmp(ra, "::") && strcmp(ra, "*")) {
        s->raddr = g_strdup(ra);
        s->rport = (guint16)rport;
    }
    s->pid = pid;
    s->name = name ? g_strndup(name, name_len) : NULL;
    s->section = section;
    s->line = line;
    snprintf(key, sizeof key, "%s %d", la, lport);
    GPtrArray *a = g_hash_table_lookup(by_local, key);
    if (!a) {
        a = g_ptr_array_new_with_free_func(sock_free);
        g_hash_table_insert(by_local, g_strdup(key), a);
    }
    g_ptr_array_add(a, s);
    n_socks++;
}

/* ---- loading ---- */

static char *
read_all(const char *path, gsize *len, char **why)
{
    guint8 chunk[65536];
    size_t r;
    FILE *f = ws_fopen(path, "rb");
    if (!f) {
        *why = g_strdup_printf("cannot open: %s", g_strerror(errno));
        return NULL;
    }
    GByteArray *b = g_byte_array_new();
    while (b->len <= MAX_FILE_SIZE && (r = fread(chunk, 1, sizeof chunk, f)) > 0)
        g_byte_array_append(b, chunk, (guint)r);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err)
        *why = g_strdup_printf("cannot read: %s", g_strerror(err));
    else if (b->len > MAX_FILE_SIZE)
        *why = g_strdup("larger than 64 MiB, not a saved command output");
    *len = b->len;
    g_byte_array_append(b, (const guint8 *)"", 1);
    return (char *)g_byte_array_free(b, FALSE);
}

/* The text as UTF-8 without BOM, or NULL. */
static char *
decode(const char *raw, gsize len, gsize *out_len, char **why)
{
    const guchar *u = (const guchar *)raw;
    char *text = NULL;
    gsize n = 0;

    if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
        /* PowerShell 5's ">" writes UTF-16LE with a BOM. */
        text = g_convert(raw + 2, (gssize)((len - 2) & ~(gsize)1), "UTF-8",
                         u[0] == 0xFF ? "UTF-16LE" : "UTF-16BE", NULL, &n, NULL);
        if (!text) {
            *why = g_strdup("not valid UTF-16 text");
            return NULL;
        }
    } else if (!memchr(raw, '\0', len) && g_utf8_validate(raw, (gssize)len, NULL)) {
        text = g_strndup(raw, len);
        n = len;
    } else if (!memchr(raw, '\0', len)) {
        /* cmd.exe's ">" writes the OEM code page: 850 in Western Europe
         * ("ABH\x99REN").  Control bytes, though, mean binary data. */
        gsize i = 0;
        while (i < len && (u[i] >= 0x20 || strchr("\t\n\r\f\v\x1a", u[i])) && u[i] != 0x7f)
            i++;
        if (i == len)
            text = g_convert(raw, (gssize)len, "UTF-8", "CP850", NULL, &n, NULL);
    }
    if (!text || memchr(text, '\0', n)) {
        g_free(text);
        *why = g_strdup("binary data, not a saved command output");
        return NULL;
    }
    if (n >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
        memmove(text, text + 3, n - 2);
        n -= 3;
    }
    *out_len = n;
    return text;
}

gboolean
exch_process_map_load(const char *path, char **message)
{
    char *why = NULL, *text = NULL;
    gsize raw_len = 0, len = 0;

    if (message)
        *message = NULL;
    map_clear();
    if (!path || !*path)
        return TRUE;

    char *raw = read_all(path, &raw_len, &why);
    if (!why)
        text = decode(raw, raw_len, &len, &why);
    g_free(raw);
    if (text && !text[strspn(text, " \t\r\n\f\v")])
        why = g_strdup("empty file");

    if (!why) {
        exch_pmap_parse_result_t r;
        hosts = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(hosts, NULL);
        names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        by_local = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
        addr_host = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        host_section = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        static const exch_pmap_sink_t store = { section_of, add_name, add_socket };
        exch_pmap_parse(text, len, &store, &r);
        if (!n_socks) {
            if (r.pidless)
                why = g_strdup("its connection lists name no process (netstat needs -o, ss needs -p)");
            else if (map_names())
                why = g_strdup("only process names, no netstat, Get-NetTCPConnection or ss output found");
            else
                why = g_strdup("no tasklist, netstat, Get-NetTCPConnection, Get-Process or ss output found");
            map_clear();
        } else if (r.bad) {
            why = g_strdup_printf("%u of %u lines not understood (first: line %u); the rest was loaded",
                                  r.bad, r.lines, r.first_bad);
        }
    }
    g_free(text);
    if (why && message)
        *message = g_strdup_printf("exchange.process_map: %s: %s", path, why);
    g_free(why);
    return n_socks > 0;
}

/* ---- lookup ---- */

static const char *
name_of(const sock_t *s)
{
    char key[24];
    if (s->name)
        return s->name;
    snprintf(key, sizeof key, "%u/%u", s->section, s->pid);
    return g_hash_table_lookup(names, key);
}

/* The entry for la:lport (-> ra:rport) in the given section, 0: any. */
static const sock_t *
match(const char *la, guint16 lport, const char *ra, guint16 rport, guint host)
{
    char key[ADDR_LEN + 8];
    const sock_t *local_only = NULL;
    snprintf(key, sizeof key, "%s %u", la, lport);
    GPtrArray *a = g_hash_table_lookup(by_local, key);
    for (guint i = 0; a && i < a->len; i++) {
        const sock_t *s = a->pdata[i];
        if (host && s->section + 1 != host)
            continue;
        if (!s->raddr && !local_only)
            local_only = s;
        else if (s->raddr && ra && s->rport == rport && !strcmp(s->raddr, ra))
            return s;
    }
    return local_only;
}

gboolean
exch_process_lookup(const char *local_addr, guint16 local_port, const char *remote_addr,
                    guint16 remote_port, exch_proc_entry_t *out)
{
    char la[ADDR_LEN], ra[ADDR_LEN];
    if (!n_socks || !local_addr || !exch_pmap_canon_addr(local_addr, strlen(local_addr), la))
        return FALSE;
    gboolean have_r = remote_addr && exch_pmap_canon_addr(remote_addr, strlen(remote_addr), ra);
    /* The address itself first; a listener on all addresses only after,
     * and only one of the host that has the address, when a section says. */
    const char *const tries[] = { la, strchr(la, ':') ? "::" : "0.0.0.0", "*" };
    guint host = GPOINTER_TO_UINT(g_hash_table_lookup(addr_host, la));
    for (size_t i = 0; i < G_N_ELEMENTS(tries); i++) {
        const sock_t *s = match(tries[i], local_port, have_r ? ra : NULL, remote_port, i ? host : 0);
        if (!s)
            continue;
        if (out) {
            out->process = name_of(s);
            out->pid = s->pid;
            out->host = hosts->pdata[s->section];
            out->line = s->line;
        }
        return TRUE;
    }
    return FALSE;
}

/* ---- what does not fit ---- */

static void
conn_of(const sock_t *s, exch_proc_conn_t *out)
{
    out->laddr = s->laddr;
    out->raddr = s->raddr;
    out->lport = s->lport;
    out->rport = s->rport;
    out->pid = s->pid;
    out->process = name_of(s);
    out->line = s->line;
}

gboolean
exch_process_contradiction(const char *local_addr, guint16 local_port, const char *remote_addr,
                           guint16 remote_port, exch_proc_conn_t *row)
{
    char la[ADDR_LEN], ra[ADDR_LEN], key[ADDR_LEN + 8];
    if (!n_socks || !local_addr || !remote_addr || !exch_pmap_canon_addr(local_addr, strlen(local_addr), la) ||
        !exch_pmap_canon_addr(remote_addr, strlen(remote_addr), ra))
        return FALSE;
    snprintf(key, sizeof key, "%s %u", la, local_port);
    GPtrArray *a = g_hash_table_lookup(by_local, key);
    const sock_t *other = NULL;
    for (guint i = 0; a && i < a->len; i++) {
        const sock_t *s = a->pdata[i];
        if (!s->raddr)
            continue;
        /* Any row with these ends, even a closed one's: the map knows it. */
        if (s->rport == remote_port && !strcmp(s->raddr, ra))
            return FALSE;
        if (s->pid && !other)
            other = s;
    }
    if (!other)
        return FALSE;
    if (row)
        conn_of(other, row);
    return TRUE;
}

void
exch_process_foreach_conn(void (*fn)(const exch_proc_conn_t *conn, void *data), void *data)
{
    GHashTableIter it;
    gpointer v;
    exch_proc_conn_t conn;
    if (!n_socks)
        return;
    g_hash_table_iter_init(&it, by_local);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        GPtrArray *a = v;
        for (guint i = 0; i < a->len; i++) {
            const sock_t *s = a->pdata[i];
            if (s->raddr && s->pid) {
                conn_of(s, &conn);
                fn(&conn, data);
            }
        }
    }
}
