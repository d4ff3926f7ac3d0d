/* exchange.h
 * Types shared by the files of the Exchange role plugin.
 *
 * Data flows one way: foreign fields (exchange_fields.c) -> evidence
 * (exchange_rpc.c, exchange_http.c, exchange_tls.c, exchange_attribution.c,
 * exchange_traffic.c, with the stateless exchange_dcerpc.c) -> conversation
 * state (exchange_conv.c) -> our fields and tap (packet-exchange.c,
 * exchange_stats.c).  State is built on the first pass, from the fields of
 * the protocol tree Wireshark builds for the fields we want; at the first
 * later pass (tshark -2, the GUI) the evidence files apply what the whole
 * capture taught to the connections still undecided (exch_*_late()).  Who writes
 * which part of a conversation's state is in its type (exch_conv_t).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef EXCHANGE_H
#define EXCHANGE_H

#include <math.h>
#include <wireshark.h>
#include <epan/packet.h>
#include <epan/address.h>
#include <epan/stat_tap_ui.h>
#include <wsutil/inet_addr.h>

#include "exchange_compat.h"

/* What a TCP connection does for Outlook.  Order matters only for the
 * statistics columns; values are stable (they are exchange.role_id). */
typedef enum {
    EXCH_ROLE_NONE = 0,
    EXCH_ROLE_MAILBOX,
    EXCH_ROLE_DIRECTORY,
    EXCH_ROLE_RPC_IN,
    EXCH_ROLE_RPC_OUT,
    EXCH_ROLE_EWS,
    EXCH_ROLE_AUTODISCOVER,
    EXCH_ROLE_OAB,
    EXCH_ROLE_ENDPOINT_MAPPER,
    EXCH_ROLE_UNKNOWN,
    EXCH_ROLE_COUNT
} exch_role_t;

typedef enum {
    EXCH_TRANSPORT_NONE = 0,
    EXCH_TRANSPORT_RPC_TCP,
    EXCH_TRANSPORT_RPC_HTTP,
    EXCH_TRANSPORT_MAPI_HTTP,
    EXCH_TRANSPORT_HTTPS,
    EXCH_TRANSPORT_HTTP
} exch_transport_t;

/* Ordered by strength: a stronger confidence replaces a weaker one. */
typedef enum {
    EXCH_CONF_NONE = 0,
    EXCH_CONF_INFERRED,
    EXCH_CONF_LEARNED,
    EXCH_CONF_CERTAIN
} exch_conf_t;

/* DCE/RPC interfaces we recognise.  Bit positions for exch_conv_t.ifaces. */
typedef enum {
    EXCH_IF_NONE = 0,
    EXCH_IF_EMSMDB,
    EXCH_IF_ASYNCEMSMDB,
    EXCH_IF_NSPI,
    EXCH_IF_RFR,
    EXCH_IF_EPM,
    EXCH_IF_COUNT
} exch_iface_t;

/* The RPC endpoint an RPC/HTTP channel serves (MS-RPCH: 6001, 6002, 6004). */
typedef enum {
    EXCH_TARGET_NONE = 0,
    EXCH_TARGET_MAILBOX,
    EXCH_TARGET_DIRECTORY,
    EXCH_TARGET_REFERRAL
} exch_target_t;

/* Where a connection's client process came from, best first. */
typedef enum {
    EXCH_PROC_NONE = 0,
    EXCH_PROC_HEADER,       /* User-Agent / X-ClientApplication: a name, no PID */
    EXCH_PROC_PKTAP,        /* macOS PKTAP header */
    EXCH_PROC_COMMENT,      /* packet comments: etl2pcapng "PID=", ptcpdump "PID:" */
    EXCH_PROC_MAP           /* the exchange.process_map file */
} exch_proc_source_t;

/* One process candidate from per-packet metadata, with its weight. */
typedef struct {
    guint32             pid;
    const char         *name;       /* file scope, or NULL */
    guint               weight;
    exch_proc_source_t  source;
} exch_proc_vote_t;

#define EXCH_PROC_VOTES 4

/* exchange_names.c: the shared names (data only) */
const char  *exch_iface_name(exch_iface_t i);
extern const value_string exch_role_vals[];
extern const value_string exch_proc_source_vals[];
extern const value_string exch_target_vals[];
extern const value_string exch_transport_vals[];
extern const value_string exch_conf_vals[];

typedef struct {
    address  addr;      /* file-scoped copy */
    guint16  port;
} exch_endpoint_t;

/* One piece of evidence about one TCP conversation, produced by an evidence
 * file and judged by exch_conv_offer(). */
typedef struct {
    exch_role_t      role;          /* EXCH_ROLE_NONE + CERTAIN = "proved not Exchange" */
    exch_transport_t transport;
    exch_iface_t     iface;
    guint32          ifaces;        /* every interface named (bit mask) */
    exch_conf_t      conf;
    const char      *text;          /* human-readable; copied by the offer */
    guint32          learned_from;  /* ept_map answer frame, 0 if none */
    gboolean         sender_is_client; /* the frame's sender is the client */
    gboolean         sender_is_server;
} exch_evidence_t;

/* ---- The state of one TCP conversation, in parts by writer ----
 * Each part is written by one file only, on the first pass; later passes
 * and every other file only read.  The types say so: an evidence file's
 * entry point gets the whole conversation const and a writable pointer to
 * its own part alone, so the compiler rejects a write elsewhere.  What
 * belongs to exchange_conv.c (role, transport, confidence, evidence, sides,
 * links between conversations) changes only through its entry points
 * (exch_conv_offer() and the others below). */

/* exchange_rpc.c */
typedef struct {
    guint            learned_gen;   /* learned-endpoint generation last checked */
    gboolean         dcerpc;        /* the stock dissector decoded DCE/RPC on it */
    /* The Exchange BIND/ALTER_CONTEXT waiting for the server's answer. */
    exch_iface_t     bind_iface;    /* EXCH_IF_NONE: none waiting */
    guint32          bind_ifaces;
    guint32          bind_frame;
    const char      *bind_what;     /* "BIND" or "ALTER_CONTEXT" (static) */
} exch_rpc_state_t;

/* exchange_http.c: HTTP requests and RPC/HTTP channel bodies */
typedef struct {
    gboolean         seen;          /* a (decrypted) HTTP request was seen */
    guint32          services;      /* every role seen on the connection (bit per exch_role_t) */
    const char      *server_name;   /* the first request's Host, lower case, without its port but
                                     * with the connection's when not the scheme's default
                                     * (exch_conv_server_name() falls back to the SNI) */
    const char      *client_app;    /* X-ClientApplication, else User-Agent */
    const char      *mailbox;       /* MailboxId */
    exch_target_t    target;        /* RPC/HTTP: endpoint behind the proxy */
    exch_conf_t      target_conf;
    const char      *target_evidence;
    /* The server showed itself as Exchange on this connection (first time). */
    guint32          confirmed_in;  /* frame, 0: not yet */
    const char      *confirmed_by;  /* what it sent, "answered 401 offering NTLM" */
    const char      *host;          /* Host of the first Exchange request */
    gboolean         rts_answered;  /* the server sent an RTS PDU (its channel's virtual connection) */
    /* The first request (or channel) still waiting for such an answer. */
    exch_role_t      ask_role;      /* EXCH_ROLE_NONE: none waiting */
    exch_transport_t ask_transport;
    const char      *ask_text;
    e_guid_t         cookie;        /* RPC/HTTP virtual-connection cookie */
    gboolean         have_cookie;
    /* The servers the answers name (file scope; the first named wins). */
    const char      *frontend;      /* X-FEServer */
    const char      *backend;       /* X-BEServer, else X-CalculatedBETarget */
    const char      *backend_later; /* the first other back end a later answer named, or NULL */
    guint32          backend_changed_in; /* ... and that answer's frame */
    const char      *rpc_server;    /* RPC/HTTP: the URI's <server>:<port>, the endpoint behind the proxy */
} exch_http_state_t;

/* exchange_tls.c: TLS records, host names, which way the data runs */
typedef struct {
    gboolean         seen;          /* TLS records seen */
    const char      *sni;           /* tls.handshake.extensions_server_name, lower case */
    gboolean         tls13;         /* the ServerHello chose TLS 1.3 */
    gboolean         client_finished; /* TLS 1.3: the client's Finished went by */
    guint64          app_bytes[2];  /* application data: [0] client->server, [1] back */
    guint32          app_records[2];
    guint64          run_bytes[2];  /* ... sent since the other side last sent any */
    guint32          run_records[2];
    exch_role_t      flow;          /* rpc-in/rpc-out when the data ran one way, else none */
    gboolean         flow_listed;   /* ... and it was offered for pairing */
    guint            host_gen;      /* host-list generation exchange_host() last checked */
    guint            host_facts;    /* ... and what it knew then (SNI, endpoints) */
    const char      *host_why;      /* ... and its answer (file scope), or NULL */
    const char      *server_name;   /* the SNI, with ":port" when the server port is not 443 */
} exch_tls_state_t;

/* exchange_traffic.c: the connections table's counters */
typedef struct {
    nstime_t         start_rel;     /* first frame, relative to the capture's first */
    nstime_t         last;          /* time of the last frame */
    guint32          frames;
    guint64          bytes;
    guint32          requests;      /* HTTP requests, DCE/RPC requests */
    guint32          failures;      /* failed answers (exchange_failures.c), each once */
    guint32          failed_layers; /* where they failed (bit per exch_fail_layer_t) */
    guint32          timed;         /* answers with a response time */
    double           time_sum;      /* seconds */
} exch_traffic_state_t;

/* exchange_attribution.c: the client process */
typedef struct {
    exch_proc_source_t source;
    const char      *name;          /* file scope, or NULL */
    guint32          pid;           /* 0: none known */
    const char      *host;          /* host name from the map, or NULL */
    gboolean         map_checked;   /* the process map was consulted */
    guint            map_gen;       /* ... for this generation of the map */
    exch_proc_vote_t votes[EXCH_PROC_VOTES];
    guint            n_votes;
} exch_proc_state_t;

/* Everything we know about one TCP conversation (file scope, one per
 * conversation: memory is bounded by the number of TCP conversations).
 * The fields before the parts are exchange_conv.c's. */
typedef struct exch_conv_s {
    guint32          stream;        /* tcp.stream */
    guint32          first_frame;
    guint32          opened_in;     /* the first frame, when it was the SYN or SYN+ACK; else 0 */
    nstime_t         start;         /* time of the first frame */
    exch_role_t      role;
    exch_transport_t transport;
    exch_iface_t     iface;         /* the interface that decided */
    guint32          ifaces;        /* every Exchange interface seen (mask) */
    exch_conf_t      conf;
    const char      *evidence;
    guint32          decided_in;    /* frame of the evidence that decided */
    guint32          counted_in;    /* first frame with a role: the tap fires here */
    guint32          learned_from;
    exch_endpoint_t  client;
    exch_endpoint_t  server;
    gboolean         have_endpoints;
    gboolean         sides_by_port; /* ... guessed from a well-known port, not yet seen */
    exch_endpoint_t  ends[2];       /* both ends of the first frame, while the sides are not known */
    gboolean         not_exchange;  /* a certain non-Exchange BIND was seen */
    gboolean         decided_late;  /* decided from the whole capture, after the first pass */
    /* Links to other conversations, written for both of them by
     * exch_conv_pair_channels() and exch_conv_pair_flows(), which take the
     * pair; nothing writes through them. */
    const struct exch_conv_s *peer;      /* RPC/HTTP: the other channel of the virtual connection */
    const struct exch_conv_s *flow_peer; /* TLS: the opposite one-way connection it pairs with */
    /* Health, worked out after the first pass (read on later passes only):
     * connections of the same process serving what this one serves at the
     * same time, itself included; 0 when the process is not known. */
    guint            concurrent;

    exch_rpc_state_t     rpc;
    exch_http_state_t    http;
    exch_tls_state_t     tls;
    exch_traffic_state_t traffic;
    exch_proc_state_t    proc;
} exch_conv_t;

/* Seconds between two connections' first frames, whichever came first: how
 * close together a one-way pair opened (exchange_tls.c pairs them,
 * exchange_hint.c tells of them). */
static inline double
exch_conv_start_gap(const exch_conv_t *a, const exch_conv_t *b)
{
    nstime_t d;
    nstime_delta(&d, &a->start, &b->start);
    return fabs(nstime_to_sec(&d));
}

/* Write access to the evidence files' parts of one conversation, handed
 * out by exch_conv_get() to the first pass's caller of their entry points. */
typedef struct {
    exch_rpc_state_t     *rpc;
    exch_http_state_t    *http;
    exch_tls_state_t     *tls;
    exch_traffic_state_t *traffic;
    exch_proc_state_t    *proc;
} exch_conv_parts_t;

/* One endpoint learned from an ept_map answer. */
typedef struct {
    exch_iface_t  iface;        /* the latest answer's interface */
    guint32       ifaces;       /* every interface announced here (mask) */
    address       addr;
    guint16       port;
    guint32       frame;        /* the ept_map answer */
    guint32       used_in;      /* first frame of the latest connection to it, 0 if none */
} exch_learned_t;

/* What the first pass found in one frame, kept (file scope) only for frames
 * where something happened, so later passes show the same tree and expert
 * info without re-reading foreign fields.  One record per writer, each under
 * its own key; the UI reads them read-only (exch_frame_part(..., FALSE)).
 * The flags only ever go from FALSE to TRUE. */
typedef enum {
    EXCH_FRAME_CONV,            /* exch_frame_t, written by exchange_conv.c */
    EXCH_FRAME_RPC,             /* exch_frame_rpc_t, written by exchange_rpc.c */
    EXCH_FRAME_HTTP,            /* exch_frame_http_t, written by exchange_http.c */
    EXCH_FRAME_TRAFFIC          /* exch_frame_traffic_t, written by exchange_traffic.c */
} exch_frame_key_t;

typedef struct {
    gboolean      decided;      /* evidence in this frame was taken */
    exch_role_t   previous_role;/* role before this frame */
    exch_role_t   new_role;     /* role after this frame */
    const char   *evidence;     /* the evidence taken here (file scope) */
    gboolean      updated;      /* evidence here added interfaces, role unchanged */
} exch_frame_t;

typedef struct {
    wmem_array_t *learned;      /* exch_learned_t, endpoints learned here */
    gboolean      learn_limit;  /* learning stopped here: table full */
    gboolean      bad_bind;     /* our own BIND parser met a malformed PDU */
} exch_frame_rpc_t;

typedef struct {
    const char   *request_type; /* MAPI/HTTP X-RequestType of a request in this frame */
    const char   *service;      /* Exchange service of an HTTP request in this frame */
    gboolean      updated;      /* a new service or RPC target, role unchanged */
    gboolean      bad_bind;     /* a malformed BIND inside an RPC/HTTP channel */
} exch_frame_http_t;

typedef struct {
    const char   *failure;      /* the failed answers in this frame, "; "-joined (file scope) */
    guint32       layers;       /* ... and their layers (bit per exch_fail_layer_t) */
} exch_frame_traffic_t;

/* ---- exchange_activation.c: does anything read the plugin's output in this run? ---- */
extern exch_pref_bool_t exch_pref_always;    /* analyse even where nothing reads the output */
void     exch_active_start(dissector_handle_t handle, GArray *wanted, gboolean enabled);
void     exch_active_asked(void);  /* a field looked up, a table started, Wireshark itself */
gboolean exch_active_frame(proto_tree *tree, int proto);

/* ---- exchange_fields.c: foreign fields of interest ---- */
typedef enum {
    EXCH_F_TCP_PAYLOAD = 0,
    EXCH_F_DCERPC_PKT_TYPE,
    EXCH_F_DCERPC_OPNUM,
    EXCH_F_DCERPC_BIND_UUID,
    EXCH_F_EPM_NUM_FLOORS,
    EXCH_F_EPM_UUID,
    EXCH_F_EPM_TCP_PORT,
    EXCH_F_EPM_IP,
    EXCH_F_HTTP_METHOD,
    EXCH_F_HTTP_URI,
    EXCH_F_HTTP_HOST,
    EXCH_F_HTTP_USER_AGENT,
    EXCH_F_HTTP_REQUEST_LINE,
    EXCH_F_HTTP_FILE_DATA,
    EXCH_F_DATA,
    EXCH_F_RTS_COOKIE,
    EXCH_F_TLS_SNI,
    EXCH_F_TLS_CONTENT_TYPE,
    EXCH_F_TLS_RECORD_LENGTH,
    EXCH_F_TLS_HANDSHAKE_TYPE,
    EXCH_F_TLS_SUPPORTED_VERSION,
    EXCH_F_HTTP_RESPONSE_CODE,
    EXCH_F_HTTP_RESPONSE_LINE,
    EXCH_F_HTTP_TIME,
    EXCH_F_DCERPC_TIME,
    EXCH_F_FRAME_COMMENT,
    EXCH_F_PKTAP_PID,
    EXCH_F_PKTAP_CMDNAME,
    EXCH_F_DNS_QRY_NAME,
    EXCH_F_DNS_A,
    EXCH_F_DNS_AAAA,
    EXCH_F_DCERPC_ACK_RESULT,
    EXCH_F_DCERPC_STATUS,
    EXCH_F_DCERPC_STUB,
    EXCH_F_NSPI_OPNUM,
    EXCH_F_NSPI_STATUS,
    EXCH_F_MAPI_OPNUM,
    EXCH_F_MAPI_STATUS,
    EXCH_F_COUNT
} exch_field_t;

void        exch_fields_resolve(void);
GArray     *exch_fields_wanted(void);
void        exch_fields_frame(packet_info *pinfo);
void        exch_fields_frame_done(void);
GPtrArray  *exch_field_all(proto_tree *tree, exch_field_t f);
gboolean    exch_field_uint(proto_tree *tree, exch_field_t f, guint32 *out);
/* The index-th occurrence of exch_field_all()'s answer, read by its real
 * type: FALSE/NULL (and one warning per field) for a type they cannot read. */
gboolean    exch_field_uint_at(GPtrArray *a, guint which, guint32 *out);
gboolean    exch_field_guid_at(GPtrArray *a, guint which, e_guid_t *out);
gboolean    exch_field_ipv4_at(GPtrArray *a, guint which, guint32 *out_net_order);
gboolean    exch_field_ipv6_at(GPtrArray *a, guint which, ws_in6_addr *out);
gboolean    exch_field_seconds(GPtrArray *a, guint which, double *out);
const char *exch_field_str(GPtrArray *a, guint which);
const guint8 *exch_field_bytes(GPtrArray *a, guint which, guint *len);
void        exch_field_where(GPtrArray *a, guint which, const void **source, gint *start);

/* ---- exchange_conv.c: conversation state and the decision rule ---- */
void         exch_conv_init(int proto);
/* The state of this frame's TCP conversation, created on the first pass
 * (create): then *parts, if asked, gets write access to its parts. */
const exch_conv_t *exch_conv_get(packet_info *pinfo, gboolean create, exch_conv_parts_t *parts);
const exch_conv_t *exch_conv_find(guint32 stream);
/* This frame's record under key, created (zeroed, size bytes) on the first
 * pass if create; NULL if there is none.  Only key's writer creates. */
void        *exch_frame_part(packet_info *pinfo, exch_frame_key_t key, gsize size, gboolean create);
#define EXCH_FRAME_PART(pinfo, type, key, create) ((type *)exch_frame_part((pinfo), (key), sizeof(type), (create)))
/* The only writers of exchange_conv.c's fields (first pass). */
void         exch_conv_offer(const exch_conv_t *c, packet_info *pinfo, const exch_evidence_t *ev);
void         exch_conv_set_transport(const exch_conv_t *c, exch_transport_t t);
void         exch_conv_set_endpoints(const exch_conv_t *c, packet_info *pinfo, gboolean sender_is_client);
void         exch_conv_add_ifaces(const exch_conv_t *c, guint32 ifaces);
void         exch_conv_pair_channels(const exch_conv_t *c, const exch_conv_t *first);
void         exch_conv_pair_flows(const exch_conv_t *a, const exch_conv_t *b);
void         exch_conv_confirm_peer(const exch_conv_t *c, packet_info *pinfo, const char *why);
/* After the first pass: evidence from the whole capture about a connection
 * that had none as strong (server: its server end, when the sides were not
 * known).  Judged as exch_conv_offer() judges; decided in its first frame. */
void         exch_conv_offer_late(const exch_conv_t *c, const exch_evidence_t *ev, const exch_endpoint_t *server);
/* For the late evidence: how many TCP frames the first pass has seen (the
 * evidence files redo their late work only when it changed), and the
 * conversations by stream, 0 .. exch_conv_count() - 1 (NULL gaps). */
guint32      exch_conv_first_pass_frames(void);
guint32      exch_conv_count(void);
/* Readers. */
char        *exch_endpoint_to_str(wmem_allocator_t *scope, const exch_endpoint_t *ep);
const exch_conv_t *exch_conv_target_source(const exch_conv_t *c);
const char  *exch_conv_server_name(const exch_conv_t *c);
guint32      exch_conv_ifaces(const exch_conv_t *c, exch_iface_t *main_iface);

/* ---- exchange_dcerpc.c: DCE/RPC facts (interfaces, BINDs), no state ---- */
exch_iface_t exch_dcerpc_iface(const e_guid_t *g);
exch_role_t  exch_dcerpc_iface_role(exch_iface_t i);
gboolean     exch_dcerpc_from_client(guint32 ptype);   /* a PDU type the client sends */

/* What one BIND/ALTER_CONTEXT names. */
typedef struct {
    guint32      mask;          /* Exchange interfaces named (bit per exch_iface_t) */
    exch_iface_t mailbox;       /* the first mailbox interface, or NONE */
    exch_iface_t directory;     /* the first directory interface, or NONE */
    gboolean     have_foreign;
    e_guid_t     foreign;       /* the first interface that is not Exchange's */
    const char  *what;          /* "BIND" or "ALTER_CONTEXT" */
} exch_bind_t;

void         exch_dcerpc_classify(const e_guid_t *uuids, guint n, guint8 ptype, exch_bind_t *out);
gboolean     exch_dcerpc_bind_fields(proto_tree *tree, exch_bind_t *out);

/* What a bounded walk over connection-oriented DCE/RPC PDUs in raw bytes
 * found (used where no stock dissector decoded them: X11-owned ports, the
 * body of RPC/HTTP channels). */
#define EXCH_SCAN_MAX_IFS 16
typedef struct {
    e_guid_t  uuids[EXCH_SCAN_MAX_IFS]; /* BIND/ALTER_CONTEXT abstract syntaxes */
    guint     n_uuids;
    guint8    bind_ptype;               /* 11 BIND or 14 ALTER_CONTEXT, 0 if none */
    gboolean  rts;                      /* an RTS PDU seen */
    gboolean  have_cookie;              /* RTS CONN/A1 or CONN/B1 seen */
    e_guid_t  cookie;                   /* its virtual-connection cookie */
    gboolean  malformed;                /* a PDU header or BIND lied about its size */
} exch_pdu_scan_t;

void         exch_dcerpc_scan(const guint8 *data, guint len, exch_pdu_scan_t *out);

/* ---- exchange_paths.c: which requests ask for an Exchange service, no state ---- */
/* The role a request at an Exchange endpoint asks for, else EXCH_ROLE_NONE;
 * its transport (EXCH_TRANSPORT_NONE: http or https, as the connection is)
 * and its path without the query (path, path_len). */
exch_role_t  exch_http_service(const char *method, const char *uri, exch_transport_t *transport,
                               const char **path, size_t *path_len);

/* ---- exchange_answer.c: does an HTTP answer show Exchange? No state ---- */
typedef enum {
    EXCH_ANSWER_NEUTRAL = 0,        /* says nothing either way */
    EXCH_ANSWER_CONFIRMS,           /* the server shows itself as Exchange */
    EXCH_ANSWER_CONTRADICTS         /* 404/405 or a redirect, without Exchange's signs */
} exch_answer_verdict_t;

typedef struct {
    exch_answer_verdict_t verdict;
    const char           *why;      /* "answered 401 offering NTLM" (packet scope) */
} exch_answer_t;

/* FALSE when the frame holds no final HTTP answer. */
gboolean     exch_http_answer(packet_info *pinfo, proto_tree *tree, exch_answer_t *out);

/* ---- exchange_epm.c: the towers of endpoint-mapper PDUs, no state ---- */
typedef struct {
    exch_iface_t iface;
    gboolean     have_uuid;
    guint16      port;
    guint32      ipv4;          /* network order, 0 = none or 0.0.0.0 */
} exch_tower_t;

/* exch_tower_t in wire order (packet scope), or NULL when the frame has no
 * tower; the PDU's opnum and whether it is an answer. */
wmem_array_t *exch_epm_towers(packet_info *pinfo, proto_tree *tree, guint32 *opnum, gboolean *answer);

/* What the server answered to a BIND/ALTER_CONTEXT, from the stock fields
 * or (no stock decoding) the bytes. */
typedef enum {
    EXCH_BIND_NO_ANSWER = 0,
    EXCH_BIND_ACCEPTED,         /* BIND_ACK/ALTER_CONTEXT_RESP accepting a context */
    EXCH_BIND_REFUSED           /* BIND_NAK, or every context rejected */
} exch_bind_answer_t;
exch_bind_answer_t exch_dcerpc_bind_answer(proto_tree *tree);

/* ---- exchange_rpc.c: RPC/TCP evidence (EPM answers, BINDs) ---- */
extern exch_pref_bool_t exch_pref_decode_learned;  /* hand learned ports to DCE/RPC */

void         exch_rpc_init(void);
void         exch_rpc_handoff(void);
void         exch_rpc_analyze(packet_info *pinfo, proto_tree *tree, const exch_conv_t *c, exch_rpc_state_t *own);
gboolean     exch_rpc_learned_unused(const exch_learned_t *announced);
void         exch_rpc_late(wmem_allocator_t *scratch);

/* ---- exchange_http.c: RPC/HTTP, MAPI/HTTP, EWS, Autodiscover, OAB ---- */
void         exch_http_init(void);
void         exch_http_analyze(packet_info *pinfo, proto_tree *tree, const exch_conv_t *c, exch_http_state_t *own);

/* ---- exchange_tls.c: TLS, Exchange host names, encrypted-traffic inference ---- */
extern const char *exch_pref_servers;   /* user's list of Exchange hosts/addresses */
void         exch_tls_init(void);
void         exch_tls_prefs_changed(void);
void         exch_tls_learn_host(packet_info *pinfo, const char *host, const address *at, const char *why);
void         exch_tls_analyze(packet_info *pinfo, proto_tree *tree, const exch_conv_t *c, exch_tls_state_t *own);
void         exch_tls_infer(packet_info *pinfo, const exch_conv_t *c, exch_tls_state_t *own);
void         exch_tls_dns(packet_info *pinfo, proto_tree *tree);
void         exch_tls_late(wmem_allocator_t *scratch);
gboolean     exch_tls_servers_listed(void);
const char  *exch_tls_dns_name(const address *a, wmem_allocator_t *scope);
/* Seconds between the openings of an RPC/HTTP IN and OUT channel, at most. */
#define EXCH_FLOW_PAIR_WINDOW 10.0

/* ---- exchange_hint.c: would naming servers in exchange.servers help? ---- */
void         exch_hint_init(void);
void         exch_hint_analyze(packet_info *pinfo, const exch_conv_t *c);
const char  *exch_hint_message(guint32 frame);   /* the hint on its frame, else NULL */

/* ---- exchange_failures.c: which answers of a frame failed, and where; no state ---- */
/* Layers a failed answer is put at, outermost first (the "Failed at" order). */
typedef enum {
    EXCH_FAIL_DCERPC = 0,       /* a FAULT PDU */
    EXCH_FAIL_NSPI,             /* an NSPI call's return code */
    EXCH_FAIL_EMSMDB,           /* an EMSMDB call's return code */
    EXCH_FAIL_HTTP,             /* HTTP >= 400 but 401 */
    EXCH_FAIL_MAPI_HTTP,        /* X-ResponseCode != 0 */
    EXCH_FAIL_COUNT
} exch_fail_layer_t;

typedef struct {
    guint        count;         /* failed answers */
    guint32      layers;        /* bit per exch_fail_layer_t */
    const char  *text;          /* "nspi NspiBind MAPI_E_LOGON_FAILED (0x80040111)"; packet scope, or NULL */
} exch_failures_t;

void         exch_failures_find(packet_info *pinfo, proto_tree *tree, exch_failures_t *out);
const char  *exch_fail_layer_name(exch_fail_layer_t l);

/* ---- exchange_traffic.c: the connections table's counters ---- */
void         exch_traffic_account(packet_info *pinfo, proto_tree *tree, exch_traffic_state_t *own);

/* ---- exchange_conv.c: the index of connections ---- */
void         exch_conv_reset(void);

/* ---- exchange_attribution.c: which client process owns a connection ---- */
extern const char *exch_pref_process_map;
void         exch_attr_init(void);
void         exch_attr_prefs_changed(void);
const char  *exch_attr_map_message(void);        /* the map's problem, or NULL */
/* That the map does not fit the capture, to tell on this frame, or NULL. */
const char  *exch_attr_map_misfit(packet_info *pinfo);
void         exch_attr_capture_done(void);       /* the file is closed */
void         exch_attr_analyze(packet_info *pinfo, proto_tree *tree, const exch_conv_t *c, exch_proc_state_t *own);
const char  *exch_attr_host(const exch_conv_t *c, wmem_allocator_t *scope);

/* ---- exchange_table.c: sorted rows of the -z tables, cells owning their text ---- */
typedef int (*exch_row_cmp_t)(const stat_tap_table_item_type *a, const stat_tap_table_item_type *b);
void exch_table_init(stat_tap_table_ui *ui, const char *name, int columns, void (*clear)(void));
void exch_cell_uint(stat_tap_table_item_type *row, int col, guint v);
void exch_cell_number(stat_tap_table_item_type *row, int col, int width, int decimals, double v, gboolean measured);
void exch_cell_str(stat_tap_table_item_type *row, int col, const char *s);
void exch_cell_free(stat_tap_table *t, guint row, guint col, stat_tap_table_item_type *item);
void exch_row_free(stat_tap_table *t, guint r);
guint exch_row_position(const stat_tap_table *t, const stat_tap_table_item_type *row, exch_row_cmp_t cmp,
                        gboolean *found);
stat_tap_table_item_type *exch_row_insert(stat_tap_table *t, guint columns, const stat_tap_table_item_type *cells,
                                          exch_row_cmp_t cmp);
void exch_row_remove(stat_tap_table *t, stat_tap_table_item_type *row, exch_row_cmp_t cmp);
void exch_table_empty(stat_tap_table *t);

/* ---- exchange_stats.c: -z exchange,conns, -z exchange,clients, Statistics menu ---- */
void exch_stats_register(void);

/* ---- exchange_prefs.c: the preferences' names and texts ---- */
void exch_prefs_register(int proto, void (*changed)(void));

/* ---- packet-exchange.c ---- */
void proto_register_exchange(void);
void proto_reg_handoff_exchange(void);

#endif /* EXCHANGE_H */
