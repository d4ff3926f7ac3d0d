/* exchange_process_parse.c
 * Reading the process map's text: which lines are tasklist, netstat,
 * PowerShell or ss output, and what each row says (exchange_process.c
 * keeps what is read and answers lookups).
 *
 * One text file holds any mix, in any order and UI language, of tasklist
 * (table, /FO CSV), netstat -ano / -anob, PowerShell Get-Process and
 * Get-NetTCPConnection (table, Export-Csv) and ss -tnp; "#host NAME" lines
 * start a section, so several machines' outputs can be concatenated
 * without their PIDs mixing.  Lines are recognised by shape, never by file
 * name or translated words: netstat and ss rows by protocol or state word
 * and two endpoints, tables by their ruler ("====" tasklist, "----"
 * PowerShell) and PowerShell's untranslated property names, CSV by its
 * header.  A line that is none of these, nor a title, prompt echo or
 * comment, is "not understood"; the rest of the file still loads.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange_process_int.h"

#include <string.h>

#define MAX_TOKS      64        /* more words than any row we read has */
#define MAX_COLS      64
#define MAX_CSV       1024      /* Get-Process | Export-Csv has ~70 columns */
#define ADDR_LEN      EXCH_PMAP_ADDR_LEN
#define BLANKS        " \t\r"

/* ---- numbers and endpoints ---- */

/* A decimal number of up to 10 digits, no sign or blanks, at most max. */
static gboolean
parse_num(const char *s, size_t len, guint64 max, guint64 *out)
{
    guint64 v = 0;
    if (len == 0 || len > 10)
        return FALSE;
    for (size_t i = 0; i < len; i++) {
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
        v = v * 10 + (guint64)(s[i] - '0');
    }
    *out = v;
    return v <= max;
}

static gboolean
all_digits(const char *s, size_t len)
{
    guint64 v;
    return parse_num(s, len, G_MAXUINT64, &v);
}

/* "1.2.3.4:80", "[v6]:80", "v6:80" (old ss), "*:*"; *port is -1 for "*".
 * The port follows the last colon in every form. */
static gboolean
parse_endpoint(const char *s, size_t len, char addr[ADDR_LEN], int *port)
{
    guint64 v;
    const char *colon = g_strrstr_len(s, (gssize)len, ":");
    if (!colon)
        return FALSE;
    size_t plen = len - (size_t)(colon + 1 - s);
    if (plen == 1 && colon[1] == '*')
        *port = -1;
    else if (parse_num(colon + 1, plen, 65535, &v))
        *port = (int)v;
    else
        return FALSE;
    return exch_pmap_canon_addr(s, (size_t)(colon - s), addr);
}

/* ---- lines ---- */

enum { R_PID, R_NAME, R_LADDR, R_LPORT, R_RADDR, R_RPORT, R_COUNT };
enum { MODE_NONE, MODE_RULED, MODE_CSV };

typedef struct { guint col, ecol; } span_t;         /* character columns [col, ecol) */
typedef struct { const char *s; size_t len; guint col, ecol; } tok_t;

typedef struct {
    const char *end;            /* of the text */
    const char *prev;           /* the last non-blank line */
    guint    section;
    int      mode;              /* the table whose rows may follow */
    int      col[R_COUNT];      /* its ruler run or CSV field per role, -1: none */
    span_t   spans[MAX_COLS];
    guint    nspans, ncsv;
    gboolean has_b;             /* the file holds netstat -b output */
    guint    row_line;          /* line of the last netstat row */
    gboolean row_has_pid;
    guint32  row_pid;
    guint    pidless;           /* connection rows that name no owner */
    const exch_pmap_sink_t *sink;   /* where the rows go */
} parser_t;

/* Words with their character columns, so that UTF-8 image names do not
 * shift the columns of a table. */
static guint
tokenize(const char *l, tok_t *t)
{
    guint n = 0, col = 0;
    const char *q = l;
    while (*q && n < MAX_TOKS) {
        for (; *q && strchr(BLANKS, *q); q++)
            col++;
        if (!*q)
            break;
        t[n].s = q;
        t[n].col = col;
        for (; *q && !strchr(BLANKS, *q); q++)
            if (((guchar)*q & 0xC0) != 0x80)
                col++;
        t[n].len = (size_t)(q - t[n].s);
        t[n++].ecol = col;
    }
    return n;
}

static gboolean
tok_is(const tok_t *t, const char *w)
{
    return t->len == strlen(w) && !g_ascii_strncasecmp(t->s, w, t->len);
}

static const char *
next_line(const parser_t *p, const char *l)
{
    const char *q = l + strlen(l) + 1;
    return q < p->end ? q : NULL;
}

/* The store's writers, with this parser's section; PID 0 owns only
 * TIME_WAIT leftovers and "*" is no local port: neither is an owner. */
static void
add_name(const parser_t *p, guint32 pid, const char *name, size_t len)
{
    p->sink->add_name(p->section, pid, name, len);
}

static void
add_socket(parser_t *p, const char *la, int lport, const char *ra, int rport,
           guint64 pid, const char *name, size_t name_len, guint line)
{
    if (pid == 0 || lport < 0) {
        p->pidless++;
        return;
    }
    p->sink->add_socket(p->section, la, lport, ra, rport, (guint32)pid, name, name_len, line);
}

/* "  TCP  192.168.2.56:50701  192.168.2.50:443  ESTABLISHED  4028": the
 * state is translated, so it is skipped; -t adds an offload state after
 * the PID.  p NULL: only tell whether l is such a row. */
static gboolean
netstat_row(parser_t *p, const tok_t *t, guint n, guint line)
{
    char la[ADDR_LEN], ra[ADDR_LEN];
    int lport, rport;
    guint64 pid = 0;
    gboolean have_pid = FALSE;
    gboolean tcp = n >= 3 && (tok_is(&t[0], "TCP") || tok_is(&t[0], "TCPv6"));

    if (n < 3 || (!tcp && !tok_is(&t[0], "UDP") && !tok_is(&t[0], "UDPv6"))
        || !parse_endpoint(t[1].s, t[1].len, la, &lport) || !parse_endpoint(t[2].s, t[2].len, ra, &rport))
        return FALSE;
    if (!p)
        return TRUE;
    for (guint i = 3; i < n && !have_pid; i++)
        have_pid = parse_num(t[i].s, t[i].len, G_MAXUINT32, &pid);
    p->row_line = line;
    p->row_has_pid = have_pid;
    p->row_pid = (guint32)pid;
    if (tcp && have_pid)
        add_socket(p, la, lport, ra, rport, pid, NULL, 0, line);
    else if (tcp)
        p->pidless++;
    return TRUE;
}

static gboolean
looks_netstat(const char *l)
{
    tok_t t[MAX_TOKS];
    guint n = tokenize(l, t);
    return netstat_row(NULL, t, n, 0);
}

static gboolean
is_ss_state(const tok_t *t)
{
    static const char *const states[] = {
        "ESTAB", "LISTEN", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT",
        "CLOSE-WAIT", "LAST-ACK", "CLOSING", "CLOSED", "UNCONN", "UNKNOWN",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(states); i++)
        if (tok_is(t, states[i]))
            return TRUE;
    return FALSE;
}

/* "ESTAB 0 0 192.168.2.56:50701 192.168.2.50:443 users:(("evolution",pid=2201,fd=31))",
 * after a Netid column ("tcp") when -t was not given. */
static gboolean
ss_row(parser_t *p, const tok_t *t, guint n, guint line)
{
    char la[ADDR_LEN], ra[ADDR_LEN];
    int lport, rport;
    guint64 pid;
    guint i = 0;
    gboolean tcp = TRUE;

    if (n >= 2 && !is_ss_state(&t[0]) && is_ss_state(&t[1])) {
        for (size_t k = 0; k < t[0].len; k++)
            if (!g_ascii_islower(t[0].s[k]) && t[0].s[k] != '_')
                return FALSE;
        tcp = tok_is(&t[0], "tcp");
        i = 1;
    }
    if (n < i + 5 || !is_ss_state(&t[i]) || !all_digits(t[i + 1].s, t[i + 1].len)
        || !all_digits(t[i + 2].s, t[i + 2].len) || !parse_endpoint(t[i + 3].s, t[i + 3].len, la, &lport)
        || !parse_endpoint(t[i + 4].s, t[i + 4].len, ra, &rport))
        return FALSE;
    /* The first of the users; a name may hold blanks ("Web Content"). */
    const char *u = strstr(t[i + 4].s + t[i + 4].len, "users:((\"");
    const char *name = u ? u + 9 : NULL;
    const char *end = name ? strstr(name, "\",pid=") : NULL;
    if (end && parse_num(end + 6, strspn(end + 6, "0123456789"), G_MAXUINT32, &pid)) {
        add_name(p, (guint32)pid, name, (size_t)(end - name));
        if (tcp)
            add_socket(p, la, lport, ra, rport, pid, name, (size_t)(end - name), line);
    } else if (tcp) {
        p->pidless++;       /* no -p, or no root for others' sockets */
    }
    return TRUE;
}

/* The columns we need from a PowerShell table or CSV, by property names,
 * which PowerShell does not translate.  FALSE: none of our tables. */
static gboolean
map_roles(int col[R_COUNT], char *const *heads, guint n)
{
    static const char *const props[R_COUNT] = {
        "OwningProcess", NULL, "LocalAddress", "LocalPort", "RemoteAddress", "RemotePort",
    };
    int id = -1, pname = -1, name = -1;
    for (int r = 0; r < R_COUNT; r++)
        col[r] = -1;
    for (guint i = 0; i < n; i++) {
        if (!heads[i])
            continue;
        for (int r = 0; r < R_COUNT; r++)
            if (props[r] && col[r] < 0 && !g_ascii_strcasecmp(heads[i], props[r]))
                col[r] = (int)i;
        if (!g_ascii_strcasecmp(heads[i], "Id") && id < 0)
            id = (int)i;
        else if (!g_ascii_strcasecmp(heads[i], "ProcessName") && pname < 0)
            pname = (int)i;
        else if (!g_ascii_strcasecmp(heads[i], "Name") && name < 0)
            name = (int)i;
    }
    if (col[R_LADDR] >= 0)      /* a connection list, perhaps without OwningProcess */
        return col[R_LPORT] >= 0;
    if (col[R_PID] < 0)
        col[R_PID] = id;
    col[R_NAME] = pname >= 0 ? pname : name;
    return col[R_PID] >= 0 && col[R_NAME] >= 0;
}

/* One row of a table or CSV whose columns are known; f[role] NULL: absent. */
static gboolean
table_row(parser_t *p, char *const f[R_COUNT], guint line)
{
    char la[ADDR_LEN], ra[ADDR_LEN];
    guint64 pid = 0, lport, rport = 0;
    gboolean have_pid = f[R_PID] && *f[R_PID];

    if (have_pid && !parse_num(f[R_PID], strlen(f[R_PID]), G_MAXUINT32, &pid))
        return FALSE;
    if (p->col[R_LADDR] < 0) {
        if (!have_pid || !f[R_NAME])
            return FALSE;
        add_name(p, (guint32)pid, f[R_NAME], strlen(f[R_NAME]));
        return TRUE;
    }
    if (!f[R_LADDR] || !f[R_LPORT] || !exch_pmap_canon_addr(f[R_LADDR], strlen(f[R_LADDR]), la)
        || !parse_num(f[R_LPORT], strlen(f[R_LPORT]), 65535, &lport))
        return FALSE;
    gboolean have_r = f[R_RADDR] && f[R_RPORT] && exch_pmap_canon_addr(f[R_RADDR], strlen(f[R_RADDR]), ra)
                      && parse_num(f[R_RPORT], strlen(f[R_RPORT]), 65535, &rport);
    if (have_pid)
        add_socket(p, la, (int)lport, have_r ? ra : NULL, (int)rport, pid, NULL, 0, line);
    else
        p->pidless++;
    return TRUE;
}

/* A ruler: runs of '=' (tasklist) or '-' (PowerShell) between blanks.
 * Returns the character, or 0 when the line is none. */
static char
ruler(const char *l, span_t *sp, guint *nsp)
{
    char c = 0;
    guint n = 0, col = 0;
    for (const char *q = l; *q; ) {
        if (strchr(BLANKS, *q)) {
            q++;
            col++;
            continue;
        }
        if ((*q != '=' && *q != '-') || (c && *q != c) || n == MAX_COLS)
            return 0;
        c = *q;
        sp[n].col = col;
        for (; *q == c; q++)
            col++;
        sp[n].ecol = col;
        if (col - sp[n++].col < 2)
            return 0;
    }
    *nsp = n;
    return c;
}

/* The text under ruler run j: the words overlapping it (values are left- or
 * right-aligned to their header, so they always overlap its run); the last
 * column runs to the end of the line, for names with blanks. */
static char *
ruled_field(const tok_t *t, guint n, const span_t *sp, guint nsp, guint j)
{
    const char *b = NULL, *e = NULL;
    for (guint i = 0; i < n; i++) {
        if (t[i].ecol <= sp[j].col || (j + 1 < nsp && t[i].col >= sp[j].ecol))
            continue;
        if (!b)
            b = t[i].s;
        e = t[i].s + t[i].len;
    }
    return b ? g_strndup(b, (gsize)(e - b)) : NULL;
}

/* A header followed by its ruler.  tasklist's header is translated, but
 * its first two columns are always image name and PID. */
static void
ruled_table(parser_t *p, const char *head, const span_t *sp, guint nsp, char c)
{
    tok_t t[MAX_TOKS];
    char *heads[MAX_COLS] = { NULL };
    int col[R_COUNT];
    gboolean ok = nsp >= 2;

    if (c == '=') {
        for (int r = 0; r < R_COUNT; r++)
            col[r] = r == R_NAME ? 0 : r == R_PID ? 1 : -1;
    } else {
        guint n = tokenize(head, t);
        for (guint j = 0; j < nsp; j++)
            heads[j] = ruled_field(t, n, sp, nsp, j);
        ok = map_roles(col, heads, nsp);
        for (guint j = 0; j < nsp; j++)
            g_free(heads[j]);
    }
    p->mode = ok ? MODE_RULED : MODE_NONE;
    memcpy(p->col, col, sizeof col);
    memcpy(p->spans, sp, nsp * sizeof *sp);
    p->nspans = nsp;
}

static gboolean
ruled_row(parser_t *p, const tok_t *t, guint n, guint line)
{
    char *f[R_COUNT] = { NULL };
    for (int r = 0; r < R_COUNT; r++)
        if (p->col[r] >= 0)
            f[r] = ruled_field(t, n, p->spans, p->nspans, (guint)p->col[r]);
    gboolean ok = table_row(p, f, line);
    for (int r = 0; r < R_COUNT; r++)
        g_free(f[r]);
    return ok;
}

/* Fields of a CSV line ("" in quotes is a quote), or NULL if it is none. */
static GPtrArray *
csv_split(const char *s)
{
    GPtrArray *f = g_ptr_array_new_with_free_func(g_free);
    for (;;) {
        GString *v = g_string_new(NULL);
        if (*s == '"') {
            for (s++; *s && (*s != '"' || s[1] == '"'); s++) {
                if (*s == '"')
                    s++;                /* "" */
                g_string_append_c(v, *s);
            }
            s = *s ? s + 1 : "!";       /* unterminated: not CSV */
        } else {
            for (; *s && *s != ','; s++)
                g_string_append_c(v, *s);
        }
        g_ptr_array_add(f, g_strstrip(g_string_free(v, FALSE)));
        if (*s != ',' || f->len == MAX_CSV)
            break;
        s++;
    }
    if (*s) {
        g_ptr_array_free(f, TRUE);
        return NULL;
    }
    return f;
}

static gboolean
csv_line(parser_t *p, const char *l, guint line)
{
    int col[R_COUNT];
    char *f[R_COUNT];
    guint64 pid;
    GPtrArray *a = csv_split(l);
    if (!a)
        return FALSE;
    char **v = (char **)a->pdata;
    guint n = a->len;
    gboolean ok = TRUE;

    for (int r = 0; r < R_COUNT; r++)
        f[r] = p->mode == MODE_CSV && p->col[r] >= 0 && (guint)p->col[r] < n ? v[p->col[r]] : NULL;
    if (map_roles(col, v, n)) {
        memcpy(p->col, col, sizeof col);
        p->mode = MODE_CSV;
        p->ncsv = n;
    } else if (p->mode == MODE_CSV && n == p->ncsv && table_row(p, f, line)) {
        /* a row of the PowerShell CSV */
    } else if (n >= 5 && parse_num(v[1], strlen(v[1]), G_MAXUINT32, &pid)) {
        add_name(p, (guint32)pid, v[0], strlen(v[0]));     /* tasklist /FO CSV */
    } else if (n >= 5 && *v[0] && *v[1]) {
        p->mode = MODE_NONE;                                /* its header, any language */
    } else {
        ok = FALSE;
    }
    g_ptr_array_free(a, TRUE);
    return ok;
}

/* tasklist /NH, with neither header nor ruler: "name words  PID  session
 * name  session#  memory unit". */
static gboolean
tasklist_row(parser_t *p, const tok_t *t, guint n)
{
    guint64 pid;
    if (n < 6 || t[n - 1].len > 3 || all_digits(t[n - 1].s, t[n - 1].len) || !g_ascii_isdigit(t[n - 2].s[0]))
        return FALSE;
    for (guint k = 1; k + 5 <= n; k++) {
        if (parse_num(t[k].s, t[k].len, G_MAXUINT32, &pid) && !all_digits(t[k + 1].s, t[k + 1].len)
            && all_digits(t[k + 2].s, t[k + 2].len)) {
            add_name(p, (guint32)pid, t[0].s, (size_t)(t[k - 1].s + t[k - 1].len - t[0].s));
            return TRUE;
        }
    }
    return FALSE;
}

/* The echo of a prompt: "C:\Users\alice>netstat -ano", "PS C:\> Get-Process",
 * "$ ss -tnp", "alice@pc:~$ ss -tnp", "[alice@pc ~]$ ss -tnp". */
static gboolean
is_prompt(const char *s)
{
    size_t w = strcspn(s, BLANKS);
    if ((g_ascii_isalpha(s[0]) && s[1] == ':' && s[2] == '\\') || g_str_has_prefix(s, "PS "))
        return strchr(s, '>') != NULL;
    if (w && s[w - 1] == '$' && (w == 1 || memchr(s, '@', w)))
        return TRUE;
    return s[0] == '[' && strstr(s, "]$ ") && strchr(s, '@');
}

/* netstat's title and header in any language ("Aktive Verbindungen",
 * "Proto  Lokale Adresse ..."): lines without digits leading to its rows.
 * Such a line after a row is garbage among the rows, not a heading. */
static gboolean
is_netstat_heading(const parser_t *p, const char *s, const char *next, guint n)
{
    guint seen = 0;
    if (!g_ascii_strncasecmp(s, "Proto", 5) && (!s[5] || strchr(BLANKS, s[5])))
        return TRUE;
    if (n > 8 || strpbrk(s, "0123456789") || (p->prev && looks_netstat(p->prev)))
        return FALSE;
    for (const char *q = next; q && seen < 3; q = next_line(p, q)) {
        const char *qs = q + strspn(q, BLANKS);
        if (!*qs)
            continue;
        if (looks_netstat(q) || !g_ascii_strncasecmp(qs, "Proto ", 6))
            return TRUE;
        if (strpbrk(q, "0123456789"))
            return FALSE;
        seen++;
    }
    return FALSE;
}

/* One non-blank line, right-trimmed; next is the untrimmed line after it.
 * FALSE: not understood. */
static gboolean
classify(parser_t *p, const char *l, const char *next, guint line, gboolean *skip_next)
{
    tok_t t[MAX_TOKS];
    span_t sp[MAX_COLS];
    guint nsp = 0;
    char c;
    const char *s = l + strspn(l, BLANKS);
    size_t len = strlen(s);

    if (s[0] == '#') {
        if (!g_ascii_strncasecmp(s, "#host", 5) && s[5] && strchr(BLANKS, s[5]) && s[6]) {
            p->section = p->sink->section(s + 6 + strspn(s + 6, BLANKS));
            p->mode = MODE_NONE;
        }
        return TRUE;    /* a marker, a comment, or Export-Csv's #TYPE line */
    }
    if (is_prompt(s)) {
        p->mode = MODE_NONE;
        return TRUE;
    }
    guint n = tokenize(l, t);
    if (netstat_row(p, t, n, line) || ss_row(p, t, n, line))
        return TRUE;
    if (next && (c = ruler(next, sp, &nsp)) != 0) {
        ruled_table(p, l, sp, nsp, c);
        *skip_next = TRUE;          /* the header's ruler, read now */
        return TRUE;
    }
    if ((c = ruler(l, sp, &nsp)) != 0) {
        ruled_table(p, "", sp, nsp, c);
        return TRUE;
    }
    if ((s[0] == '"' && csv_line(p, s, line)) || (p->mode == MODE_RULED && ruled_row(p, t, n, line))
        || tasklist_row(p, t, n))
        return TRUE;
    if (p->row_line && line - p->row_line <= 3) {
        if (len > 2 && s[0] == '[' && s[len - 1] == ']') {
            if (p->row_has_pid)         /* netstat -b: " [OUTLOOK.EXE]" */
                add_name(p, p->row_pid, s + 1, len - 2);
            return TRUE;
        }
        /* -b also prints component names and "Can not obtain ownership
         * information" (translated) there. */
        if (p->has_b)
            return TRUE;
    }
    if ((strstr(s, "Recv-Q") && strstr(s, "Send-Q")) || is_netstat_heading(p, s, next, n)) {
        p->mode = MODE_NONE;
        return TRUE;
    }
    return FALSE;
}

static guint
parse_lines(parser_t *p, char *text, guint *nlines, guint *first_bad)
{
    guint bad = 0, line = 0;
    gboolean skip = FALSE;
    for (char *l = text, *next; l; l = next) {
        next = (char *)next_line(p, l);     /* before trimming shortens l */
        size_t len = strlen(l);
        line++;
        while (len && strchr(BLANKS, l[len - 1]))
            l[--len] = '\0';
        if (skip) {                         /* the ruler, read with its header */
            skip = FALSE;
            continue;
        }
        if (g_str_has_prefix(l, "\xEF\xBB\xBF"))
            l += 3;                         /* a BOM where two files were joined */
        if (!l[strspn(l, BLANKS)])
            continue;
        if (!classify(p, l, next, line, &skip) && !bad++)
            *first_bad = line;
        p->prev = l;
    }
    *nlines = line;
    return bad;
}

void
exch_pmap_parse(char *text, size_t len, const exch_pmap_sink_t *sink, exch_pmap_parse_result_t *r)
{
    parser_t p;
    memset(&p, 0, sizeof p);
    memset(r, 0, sizeof *r);
    p.sink = sink;
    p.end = text + len;
    p.has_b = strstr(text, "\n [") != NULL;    /* netstat -b's " [OUTLOOK.EXE]" */
    for (char *q = text; (q = memchr(q, '\n', (size_t)(p.end - q))) != NULL; )
        *q++ = '\0';           /* lines become strings; next_line() steps over the NUL */
    r->bad = parse_lines(&p, text, &r->lines, &r->first_bad);
    r->pidless = p.pidless;
}
