#!/usr/bin/python3
"""Generate the web-scanner captures: Exchange-looking probes from a real scanner, answered or not.

A web vulnerability scanner probes /Autodiscover/, /EWS/ and the like on any web server it meets;
its requests alone prove nothing about the server (issue 18, item 5). These captures hold such probes
answered by a server that is not Exchange, by one that answers as Exchange does, and by none.

The scanner is nmap's http-enum script (`nmap -p 8080 --script http-enum`), with a fingerprint file
of its own format (`http-enum.fingerprintfile`) listing the probes a scanner sent to a non-Exchange
server in a public corpus: GET /Autodiscover/Autodiscover.xml, /Autodiscover/, /EWS/Exchange.asmx,
/EWS/Services.wsdl and /ews/ews/architext_query.pl (Architext Excite, a CGI under /ews/). nmap's own
404 check (random paths) comes first. `http.host` gives the Host header the rewritten server address.
Both servers close the connection after each answer, so nmap sends one request per connection and
each probe is a TCP stream of its own.

dumpcap records lo; gen_rpc_tcp.rewrite() gives client 192.168.2.56 (ports 50701, ... in SYN order);
the server becomes SERVER (below) on port 8080.

Run as root (capturing on lo needs it), with Debian's python3 and nmap, nginx installed:
    sudo /usr/bin/python3 tests/generators/gen_scanner.py [scenario ...]

Scenarios (one capture each, named <scenario>.pcap; see test-captures/README.md):
    scanner-nginx-negative  nginx (a private config, its default static site) on 192.168.2.80:8080:
                            every probe answered 404 by nginx
    scanner-exchange-like   the same scan of a responder on 192.168.2.50:8080 answering as Exchange:
                            /Autodiscover/Autodiscover.xml 200 with an Autodiscover XML error body,
                            /Autodiscover/ and /EWS/Exchange.asmx 401 Negotiate/NTLM, /EWS/Services.wsdl
                            200 WSDL, all with Exchange's headers; anything else 404 without them
    scanner-unanswered      nmap's requests for the five probes, sent by Python to a server on
                            192.168.2.80:8080 that accepts and never answers; the client gives up after
                            CLIENT_PATIENCE seconds and closes, then the server
"""
import os
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading

from scapy.all import IP

from gen_http import DATE, HttpHandler, HttpServer, response
from gen_rpc_tcp import SERVER4, capture, rewrite, write

PORT = 8080
NGINX_SERVER, EXCHANGE_SERVER = '192.168.2.80', '192.168.2.50'
NMAP_UA = 'Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)'
CLIENT_PATIENCE = 1.0       # seconds scanner-unanswered's client waits for an answer

# (path, what http-enum reports when it is found)
PROBES = [
    ('/Autodiscover/Autodiscover.xml', 'Microsoft Exchange Autodiscover'),
    ('/Autodiscover/', 'Microsoft Exchange Autodiscover'),
    ('/EWS/Exchange.asmx', 'Microsoft Exchange Web Services'),
    ('/EWS/Services.wsdl', 'Microsoft Exchange Web Services'),
    ('/ews/ews/architext_query.pl', 'Architext Excite for Web Servers'),
]


def fingerprint_file(path):
    """The probes in http-enum's fingerprint format (nselib/data/http-fingerprints.lua)."""
    with open(path, 'w') as f:
        for probe, output in PROBES:
            f.write("table.insert(fingerprints, {\n  category = 'microsoft',\n"
                    f"  probes = {{ {{ path = '{probe}', method = 'GET' }} }},\n"
                    f"  matches = {{ {{ match = '', output = '{output}' }} }}\n}});\n")


def nmap_scan(server):
    with tempfile.TemporaryDirectory() as tmp:
        prints = os.path.join(tmp, 'exchange-probes.lua')
        fingerprint_file(prints)
        subprocess.run(['nmap', '-n', '-Pn', '-p', str(PORT), '--script', 'http-enum', '--script-args',
                        f'http-enum.fingerprintfile={prints},http.host={server}:{PORT}', '127.0.0.1'],
                       check=True)


def wait_for_listener():
    """Until something accepts on 127.0.0.1:PORT (before the capture starts)."""
    while True:
        try:
            socket.create_connection(('127.0.0.1', PORT), timeout=1).close()
            return
        except OSError:
            threading.Event().wait(0.05)


def readdress(pkts, server):
    """rewrite()'s SERVER4 -> server."""
    for p in pkts:
        if p[IP].src == SERVER4:
            p[IP].src = server
        if p[IP].dst == SERVER4:
            p[IP].dst = server
    return pkts


# ------------------------------------------------------------ nginx

NGINX_CONF = '''worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_timeout 0;    # one answer per connection, as the Exchange-like responder
    server {{
        listen 127.0.0.1:{port};
        root /var/www/html;
        index index.html index.htm index.nginx-debian.html;
        server_name _;
        location / {{ try_files $uri $uri/ =404; }}
    }}
}}
'''


def scanned(server):
    """nmap's scan of the listener on PORT, recorded and readdressed to server."""
    wait_for_listener()
    return readdress(rewrite(capture(f'tcp port {PORT}', lambda: nmap_scan(server)), 4), server)


def nginx_scan():
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write(NGINX_CONF.format(tmp=tmp, port=PORT))
        nginx = subprocess.Popen(['nginx', '-p', tmp, '-c', conf, '-e', os.path.join(tmp, 'error.log'),
                                  '-g', 'daemon off;'])
        try:
            return scanned(NGINX_SERVER)
        finally:
            nginx.terminate()
            nginx.wait()


# ------------------------------------------------------------ a responder answering as Exchange

IIS = [('Server', 'Microsoft-IIS/10.0')]
ASPNET = [('X-AspNet-Version', '4.0.30319'), ('X-Powered-By', 'ASP.NET')]
FRONT_END = [('X-FEServer', 'EXCH01'), ('Date', DATE)]
BACK_END = [('X-CalculatedBETarget', 'exch01.contoso.com'), ('X-DiagInfo', 'EXCH01'), ('X-BEServer', 'EXCH01')]
CHALLENGE = [('WWW-Authenticate', 'Negotiate'), ('WWW-Authenticate', 'NTLM')]

AUTODISCOVER_ERROR = b'''<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response>
    <Error Time="09:30:00.4715232" Id="2750178351">
      <ErrorCode>600</ErrorCode>
      <Message>Invalid Request</Message>
      <DebugData />
    </Error>
  </Response>
</Autodiscover>'''
SERVICES_WSDL = b'''<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:tns="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" targetNamespace="http://schemas.microsoft.com/exchange/services/2006/messages">
  <wsdl:types><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:import namespace="http://schemas.microsoft.com/exchange/services/2006/messages" schemaLocation="messages.xsd"/></xs:schema></wsdl:types>
  <wsdl:message name="GetUserAvailabilitySoapIn"><wsdl:part name="request" element="tns:GetUserAvailabilityRequest"/></wsdl:message>
  <wsdl:message name="GetUserAvailabilitySoapOut"><wsdl:part name="GetUserAvailabilityResult" element="tns:GetUserAvailabilityResponse"/></wsdl:message>
  <wsdl:portType name="ExchangeServicePortType"><wsdl:operation name="GetUserAvailability"><wsdl:input message="tns:GetUserAvailabilitySoapIn"/><wsdl:output message="tns:GetUserAvailabilitySoapOut"/></wsdl:operation></wsdl:portType>
  <wsdl:binding name="ExchangeServiceBinding" type="tns:ExchangeServicePortType"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/><wsdl:operation name="GetUserAvailability"><soap:operation soapAction="http://schemas.microsoft.com/exchange/services/2006/messages/GetUserAvailability"/><wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation></wsdl:binding>
  <wsdl:service name="ExchangeServices"><wsdl:port name="ExchangeServicePort" binding="tns:ExchangeServiceBinding"><soap:address location="https://mail.contoso.com/EWS/Exchange.asmx"/></wsdl:port></wsdl:service>
</wsdl:definitions>'''
NOT_FOUND = (b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
             b'<HTML><HEAD><TITLE>Not Found</TITLE></HEAD><BODY><h2>Not Found</h2>\r\n'
             b'<hr><p>HTTP Error 404. The requested resource is not found.</p></BODY></HTML>\r\n')


def request_id(n):
    return [('request-id', f'5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f40{n:02x}')]


# Lower-case path (IIS matches paths case-insensitively) -> status, headers, body.
EXCHANGE_ANSWERS = {
    '/autodiscover/autodiscover.xml': ('200 OK', [('Cache-Control', 'private'),
                                                  ('Content-Type', 'text/xml; charset=utf-8')]
                                       + IIS + request_id(1) + BACK_END + ASPNET + FRONT_END, AUTODISCOVER_ERROR),
    '/autodiscover/': ('401 Unauthorized', IIS + request_id(2) + CHALLENGE + [('X-Powered-By', 'ASP.NET')]
                       + FRONT_END, b''),
    '/ews/exchange.asmx': ('401 Unauthorized', IIS + request_id(3) + CHALLENGE + [('X-Powered-By', 'ASP.NET')]
                           + FRONT_END, b''),
    '/ews/services.wsdl': ('200 OK', [('Cache-Control', 'private'), ('Content-Type', 'text/xml; charset=utf-8')]
                           + IIS + request_id(4) + BACK_END + ASPNET + FRONT_END, SERVICES_WSDL),
}


def exchange_like_app(conn):
    """One answer, then close (Connection: close), as nginx does with keepalive_timeout 0."""
    req = conn.read_request()
    if req is None:
        return
    path = req.target.split('?', 1)[0].lower()
    status, headers, body = EXCHANGE_ANSWERS.get(path, ('404 Not Found', [('Content-Type', 'text/html')] + IIS
                                                       + [('Date', DATE)], NOT_FOUND))
    conn.send(response(status, headers + [('Connection', 'close')], body))


def exchange_like_scan():
    srv = HttpServer(('127.0.0.1', PORT), HttpHandler)
    srv.app, srv.tls = exchange_like_app, None
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        return scanned(EXCHANGE_SERVER)
    finally:
        srv.shutdown()
        srv.server_close()


# ------------------------------------------------------------ a server that never answers

class SilentHandler(socketserver.BaseRequestHandler):
    def handle(self):
        while self.request.recv(4096):     # read everything, answer nothing, until the client closes
            pass


def nmap_request(path, server, connection):
    """A probe as nmap's http library builds it (http.lua build_request); http.pipeline_go() sends the
    first of its requests with Connection: keep-alive, the others (one per connection) with close."""
    return (f'GET {path} HTTP/1.1\r\nConnection: {connection}\r\nUser-Agent: {NMAP_UA}\r\n'
            f'Host: {server}:{PORT}\r\n\r\n').encode()


def unanswered_probes():
    for i, (path, _) in enumerate(PROBES):
        with socket.create_connection(('127.0.0.1', PORT)) as s:
            s.sendall(nmap_request(path, NGINX_SERVER, 'close' if i else 'keep-alive'))
            s.settimeout(CLIENT_PATIENCE)
            try:
                assert not s.recv(4096), 'the silent server answered'
            except socket.timeout:
                pass        # gave up: no answer
            # Close our side, then wait for the server's FIN, so that connections do not overlap.
            s.shutdown(socket.SHUT_WR)
            s.settimeout(None)
            assert not s.recv(4096), 'the silent server answered'


def unanswered_scan():
    srv = HttpServer(('127.0.0.1', PORT), SilentHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        wait_for_listener()
        return readdress(rewrite(capture(f'tcp port {PORT}', unanswered_probes), 4), NGINX_SERVER)
    finally:
        srv.shutdown()
        srv.server_close()


def main(argv):
    scenarios = {'scanner-nginx-negative': nginx_scan, 'scanner-exchange-like': exchange_like_scan,
                 'scanner-unanswered': unanswered_scan}
    wanted = argv or list(scenarios)
    unknown = set(wanted) - set(scenarios)
    if unknown:
        sys.exit(f'unknown scenario(s): {" ".join(sorted(unknown))}; known: {" ".join(scenarios)}')
    for name in wanted:
        write(f'{name}.pcap', scenarios[name]())


if __name__ == '__main__':
    main(sys.argv[1:])
