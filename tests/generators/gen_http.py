#!/usr/bin/python3
"""Generate the HTTP-borne test captures: RPC over HTTP, MAPI over HTTP, EWS, Autodiscover, OAB.

Real stacks on loopback: Python's http.client and ssl (TLS 1.2; a self-signed certificate per host
name, made with the openssl CLI at run time; the client's key log comes from
SSLContext.keylog_filename), impacket's RPC over HTTP v2 client (transport.HTTPTransport, that is
rpch.RPCProxyClient with impacket's NTLM), and small threaded responders written here. dumpcap records
lo, and gen_rpc_tcp.rewrite() turns it into client 192.168.2.56 (ports 50701, 50702, ... in SYN order)
and server 192.168.2.50 (ports 443/80 unchanged). Host names resolve to 127.0.0.1 inside this process
only, so SNI and Host headers carry the real names.

"keys" captures are pcapng with a Decryption Secrets Block (editcap --inject-secrets); their -nokeys
twins hold the same packets without it.

Run as root (ports 80/443 and capturing on lo need it), with Debian's python3:
    sudo /usr/bin/python3 tests/generators/gen_http.py [scenario ...]

Scenarios (one capture each, named <scenario>.pcap or .pcapng; see test-captures/README.md).
"conn n" is the n-th TCP connection, i.e. tcp.stream n-1.
    mapi-http-outlook   TLS, keys, SNI mail.contoso.com.
                        conn 1: POST /mapi/emsmdb/?MailboxId=...: Connect, Execute, Execute (answered
                                X-ResponseCode 10), NotificationWait (held 1.5 s, while conn 2 runs)
                        conn 2: POST /mapi/nspi/?MailboxId=...: Bind, GetMatches, QueryRows, Unbind
    mapi-http-outlook-nokeys  the same packets, no secrets
    mapi-http-cleartext the same exchange on port 80
    mapi-http-midstream mapi-http-cleartext without the frames of conn 1 that precede its first
                        Execute request (handshake, Connect request and response)
    rpc-http-outlook    TLS, keys, SNI mail.contoso.com; impacket's client, NTLM. Each channel: a
                        401 NTLM leg and then the channel request on the same TCP connection.
                        conn 1: RPC_IN_DATA ...:6001, CONN/B1, BIND EMSMDB, EcDoConnectEx, three
                                EcDoRpcExt2 (Inbox table reads)
                        conn 2: RPC_OUT_DATA ...:6001, CONN/A1; CONN/A3, CONN/C2, BIND_ACK, responses
                        conn 3, 4: the same to ...:6004 binding NSPI (NspiBind, GetMatches, QueryRows)
    rpc-http-outlook-nokeys   the same packets, no secrets
    rpc-http-referral   TLS, keys, SNI mail.contoso.com; impacket's client, NTLM. Profile start's
                        referral: conn 1: RPC_IN_DATA ...:6002, CONN/B1, BIND RFR, RfrGetNewDSA;
                        conn 2: RPC_OUT_DATA ...:6002, CONN/A1; CONN/A3, CONN/C2, BIND_ACK, response
    rpc-http-port-mismatch    port 80; conn 1, 2: IN/OUT to ...:6004 whose IN channel binds EMSMDB;
                        conn 3: one RPC_IN_DATA echo request (Content-Length 0) and its echo response
    rpc-http-kerberos   port 80; impacket's client with Authorization: Negotiate (a Kerberos AP-REQ) in
                        each channel request, no 401 leg: conn 1: RPC_IN_DATA ...:6001, CONN/B1, BIND
                        EMSMDB, EcDoConnectEx; conn 2: RPC_OUT_DATA, CONN/A1; CONN/A3, CONN/C2, BIND_ACK
    ews-autodiscover    TLS, keys. conn 1 (SNI autodiscover.contoso.com): POST
                        /autodiscover/autodiscover.xml; conn 2 (SNI mail.contoso.com): POST
                        /EWS/Exchange.asmx GetUserAvailability, GET /OAB/<guid>/oab.xml;
                        conn 3 (SNI mail.contoso.com): GET /autodiscover/autodiscover.json?...
    ews-autodiscover-nokeys   the same packets, no secrets
    oab-download        TLS, keys, SNI mail.contoso.com. conn 1 (Outlook): POST /EWS/Exchange.asmx
                        GetUserAvailability; conn 2 (Outlook): GET /OAB/<guid>/oab.xml; conn 3 (BITS):
                        HEAD and ranged GET of /OAB/<guid>/<guid>-data-42.lzx
    oab-lookalike-negative    TLS, keys, SNI downloads.example.net: oab-download's clients fetching
                        paths that only look like /OAB/ (/oabackup/, /OAB-mirror/, /files/OAB/)
    https-browsing-negative   TLS, keys. conn 1 (www.example.org): GET /, /style.css,
                        /api/items?page=2; conn 2 (cdn.example.net): GET /img/logo.png
    http-lookalike-negative   port 80, Host api.example.net, one connection: Exchange words in paths
                        that do not start with an Exchange prefix
    sni-lookalike-negative    TLS, no keys: GET / to api.autodiscover-tools.example.net,
                        myautodiscover.example.com, outlook.office365.com.evil.example
    exchange-online-nokeys    TLS, no keys, Exchange Online names: conn 1 (autodiscover-s.outlook.com)
                        GET /autodiscover/autodiscover.json; conn 2 (outlook.office365.com) POST /EWS/
    http-server-errors  port 80, Host mail.contoso.com, Exchange failing. conn 1: POST /mapi/emsmdb/
                        Connect (200), Execute answered 503 Service Unavailable, Execute (200);
                        conn 2: POST /EWS/Exchange.asmx with NTLM: the NEGOTIATE answered 401 with a
                        CHALLENGE, the AUTHENTICATE answered 500 (a SOAP fault), a third POST 200
    mapi-http-error-code  port 80, Host mail.contoso.com, one connection: POST /mapi/emsmdb/ Connect
                        (200), Execute answered 500 Internal Server Error carrying X-ResponseCode: 1
                        (one failed request, two layers saying so), Execute (200)
    mapi-http-two-backends  port 80, Host mail.contoso.com, one Outlook, front end EXCH01 on every answer.
                        conn 1: POST /mapi/emsmdb/?MailboxId=<alice>: Connect, Execute answered by back
                                end EXCH02, a second Execute by EXCH03 (the mailbox moved meanwhile)
                        conn 2: POST /mapi/emsmdb/?MailboxId=<shared mailbox>: Connect, Execute, EXCH03
                        conn 3: POST /mapi/nspi/?MailboxId=<alice>: Bind, Unbind, answered with only
                                X-CalculatedBETarget exch02.contoso.com (no X-BEServer)
    http-answers        port 80, Host mail.contoso.com: requests at Exchange endpoints and answers that
                        confirm, contradict or say nothing (see ANSWERS); one request per connection
                        but conn 6 (keep-alive, two requests)
"""
import hashlib
import http.client
import itertools
import os
import queue
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from base64 import b64decode, b64encode

from impacket import ntlm
from impacket.dcerpc.v5 import nspi, oxabref, rpch, transport
from impacket.http import HTTPClientSecurityProvider
from impacket.krb5 import constants
from impacket.krb5.asn1 import AP_REQ
from impacket.krb5.gssapi import KRB5_AP_REQ
from impacket.spnego import ASN1_AID, ASN1_OID, SPNEGO_NegTokenInit, TypesMech, asn1encode
from pyasn1.codec.der import encoder
from pyasn1.type.univ import noValue
from scapy.all import TCP, wrpcap

from gen_rpc_tcp import (EMSMDB, FIRST_CLIENT_PORT, HERE, NSPI, RFR, Handler, capture, ec_do_connect_ex,
                         exchange_service_answering, rewrite, rpc_call, write)

MAILBOX = '7bb476d4-6c5e-4f2b-9b41-3f2d8e2a1c55@contoso.com'
MAIL_HOST, AUTODISCOVER_HOST = 'mail.contoso.com', 'autodiscover.contoso.com'
OAB_GUID = '3f1e2d3c-0000-4000-8000-00000000a0b1'
DATE = 'Tue, 14 Nov 2023 09:30:00 GMT'      # fixed, so bodies and headers repeat run after run
OUTLOOK_UA = 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.15928; Pro)'
MAPI_UA = 'Microsoft Office/16.0 (Windows NT 10.0; MAPI 16.0.15928; Pro)'
BROWSER_UA = ('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
              'Chrome/119.0.0.0 Safari/537.36 Edg/119.0.2151.58')
LOOPBACK_NAMES = {MAIL_HOST, AUTODISCOVER_HOST, 'www.example.org', 'cdn.example.net', 'api.example.net',
                  'api.autodiscover-tools.example.net', 'myautodiscover.example.com',
                  'outlook.office365.com.evil.example', 'autodiscover-s.outlook.com', 'outlook.office365.com',
                  'downloads.example.net'}


# ------------------------------------------------------------ names and TLS

def resolve_names_to_loopback():
    """An /etc/hosts for this process only: the scenario host names are 127.0.0.1."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real('127.0.0.1' if host in LOOPBACK_NAMES else host, *args, **kwargs)
    socket.getaddrinfo = getaddrinfo


class Tls:
    """Self-signed certificates per host name, a server context that picks one by SNI, and a
    client context that writes its key log (TLS 1.2 on both sides)."""

    def __init__(self, tmp, names):
        self.keylog = os.path.join(tmp, 'keys.log')
        contexts = {name: self._server_context(tmp, name) for name in names}
        self.server = contexts[names[0]]
        self.server.sni_callback = lambda sslobj, name, ctx: setattr(sslobj, 'context', contexts[name])
        self.client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.client.check_hostname = False
        self.client.verify_mode = ssl.CERT_NONE         # self-signed; impacket does not verify either
        self.client.maximum_version = ssl.TLSVersion.TLSv1_2
        self.client.keylog_filename = self.keylog

    @staticmethod
    def _server_context(tmp, name):
        key, cert = os.path.join(tmp, name + '.key'), os.path.join(tmp, name + '.crt')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                        '-nodes', '-days', '825', '-subj', '/CN=' + name, '-addext', 'subjectAltName=DNS:' + name,
                        '-keyout', key, '-out', cert], check=True, capture_output=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        # No session tickets (IIS/Schannel sends none); clients close without close_notify.
        ctx.options |= ssl.OP_NO_TICKET | ssl.OP_IGNORE_UNEXPECTED_EOF
        return ctx


def give_impacket_tls(client_ctx):
    """impacket opens its channels with a fresh unverified SSLContext; hand it ours instead, so
    that its TLS sessions land in the key log too."""
    def connect(self, protocol, host):
        if protocol == 'http':
            return http.client.HTTPConnection(host)
        return http.client.HTTPSConnection(host, context=client_ctx)
    HTTPClientSecurityProvider.connect = connect


# ------------------------------------------------------------ responder plumbing

class Request:
    def __init__(self, method, target, headers, body):
        self.method, self.target, self.headers, self.body = method, target, headers, body

    def header(self, name, default=''):
        return self.headers.get(name.lower(), default)


class HttpConn:
    """The server side of one accepted connection: read requests, send raw bytes."""
    MAX_BODY = 1 << 20      # larger bodies (an RPC channel's 1 GiB) are left to the caller

    def __init__(self, sock):
        self.sock, self.rfile = sock, sock.makefile('rb')

    def read_request(self):
        try:
            line = self.rfile.readline()
            if not line.strip():
                return None
            method, target, _ = line.decode().split(' ', 2)
            headers = {}
            for line in iter(self.rfile.readline, b'\r\n'):
                if not line:
                    return None
                name, value = line.decode().split(':', 1)
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get('content-length', '0'))
            # With Expect: 100-continue the client sends the body only after our 100 (RPC channels).
            waits = headers.get('expect', '').lower() == '100-continue'
            body = self.rfile.read(length) if length <= self.MAX_BODY and not waits else b''
            return Request(method, target, headers, body)
        except (OSError, ValueError):
            return None

    def read(self, n):
        try:
            return self.rfile.read(n)
        except OSError:
            return b''

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.rfile.close()
        self.sock.close()


class HttpHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        # One segment per write, as a Windows server answers; makes the captures repeatable.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.server.tls is not None:
            sock = self.server.tls.wrap_socket(sock, server_side=True)
        conn = HttpConn(sock)
        try:
            self.server.app(conn)
        finally:
            conn.close()


class HttpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def response(status, headers, body=b''):
    """A complete HTTP/1.1 response with Content-Length."""
    head = ''.join(f'{k}: {v}\r\n' for k, v in headers)
    return f'HTTP/1.1 {status}\r\n{head}Content-Length: {len(body)}\r\n\r\n'.encode() + body


def chunk(data):
    return b'%x\r\n' % len(data) + data + b'\r\n'


def record(client, port, app, tls=None):
    """Run client() against app on 127.0.0.1:port; return the rewritten packets."""
    srv = HttpServer(('127.0.0.1', port), HttpHandler)
    srv.app, srv.tls = app, tls
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        return rewrite(capture(f'tcp port {port}', client), 4)
    finally:
        srv.shutdown()
        srv.server_close()


# ------------------------------------------------------------ client plumbing

def open_http(host, port, tls):
    if port == 443:
        return http.client.HTTPSConnection(host, port, context=tls.client)
    return http.client.HTTPConnection(host, port)


def send_request(conn, method, target, headers, body=None):
    """http.client's request() without the 'Accept-Encoding: identity' Python adds on its own."""
    conn.putrequest(method, target, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    if body is not None:
        conn.putheader('Content-Length', str(len(body)))
    conn.endheaders(body)


def fetch(conn, method, target, headers, body=None):
    send_request(conn, method, target, headers, body)
    resp = conn.getresponse()
    resp.read()
    return resp


# ------------------------------------------------------------ MAPI over HTTP

CLIENT_GUID = '{B2C3D4E5-F607-4819-8A2B-3C4D5E6F7081}'     # X-RequestId / X-ClientInfo GUID
USER_DN = b'/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice\x00'
DN_PREFIX = b'/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)\x00'
STAT = struct.pack('<9I', 0, 0, 0, 0, 0, 0, 1252, 1033, 1033)     # MS-OXNSPI STAT at the GAL start


def rop_buffer(rops, handles):
    """An uncompressed ROP buffer behind its RPC_HEADER_EXT (MS-OXCRPC 2.2.2.1, flag Last)."""
    payload = struct.pack('<H', 2 + len(rops)) + rops + b''.join(struct.pack('<I', h) for h in handles)
    return struct.pack('<HHHH', 0, 0x0004, len(payload), len(payload)) + payload


# RopOpenFolder of the Inbox (MS-OXCROPS 2.2.4.1): request and answer.
ROPS_IN = rop_buffer(struct.pack('<BBBBQB', 0x02, 0, 0, 1, 0x0001000000000d01, 0), [0x00000001, 0xffffffff])
ROPS_OUT = rop_buffer(struct.pack('<BBIBB', 0x02, 1, 0, 0, 0), [0x00000001, 0x0000002a])

# Request and response bodies, after MS-OXCMAPIHTTP 2.2.4 (mailbox) and 2.2.5 (address book).
MAPI_REQUEST = {
    'Connect': USER_DN + struct.pack('<5I', 0, 1252, 1033, 1033, 0),
    'Execute': struct.pack('<II', 0, len(ROPS_IN)) + ROPS_IN + struct.pack('<II', 0x10008, 0),
    'NotificationWait': struct.pack('<II', 0, 0),
    'Bind': struct.pack('<IB', 0, 1) + STAT + struct.pack('<I', 0),
    'GetMatches': struct.pack('<IB', 0, 1) + STAT + struct.pack('<BIBBIBI', 0, 0, 0, 0, 50, 0, 0),
    'QueryRows': struct.pack('<IB', 0, 1) + STAT + struct.pack('<IIBI', 0, 50, 0, 0),
    'Unbind': struct.pack('<II', 0, 0),
}
MAPI_RESPONSE = {
    'Connect': struct.pack('<5I', 0, 0, 60000, 6, 10000) + DN_PREFIX + 'Alice\0'.encode('utf-16le')
    + struct.pack('<I', 0),
    'Execute': struct.pack('<4I', 0, 0, 0, len(ROPS_OUT)) + ROPS_OUT + struct.pack('<I', 0),
    'NotificationWait': struct.pack('<4I', 0, 0, 1, 0),
    'Bind': struct.pack('<II', 0, 0) + uuid.UUID('5e5e5e5e-0d0c-4b1a-9f8e-7d6c5b4a3921').bytes_le
    + struct.pack('<I', 0),
    'GetMatches': struct.pack('<IIB', 0, 0, 1) + STAT + struct.pack('<BIIBI', 1, 1, 0x1a2b, 0, 0),
    'QueryRows': struct.pack('<IIB', 0, 0, 1) + STAT + struct.pack('<BI', 0, 0),
    'Unbind': struct.pack('<3I', 0, 0, 0),
}
SERVER_APP = 'Exchange/15.02.1118.007'
NOTIFICATION_DELAY = 1.5        # seconds the server holds a NotificationWait (a long poll)


class MapiClient:
    """Outlook's MAPI/HTTP request headers and session cookies on one keep-alive connection."""

    def __init__(self, conn, endpoint, session, counter, mailbox=MAILBOX):
        self.conn, self.counter = conn, counter
        self.target = f'/mapi/{endpoint}/?MailboxId={mailbox}'
        self.client_info = f'{CLIENT_GUID}:{session}'
        self.cookies = {}

    def send(self, kind):
        headers = [('Content-Type', 'application/mapi-http'), ('User-Agent', MAPI_UA),
                   ('X-RequestType', kind), ('X-ClientInfo', self.client_info),
                   ('X-ClientApplication', 'Outlook/16.0.15928.20006'),
                   ('X-RequestId', f'{CLIENT_GUID}:{next(self.counter)}'),
                   ('Connection', 'Keep-Alive'), ('Cache-Control', 'no-cache')]
        if self.cookies:
            headers.append(('Cookie', '; '.join(f'{k}={v}' for k, v in self.cookies.items())))
        send_request(self.conn, 'POST', self.target, headers, MAPI_REQUEST[kind])

    def receive(self):
        resp = self.conn.getresponse()
        resp.read()
        for cookie in resp.headers.get_all('Set-Cookie') or []:
            name, value = cookie.split(';', 1)[0].split('=', 1)
            self.cookies[name] = value
        return resp

    def call(self, kind):
        self.send(kind)
        return self.receive()


def mapi_outlook(port, tls):
    counter = itertools.count(1)
    mailbox = MapiClient(open_http(MAIL_HOST, port, tls), 'emsmdb', 1, counter)
    for kind in ('Connect', 'Execute', 'Execute'):
        mailbox.call(kind)
    mailbox.send('NotificationWait')        # the server holds it; conn 2 runs meanwhile
    directory = MapiClient(open_http(MAIL_HOST, port, tls), 'nspi', 2, counter)
    for kind in ('Bind', 'GetMatches', 'QueryRows', 'Unbind'):
        directory.call(kind)
    directory.conn.close()
    mailbox.receive()
    mailbox.conn.close()


def mapi_headers(req, response_code, content_type, chunked=False, backend=()):
    number = int(req.header('X-RequestId').rsplit(':', 1)[1])
    framing = [('Transfer-Encoding', 'chunked')] if chunked else []
    return [('Cache-Control', 'private')] + framing + [
            ('Content-Type', content_type), ('Server', 'Microsoft-IIS/10.0'),
            ('request-id', f'{number:08x}-9c1d-4e2f-8a3b-4c5d6e7f8091'),
            ('X-RequestId', req.header('X-RequestId')), ('X-ClientInfo', req.header('X-ClientInfo')),
            ('X-RequestType', req.header('X-RequestType')), ('X-ResponseCode', str(response_code)),
            ('X-ServerApplication', SERVER_APP), *backend, ('X-FEServer', 'EXCH01'), ('Date', DATE)]


def mapi_app(conn):
    """Exchange's /mapi/ endpoints. The second Execute on a connection finds no session context
    (X-ResponseCode 10, answered at once as text/html, without PROCESSING/DONE); every other
    request gets 200 + X-ResponseCode 0 and a chunked PROCESSING ... DONE body."""
    executes, sequence = 0, 0
    while (req := conn.read_request()) is not None:
        kind = req.header('X-RequestType')
        executes += kind == 'Execute'
        if kind == 'Execute' and executes == 2:
            conn.send(response('200 OK', mapi_headers(req, 10, 'text/html; charset=utf-8'),
                               b'<html><body>Context Not Found: the session context is not found.</body></html>'))
            continue
        sequence += 1
        mapi_success(conn, req, sequence)


def mapi_success(conn, req, sequence, backend=()):
    """200 + X-ResponseCode 0 and a chunked PROCESSING ... DONE body (sequence: the MapiSequence
    cookie's number; backend: the back end's headers, before X-FEServer)."""
    kind = req.header('X-RequestType')
    endpoint = req.target.split('/')[2]            # emsmdb or nspi
    headers = mapi_headers(req, 0, 'application/mapi-http', chunked=True, backend=backend)
    headers += [('X-PendingPeriod', '15000'), ('X-ExpirationInfo', '1800000')]
    if kind in ('Connect', 'Bind'):
        headers.append(('Set-Cookie', f'MapiContext={endpoint}-4f1c2a9e7b3d; path=/mapi/{endpoint}'))
    headers.append(('Set-Cookie', f'MapiSequence={sequence}-AQ==; path=/mapi/{endpoint}'))
    head = ''.join(f'{k}: {v}\r\n' for k, v in headers)
    conn.send(f'HTTP/1.1 200 OK\r\n{head}\r\n'.encode() + chunk(b'PROCESSING\r\n'))
    elapsed = 12
    if kind == 'NotificationWait':
        time.sleep(NOTIFICATION_DELAY)
        elapsed = int(NOTIFICATION_DELAY * 1000)
    done = b'DONE\r\nX-ResponseCode: 0\r\nX-ElapsedTime: %d\r\n\r\n' % elapsed + MAPI_RESPONSE[kind]
    conn.send(chunk(done) + b'0\r\n\r\n')


SHARED_MAILBOX = '0c9e2f4a-8d1b-4b7e-a5c3-6f2e1d0b9a87@contoso.com'


def backend_headers(server, fqdn, with_server=True):
    """What a front end adds when it proxied the request to a back end (X-BEServer is left out of
    some answers, X-CalculatedBETarget names the same back end by its FQDN)."""
    return [('X-CalculatedBETarget', fqdn), ('X-DiagInfo', server)] + ([('X-BEServer', server)] if with_server else [])


def two_backends_app(conn):
    """Alice's mailbox on EXCH02 until her second Execute, which EXCH03 answers (the mailbox moved);
    the shared mailbox on EXCH03; the address book answered with X-CalculatedBETarget alone."""
    sequence, alice_executes = 0, 0
    while (req := conn.read_request()) is not None:
        sequence += 1
        if '/nspi/' in req.target:
            backend = backend_headers('EXCH02', 'exch02.contoso.com', with_server=False)
        elif SHARED_MAILBOX in req.target:
            backend = backend_headers('EXCH03', 'exch03.contoso.com')
        else:
            alice_executes += req.header('X-RequestType') == 'Execute'
            moved = alice_executes >= 2
            backend = backend_headers('EXCH03' if moved else 'EXCH02', 'exch03.contoso.com' if moved else 'exch02.contoso.com')
        mapi_success(conn, req, sequence, backend)


def mapi_two_backends():
    counter = itertools.count(1)
    alice = MapiClient(open_http(MAIL_HOST, 80, None), 'emsmdb', 1, counter)
    shared = MapiClient(open_http(MAIL_HOST, 80, None), 'emsmdb', 2, counter, SHARED_MAILBOX)
    directory = MapiClient(open_http(MAIL_HOST, 80, None), 'nspi', 3, counter)
    for client, kinds in ((alice, ('Connect', 'Execute')), (shared, ('Connect', 'Execute')),
                          (directory, ('Bind', 'Unbind')), (alice, ('Execute',))):
        for kind in kinds:
            assert client.call(kind).status == 200
    for client in (alice, shared, directory):
        client.conn.close()


def drop_first_request(pkts):
    """mapi-http-midstream: the first connection's frames before its first Execute request go."""
    def execute_request(p):
        return p[TCP].sport == FIRST_CLIENT_PORT and b'X-RequestType: Execute' in bytes(p[TCP].payload)
    first = next(i for i, p in enumerate(pkts) if execute_request(p))
    return [p for i, p in enumerate(pkts)
            if i >= first or FIRST_CLIENT_PORT not in (p[TCP].sport, p[TCP].dport)]


# ------------------------------------------------------------ RPC over HTTP v2

def vc_cookies(n):
    """Fixed RTS cookies for virtual connection n (impacket would draw random ones)."""
    def cookie(prefix):
        return uuid.UUID(f'{prefix}000000-0000-4000-8000-{n:012x}').bytes_le
    return {'virtualConnectionCookie': cookie('7c'), 'inChannelCookie': cookie('1c'),
            'outChannelCookie': cookie('0c'), 'associationGroupId': cookie('a9')}


def rpc_http_vc(proxy_port, rpc_port, iface, call, n):
    """One virtual connection with impacket's client: IN + OUT channel, BIND iface, call(dce)."""
    binding = f'ncacn_http:{MAILBOX}[{rpc_port},RpcProxy={MAIL_HOST}:{proxy_port}]'
    t = transport.DCERPCTransportFactory(binding)
    t.set_credentials('alice', 'Passw0rd!', 'CONTOSO')
    for name, value in vc_cookies(n).items():
        setattr(t, '_RPCProxyClient__' + name, value)
    dce = t.get_dce_rpc()
    dce.connect()
    dce.bind(iface)
    call(dce)
    return dce


def close_vc(dce):
    """impacket's disconnect steps (IN channel, then OUT channel), with pauses so that the FIN
    exchanges do not interleave differently from run to run."""
    link = dce.get_rpc_transport()
    link.close_rpc_in_channel()
    time.sleep(0.2)
    link.close_rpc_out_channel()
    time.sleep(0.2)


# Column set and rows of an Inbox contents table (MS-OXCROPS RopSetColumns / RopQueryRows), so the
# channels carry a few kilobytes each way as Outlook's do after the BIND.
INBOX_COLUMNS = [0x0037001F, 0x0E060040, 0x0C1A001F, 0x0E080003, 0x0E070003, 0x67480014, 0x0FFF0102,
                 0x10800003, 0x0E170003, 0x00170003, 0x1000001F, 0x0E1B000B]
SUBJECTS = ['Quarterly numbers', 'Re: build server', 'Lunch on Friday?', 'Weekly status', 'Fw: invoice 2023-11',
            'Meeting notes', 'Re: Re: printer on floor 3', 'Holiday schedule']


def ec_do_rpc_ext2_stub(rops):
    """EcDoRpcExt2 request stub (MS-OXCRPC 3.1.4.2): CXH, pulFlags, rgbIn, cbIn, pcbOut, no aux."""
    buf = rop_buffer(rops, [0x00000001, 0x0000002a, 0xffffffff])
    pad = b'\x00' * ((4 - len(buf) % 4) % 4)
    return (b'\x00' * 4 + b'\x3c' * 16 + struct.pack('<II', 0, len(buf)) + buf + pad
            + struct.pack('<IIIII', len(buf), 0x40000, 0, 0, 0x1008))


def inbox_rows_stub():
    """EcDoRpcExt2 response stub: a RopQueryRows answer with one row per subject."""
    rows = b''.join(b'\x00' + s.encode('utf-16le') + b'\x00\x00' + struct.pack('<QII', 0x01d9f6e4a2c3b000 + i, 4096 + i, 1)
                    + ('alice@contoso.com' if i % 2 else 'bob@contoso.com').encode('utf-16le') + b'\x00\x00'
                    for i, s in enumerate(SUBJECTS * 2))
    buf = rop_buffer(struct.pack('<BBIBH', 0x15, 1, 0, 2, len(SUBJECTS) * 2) + rows, [0x0000002a])
    pad = b'\x00' * ((4 - len(buf) % 4) % 4)
    return (b'\x00' * 4 + b'\x3c' * 16 + struct.pack('<II', 0, len(buf)) + buf + pad
            + struct.pack('<IIIII', len(buf), 0, 0, 0, 0))


def outlook_mailbox_session(dce):
    """EcDoConnectEx, then three EcDoRpcExt2 calls reading the Inbox."""
    ec_do_connect_ex(dce)
    tags = struct.pack(f'<{len(INBOX_COLUMNS)}I', *INBOX_COLUMNS)
    for folder in (0x0001000000000d01, 0x0001000000000d02, 0x0001000000000d03):
        rops = (struct.pack('<BBBBQB', 0x02, 0, 0, 1, folder, 0)          # RopOpenFolder
                + struct.pack('<BBBBB', 0x05, 0, 1, 2, 0)                   # RopGetContentsTable
                + struct.pack('<BBBBH', 0x12, 0, 2, 0, len(INBOX_COLUMNS)) + tags  # RopSetColumns
                + struct.pack('<BBBBBH', 0x15, 0, 2, 0, 1, 50))             # RopQueryRows
        rpc_call(dce, 11, ec_do_rpc_ext2_stub(rops))


def nspi_stub(columns):
    """NspiGetMatches / NspiQueryRows request stub: a handle, a STAT and a property tag array."""
    tags = struct.pack(f'<I{len(columns)}I', len(columns), *columns)
    return b'\x00' * 4 + b'\x5e' * 16 + struct.pack('<I', 0) + STAT + struct.pack('<II', 0, 50) + tags * 3


def nspi_rows_stub():
    """An answer carrying address-book rows (display names and SMTP addresses)."""
    names = [f'{first} {last}' for first in ('Alice', 'Bob', 'Carol', 'Dave') for last in ('Adams', 'Baker', 'Clark')]
    rows = b''.join(n.encode('utf-16le') + b'\x00\x00' + f'{n.split()[0].lower()}@contoso.com'.encode('utf-16le')
                    + b'\x00\x00' for n in names)
    return STAT + struct.pack('<II', len(names), len(rows)) + rows + struct.pack('<I', 0)


def outlook_directory_session(dce):
    """NspiBind, NspiGetMatches and NspiQueryRows (opnums 0, 5, 3)."""
    nspi.hNspiBind(dce)
    rpc_call(dce, 5, nspi_stub(INBOX_COLUMNS))
    rpc_call(dce, 3, nspi_stub(INBOX_COLUMNS))


def rpc_http_service(port):
    """gen_rpc_tcp's Exchange responder, with table rows for the calls above."""
    return exchange_service_answering(port, {(EMSMDB, 11): inbox_rows_stub, (NSPI, 3): nspi_rows_stub,
                                             (NSPI, 5): nspi_rows_stub})


def rpc_http_outlook(proxy_port):
    mailbox = rpc_http_vc(proxy_port, 6001, EMSMDB, outlook_mailbox_session, 1)
    directory = rpc_http_vc(proxy_port, 6004, NSPI, outlook_directory_session, 2)
    close_vc(mailbox)
    close_vc(directory)


def referral_session(dce):
    """RfrGetNewDSA (opnum 0): which NSPI server to use, as Outlook asks at profile start."""
    oxabref.hRfrGetNewDSA(dce, '/o=Contoso/ou=Exchange Administrative Group/cn=Recipients/cn=alice')


def rpc_http_referral(proxy_port):
    """Outlook Anywhere's referral virtual connection: the URI names port 6002 (RFR, MS-OXABREF)."""
    close_vc(rpc_http_vc(proxy_port, 6002, RFR, referral_session, 1))


def rpc_http_port_mismatch():
    close_vc(rpc_http_vc(80, 6004, EMSMDB, ec_do_connect_ex, 1))
    # MS-RPCH 2.1.2.1.5 echo request: proxy discovery, no virtual connection.
    conn = http.client.HTTPConnection(MAIL_HOST, 80)
    fetch(conn, 'RPC_IN_DATA', f'/rpc/rpcproxy.dll?{MAILBOX}:6004',
          [('Accept', 'application/rpc'), ('Cache-Control', 'no-cache'), ('Connection', 'Keep-Alive'),
           ('Content-Length', '0'), ('User-Agent', 'MSRPC'), ('Pragma', 'No-cache')])
    conn.close()


def opaque(label, n):
    """n fixed bytes standing for ciphertext (the same on every run)."""
    out = b''
    while len(out) < n:
        out += hashlib.sha256(label + bytes([len(out) // 32])).digest()
    return out[:n]

def kerberos_token():
    """A SPNEGO NegTokenInit carrying a Kerberos AP-REQ for HTTP/mail.contoso.com, as a domain-joined
    Outlook sends it without a 401 first; the ticket and authenticator are opaque (no KDC here)."""
    ap = AP_REQ()
    ap['pvno'] = 5
    ap['msg-type'] = int(constants.ApplicationTagNumbers.AP_REQ.value)
    ap['ap-options'] = constants.encodeFlags([constants.APOptions.mutual_required.value])
    ap['ticket'] = noValue
    ap['ticket']['tkt-vno'] = 5
    ap['ticket']['realm'] = 'CONTOSO.COM'
    ap['ticket']['sname'] = noValue
    ap['ticket']['sname']['name-type'] = constants.PrincipalNameType.NT_SRV_INST.value
    ap['ticket']['sname']['name-string'][0] = 'HTTP'
    ap['ticket']['sname']['name-string'][1] = 'mail.contoso.com'
    ap['ticket']['enc-part'] = noValue
    ap['ticket']['enc-part']['etype'] = 18
    ap['ticket']['enc-part']['kvno'] = 3
    ap['ticket']['enc-part']['cipher'] = opaque(b'ticket', 960)
    ap['authenticator'] = noValue
    ap['authenticator']['etype'] = 18
    ap['authenticator']['cipher'] = opaque(b'authenticator', 150)
    blob = SPNEGO_NegTokenInit()
    blob['MechTypes'] = [TypesMech['MS KRB5 - Microsoft Kerberos 5'], TypesMech['KRB5 - Kerberos 5']]
    blob['MechToken'] = struct.pack('B', ASN1_AID) + asn1encode(struct.pack('B', ASN1_OID) + asn1encode(
        TypesMech['KRB5 - Kerberos 5']) + KRB5_AP_REQ + encoder.encode(ap))
    return blob.getData()


def rpc_http_kerberos():
    """rpc_http_vc with Negotiate (Kerberos) in each channel request: no 401 leg."""
    token = 'Negotiate ' + b64encode(kerberos_token()).decode()
    ntlm_headers = HTTPClientSecurityProvider.get_auth_headers
    HTTPClientSecurityProvider.get_auth_headers = lambda self, http_obj, method, path, headers: (
        {'Authorization': token}, None)
    try:
        close_vc(rpc_http_vc(80, 6001, EMSMDB, ec_do_connect_ex, 1))
    finally:
        HTTPClientSecurityProvider.get_auth_headers = ntlm_headers


def rts_pdu(flags, *commands):
    pkt = rpch.RTSHeader()
    pkt['Flags'] = flags
    pkt['NumberOfCommands'] = len(commands)
    pkt['pduData'] = b''.join(c.getData() for c in commands)
    return pkt.getData()


def conn_c2():
    rws = rpch.ReceiveWindowSize()
    rws['ReceiveWindowSize'] = 65536
    return rts_pdu(rpch.RTS_FLAG_NONE, rpch.Version(), rws, rpch.ConnectionTimeout())


OUT_RESPONSE = (b'HTTP/1.1 200 Success\r\nContent-Type: application/rpc\r\nContent-Length: 1073741824\r\n\r\n'
                + rts_pdu(rpch.RTS_FLAG_NONE, rpch.ConnectionTimeout()))      # + CONN/A3, one segment
ECHO_RESPONSE = (b'HTTP/1.1 200 Success\r\nConnection: Keep-Alive\r\nContent-Length: 20\r\n'
                 b'Content-Type: application/rpc\r\n\r\n' + rts_pdu(rpch.RTS_FLAG_ECHO))


def ntlm_challenge(type1_b64):
    """An NTLM CHALLENGE_MESSAGE answering impacket's NEGOTIATE (fixed challenge and time)."""
    negotiate = ntlm.NTLMAuthNegotiate()
    negotiate.fromString(b64decode(type1_b64))
    flags = negotiate['flags'] & (ntlm.NTLMSSP_NEGOTIATE_56 | ntlm.NTLMSSP_NEGOTIATE_128 |
                                  ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH | ntlm.NTLMSSP_NEGOTIATE_UNICODE |
                                  ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)
    flags |= (ntlm.NTLMSSP_NEGOTIATE_VERSION | ntlm.NTLMSSP_NEGOTIATE_TARGET_INFO |
              ntlm.NTLMSSP_TARGET_TYPE_DOMAIN | ntlm.NTLMSSP_NEGOTIATE_NTLM | ntlm.NTLMSSP_REQUEST_TARGET)
    domain = 'CONTOSO'.encode('utf-16le')
    av = ntlm.AV_PAIRS()
    av[ntlm.NTLMSSP_AV_DOMAINNAME] = domain
    av[ntlm.NTLMSSP_AV_HOSTNAME] = 'EXCH01'.encode('utf-16le')
    av[ntlm.NTLMSSP_AV_DNS_DOMAINNAME] = 'contoso.com'.encode('utf-16le')
    av[ntlm.NTLMSSP_AV_DNS_HOSTNAME] = 'exch01.contoso.com'.encode('utf-16le')
    av[ntlm.NTLMSSP_AV_TIME] = struct.pack('<q', 133444278000000000)    # 2023-11-14 09:30 UTC (FILETIME)
    msg = ntlm.NTLMAuthChallenge()
    msg['flags'] = flags
    msg['domain_len'] = msg['domain_max_len'] = len(domain)
    msg['domain_offset'] = 40 + 16
    msg['challenge'] = bytes.fromhex('0123456789abcdef')
    msg['domain_name'] = domain
    msg['TargetInfoFields_len'] = msg['TargetInfoFields_max_len'] = len(av)
    msg['TargetInfoFields'] = av
    msg['TargetInfoFields_offset'] = 40 + 16 + len(domain)
    msg['Version'] = bytes.fromhex('0a00f4650000000f')       # Windows 10.0.26100, NTLM revision 15
    msg['VersionLen'] = 8
    return b64encode(msg.getData()).decode()


def read_pdu(conn):
    hdr = conn.read(16)
    if len(hdr) < 16:
        return None
    rest = conn.read(struct.unpack('<H', hdr[8:10])[0] - 16)
    return hdr + rest


def vc_cookie(rts):
    """The VirtualConnectionCookie of a CONN/A1 or CONN/B1 (the same place in both)."""
    a1 = rpch.CONN_A1_RTS_PDU(rpch.RTSHeader(rts)['pduData'])
    return a1['VirtualConnectionCookie']['Cookie']['Cookie']


class RpcProxy:
    """RPC proxy and RPC server in one (MS-RPCH 3.2.3/3.2.4 as the client sees them): a 401 NTLM
    leg, 100 Continue, then per virtual connection CONN/A3 and CONN/C2 on the OUT channel, and the
    IN channel's BIND/REQUEST PDUs answered on the OUT channel. The IN channel gets no response."""

    def __init__(self):
        self.lock = threading.Lock()
        self.out_queues = {}        # VC cookie -> PDUs for its OUT channel; None ends it

    def out_queue(self, cookie):
        with self.lock:
            return self.out_queues.setdefault(cookie, queue.Queue())

    def __call__(self, conn):
        while (req := conn.read_request()) is not None:
            auth = req.header('Authorization')
            if auth.startswith('NTLM ') and b64decode(auth[5:])[8] == 1:    # NEGOTIATE
                conn.send(response('401 Unauthorized', [
                    ('Content-Type', 'text/html'), ('Server', 'Microsoft-IIS/10.0'),
                    ('WWW-Authenticate', 'NTLM ' + ntlm_challenge(auth[5:])), ('Date', DATE)]))
            elif int(req.header('Content-Length', '0')) <= 0x10:
                conn.send(ECHO_RESPONSE)
            else:
                conn.send(b'HTTP/1.1 100 Continue\r\n\r\n')
                port = int(req.target.rsplit(':', 1)[1])
                channel = self.in_channel if req.method == 'RPC_IN_DATA' else self.out_channel
                channel(conn, port)
                return

    def in_channel(self, conn, port):
        out = self.out_queue(vc_cookie(read_pdu(conn)))        # CONN/B1
        out.put(conn_c2())          # both channels are up: the VC is established
        svc, contexts = rpc_http_service(port), {}
        while (pdu := read_pdu(conn)) is not None:
            reply = Handler.answer_pdu(pdu, svc, contexts)
            if reply is not None:
                out.put(reply)
        out.put(None)

    def out_channel(self, conn, port):
        out = self.out_queue(vc_cookie(read_pdu(conn)))        # CONN/A1
        # Answer once CONN/B1 has arrived (its CONN/C2 is then queued), as a proxy that first
        # reaches the server would; this also keeps the frame order the same on every run.
        c2 = out.get()
        conn.send(OUT_RESPONSE)
        conn.send(c2)
        # Only this thread touches the OUT socket (an SSL object is not shared between threads).
        while (pdu := out.get()) is not None:
            conn.send(pdu)
        while conn.read(1):
            pass


# ------------------------------------------------------------ EWS, Autodiscover, OAB

AUTODISCOVER_REQUEST = b'''<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>alice@contoso.com</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>
'''
AUTODISCOVER_RESPONSE = f'''<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <User>
      <DisplayName>Alice</DisplayName>
      <LegacyDN>/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice</LegacyDN>
      <AutoDiscoverSMTPAddress>alice@contoso.com</AutoDiscoverSMTPAddress>
      <DeploymentId>0c0ffee0-1234-4abc-8def-00000000c0de</DeploymentId>
    </User>
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
      <MicrosoftOnline>False</MicrosoftOnline>
      <Protocol Type="mapiHttp" Version="1">
        <MailStore>
          <InternalUrl>https://{MAIL_HOST}/mapi/emsmdb/?MailboxId={MAILBOX}</InternalUrl>
          <ExternalUrl>https://{MAIL_HOST}/mapi/emsmdb/?MailboxId={MAILBOX}</ExternalUrl>
        </MailStore>
        <AddressBook>
          <InternalUrl>https://{MAIL_HOST}/mapi/nspi/?MailboxId={MAILBOX}</InternalUrl>
          <ExternalUrl>https://{MAIL_HOST}/mapi/nspi/?MailboxId={MAILBOX}</ExternalUrl>
        </AddressBook>
      </Protocol>
      <Protocol>
        <Type>EXHTTP</Type>
        <Server>{MAIL_HOST}</Server>
        <SSL>On</SSL>
        <AuthPackage>Ntlm</AuthPackage>
        <ASUrl>https://{MAIL_HOST}/EWS/Exchange.asmx</ASUrl>
        <EwsUrl>https://{MAIL_HOST}/EWS/Exchange.asmx</EwsUrl>
        <OOFUrl>https://{MAIL_HOST}/EWS/Exchange.asmx</OOFUrl>
        <OABUrl>https://{MAIL_HOST}/OAB/{OAB_GUID}/</OABUrl>
      </Protocol>
    </Account>
  </Response>
</Autodiscover>
'''.encode()
EWS_ACTION = '"http://schemas.microsoft.com/exchange/services/2006/messages/GetUserAvailability"'
EWS_REQUEST = b'''<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
<soap:Header><t:RequestServerVersion Version="Exchange2013"/></soap:Header>
<soap:Body><m:GetUserAvailabilityRequest>
<t:TimeZone><t:Bias>-60</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>03:00:00</t:Time><t:DayOrder>5</t:DayOrder><t:Month>10</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime><t:DaylightTime><t:Bias>-60</t:Bias><t:Time>02:00:00</t:Time><t:DayOrder>5</t:DayOrder><t:Month>3</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime></t:TimeZone>
<m:MailboxDataArray><t:MailboxData><t:Email><t:Address>bob@contoso.com</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType></t:MailboxData></m:MailboxDataArray>
<t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>2023-11-14T00:00:00</t:StartTime><t:EndTime>2023-11-15T00:00:00</t:EndTime></t:TimeWindow><t:MergedFreeBusyIntervalInMinutes>60</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>MergedOnly</t:RequestedView></t:FreeBusyViewOptions>
</m:GetUserAvailabilityRequest></soap:Body></soap:Envelope>
'''
EWS_RESPONSE = b'''<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="2" MajorBuildNumber="1118" MinorBuildNumber="7" Version="V2017_07_11" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header><s:Body><GetUserAvailabilityResponse xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><FreeBusyResponseArray><FreeBusyResponse><ResponseMessage ResponseClass="Success"><ResponseCode>NoError</ResponseCode></ResponseMessage><FreeBusyView><FreeBusyViewType xmlns="http://schemas.microsoft.com/exchange/services/2006/types">MergedOnly</FreeBusyViewType><MergedFreeBusy xmlns="http://schemas.microsoft.com/exchange/services/2006/types">000000000222000000000000</MergedFreeBusy></FreeBusyView></FreeBusyResponse></FreeBusyResponseArray></GetUserAvailabilityResponse></s:Body></s:Envelope>'''
OAB_XML = f'''<?xml version="1.0" encoding="utf-8"?>
<OAB>
  <OAL id="{OAB_GUID}" dn="/" name="\\Default Global Address List">
    <Full seq="42" ver="32" size="18432" uncompressedsize="65536" SHA="5d41402abc4b2a76b9719d911017c592ae3b1c55">{OAB_GUID}-data-42.lzx</Full>
  </OAL>
</OAB>
'''.encode()
AUTODISCOVER_JSON = b'{"Protocol":"AutodiscoverV1","Url":"https://autodiscover.contoso.com/autodiscover/autodiscover.xml"}'

EXCHANGE_HEADERS = [('Server', 'Microsoft-IIS/10.0'), ('X-FEServer', 'EXCH01'), ('Date', DATE)]
EXCHANGE_ROUTES = {
    ('POST', '/autodiscover/autodiscover.xml'): ('text/xml; charset=utf-8', AUTODISCOVER_RESPONSE),
    ('POST', '/EWS/Exchange.asmx'): ('text/xml; charset=utf-8', EWS_RESPONSE),
    ('GET', f'/OAB/{OAB_GUID}/oab.xml'): ('text/xml', OAB_XML),
    ('GET', '/autodiscover/autodiscover.json?Email=alice@contoso.com&Protocol=AutodiscoverV1'):
        ('application/json; charset=utf-8', AUTODISCOVER_JSON),
}


def web_app(routes, server_headers):
    """A keep-alive web server answering (method, target) from routes; anything else is 404."""
    def app(conn):
        while (req := conn.read_request()) is not None:
            found = routes.get((req.method, req.target))
            status, (ctype, body) = ('200 OK', found) if found else ('404 Not Found', ('text/plain', b'Not Found'))
            conn.send(response(status, [('Content-Type', ctype)] + server_headers, body))
    return app


def ews_autodiscover(tls):
    outlook = [('User-Agent', OUTLOOK_UA), ('X-AnchorMailbox', 'alice@contoso.com')]
    conn = open_http(AUTODISCOVER_HOST, 443, tls)
    fetch(conn, 'POST', '/autodiscover/autodiscover.xml',
          [('Content-Type', 'text/xml'), ('X-MapiHttpCapability', '1'),
           ('X-ClientCanHandle', 'Negotiate,ExHttpInfo')] + outlook, AUTODISCOVER_REQUEST)
    conn.close()
    conn = open_http(MAIL_HOST, 443, tls)
    fetch(conn, 'POST', '/EWS/Exchange.asmx',
          [('Content-Type', 'text/xml; charset=utf-8'), ('SOAPAction', EWS_ACTION),
           ('client-request-id', '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'),
           ('return-client-request-id', 'true')] + outlook, EWS_REQUEST)
    fetch(conn, 'GET', f'/OAB/{OAB_GUID}/oab.xml', outlook)
    conn.close()
    conn = open_http(MAIL_HOST, 443, tls)
    fetch(conn, 'GET', '/autodiscover/autodiscover.json?Email=alice@contoso.com&Protocol=AutodiscoverV1',
          [('Accept', 'application/json')] + outlook)
    conn.close()


EXO_AUTODISCOVER, EXO_FRONT_DOOR = 'autodiscover-s.outlook.com', 'outlook.office365.com'
EXO_ROUTES = {
    ('GET', '/autodiscover/autodiscover.json?Email=alice@contoso.com&Protocol=AutodiscoverV1'):
        ('application/json; charset=utf-8', b'{"Protocol":"AutodiscoverV1","Url":"https://outlook.office365.com/'
                                            b'autodiscover/autodiscover.xml"}'),
    ('POST', '/EWS/Exchange.asmx'): ('text/xml; charset=utf-8', EWS_RESPONSE),
}


def exchange_online(tls):
    outlook = [('User-Agent', OUTLOOK_UA), ('X-AnchorMailbox', 'alice@contoso.com')]
    conn = open_http(EXO_AUTODISCOVER, 443, tls)
    fetch(conn, 'GET', '/autodiscover/autodiscover.json?Email=alice@contoso.com&Protocol=AutodiscoverV1',
          [('Accept', 'application/json')] + outlook)
    conn.close()
    conn = open_http(EXO_FRONT_DOOR, 443, tls)
    fetch(conn, 'POST', '/EWS/Exchange.asmx',
          [('Content-Type', 'text/xml; charset=utf-8'), ('SOAPAction', EWS_ACTION)] + outlook, EWS_REQUEST)
    conn.close()


# Outlook fetches the OAB manifest itself and hands the .lzx files to BITS (MS-OXWOAB), each on a
# connection of its own: BITS asks for the size with HEAD, then GETs the file by byte range.
OAB_FILE = f'{OAB_GUID}-data-42.lzx'
BITS_HEADERS = [('User-Agent', 'Microsoft BITS/7.8'), ('Accept', '*/*'), ('Connection', 'Keep-Alive')]


def oab_lzx():
    """A small full OAB file framed as MS-OXOAB 2.9 frames it: OAB_LZX_HDR and one LZX_BLK stored
    uncompressed (ulFlags 0) holding a fixed pseudo-random stream."""
    data = b''.join(hashlib.sha256(b'oab %d' % i).digest() for i in range(96))
    return struct.pack('<4I', 3, 1, 0x40000, len(data)) + struct.pack('<4I', 0, len(data), len(data),
                                                                      zlib.crc32(data)) + data


def oab_manifest(lzx):
    return f'''<?xml version="1.0" encoding="utf-8"?>
<OAB>
  <OAL id="{OAB_GUID}" dn="/" name="\\Default Global Address List">
    <Full seq="42" ver="32" size="{len(lzx)}" uncompressedsize="{len(lzx) - 32}" SHA="{hashlib.sha1(lzx).hexdigest()}">{OAB_FILE}</Full>
  </OAL>
</OAB>
'''.encode()


def download_app(files, server_headers, routes=None):
    """Files by path: GET (whole, or one 'Range: bytes=a-b' as BITS asks) and HEAD; (method, target)
    in routes answered as web_app answers it; else 404."""
    def app(conn):
        while (req := conn.read_request()) is not None:
            if (req.method, req.target) in (routes or {}):
                ctype, body = routes[(req.method, req.target)]
                conn.send(response('200 OK', [('Content-Type', ctype)] + server_headers, body))
                continue
            ctype, body = files.get(req.target, ('text/plain', None))
            if body is None:
                conn.send(response('404 Not Found', [('Content-Type', ctype)] + server_headers, b'Not Found'))
                continue
            headers = [('Content-Type', ctype), ('Accept-Ranges', 'bytes'),
                       ('Last-Modified', 'Mon, 13 Nov 2023 02:00:00 GMT')] + server_headers
            status, part = '200 OK', body
            if req.header('Range').startswith('bytes='):
                first, last = (int(x) for x in req.header('Range')[6:].split('-'))
                status, part = '206 Partial Content', body[first:last + 1]
                headers.append(('Content-Range', f'bytes {first}-{last}/{len(body)}'))
            if req.method == 'HEAD':
                head = ''.join(f'{k}: {v}\r\n' for k, v in headers)
                conn.send(f'HTTP/1.1 200 OK\r\n{head}Content-Length: {len(body)}\r\n\r\n'.encode())
            else:
                conn.send(response(status, headers, part))
    return app


def bits_download(host, path, size, tls):
    """BITS: HEAD for the size, then one ranged GET of the whole file, on a connection of its own."""
    conn = open_http(host, 443, tls)
    fetch(conn, 'HEAD', path, BITS_HEADERS)
    fetch(conn, 'GET', path, BITS_HEADERS + [('Range', f'bytes=0-{size - 1}')])
    conn.close()


OAB_ROUTES = {
    f'/OAB/{OAB_GUID}/oab.xml': ('text/xml', oab_manifest(oab_lzx())),
    f'/OAB/{OAB_GUID}/{OAB_FILE}': ('application/octet-stream', oab_lzx()),
}


def oab_download(tls):
    outlook = [('User-Agent', OUTLOOK_UA), ('X-AnchorMailbox', 'alice@contoso.com')]
    conn = open_http(MAIL_HOST, 443, tls)
    fetch(conn, 'POST', '/EWS/Exchange.asmx',
          [('Content-Type', 'text/xml; charset=utf-8'), ('SOAPAction', EWS_ACTION)] + outlook, EWS_REQUEST)
    conn.close()
    conn = open_http(MAIL_HOST, 443, tls)
    fetch(conn, 'GET', f'/OAB/{OAB_GUID}/oab.xml', outlook)
    conn.close()
    bits_download(MAIL_HOST, f'/OAB/{OAB_GUID}/{OAB_FILE}', len(oab_lzx()), tls)


# ------------------------------------------------------------ Exchange failing

EWS_FAULT = b'''<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorInternalServerError</faultcode><faultstring xml:lang="en-US">An internal server error occurred. The operation failed.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorInternalServerError</e:ResponseCode></detail></s:Fault></s:Body></s:Envelope>'''
UNAVAILABLE = b'<html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>'


def failing_exchange_app(conn):
    """/mapi/: the first Execute is answered 503 (the mailbox's back end is down), every other
    request as mapi_app answers it. /EWS/: an NTLM NEGOTIATE is answered 401 with a CHALLENGE, the
    first request after it 500 with a SOAP fault, later ones 200."""
    executes, sequence, ews_answers = 0, 0, 0
    while (req := conn.read_request()) is not None:
        if req.target.startswith('/mapi/'):
            executes += req.header('X-RequestType') == 'Execute'
            if executes == 1 and req.header('X-RequestType') == 'Execute':
                number = int(req.header('X-RequestId').rsplit(':', 1)[1])
                conn.send(response('503 Service Unavailable', [
                    ('Content-Type', 'text/html'), ('Server', 'Microsoft-IIS/10.0'),
                    ('request-id', f'{number:08x}-9c1d-4e2f-8a3b-4c5d6e7f8091'), ('X-FEServer', 'EXCH01'),
                    ('Date', DATE)], UNAVAILABLE))
                continue
            sequence += 1
            mapi_success(conn, req, sequence)
            continue
        auth = req.header('Authorization')
        if auth.startswith('NTLM ') and b64decode(auth[5:])[8] == 1:    # NEGOTIATE
            conn.send(response('401 Unauthorized', [
                ('Content-Type', 'text/html'), ('Server', 'Microsoft-IIS/10.0'),
                ('WWW-Authenticate', 'NTLM ' + ntlm_challenge(auth[5:])), ('Date', DATE)]))
            continue
        ews_answers += 1
        status, body = ('500 Internal Server Error', EWS_FAULT) if ews_answers == 1 else ('200 OK', EWS_RESPONSE)
        conn.send(response(status, [('Content-Type', 'text/xml; charset=utf-8')] + EXCHANGE_HEADERS, body))


def exchange_failing():
    counter = itertools.count(1)
    mailbox = MapiClient(open_http(MAIL_HOST, 80, None), 'emsmdb', 1, counter)
    statuses = [mailbox.call(kind).status for kind in ('Connect', 'Execute', 'Execute')]
    mailbox.conn.close()
    assert statuses == [200, 503, 200], statuses

    ews = [('User-Agent', OUTLOOK_UA), ('X-AnchorMailbox', 'alice@contoso.com'),
           ('Content-Type', 'text/xml; charset=utf-8'), ('SOAPAction', EWS_ACTION)]
    conn = open_http(MAIL_HOST, 80, None)
    type1 = ntlm.getNTLMSSPType1('', 'CONTOSO')
    resp = fetch(conn, 'POST', '/EWS/Exchange.asmx',
                 ews + [('Authorization', 'NTLM ' + b64encode(type1.getData()).decode())], EWS_REQUEST)
    challenge = b64decode(resp.getheader('WWW-Authenticate')[5:])
    type3, _ = ntlm.getNTLMSSPType3(type1, challenge, 'alice', 'Passw0rd!', 'CONTOSO')
    statuses = [resp.status, fetch(conn, 'POST', '/EWS/Exchange.asmx',
                                   ews + [('Authorization', 'NTLM ' + b64encode(type3.getData()).decode())],
                                   EWS_REQUEST).status]
    statuses.append(fetch(conn, 'POST', '/EWS/Exchange.asmx', ews, EWS_REQUEST).status)
    conn.close()
    assert statuses == [401, 500, 200], statuses


def error_code_app(conn):
    """/mapi/: the first Execute is answered 500 with X-ResponseCode 1 (Unknown Failure, MS-OXCMAPIHTTP
    2.2.2.2.3), every other request as mapi_app answers it."""
    executes, sequence = 0, 0
    while (req := conn.read_request()) is not None:
        executes += req.header('X-RequestType') == 'Execute'
        if executes == 1 and req.header('X-RequestType') == 'Execute':
            number = int(req.header('X-RequestId').rsplit(':', 1)[1])
            conn.send(response('500 Internal Server Error', [
                ('Content-Type', 'text/html'), ('Server', 'Microsoft-IIS/10.0'),
                ('request-id', f'{number:08x}-9c1d-4e2f-8a3b-4c5d6e7f8091'), ('X-FEServer', 'EXCH01'),
                ('X-RequestType', 'Execute'), ('X-ResponseCode', '1'), ('Date', DATE)], UNAVAILABLE))
            continue
        sequence += 1
        mapi_success(conn, req, sequence)


def mapi_error_code():
    mailbox = MapiClient(open_http(MAIL_HOST, 80, None), 'emsmdb', 1, itertools.count(1))
    statuses = [mailbox.call(kind).status for kind in ('Connect', 'Execute', 'Execute')]
    mailbox.conn.close()
    assert statuses == [200, 500, 200], statuses


# ------------------------------------------------------------ what the server's answer shows

NGINX = [('Server', 'nginx/1.22.1'), ('Date', DATE)]
SSO_LOGIN = 'https://sso.example.net/login?return=https%3A%2F%2Fmail.contoso.com%2FAutodiscover%2FAutodiscover.xml'


def html(title):
    return f'<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>'.encode()


HTML_OK, HTML_500, HTML_405, HTML_401 = (html(t) for t in ('Welcome', '500 Internal Server Error', '405 Not Allowed',
                                                           '401 Authorization Required'))


def answer(status, headers, ctype='text/html', body=b''):
    return response(status, [('Content-Type', ctype)] + headers, body)


# One list of (request, answer) per TCP connection, in connection order. A web server that is not
# Exchange (nginx) answers most; a front end that shows Exchange's headers answers two.
ANSWERS = [
    # 1: 200 from nginx, no Exchange header: neutral, the request stays inferred
    [(('GET', '/EWS/Exchange.asmx', None), answer('200 OK', NGINX, body=HTML_OK))],
    # 2: a redirect to another product's login page, no Exchange header: contradicts
    [(('GET', '/Autodiscover/Autodiscover.xml', None),
      answer('302 Found', NGINX + [('Location', SSO_LOGIN)], body=b''))],
    # 3: 405 without Exchange headers: contradicts
    [(('POST', f'/mapi/emsmdb/?MailboxId={MAILBOX}', b'\x00' * 16), answer('405 Not Allowed', NGINX, body=HTML_405))],
    # 4: 200 with an Autodiscover body, no Exchange header: confirms (the XML namespace)
    [(('POST', '/autodiscover/autodiscover.xml', AUTODISCOVER_REQUEST),
      answer('200 OK', NGINX, 'text/xml; charset=utf-8', AUTODISCOVER_RESPONSE))],
    # 5: a redirect to OWA with Exchange's headers: confirms
    [(('GET', '/EWS/Exchange.asmx', None),
      answer('302 Found', [('Location', '/owa/'), ('Server', 'Microsoft-IIS/10.0'),
                           ('request-id', '5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4105'), ('X-FEServer', 'EXCH01'),
                           ('Date', DATE)]))],
    # 6 (keep-alive): 500 from the reverse proxy (neutral), then 200 passed through from Exchange
    [(('GET', '/EWS/Services.wsdl', None), answer('500 Internal Server Error', NGINX, body=HTML_500)),
     (('POST', '/EWS/Exchange.asmx', EWS_REQUEST),
      answer('200 OK', [('Server', 'nginx/1.22.1'), ('Date', DATE), ('X-FEServer', 'EXCH01')],
             'text/xml; charset=utf-8', EWS_RESPONSE))],
    # 7: 401 offering only Basic, no Exchange header: neutral (not IIS's Windows authentication)
    [(('POST', '/EWS/Exchange.asmx', EWS_REQUEST),
      answer('401 Unauthorized', NGINX + [('WWW-Authenticate', 'Basic realm="mail.contoso.com"')], body=HTML_401))],
]


def answers_app():
    """Each accepted connection gets the next list of ANSWERS (the client opens one at a time), then
    the server closes it (Connection: close on the last answer)."""
    lists = iter(ANSWERS)

    def app(conn):
        exchanges = next(lists)
        for i, ((method, target, _), raw) in enumerate(exchanges):
            req = conn.read_request()
            assert req is not None and (req.method, req.target) == (method, target), (req, method, target)
            if i == len(exchanges) - 1:
                head, rest = raw.split(b'\r\n', 1)
                raw = head + b'\r\nConnection: close\r\n' + rest
            conn.send(raw)
    return app


def answers_client():
    headers = [('User-Agent', OUTLOOK_UA), ('Accept', '*/*')]
    for exchanges in ANSWERS:
        conn = open_http(MAIL_HOST, 80, None)
        for (method, target, body), _ in exchanges:
            ctype = [('Content-Type', 'application/octet-stream' if target.startswith('/mapi/') else 'text/xml')]
            fetch(conn, method, target, headers + (ctype if body is not None else []), body)
        conn.close()


# ------------------------------------------------------------ negatives

def tiny_png():
    """A 1x1 transparent PNG, built here so the bytes are known."""
    def part(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    return (b'\x89PNG\r\n\x1a\n' + part(b'IHDR', struct.pack('>IIBBBBB', 1, 1, 8, 6, 0, 0, 0))
            + part(b'IDAT', zlib.compress(b'\x00\x00\x00\x00\x00')) + part(b'IEND', b''))


BROWSING_ROUTES = {
    ('GET', '/'): ('text/html; charset=utf-8',
                   b'<!doctype html><html><head><title>Example</title><link rel="stylesheet" href="/style.css">'
                   b'</head><body><h1>Example</h1><img src="https://cdn.example.net/img/logo.png"></body></html>'),
    ('GET', '/style.css'): ('text/css', b'body { font-family: sans-serif; margin: 2em; }\n'),
    ('GET', '/api/items?page=2'): ('application/json', b'{"page":2,"items":[{"id":21,"name":"teapot"}]}'),
    ('GET', '/img/logo.png'): ('image/png', tiny_png()),
}
BROWSER_HEADERS = [('User-Agent', BROWSER_UA), ('Accept', '*/*'), ('Accept-Language', 'en-US,en;q=0.9')]


def https_browsing(tls):
    conn = open_http('www.example.org', 443, tls)
    for target in ('/', '/style.css', '/api/items?page=2'):
        fetch(conn, 'GET', target, BROWSER_HEADERS)
    conn.close()
    conn = open_http('cdn.example.net', 443, tls)
    fetch(conn, 'GET', '/img/logo.png', BROWSER_HEADERS)
    conn.close()


LOOKALIKE_REQUESTS = [
    ('POST', '/api/v2/docs/mapi/emsmdb-overview', b'{"title":"MAPI over HTTP","tags":["mapi","emsmdb"]}'),
    ('GET', '/search?q=/mapi/nspi/&src=/EWS/Exchange.asmx', None),
    ('GET', '/static/autodiscover.xml.bak/readme', None),
    ('GET', '/docs/rpc/rpcproxy.dll', None),
    ('GET', f'/mirror/OAB/{OAB_GUID}/oab.xml', None),
    ('GET', '/mapi-docs/emsmdb/', None),
]
LOOKALIKE_ROUTES = {(m, t): ('application/json', b'{"ok":true}') for m, t, _ in LOOKALIKE_REQUESTS}


def http_lookalike():
    conn = http.client.HTTPConnection('api.example.net', 80)
    for method, target, body in LOOKALIKE_REQUESTS:
        headers = [('User-Agent', 'curl/7.88.1'), ('Accept', '*/*')]
        if body is not None:
            headers.append(('Content-Type', 'application/json'))
        fetch(conn, method, target, headers, body)
    conn.close()


SNI_LOOKALIKES = ('api.autodiscover-tools.example.net', 'myautodiscover.example.com',
                  'outlook.office365.com.evil.example')


def sni_lookalike(tls):
    for host in SNI_LOOKALIKES:
        conn = open_http(host, 443, tls)
        fetch(conn, 'GET', '/', BROWSER_HEADERS)
        conn.close()


# oab-download's clients on an ordinary download server, at paths that only look like Exchange's /OAB/.
OAB_LOOKALIKE_HOST = 'downloads.example.net'
OAB_LOOKALIKE_ROUTES = {
    f'/oabackup/{OAB_GUID}/oab.xml': ('text/xml', oab_manifest(oab_lzx())),
    f'/files/OAB/{OAB_GUID}/oab.xml': ('text/xml', oab_manifest(oab_lzx())),
    f'/OAB-mirror/{OAB_GUID}/{OAB_FILE}': ('application/octet-stream', oab_lzx()),
}


def oab_lookalike(tls):
    conn = open_http(OAB_LOOKALIKE_HOST, 443, tls)
    for path in (f'/oabackup/{OAB_GUID}/oab.xml', f'/files/OAB/{OAB_GUID}/oab.xml'):
        fetch(conn, 'GET', path, BROWSER_HEADERS)
    conn.close()
    bits_download(OAB_LOOKALIKE_HOST, f'/OAB-mirror/{OAB_GUID}/{OAB_FILE}', len(oab_lzx()), tls)


# ------------------------------------------------------------ output

def write_with_keys(name, pkts, keylog):
    """pcapng with the TLS key log in a Decryption Secrets Block."""
    with tempfile.TemporaryDirectory() as tmp:
        plain = os.path.join(tmp, 'plain.pcap')
        wrpcap(plain, pkts)
        subprocess.run(['editcap', '--inject-secrets', 'tls,' + keylog, plain, os.path.join(HERE, name)],
                       check=True)
    print(f'{name}: {len(pkts)} frames, keys embedded')


def tls_scenario(names, app, client, outputs):
    """Record client(tls) against app on port 443 (certificates for names); write the
    keys-embedded and/or no-keys captures named in outputs."""
    with tempfile.TemporaryDirectory() as tmp:
        tls = Tls(tmp, names)
        give_impacket_tls(tls.client)
        pkts = record(lambda: client(tls), 443, app, tls.server)
        keys_name, nokeys_name = outputs
        if keys_name:
            write_with_keys(keys_name, pkts, tls.keylog)
        if nokeys_name:
            write(nokeys_name, pkts)


def main(argv):
    scenarios = ['mapi-http-outlook', 'mapi-http-outlook-nokeys', 'mapi-http-cleartext', 'mapi-http-midstream',
                 'rpc-http-outlook', 'rpc-http-outlook-nokeys', 'rpc-http-referral', 'rpc-http-port-mismatch',
                 'ews-autodiscover', 'ews-autodiscover-nokeys', 'oab-download', 'oab-lookalike-negative',
                 'https-browsing-negative',
                 'http-lookalike-negative', 'sni-lookalike-negative', 'exchange-online-nokeys',
                  'http-server-errors', 'mapi-http-error-code', 'mapi-http-two-backends', 'http-answers', 'rpc-http-kerberos']
    wanted = set(argv) or set(scenarios)
    unknown = wanted - set(scenarios)
    if unknown:
        sys.exit(f'unknown scenario(s): {" ".join(sorted(unknown))}; known: {" ".join(scenarios)}')
    resolve_names_to_loopback()

    def pick(keys, nokeys):
        return (keys + '.pcapng' if keys in wanted else None, nokeys + '.pcap' if nokeys in wanted else None)

    if wanted & {'mapi-http-outlook', 'mapi-http-outlook-nokeys'}:
        tls_scenario([MAIL_HOST], mapi_app, lambda tls: mapi_outlook(443, tls),
                     pick('mapi-http-outlook', 'mapi-http-outlook-nokeys'))
    if wanted & {'mapi-http-cleartext', 'mapi-http-midstream'}:
        pkts = record(lambda: mapi_outlook(80, None), 80, mapi_app)
        if 'mapi-http-cleartext' in wanted:
            write('mapi-http-cleartext.pcap', pkts)
        if 'mapi-http-midstream' in wanted:
            write('mapi-http-midstream.pcap', drop_first_request(pkts))
    if wanted & {'rpc-http-outlook', 'rpc-http-outlook-nokeys'}:
        tls_scenario([MAIL_HOST], RpcProxy(), lambda tls: rpc_http_outlook(443),
                     pick('rpc-http-outlook', 'rpc-http-outlook-nokeys'))
    if 'rpc-http-referral' in wanted:
        tls_scenario([MAIL_HOST], RpcProxy(), lambda tls: rpc_http_referral(443), ('rpc-http-referral.pcapng', None))
    if 'rpc-http-port-mismatch' in wanted:
        write('rpc-http-port-mismatch.pcap', record(rpc_http_port_mismatch, 80, RpcProxy()))
    if wanted & {'ews-autodiscover', 'ews-autodiscover-nokeys'}:
        tls_scenario([MAIL_HOST, AUTODISCOVER_HOST], web_app(EXCHANGE_ROUTES, EXCHANGE_HEADERS),
                     ews_autodiscover, pick('ews-autodiscover', 'ews-autodiscover-nokeys'))
    if 'oab-download' in wanted:
        tls_scenario([MAIL_HOST], download_app(OAB_ROUTES, EXCHANGE_HEADERS, EXCHANGE_ROUTES), oab_download,
                     ('oab-download.pcapng', None))
    if 'oab-lookalike-negative' in wanted:
        tls_scenario([OAB_LOOKALIKE_HOST], download_app(OAB_LOOKALIKE_ROUTES, [('Server', 'nginx'), ('Date', DATE)]),
                     oab_lookalike, ('oab-lookalike-negative.pcapng', None))
    if 'https-browsing-negative' in wanted:
        tls_scenario(['www.example.org', 'cdn.example.net'],
                     web_app(BROWSING_ROUTES, [('Server', 'nginx'), ('Date', DATE)]), https_browsing,
                     ('https-browsing-negative.pcapng', None))
    if 'http-lookalike-negative' in wanted:
        app = web_app(LOOKALIKE_ROUTES, [('Server', 'nginx'), ('Date', DATE)])
        write('http-lookalike-negative.pcap', record(http_lookalike, 80, app))
    if 'sni-lookalike-negative' in wanted:
        tls_scenario(list(SNI_LOOKALIKES), web_app({('GET', '/'): BROWSING_ROUTES[('GET', '/')]},
                                                    [('Server', 'nginx'), ('Date', DATE)]),
                     sni_lookalike, (None, 'sni-lookalike-negative.pcap'))
    if 'exchange-online-nokeys' in wanted:
        tls_scenario([EXO_AUTODISCOVER, EXO_FRONT_DOOR], web_app(EXO_ROUTES, EXCHANGE_HEADERS), exchange_online,
                     (None, 'exchange-online-nokeys.pcap'))
    if 'http-server-errors' in wanted:
        write('http-server-errors.pcap', record(exchange_failing, 80, failing_exchange_app))
    if 'mapi-http-error-code' in wanted:
        write('mapi-http-error-code.pcap', record(mapi_error_code, 80, error_code_app))
    if 'mapi-http-two-backends' in wanted:
        write('mapi-http-two-backends.pcap', record(mapi_two_backends, 80, two_backends_app))
    if 'rpc-http-kerberos' in wanted:
        write('rpc-http-kerberos.pcap', record(rpc_http_kerberos, 80, RpcProxy()))
    if 'http-answers' in wanted:
        write('http-answers.pcap', record(answers_client, 80, answers_app()))


if __name__ == '__main__':
    main(sys.argv[1:])
