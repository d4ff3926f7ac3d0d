"""Which servers handled a connection, and how exchange.server names the one the client asked for.

exchange.frontend is the first X-FEServer an answer on the connection names; exchange.backend the first
X-BEServer, else X-CalculatedBETarget; exchange.backend.later the first other back end a later answer
names (expert exchange.backend_changed on that answer). -z exchange,conns shows them in its Front end and
Back end columns ("EXCH02 then EXCH03" for a connection whose back end changed), -z exchange,clients lists
per process the back ends of its connections by short name. mapi-http-two-backends.pcap (gen_http.py
mapi-http-two-backends) holds one Outlook whose connections reach EXCH02 and EXCH03.

exchange.server is the name the client used: the Host of the first request, else the TLS server name, in
lower case, with :port only when the server port is not the scheme's default (443 with TLS, 80 without).
The RPC server an RPC/HTTP URI names is exchange.rpc.server.
"""
import pytest

from expectations import SERVERS
from tables import BACKEND, CLIENTS_TITLE, FRONTEND, STREAM, clients_backends, conns_table, stat_table

TWO_PASS = pytest.mark.parametrize('passes', [(), ('-2',)], ids=['single-pass', 'two-pass'])
OUTLOOK_HEADER = ('192.168.2.56', 'OUTLOOK.EXE', '-', 'header')
MAILBOX_GUID = '7bb476d4-6c5e-4f2b-9b41-3f2d8e2a1c55@contoso.com'


def per_stream(tshark, capture, fields, *extra):
    """{tcp.stream: (field values)} over the frames of tagged connections, with -2 (each stream once)."""
    out = {}
    for stream, *values in tshark.fields(capture, ['tcp.stream', *fields], '-2', '-Y', 'exchange', *extra):
        assert out.setdefault(int(stream), tuple(values)) == tuple(values), f'{capture} stream {stream} differs'
    return out


SERVERS_SEEN = {
    # capture: {stream: (exchange.frontend, exchange.backend, exchange.backend.later)}
    'mapi-http-two-backends.pcap': {0: ('EXCH01', 'EXCH02', 'EXCH03'), 1: ('EXCH01', 'EXCH03', ''),
                                    2: ('EXCH01', 'exch02.contoso.com', '')},
    'mapi-http-cleartext.pcap': {0: ('EXCH01', '', ''), 1: ('EXCH01', '', '')},
    'mapi-http-outlook.pcapng': {0: ('EXCH01', '', ''), 1: ('EXCH01', '', '')},
    'ews-autodiscover.pcapng': {0: ('EXCH01', '', ''), 1: ('EXCH01', '', ''), 2: ('EXCH01', '', '')},
    'oab-download.pcapng': {0: ('EXCH01', '', ''), 1: ('EXCH01', '', ''), 2: ('EXCH01', '', '')},
    'http-server-errors.pcap': {0: ('EXCH01', '', ''), 1: ('EXCH01', '', '')},
    # not decrypted: no header is read
    'rpc-http-outlook-nokeys.pcap': {s: ('', '', '') for s in range(4)},
}


@pytest.mark.parametrize('capture', sorted(SERVERS_SEEN))
def test_frontend_and_backend_per_connection(tshark, capture):
    extra = SERVERS if capture.endswith('-nokeys.pcap') else ()
    assert per_stream(tshark, capture, ['exchange.frontend', 'exchange.backend', 'exchange.backend.later'],
                      *extra) == SERVERS_SEEN[capture]


def test_x_beserver_wins_over_x_calculatedbetarget(tshark):
    """scanner-exchange-like's Autodiscover and WSDL answers name exch01.contoso.com (X-CalculatedBETarget)
    before EXCH01 (X-BEServer); its 401 answers name only the front end."""
    rows = per_stream(tshark, 'scanner-exchange-like.pcap', ['exchange.frontend', 'exchange.backend'])
    assert {s: rows[s] for s in (2, 5)} == {2: ('EXCH01', 'EXCH01'), 5: ('EXCH01', 'EXCH01')}


def test_changed_backend_is_an_expert_note_on_its_answer(tshark):
    rows = tshark.fields('mapi-http-two-backends.pcap', ['frame.number', '_ws.expert.message'], '-2',
                         '-Y', 'exchange.backend_changed')
    assert [(frame, 'Back end changed from EXCH02 to EXCH03' in messages.split(',')) for frame, messages in rows] \
        == [('56', True)]


def test_backend_is_known_from_the_first_answer_on(tshark):
    """Single pass: the request that decides the role (frame 6) precedes the answer naming EXCH02 (10)."""
    rows = tshark.fields('mapi-http-two-backends.pcap', ['frame.number', 'exchange.backend'], '-Y',
                         'tcp.stream == 0 && frame.number <= 10 && exchange')
    assert rows == [['6', ''], ['7', ''], ['8', ''], ['9', ''], ['10', 'EXCH02']]


@TWO_PASS
def test_conns_table_columns(tshark, passes):
    rows = conns_table(tshark, 'mapi-http-two-backends.pcap', *passes)
    assert {int(r[STREAM]): (r[FRONTEND], r[BACKEND]) for r in rows} == {
        0: ('EXCH01', 'EXCH02 then EXCH03'), 1: ('EXCH01', 'EXCH03'), 2: ('EXCH01', 'exch02.contoso.com')}
    rows = conns_table(tshark, 'rpc-tcp-outlook-start.pcap', *passes)
    assert rows and {(r[FRONTEND], r[BACKEND]) for r in rows} == {('-', '-')}


@TWO_PASS
def test_clients_table_lists_a_process_backends(tshark, passes):
    """EXCH02 (X-BEServer) and exch02.contoso.com (X-CalculatedBETarget) are one back end; the later
    EXCH03 of connection 0 is counted by connection 1's."""
    def backends(capture):
        return clients_backends(stat_table(tshark, capture, *CLIENTS_TITLE, *passes, arg='exchange,clients'))
    assert backends('mapi-http-two-backends.pcap') == {OUTLOOK_HEADER: 'EXCH02,EXCH03'}
    assert backends('mapi-http-cleartext.pcap') == {OUTLOOK_HEADER: '-'}


SERVER_NAMES = {
    # (capture, extra options): {stream: exchange.server}
    # Host with a port that is not HTTP's
    ('scanner-exchange-like.pcap', ()): {2: '192.168.2.50:8080', 5: '192.168.2.50:8080'},
    # Host on the default port, cleartext and TLS
    ('mapi-http-cleartext.pcap', ()): {0: 'mail.contoso.com', 1: 'mail.contoso.com'},
    ('mapi-http-outlook.pcapng', ()): {0: 'mail.contoso.com', 1: 'mail.contoso.com'},
    ('ews-autodiscover.pcapng', ()): {0: 'autodiscover.contoso.com', 1: 'mail.contoso.com', 2: 'mail.contoso.com'},
    # not decrypted: the TLS server name
    ('rpc-http-outlook-nokeys.pcap', SERVERS): {s: 'mail.contoso.com' for s in range(4)},
    ('ews-autodiscover-nokeys.pcap', ()): {0: 'autodiscover.contoso.com'},
    # RPC/HTTP: the proxy's Host, not the RPC server behind it
    ('rpc-http-outlook.pcapng', ()): {s: 'mail.contoso.com' for s in range(4)},
    # no name at all: the server endpoint
    ('rpc-tcp-outlook-start.pcap', ()): {0: '192.168.2.50:135', 1: '192.168.2.50:59532', 2: '192.168.2.50:59532',
                                         3: '192.168.2.50:59531', 4: '192.168.2.50:59531'},
}


@pytest.mark.parametrize('key', sorted(SERVER_NAMES), ids=lambda k: k[0] + ('+servers' if k[1] else ''))
def test_server_is_the_name_the_client_used(tshark, key):
    capture, extra = key
    rows = per_stream(tshark, capture, ['exchange.server'], *extra)
    assert {s: rows[s][0] for s in SERVER_NAMES[key]} == SERVER_NAMES[key]


def test_rpc_server_is_the_endpoint_behind_the_proxy(tshark):
    rows = per_stream(tshark, 'rpc-http-outlook.pcapng', ['exchange.server', 'exchange.rpc.server'])
    assert rows == {0: ('mail.contoso.com', MAILBOX_GUID + ':6001'), 1: ('mail.contoso.com', MAILBOX_GUID + ':6001'),
                    2: ('mail.contoso.com', MAILBOX_GUID + ':6004'), 3: ('mail.contoso.com', MAILBOX_GUID + ':6004')}
    # not decrypted: no URI, no RPC server
    rows = per_stream(tshark, 'rpc-http-outlook-nokeys.pcap', ['exchange.rpc.server'], *SERVERS)
    assert set(rows.values()) == {('',)}
