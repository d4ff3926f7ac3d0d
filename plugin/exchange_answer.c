/* exchange_answer.c
 * Does an HTTP answer show that the server is Exchange?  No state: it reads
 * one frame's answer and says whether it confirms the service a request
 * asked for, contradicts it, or says nothing either way.
 *
 * Confirms (what Exchange's front end and its virtual directories send):
 *   - one of Exchange's response headers: X-FEServer, X-BEServer,
 *     X-CalculatedBETarget, X-DiagInfo, X-MS-Diagnostics, X-ResponseCode
 *     (MAPI/HTTP, MS-OXCMAPIHTTP 2.2.3.3), request-id;
 *   - a 401 offering Negotiate or NTLM (IIS's Windows authentication, which
 *     Exchange's virtual directories use);
 *   - an Autodiscover or EWS SOAP/WSDL body (Exchange's XML namespaces).
 * Contradicts: a 404 or 405, or a redirect, without any of the above (a web
 * server that does not serve the path, or sends the client to another
 * product's login page).  Anything else (a 200 from a server without
 * Exchange's headers, a 500) leaves the request as it was.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "exchange"
#include "exchange.h"

#define BODY_SCAN_MAX 4096      /* the namespace is in an answer's first bytes */

static const char *const exchange_headers[] = {
    "X-FEServer", "X-BEServer", "X-CalculatedBETarget", "X-DiagInfo", "X-MS-Diagnostics", "X-ResponseCode",
    "request-id",
};

/* "Name: value" of one response line -> whether it is name's. */
static gboolean
is_header(const char *line, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (g_ascii_strncasecmp(line, name, n) != 0 || line[n] != ':')
        return FALSE;
    *value = line + n + 1;
    while (**value == ' ' || **value == '\t')
        (*value)++;
    return TRUE;
}

/* The first Exchange header of the answer, a Windows-authentication offer
 * (401 only), and the Location of a redirect. */
static void
read_headers(GPtrArray *lines, guint code, const char **exchange, const char **auth, const char **location,
             packet_info *pinfo)
{
    for (guint i = 0; lines && i < lines->len; i++) {
        const char *l = exch_field_str(lines, i), *v;
        if (!l)
            continue;
        for (size_t k = 0; !*exchange && k < G_N_ELEMENTS(exchange_headers); k++) {
            if (is_header(l, exchange_headers[k], &v))
                *exchange = exchange_headers[k];
        }
        if (code == 401 && !*auth && is_header(l, "WWW-Authenticate", &v)) {
            if (g_ascii_strncasecmp(v, "Negotiate", 9) == 0)
                *auth = "Negotiate";
            else if (g_ascii_strncasecmp(v, "NTLM", 4) == 0)
                *auth = "NTLM";
        }
        if (!*location && is_header(l, "Location", &v))
            *location = wmem_strndup(pinfo->pool, v, MIN(strcspn(v, "\r\n"), 80));
    }
}

static gboolean
exchange_body(proto_tree *tree)
{
    GPtrArray *bodies = exch_field_all(tree, EXCH_F_HTTP_FILE_DATA);
    for (guint i = 0; bodies && i < bodies->len; i++) {
        const char *body = exch_field_str(bodies, i);
        if (body && g_strstr_len(body, BODY_SCAN_MAX, "schemas.microsoft.com/exchange/"))
            return TRUE;
    }
    return FALSE;
}

/* See exchange.h. */
gboolean
exch_http_answer(packet_info *pinfo, proto_tree *tree, exch_answer_t *out)
{
    memset(out, 0, sizeof *out);
    GPtrArray *codes = exch_field_all(tree, EXCH_F_HTTP_RESPONSE_CODE);
    guint32 code = 0;
    for (guint i = 0; codes && i < codes->len && code < 200; i++) {
        if (!exch_field_uint_at(codes, i, &code))
            code = 0;
    }
    if (code < 200)     /* none, or only 100 Continue */
        return FALSE;

    const char *exchange = NULL, *auth = NULL, *location = NULL;
    read_headers(exch_field_all(tree, EXCH_F_HTTP_RESPONSE_LINE), code, &exchange, &auth, &location, pinfo);
    if (exchange) {
        out->verdict = EXCH_ANSWER_CONFIRMS;
        out->why = wmem_strdup_printf(pinfo->pool, "answered %u with %s", code, exchange);
    } else if (auth) {
        out->verdict = EXCH_ANSWER_CONFIRMS;
        out->why = wmem_strdup_printf(pinfo->pool, "answered 401 offering %s", auth);
    } else if (code < 300 && exchange_body(tree)) {
        out->verdict = EXCH_ANSWER_CONFIRMS;
        out->why = wmem_strdup_printf(pinfo->pool, "answered %u with an Exchange XML body", code);
    } else if (code == 404 || code == 405) {
        out->verdict = EXCH_ANSWER_CONTRADICTS;
        out->why = wmem_strdup_printf(pinfo->pool, "answered %u without Exchange headers", code);
    } else if (code >= 300 && code < 400) {
        out->verdict = EXCH_ANSWER_CONTRADICTS;
        out->why = wmem_strdup_printf(pinfo->pool, "redirected (%u) to %s without Exchange headers", code,
                                      location ? location : "?");
    } else {
        out->verdict = EXCH_ANSWER_NEUTRAL;
        out->why = wmem_strdup_printf(pinfo->pool, "answered %u without Exchange headers", code);
    }
    return TRUE;
}
