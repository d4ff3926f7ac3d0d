"""Certain needs the server's confirming answer (README, "Confidence: the server confirms").

A request (an Exchange BIND, a request at an Exchange endpoint) is `inferred` until the server answers
as Exchange, then `certain`, decided in the answer's frame; an answer that contradicts it (BIND_NAK, every
context refused, a 404/405 or a redirect without Exchange's signs) takes the role away; an answer that
says nothing either way (200, 500, a 401 offering only Basic, without Exchange's headers) leaves it
`inferred`. A single pass shows what was known at each frame: a role inferred at the request and
withdrawn at the answer, the withdrawal as expert info exchange.role_changed on the answer frame.

Captures (test-captures/README.md): rpc-tcp-bind-refused.pcap (gen_rpc_tcp.py bind-refused) and
http-answers.pcap (gen_http.py http-answers).
"""
import re

import pytest

from tables import CONF, DECIDED, EVIDENCE, FAILURES, IFACE, REQUESTS, ROLE, STREAM, TRANSPORT, conns_table

RPC = 'rpc-tcp-bind-refused.pcap'
HTTP = 'http-answers.pcap'
FRAME_FIELDS = ['frame.number', 'exchange.role', 'exchange.confidence', 'exchange.decided_in', 'exchange.interface']


def table(tshark, capture):
    """{stream: (role, transport, interfaces, confidence, decided in, evidence)} of -z exchange,conns (-2)."""
    return {int(r[STREAM]): (r[ROLE], r[TRANSPORT], r[IFACE], r[CONF], int(r[DECIDED]), r[EVIDENCE])
            for r in conns_table(tshark, capture, '-2')}


def role_messages(tshark, capture, *extra):
    """[(frame, stream, message)] of the exchange.role_decided / exchange.role_changed expert infos."""
    rows = tshark.fields(capture, ['frame.number', 'tcp.stream', '_ws.expert.message'], *extra, '-Y',
                         'exchange.role_decided || exchange.role_changed')
    # (expert messages are joined by ',' without a space; ours comes after the stock ones)
    return [(int(r[0]), int(r[1]), re.split(r',(?=\S)', r[2][r[2].index('Exchange role'):])[0]) for r in rows]


def frames(tshark, capture, stream, *extra):
    """{frame: (role, confidence, decided in, interfaces)} of every frame of a stream ('' where untagged)."""
    return {int(f): (role, conf, decided, ifaces) for f, role, conf, decided, ifaces
            in tshark.fields(capture, FRAME_FIELDS, *extra, '-Y', f'tcp.stream == {stream}')}


def single_pass(tshark, capture, stream, wanted):
    """The single-pass tags of the listed frames of a stream."""
    got = frames(tshark, capture, stream)
    return {f: got[f] for f in wanted}


# ------------------------------------------------------------------ RPC/TCP: BIND_NAK, refused contexts

def test_stock_dcerpc_shows_the_refusals(tshark):
    """The capture is what its README row says: a BIND_NAK, a BIND_ACK refusing both contexts, an acceptance."""
    rows = tshark.fields(RPC, ['frame.number', 'tcp.stream', 'dcerpc.pkt_type', 'dcerpc.cn_ack_result'], '-2', '-Y',
                         'dcerpc.pkt_type in {11, 12, 13}')
    assert [(int(f), int(s), int(t), res) for f, s, t, res in rows] == [
        (4, 0, 11, ''), (6, 0, 13, ''),             # BIND EMSMDB, BIND_NAK
        (14, 1, 11, ''), (16, 1, 12, '2,2'),        # BIND EMSMDB + AsyncEMSMDB, BIND_ACK: provider rejection x2
        (22, 2, 11, ''), (26, 2, 12, '0'),          # BIND NSPI, BIND_ACK: acceptance
    ]


def test_refused_binds_leave_no_role(tshark):
    assert table(tshark, RPC) == {
        2: ('directory', 'rpc-tcp', 'NSPI', 'certain', 26,
            'BIND to NSPI in frame 22, accepted by the server in frame 26'),
    }
    assert {int(s) for s, in tshark.fields(RPC, ['tcp.stream'], '-2', '-Y', 'exchange.role')} == {2}


REFUSALS = {
    # stream: (BIND frame, answer frame, interfaces the BIND names)
    'bind-nak': (0, 4, 6, 'EMSMDB'),
    'every-context-refused': (1, 14, 16, 'EMSMDB,AsyncEMSMDB'),
}


@pytest.mark.parametrize('case', sorted(REFUSALS))
def test_refusal_withdraws_the_inferred_role_in_a_single_pass(tshark, case):
    stream, bind, answer, ifaces = REFUSALS[case]
    got = frames(tshark, RPC, stream)
    assert got[bind] == ('mailbox', 'inferred', str(bind), ifaces)
    assert got[answer] == ('', '', '', '')
    assert {f for f, (role, *_) in got.items() if role} == {bind, bind + 1}     # the BIND and its ACK
    assert [m for m in role_messages(tshark, RPC) if m[1] == stream] == [
        (bind, stream, f'Exchange role mailbox: BIND to EMSMDB in frame {bind}'),
        (answer, stream, f'Exchange role mailbox withdrawn: BIND to EMSMDB in frame {bind}, '
                         f'refused by the server in frame {answer}'),
    ]
    # Two passes: nothing on any frame of the stream, and no role decided on it.
    assert {r for r in frames(tshark, RPC, stream, '-2').values()} == {('', '', '', '')}


def test_accepted_bind_is_inferred_until_the_bind_ack(tshark):
    assert single_pass(tshark, RPC, 2, [22, 23, 26]) == {
        22: ('directory', 'inferred', '22', 'NSPI'),
        23: ('directory', 'inferred', '22', 'NSPI'),
        26: ('directory', 'certain', '26', 'NSPI'),
    }
    assert [m for m in role_messages(tshark, RPC) if m[1] == 2] == [
        (22, 2, 'Exchange role directory: BIND to NSPI in frame 22'),
        (26, 2, 'Exchange role directory confirmed: BIND to NSPI in frame 22, accepted by the server in frame 26'),
    ]


# ------------------------------------------------------------------ HTTP: what the answer shows

# case: (stream, role, [(frame, single-pass (role, confidence, decided in), role message or None)],
#        -2 table row (confidence, decided in, evidence) or None for no role)
HTTP_CASES = {
    # 200 from nginx, no Exchange header: neutral
    'neutral-200': (0, 'ews', [
        (4, ('ews', 'inferred', '4'), 'Exchange role ews: GET /EWS/Exchange.asmx in frame 4'),
        (6, ('ews', 'inferred', '4'), None),
    ], ('inferred', 4, 'GET /EWS/Exchange.asmx in frame 4')),
    # 302 to another product's login page, no Exchange header: contradicts
    'redirect-elsewhere': (1, 'autodiscover', [
        (12, ('autodiscover', 'inferred', '12'),
         'Exchange role autodiscover: GET /Autodiscover/Autodiscover.xml in frame 12'),
        (16, ('', '', ''),
         'Exchange role autodiscover withdrawn: GET /Autodiscover/Autodiscover.xml in frame 12, redirected (302) '
         'to https://sso.example.net/login?return=https%3A%2F%2Fmail.contoso.com%2FAutodiscov '
         'without Exchange headers in frame 16'),
    ], None),
    # 405 without Exchange headers: contradicts
    'method-not-allowed': (2, 'mailbox', [
        (26, ('mailbox', 'inferred', '26'), 'Exchange role mailbox: POST /mapi/emsmdb/ in frame 26'),
        (28, ('', '', ''), 'Exchange role mailbox withdrawn: POST /mapi/emsmdb/ in frame 26, '
                           'answered 405 without Exchange headers in frame 28'),
    ], None),
    # 200 with an Autodiscover body and no Exchange header: confirms
    'exchange-body': (3, 'autodiscover', [
        (38, ('autodiscover', 'inferred', '38'),
         'Exchange role autodiscover: POST /autodiscover/autodiscover.xml in frame 38'),
        (40, ('autodiscover', 'certain', '40'),
         'Exchange role autodiscover confirmed: POST /autodiscover/autodiscover.xml in frame 38, '
         'answered 200 with an Exchange XML body in frame 40'),
    ], ('certain', 40, 'POST /autodiscover/autodiscover.xml in frame 38, answered 200 with an Exchange XML body '
                       'in frame 40')),
    # 302 to /owa/ with request-id and X-FEServer: confirms
    'redirect-with-exchange-headers': (4, 'ews', [
        (46, ('ews', 'inferred', '46'), 'Exchange role ews: GET /EWS/Exchange.asmx in frame 46'),
        (50, ('ews', 'certain', '50'), 'Exchange role ews confirmed: GET /EWS/Exchange.asmx in frame 46, '
                                       'answered 302 with request-id in frame 50'),
    ], ('certain', 50, 'GET /EWS/Exchange.asmx in frame 46, answered 302 with request-id in frame 50')),
    # keep-alive: 500 without Exchange headers (neutral: the GET stays inferred and waits no more), then a
    # second request answered 200 with X-FEServer: that answer confirms the request it answers.
    'keep-alive': (5, 'ews', [
        (58, ('ews', 'inferred', '58'), 'Exchange role ews: GET /EWS/Services.wsdl in frame 58'),
        (60, ('ews', 'inferred', '58'), None),
        (63, ('ews', 'inferred', '58'), None),
        (65, ('ews', 'certain', '65'), 'Exchange role ews confirmed: POST /EWS/Exchange.asmx in frame 63, '
                                       'answered 200 with X-FEServer in frame 65'),
    ], ('certain', 65, 'POST /EWS/Exchange.asmx in frame 63, answered 200 with X-FEServer in frame 65')),
    # 401 offering only Basic, no Exchange header: neutral (not IIS's Windows authentication)
    'basic-401': (6, 'ews', [
        (75, ('ews', 'inferred', '75'), 'Exchange role ews: POST /EWS/Exchange.asmx in frame 75'),
        (77, ('ews', 'inferred', '75'), None),
    ], ('inferred', 75, 'POST /EWS/Exchange.asmx in frame 75')),
}


def test_stock_http_shows_the_answers(tshark):
    """The capture is what its README row says: one request per connection but the keep-alive one."""
    rows = tshark.fields(HTTP, ['frame.number', 'tcp.stream', 'http.request.method', 'http.response.code'], '-2',
                         '-Y', 'http.request || http.response')
    assert [(int(f), int(s), m or int(c)) for f, s, m, c in rows] == [
        (4, 0, 'GET'), (6, 0, 200), (12, 1, 'GET'), (16, 1, 302), (26, 2, 'POST'), (28, 2, 405),
        (38, 3, 'POST'), (40, 3, 200), (46, 4, 'GET'), (50, 4, 302), (58, 5, 'GET'), (60, 5, 500),
        (63, 5, 'POST'), (65, 5, 200), (75, 6, 'POST'), (77, 6, 401)]
    # Only the answers of streams 4 and 5's second carry an Exchange header.
    assert tshark.frames(HTTP, 'http.response.line contains "X-FEServer" || http.response.line contains '
                               '"request-id"') == [50, 65]


@pytest.mark.parametrize('case', sorted(HTTP_CASES))
def test_answer_decides_in_a_single_pass(tshark, case):
    stream, role, steps, _ = HTTP_CASES[case]
    got = frames(tshark, HTTP, stream)
    assert {f: got[f][:3] for f, _, _ in steps} == {f: tags for f, tags, _ in steps}
    assert [(f, m) for f, s, m in role_messages(tshark, HTTP) if s == stream] == \
        [(f, m) for f, _, m in steps if m is not None]


@pytest.mark.parametrize('case', sorted(HTTP_CASES))
def test_answer_decides_with_two_passes(tshark, case):
    stream, role, _, row = HTTP_CASES[case]
    got = table(tshark, HTTP).get(stream)
    assert got == (None if row is None else (role, 'http', '-', *row))
    roles = {r for r, *_ in frames(tshark, HTTP, stream, '-2').values()}
    assert roles == ({''} if row is None else {role})


def test_keep_alive_counts_both_requests_and_the_500(tshark):
    rows = {int(r[STREAM]): r for r in conns_table(tshark, HTTP, '-2')}
    requests, failures = rows[5][REQUESTS], rows[5][FAILURES]
    assert (requests, failures) == ('2', '1')


# ------------------------------------------------------------------ RPC/HTTP without a 401 leg

KERBEROS = 'rpc-http-kerberos.pcap'
VC1 = '7c000000-0000-4000-8000-000000000001'


def test_kerberos_channels_have_no_401_leg(tshark):
    """The capture is what its README row says: Negotiate (Kerberos) in both channel requests, no 401;
    the OUT channel's answer is 200 with CONN/A3, then CONN/C2."""
    rows = tshark.fields(KERBEROS, ['frame.number', 'tcp.stream', 'http.response.code'], '-2', '-Y', 'http.response')
    assert [(int(f), int(s), int(c)) for f, s, c in rows] == [(6, 0, 100), (13, 1, 100), (17, 1, 200)]
    assert tshark.frames(KERBEROS, 'http.authorization contains "Negotiate "', '-2') == [4, 15]
    assert tshark.frames(KERBEROS, 'kerberos.msg_type == 14', '-2') == [4, 15]      # AP-REQ


def test_out_channels_rts_confirms_both_channels(tshark):
    """The OUT channel is certain at the server's RTS PDU (CONN/A3, frame 17); the IN channel, paired with it
    by the virtual connection cookie, gets no answer of its own and is confirmed by the same frame."""
    got = table(tshark, KERBEROS)
    assert got[1] == ('rpc-out', 'rpc-http', 'EMSMDB', 'certain', 17,
                      f'RPC_OUT_DATA opening virtual connection {VC1} (CONN/A1) in frame 15, '
                      'answered with an RTS PDU in frame 17')
    assert got[0][:5] == ('rpc-in', 'rpc-http', 'EMSMDB', 'certain', 17)
    assert sorted(got) == [0, 1]


def test_kerberos_channels_in_a_single_pass(tshark):
    out, into = frames(tshark, KERBEROS, 1), frames(tshark, KERBEROS, 0)
    assert out[15][:3] == ('rpc-out', 'inferred', '15')
    assert {f: t[:3] for f, t in out.items() if f >= 17} == {f: ('rpc-out', 'certain', '17') for f in out if f >= 17}
    assert into[16][:3] == ('rpc-in', 'inferred', '16')
    assert {f: t[:3] for f, t in into.items() if f > 17} == {f: ('rpc-in', 'certain', '17') for f in into if f > 17}


@pytest.mark.parametrize('capture', ['http-answers.pcap', 'rpc-tcp-bind-refused.pcap', 'rpc-http-kerberos.pcap',
                                     'mapi-http-outlook.pcapng', 'rpc-tcp-outlook-start.pcap'])
@pytest.mark.parametrize('passes', [(), ('-2',)], ids=['single', 'two'])
def test_one_role_message_per_frame(tshark, capture, passes):
    """A frame's evidence is told once: decided, confirmed, changed or withdrawn, never two of them."""
    rows = tshark.fields(capture, ['frame.number', '_ws.expert.message'], *passes, '-Y',
                         'exchange.role_decided || exchange.role_changed')
    assert rows
    for frame, messages in rows:
        assert len(re.findall(r'(?:^|,)Exchange role ', messages)) == 1, (frame, messages)
