/* exchange_paths.c
 * Which HTTP requests ask for an Exchange service: the method and path of
 * each endpoint Exchange serves (MAPI/HTTP, EWS, Autodiscover, OAB).  No
 * state; exchange_http.c decides what a request at one means.  (RPC/HTTP's
 * RPC_IN_DATA / RPC_OUT_DATA are told by their method there.)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

static const struct {
    const char      *prefix;     /* lower case, matched at the start of the path */
    gboolean         whole_word; /* the prefix must end at '/', '?' or the end */
    exch_role_t      role;
    exch_transport_t transport;  /* NONE: http or https, as the connection is */
    const char      *method;     /* required method, or NULL */
} services[] = {
    { "/mapi/emsmdb",   TRUE,  EXCH_ROLE_MAILBOX,      EXCH_TRANSPORT_MAPI_HTTP, "POST" },
    { "/mapi/nspi",     TRUE,  EXCH_ROLE_DIRECTORY,    EXCH_TRANSPORT_MAPI_HTTP, "POST" },
    { "/ews/",          FALSE, EXCH_ROLE_EWS,          EXCH_TRANSPORT_NONE,      NULL },
    { "/autodiscover/", FALSE, EXCH_ROLE_AUTODISCOVER, EXCH_TRANSPORT_NONE,      NULL },
    { "/oab/",          FALSE, EXCH_ROLE_OAB,          EXCH_TRANSPORT_NONE,      NULL },
};

/* Under /EWS/, /Autodiscover/ and /OAB/ only the endpoints Exchange serves
 * count, not every path a site may have there (a scanner's
 * /ews/ews/architext_query.pl): MS-OXWSCORE (Exchange.asmx, Services.wsdl
 * and its schemas), the OData API, the mailbox-move proxy (mrsproxy.svc),
 * MS-OXDSCLI and MS-OXWSADISC (Autodiscover.xml, .svc, and
 * the JSON v1.0 endpoint), MS-OXWOAB (oab.xml and the .lzx files under the
 * OAB's GUID folder).  Lower case; compared case-insensitively. */
static const char *const ews_endpoints[] = {
    "exchange.asmx", "services.wsdl", "messages.xsd", "types.xsd", "mrsproxy.svc", "um2007legacy.asmx",
};
static const char *const autodiscover_endpoints[] = {
    "autodiscover.xml", "autodiscover.svc", "autodiscover.json",
};

/* rest equals one of names, or continues it with '/' (Exchange.asmx/wssecurity,
 * autodiscover.json/v1.0/...). */
static gboolean
names_endpoint(const char *rest, size_t len, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(names[i]);
        if (len >= k && g_ascii_strncasecmp(rest, names[i], k) == 0 && (len == k || rest[k] == '/'))
            return TRUE;
    }
    return FALSE;
}

static gboolean
is_guid_text(const char *s, size_t len)
{
    if (len != 36)
        return FALSE;
    for (size_t i = 0; i < len; i++) {
        gboolean dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !g_ascii_isxdigit(s[i]))
            return FALSE;
    }
    return TRUE;
}

/* Is the path (query excluded) below a service's prefix one of its endpoints? */
static gboolean
is_endpoint(exch_role_t role, const char *path, size_t plen, size_t prefix_len)
{
    const char *rest = path + prefix_len;
    size_t len = plen - prefix_len;
    switch (role) {
    case EXCH_ROLE_EWS:
        return names_endpoint(rest, len, ews_endpoints, G_N_ELEMENTS(ews_endpoints)) ||
               (len > 6 && g_ascii_strncasecmp(rest, "odata/", 6) == 0);
    case EXCH_ROLE_AUTODISCOVER:
        return names_endpoint(rest, len, autodiscover_endpoints, G_N_ELEMENTS(autodiscover_endpoints));
    case EXCH_ROLE_OAB: {
        /* <guid>/oab.xml or <guid>/<file>.lzx */
        const char *slash = memchr(rest, '/', len);
        if (!slash || !is_guid_text(rest, (size_t)(slash - rest)))
            return FALSE;
        const char *file = slash + 1;
        size_t flen = len - (size_t)(file - rest);
        if (memchr(file, '/', flen))
            return FALSE;
        return (flen == 7 && g_ascii_strncasecmp(file, "oab.xml", 7) == 0) ||
               (flen > 4 && g_ascii_strncasecmp(file + flen - 4, ".lzx", 4) == 0);
    }
    default:
        return TRUE;
    }
}

/* The path of a request URI: origin-form as is, absolute-form without its
 * scheme and authority. */
static const char *
uri_path(const char *uri)
{
    const char *p = strstr(uri, "://");
    if (p && p < strchr(uri, '/') + 1) {
        p = strchr(p + 3, '/');
        return p ? p : "/";
    }
    return uri;
}

static gboolean
path_has_prefix(const char *path, const char *prefix, gboolean whole_word)
{
    size_t n = strlen(prefix);
    if (g_ascii_strncasecmp(path, prefix, n) != 0)
        return FALSE;
    return !whole_word || path[n] == '\0' || path[n] == '/' || path[n] == '?';
}

/* See exchange.h. */
exch_role_t
exch_http_service(const char *method, const char *uri, exch_transport_t *transport, const char **path,
                  size_t *path_len)
{
    const char *p = uri_path(uri);
    size_t plen = strcspn(p, "?");
    for (size_t i = 0; i < G_N_ELEMENTS(services); i++) {
        if (!path_has_prefix(p, services[i].prefix, services[i].whole_word))
            continue;
        if (services[i].method && strcmp(method, services[i].method) != 0)
            continue;
        if (!is_endpoint(services[i].role, p, plen, strlen(services[i].prefix)))
            continue;
        *transport = services[i].transport;
        *path = p;
        *path_len = plen;
        return services[i].role;
    }
    return EXCH_ROLE_NONE;
}
