"""HTTP-borne roles: RPC over HTTP, MAPI over HTTP, EWS, Autodiscover, OAB;
cleartext, TLS with keys, and TLS without.

Every capture here comes from gen_http.py (Python's http.client and ssl,
impacket's RPC over HTTP v2 client, responders on loopback); README.md
beside the captures says which.
"""
import re
import subprocess

import pytest

from expectations import HTTP as EXPECTED
from expectations import SERVERS, ident
from tables import extract_keylog

CERTAIN, INFERRED = 'certain', 'inferred'
CAPTURES = sorted({capture for capture, _ in EXPECTED})


CONV_FIELDS = ['tcp.stream', 'exchange.role', 'exchange.transport', 'exchange.rpc.target',
               'exchange.confidence', 'exchange.decided_in']


def conversations(tshark, capture, *extra):
    """{stream: (role, transport, target, confidence, decided_in)} with -2, failing unless every frame
    of a tagged connection carries the same values."""
    seen, untagged = {}, set()
    for stream, role, transport, target, conf, decided in tshark.fields(capture, CONV_FIELDS, '-2', *extra):
        if not role:
            untagged.add(int(stream))
            continue
        row = (role, transport, target, conf, int(decided))
        assert seen.setdefault(int(stream), row) == row, f'stream {stream} is inconsistent'
    assert not (untagged & set(seen)), f'streams {untagged & set(seen)} have frames without a role'
    return seen


def streams_matching(tshark, capture, display_filter, *extra):
    return sorted({int(r[0]) for r in tshark.fields(capture, ['tcp.stream'], '-2', '-Y', display_filter, *extra)})


@pytest.mark.parametrize('key', sorted(EXPECTED), ids=ident)
def test_roles_per_connection(tshark, key):
    capture, extra = key
    assert conversations(tshark, capture, *extra) == EXPECTED[key]


@pytest.mark.parametrize('key', sorted(k for k in EXPECTED
                                       if any(v[3] == INFERRED and v[1] == 'https' for v in EXPECTED[k].values())),
                         ids=ident)
def test_undecrypted_is_never_certain_and_says_why(tshark, key):
    capture, extra = key
    rows = tshark.fields(capture, ['exchange.confidence', 'exchange.evidence'], '-2', '-Y', 'exchange.role', *extra)
    assert rows and all(conf == INFERRED and 'not decrypted' in ev for conf, ev in rows)


# -- RPC over HTTP

def test_rpc_http_channels_pair_by_cookie(tshark):
    rows = tshark.fields('rpc-http-outlook.pcapng', ['tcp.stream', 'exchange.rpch.cookie', 'exchange.rpch.peer_stream',
                                                     'exchange.interface', 'exchange.rpc.server'], '-2', '-Y', 'exchange')
    vc1, vc2 = '7c000000-0000-4000-8000-000000000001', '7c000000-0000-4000-8000-000000000002'
    server = '7bb476d4-6c5e-4f2b-9b41-3f2d8e2a1c55@contoso.com:'
    assert sorted({tuple(r) for r in rows}) == [
        ('0', vc1, '1', 'EMSMDB', server + '6001'),
        ('1', vc1, '0', 'EMSMDB', server + '6001'),
        ('2', vc2, '3', 'NSPI', server + '6004'),
        ('3', vc2, '2', 'NSPI', server + '6004'),
    ]


def test_rpc_http_target_comes_from_the_inner_bind(tshark):
    rows = tshark.fields('rpc-http-outlook.pcapng', ['tcp.stream', 'exchange.rpc.target_evidence'], '-2',
                         '-Y', 'exchange.rpc.target')
    assert sorted({tuple(r) for r in rows}) == [
        ('0', 'BIND to EMSMDB inside the channel in frame 32'),
        ('1', 'IN channel (stream 0): BIND to EMSMDB inside the channel in frame 32'),
        ('2', 'BIND to NSPI inside the channel in frame 78'),
        ('3', 'IN channel (stream 2): BIND to NSPI inside the channel in frame 78'),
    ]


def test_bind_beats_the_uri_port(tshark):
    """The URI asks for :6004 (directory) but the IN channel binds EMSMDB."""
    rows = tshark.fields('rpc-http-port-mismatch.pcap', ['tcp.stream', 'exchange.rpc.server', 'exchange.rpc.target',
                                                         'exchange.rpc.target_evidence'], '-2', '-Y', 'tcp.stream == 0')
    assert {tuple(r) for r in rows} == {('0', '7bb476d4-6c5e-4f2b-9b41-3f2d8e2a1c55@contoso.com:6004', 'mailbox',
                                         'BIND to EMSMDB inside the channel in frame 24')}


def test_uri_port_is_the_target_when_no_bind_is_seen(tshark):
    """Without the frame carrying the BIND, the URI port is all there is: an inferred target."""
    name = 'rpc-http-port-mismatch-nobind.pcap'
    subprocess.run(['editcap', 'rpc-http-port-mismatch.pcap', name, '24'], cwd=tshark.caps, check=True,
                   capture_output=True)
    (tshark.caps / name).chmod(0o644)
    rows = tshark.fields(name, ['tcp.stream', 'exchange.role', 'exchange.rpc.target', 'exchange.rpc.target_evidence'],
                         '-2', '-Y', 'exchange.rpc.target')
    assert sorted({tuple(r) for r in rows}) == [
        ('0', 'rpc-in', 'directory', 'URI port 6004 in frame 8'),
        ('1', 'rpc-out', 'directory', 'URI port 6004 in frame 19'),     # its own URI: as good as the IN's
    ]


def test_referral_channels_bind_rfr_behind_port_6002(tshark):
    """Outlook Anywhere's referral virtual connection: the IN channel binds RFR (MS-OXABREF), the
    URI names port 6002; both channels carry target referral, paired by their cookie."""
    rows = tshark.fields('rpc-http-referral.pcapng', ['tcp.stream', 'exchange.role', 'exchange.rpch.peer_stream',
                                                      'exchange.interface', 'exchange.rpc.server', 'exchange.rpc.target',
                                                      'exchange.rpc.target_evidence'], '-2', '-Y', 'exchange')
    server = '7bb476d4-6c5e-4f2b-9b41-3f2d8e2a1c55@contoso.com:6002'
    assert sorted({tuple(r) for r in rows}) == [
        ('0', 'rpc-in', '1', 'RFR', server, 'referral', 'BIND to RFR inside the channel in frame 32'),
        ('1', 'rpc-out', '0', 'RFR', server, 'referral', 'IN channel (stream 0): BIND to RFR inside the channel in '
                                                         'frame 32'),
    ]


def test_uri_port_6002_alone_is_an_inferred_referral(tshark):
    """Without the frame carrying the RFR BIND, port 6002 in the URI still names the referral service."""
    name = 'rpc-http-referral-nobind.pcapng'
    # tshark, not editcap: it keeps the Decryption Secrets Block (editcap 4.0 cannot write it back).
    tshark.run('-r', 'rpc-http-referral.pcapng', '-Y', 'frame.number != 32', '-w', name)
    rows = tshark.fields(name, ['tcp.stream', 'exchange.role', 'exchange.rpc.target', 'exchange.rpc.target_evidence'],
                         '-2', '-Y', 'exchange.rpc.target')
    assert sorted({tuple(r) for r in rows}) == [
        ('0', 'rpc-in', 'referral', 'URI port 6002 in frame 12'),
        ('1', 'rpc-out', 'referral', 'URI port 6002 in frame 27'),
    ]

def test_echo_request_is_not_a_channel(tshark):
    capture = 'rpc-http-port-mismatch.pcap'
    assert streams_matching(tshark, capture, 'http.request.method == "RPC_IN_DATA"') == [0, 2]
    assert streams_matching(tshark, capture, 'exchange') == [0, 1]


def test_authentication_leg_belongs_to_its_channel(tshark):
    """Each channel's 401 NTLM leg runs on its own connection before CONN/B1 or CONN/A1: with -2 the
    leg carries the channel's role, and only the channel-opening frames name a service."""
    capture = 'rpc-http-outlook.pcapng'
    legs = {int(s): int(f) for f, s in tshark.fields(capture, ['frame.number', 'tcp.stream'], '-Y',
                                                     'http.response.code == 401')}
    assert sorted(legs) == [0, 1, 2, 3]
    assert tshark.frames(capture, 'http.response.code == 401 && exchange.role == "rpc-in"', '-2') == \
        sorted([legs[0], legs[2]])
    assert tshark.frames(capture, 'http.response.code == 401 && exchange.role == "rpc-out"', '-2') == \
        sorted([legs[1], legs[3]])
    rows = tshark.fields(capture, ['frame.number', 'exchange.service'], '-Y', 'exchange.service')
    assert [tuple(r) for r in rows] == [('27', 'rpc-out'), ('28', 'rpc-in'), ('73', 'rpc-out'), ('74', 'rpc-in')]


def test_undecrypted_channels_pair_by_their_flow(tshark):
    rows = tshark.fields('rpc-http-outlook-nokeys.pcap', ['tcp.stream', 'exchange.evidence'], '-2',
                         '-Y', 'exchange.decided_in == frame.number', *SERVERS)
    evidence = {int(s): e for s, e in rows}
    assert sorted(evidence) == [0, 1, 2, 3]
    assert 'from the client' in evidence[0] and 'stream 1 to the same server' in evidence[0]
    assert 'from the server' in evidence[1] and 'stream 0 to the same server' in evidence[1]
    assert 'stream 3 to the same server' in evidence[2] and 'stream 2 to the same server' in evidence[3]


# -- MAPI over HTTP

MAPI_REQUESTS = [
    (11, 0, 'Connect'), (17, 0, 'Execute'), (23, 0, 'Execute'), (27, 0, 'NotificationWait'),
    (40, 1, 'Bind'), (46, 1, 'GetMatches'), (52, 1, 'QueryRows'), (58, 1, 'Unbind'),
]


def test_mapi_request_types_client_and_mailbox(tshark):
    rows = tshark.fields('mapi-http-outlook.pcapng', ['frame.number', 'tcp.stream', 'exchange.mapi.request_type',
                                                      'exchange.client.application', 'exchange.mailbox'],
                         '-Y', 'exchange.mapi.request_type')
    assert [(int(f), int(s), t) for f, s, t, _, _ in rows] == MAPI_REQUESTS
    assert {(a, m) for *_, a, m in rows} == {('Outlook/16.0.15928.20006',
                                              '7bb476d4-6c5e-4f2b-9b41-3f2d8e2a1c55@contoso.com')}


def test_notification_wait_keeps_the_connection_a_mailbox(tshark):
    capture = 'mapi-http-outlook.pcapng'
    assert tshark.frames(capture, 'exchange.mapi.request_type == "NotificationWait" && exchange.role == "mailbox"') \
        == [27]
    # The held answer comes last on its connection, still as a mailbox.
    last = max(int(r[0]) for r in tshark.fields(capture, ['frame.number'], '-Y', 'tcp.stream == 0'))
    answers = tshark.frames(capture, 'http.response && tcp.stream == 0 && exchange.role == "mailbox"', '-2')
    assert answers[-1] <= last and len(answers) == 4


def test_reused_ports_start_afresh_in_a_single_pass(tshark):
    """Each connection on a reused address and port pair is its own: in one pass too, where the
    plugin follows connections frame by frame, no role passes to the next one on those ports."""
    rows = tshark.fields('tcp-port-reuse.pcap', ['frame.number', 'tcp.stream', 'exchange.role'])
    role_of = {}
    for frame, stream, role in rows:
        role_of.setdefault(int(stream), []).append((int(frame), role))
    assert sorted(role_of) == [0, 1, 2]
    assert {r for _, r in role_of[1]} == {''}
    assert all(r == ('mailbox' if f >= 6 else '') for f, r in role_of[0])
    assert all(r == ('directory' if f >= 59 else '') for f, r in role_of[2])
    assert tshark.frames('tcp-port-reuse.pcap', 'tcp.analysis.reused_ports') == [32, 54]


def test_midstream_capture_decides_at_the_first_request_seen(tshark):
    """Inferred at the first request seen, certain at its answer (request-id)."""
    capture = 'mapi-http-midstream.pcap'
    assert tshark.frames(capture, 'exchange.role_decided') == [2, 5, 20, 24]
    assert tshark.frames(capture, 'exchange.role_decided && exchange.confidence == "inferred"', '-2') == []
    rows = tshark.fields(capture, ['frame.number', '_ws.expert.message'], '-Y', 'exchange.role_decided')
    assert [(r[0], 'confirmed' in r[1]) for r in rows] == [('2', False), ('5', True), ('20', False), ('24', True)]
    assert tshark.frames(capture, 'exchange.mapi.request_type == "Execute"') == [2, 8]


# -- a web scanner's probes (nmap --script http-enum): certain needs the server's answer

def role_messages(tshark, capture, *extra):
    """(frame, the 'Exchange role ...' expert message) of frames where a role was decided or changed."""
    rows = tshark.fields(capture, ['frame.number', '_ws.expert.message'], *extra, '-Y',
                         'exchange.role_decided || exchange.role_changed')
    return [(int(f), re.search(r'Exchange role [^,]*(, [^,]*)*', m).group(0)) for f, m in rows]


def test_scanner_probes_answered_404_by_nginx_leave_no_role(tshark):
    capture = 'scanner-nginx-negative.pcap'
    assert tshark.frames(capture, 'exchange.role', '-2') == []
    # One pass: the request alone is inferred, nginx's 404 takes it away.
    rows = tshark.fields(capture, ['frame.number', 'exchange.role', 'exchange.confidence'], '-Y', 'exchange.role')
    assert [tuple(r) for r in rows] == [('17', 'autodiscover', INFERRED), ('18', 'autodiscover', INFERRED),
                                        ('37', 'ews', INFERRED), ('38', 'ews', INFERRED),
                                        ('47', 'ews', INFERRED), ('48', 'ews', INFERRED)]
    assert role_messages(tshark, capture, '-2') == [
        (17, 'Exchange role autodiscover: GET /Autodiscover/Autodiscover.xml in frame 17'),
        (19, 'Exchange role autodiscover withdrawn: GET /Autodiscover/Autodiscover.xml in frame 17, '
             'answered 404 without Exchange headers in frame 19'),
        (37, 'Exchange role ews: GET /EWS/Exchange.asmx in frame 37'),
        (39, 'Exchange role ews withdrawn: GET /EWS/Exchange.asmx in frame 37, answered 404 without Exchange headers '
             'in frame 39'),
        (47, 'Exchange role ews: GET /EWS/Services.wsdl in frame 47'),
        (49, 'Exchange role ews withdrawn: GET /EWS/Services.wsdl in frame 47, answered 404 without Exchange headers '
             'in frame 49'),
    ]


def test_scanner_probes_answered_as_exchange_are_certain_at_the_answer(tshark):
    capture = 'scanner-exchange-like.pcap'
    assert role_messages(tshark, capture, '-2')[1::2] == [
        (19, 'Exchange role autodiscover confirmed: GET /Autodiscover/Autodiscover.xml in frame 17, '
             'answered 200 with request-id in frame 19'),
        (39, 'Exchange role ews confirmed: GET /EWS/Exchange.asmx in frame 37, answered 401 with request-id in frame 39'),
        (49, 'Exchange role ews confirmed: GET /EWS/Services.wsdl in frame 47, answered 200 with request-id in frame 49'),
    ]
    # A bare /Autodiscover/ and a CGI probe under /ews/ are no endpoints, whatever the answer.
    assert tshark.frames(capture, '(tcp.stream == 3 || tcp.stream == 6) && exchange', '-2') == []


def test_unanswered_scanner_probes_stay_inferred(tshark):
    capture = 'scanner-unanswered.pcap'
    rows = tshark.fields(capture, ['tcp.stream', 'exchange.confidence'], '-2', '-Y', 'exchange.role')
    assert sorted({tuple(r) for r in rows}) == [('0', INFERRED), ('2', INFERRED), ('3', INFERRED)]
    # Nothing about them is certain.
    assert tshark.frames(capture, 'exchange.confidence == "certain"', '-2') == []


# -- EWS, Autodiscover, OAB

def test_one_connection_lists_every_service(tshark):
    rows = tshark.fields('ews-autodiscover.pcapng', ['tcp.stream', 'exchange.role', 'exchange.services',
                                                     'exchange.server'], '-2', '-Y', 'exchange')
    assert sorted({tuple(r) for r in rows}) == [
        ('0', 'autodiscover', 'autodiscover', 'autodiscover.contoso.com'),
        ('1', 'ews', 'ews,oab', 'mail.contoso.com'),
        ('2', 'autodiscover', 'autodiscover', 'mail.contoso.com'),
    ]
    rows = tshark.fields('ews-autodiscover.pcapng', ['frame.number', 'exchange.service'], '-Y', 'exchange.service')
    assert [tuple(r) for r in rows] == [('11', 'autodiscover'), ('27', 'ews'), ('30', 'oab'), ('44', 'autodiscover')]


def test_oab_download_has_connections_of_its_own(tshark):
    """Outlook fetches oab.xml on a connection of its own and BITS the .lzx file on another: both are
    oab connections, named by their first /OAB/ request; the EWS connection before them stays ews."""
    capture = 'oab-download.pcapng'
    rows = tshark.fields(capture, ['frame.number', 'tcp.stream', 'http.request.method', 'exchange.service'],
                         '-2', '-Y', 'http.request')
    assert [tuple(r) for r in rows] == [('11', '0', 'POST', 'ews'), ('26', '1', 'GET', 'oab'),
                                        ('40', '2', 'HEAD', 'oab'), ('42', '2', 'GET', 'oab')]
    rows = tshark.fields(capture, ['tcp.stream', 'exchange.role', 'exchange.services', 'exchange.evidence'],
                         '-2', '-Y', 'exchange.role == "oab"')
    path = '/OAB/3f1e2d3c-0000-4000-8000-00000000a0b1/'
    assert sorted({tuple(r) for r in rows}) == [
        ('1', 'oab', 'oab', f'GET {path}oab.xml in frame 26, answered 200 with X-FEServer in frame 27'),
        ('2', 'oab', 'oab', f'HEAD {path}3f1e2d3c-0000-4000-8000-00000000a0b1-d in frame 40, '   # 80 characters
                            'answered 200 with X-FEServer in frame 41'),
    ]

def test_keylog_file_decrypts_like_embedded_secrets(tshark, tmp_path):
    keys = tshark.add_file(str(extract_keylog(tshark.caps / 'ews-autodiscover.pcapng', tmp_path / 'all.keys')))
    assert conversations(tshark, 'ews-autodiscover-nokeys.pcap', '-o', f'tls.keylog_file:{keys}') == \
        EXPECTED[('ews-autodiscover.pcapng', ())]


def test_hosts_named_by_a_decrypted_autodiscover_answer_are_exchange(tshark, tmp_path):
    """Keys for the Autodiscover connection only: its answer names mail.contoso.com, so the two
    undecrypted connections to it are Exchange, role unknown."""
    keys = extract_keylog(tshark.caps / 'ews-autodiscover.pcapng', tmp_path / 'first.keys', only=1)
    opts = ('-o', f'tls.keylog_file:{tshark.add_file(str(keys))}')
    assert conversations(tshark, 'ews-autodiscover-nokeys.pcap', *opts) == {
        0: ('autodiscover', 'https', '', CERTAIN, 13),
        1: ('unknown', 'https', '', INFERRED, 20),
        2: ('unknown', 'https', '', INFERRED, 38),
    }
    rows = tshark.fields('ews-autodiscover-nokeys.pcap', ['exchange.evidence'], '-2', '-Y', 'tcp.stream == 1', *opts)
    assert {r[0] for r in rows} == {'TLS to an Exchange host (mail.contoso.com is named in the Autodiscover answer in '
                                    'frame 13); not decrypted, role unknown'}


# -- display filters users type

@pytest.mark.parametrize('capture, display_filter, extra, want', [
    ('rpc-http-outlook.pcapng', 'exchange.role == "rpc-in"', (), [0, 2]),
    ('rpc-http-outlook.pcapng', 'exchange.role == "rpc-out" && exchange.rpc.target == "directory"', (), [3]),
    ('rpc-http-outlook.pcapng', 'exchange.transport == "rpc-http"', (), [0, 1, 2, 3]),
    ('rpc-http-outlook-nokeys.pcap', 'exchange.role == "rpc-out" && exchange.confidence == "inferred"', SERVERS,
     [1, 3]),
    ('mapi-http-outlook.pcapng', 'exchange.transport == "mapi-http" && exchange.role == "directory"', (), [1]),
    ('mapi-http-cleartext.pcap', 'exchange.mapi.request_type == "NotificationWait"', (), [0]),
    ('rpc-http-referral.pcapng', 'exchange.rpc.target == "referral"', (), [0, 1]),
    ('rpc-http-referral.pcapng', 'exchange.role == "rpc-in" && exchange.rpc.target == "referral"', (), [0]),
    ('rpc-http-outlook.pcapng', 'exchange.rpc.target == "referral"', (), []),
    ('ews-autodiscover.pcapng', 'exchange.services contains "oab"', (), [1]),
    ('ews-autodiscover.pcapng', 'exchange.role == "oab"', (), []),      # oab only as a second service there
    ('oab-download.pcapng', 'exchange.role == "oab"', (), [1, 2]),
    ('oab-download.pcapng', 'exchange.role == "oab" && http.user_agent contains "BITS"', (), [2]),
    ('ews-autodiscover.pcapng', 'exchange.role in {"ews", "autodiscover"} && exchange.tls.server_name == '
     '"mail.contoso.com"', (), [1, 2]),
    ('ews-autodiscover-nokeys.pcap', 'exchange.role == "autodiscover"', (), [0]),
    ('exchange-online-nokeys.pcap', 'exchange.tls.server_name == "outlook.office365.com"', (), [1]),
])
def test_display_filters(tshark, capture, display_filter, extra, want):
    assert streams_matching(tshark, capture, display_filter, *extra) == want


# -- stock dissection is untouched

@pytest.mark.parametrize('capture', CAPTURES)
def test_stock_dissection_unchanged(tshark, capture):
    def protocols(*extra):
        return {int(n): p.replace(':exchange', '')
                for n, p in tshark.fields(capture, ['frame.number', 'frame.protocols'], '-2', *extra)}
    assert protocols() == protocols('--disable-protocol', 'exchange')


def test_negatives_have_words_but_no_tags(tshark):
    """The look-alikes really carry Exchange words, in places that do not count."""
    uris = [r[0] for r in tshark.fields('http-lookalike-negative.pcap', ['http.request.uri'], '-Y', 'http.request')]
    assert len(uris) == 6 and all(any(w in u.lower() for w in ('mapi', 'ews', 'autodiscover', 'rpcproxy', 'oab'))
                                  for u in uris)
    uris = [r[0] for r in tshark.fields('oab-lookalike-negative.pcapng', ['http.request.uri'], '-Y', 'http.request')]
    assert len(uris) == 4 and all(u.lower().startswith(('/oab', '/files/oab/')) for u in uris)
    names = [r[0] for r in tshark.fields('sni-lookalike-negative.pcap', ['tls.handshake.extensions_server_name'],
                                         '-Y', 'tls.handshake.type == 1')]
    assert names == ['api.autodiscover-tools.example.net', 'myautodiscover.example.com',
                     'outlook.office365.com.evil.example']
    for capture in ('http-lookalike-negative.pcap', 'sni-lookalike-negative.pcap', 'https-browsing-negative.pcapng',
                    'oab-lookalike-negative.pcapng'):
        assert tshark.frames(capture, 'exchange', '-2') == [], capture
