"""RPC/TCP roles: endpoint mapper, learned dynamic ports, BINDs.

Every capture here comes from gen_rpc_tcp.py (impacket's DCE/RPC client
against a responder on loopback); README.md beside the captures says which.
"""
import re
import pytest

from expectations import RPC_TCP as EXPECTED

CERTAIN, LEARNED = 'certain', 'learned'

ALWAYS = ('-o', 'exchange.always_analyse:TRUE')
CONV_FIELDS = ['tcp.stream', 'exchange.role', 'exchange.interface', 'exchange.confidence',
               'exchange.decided_in']


def conversations(tshark, capture, *extra):
    """{stream: (role, interfaces, confidence, decided_in)} over every frame,
    failing if two frames of one conversation disagree."""
    seen = {}
    for stream, role, ifaces, conf, decided in tshark.fields(capture, CONV_FIELDS, '-2', *extra):
        if not role:
            assert not (ifaces or conf or decided), f'stream {stream}: fields without a role'
            continue
        row = (role, ifaces, conf, int(decided))
        assert seen.setdefault(int(stream), row) == row, f'stream {stream} is inconsistent'
    return seen


def streams(tshark, capture):
    """{stream: [frame numbers]}"""
    out = {}
    for number, stream in tshark.fields(capture, ['frame.number', 'tcp.stream']):
        out.setdefault(int(stream), []).append(int(number))
    return out


@pytest.mark.parametrize('capture', sorted(EXPECTED))
def test_roles_per_conversation(tshark, capture):
    assert conversations(tshark, capture) == EXPECTED[capture]


@pytest.mark.parametrize('capture', sorted(EXPECTED))
def test_every_frame_of_a_tagged_conversation_matches_with_two_passes(tshark, capture):
    by_stream = streams(tshark, capture)
    for role in ('mailbox', 'directory', 'endpoint-mapper'):
        want = sorted(f for s, (r, *_) in EXPECTED[capture].items() if r == role for f in by_stream[s])
        assert tshark.frames(capture, f'exchange.role == "{role}"', '-2') == want, role


def test_single_pass_matches_from_the_deciding_frame_on(tshark):
    """One pass: inferred from the BIND on, certain from the server's BIND_ACK on."""
    capture = 'rpc-tcp-bind-no-epm.pcap'
    by_stream = streams(tshark, capture)
    binds = {2: 25, 3: 36}
    want = sorted(f for s in (2, 3) for f in by_stream[s] if f >= binds[s])
    assert tshark.frames(capture, 'exchange.role == "mailbox"') == want
    assert tshark.frames(capture, 'exchange.role == "mailbox" && exchange.confidence == "inferred"') == \
        [25, 26, 36, 37]
    want = sorted(f for s in (2, 3) for f in by_stream[s] if f >= EXPECTED[capture][s][3])
    assert tshark.frames(capture, 'exchange.role == "mailbox" && exchange.confidence == "certain"') == want
    # With -2 the handshake before the BIND matches too.
    assert tshark.frames(capture, 'exchange.role == "mailbox"', '-2') == sorted(by_stream[2] + by_stream[3])


def test_learned_port_tags_the_syn_in_single_pass(tshark):
    """Once an ept_map answer taught 59531, the SYN to it is already a mailbox."""
    capture = 'rpc-tcp-outlook-start.pcap'
    first = streams(tshark, capture)[3][0]
    assert first in tshark.frames(capture, 'exchange.role == "mailbox"')


def test_endpoint_mapper_answers_list_learned_endpoints(tshark):
    rows = tshark.fields('rpc-tcp-outlook-start.pcap', ['frame.number', 'exchange.epm.learned',
                                                       'exchange.epm.learned_port'],
                         '-2', '-Y', 'exchange.epm.learned')
    assert rows == [['9', '192.168.2.50:59532', '59532'], ['11', '192.168.2.50:59532', '59532'],
                    ['13', '192.168.2.50:59531', '59531']]


def test_learned_conversation_names_the_ept_map_answer(tshark):
    rows = tshark.fields('rpc-tcp-late-start.pcap',
                         ['tcp.stream', 'exchange.learned_from', 'exchange.server', 'exchange.evidence'],
                         '-2', '-Y', 'exchange.confidence == "learned"')
    assert sorted({tuple(r) for r in rows}) == [
        ('1', '11', '192.168.2.50:59532', 'ept_map answer in frame 11 mapped NSPI, RFR to 192.168.2.50:59532'),
        ('2', '11', '192.168.2.50:59532', 'ept_map answer in frame 11 mapped NSPI, RFR to 192.168.2.50:59532'),
        ('3', '13', '192.168.2.50:59531', 'ept_map answer in frame 13 mapped EMSMDB to 192.168.2.50:59531'),
        ('4', '13', '192.168.2.50:59531', 'ept_map answer in frame 13 mapped EMSMDB to 192.168.2.50:59531'),
    ]


def test_bind_evidence_and_endpoints(tshark):
    rows = tshark.fields('rpc-tcp-outlook-start.pcap',
                         ['tcp.stream', 'exchange.client', 'exchange.server', 'exchange.transport',
                          'exchange.evidence'], '-2', '-Y', 'exchange')
    assert sorted({tuple(r) for r in rows}) == [
        ('0', '192.168.2.56:50701', '192.168.2.50:135', 'rpc-tcp', 'ept_map answer for RFR in frame 9'),
        ('1', '192.168.2.56:50702', '192.168.2.50:59532', 'rpc-tcp',
         'BIND to RFR in frame 18, accepted by the server in frame 22'),
        ('2', '192.168.2.56:50703', '192.168.2.50:59532', 'rpc-tcp',
         'BIND to NSPI in frame 32, accepted by the server in frame 34'),
        ('3', '192.168.2.56:50704', '192.168.2.50:59531', 'rpc-tcp',
         'BIND to EMSMDB in frame 41, accepted by the server in frame 43'),
        ('4', '192.168.2.56:50705', '192.168.2.50:59531', 'rpc-tcp',
         'BIND to AsyncEMSMDB in frame 52, accepted by the server in frame 54'),
    ]


def test_ipv6_learns_on_the_epm_servers_own_address(tshark):
    """Towers over IPv6 carry 0.0.0.0: the endpoint is the EPM server's address."""
    rows = tshark.fields('rpc-tcp-ipv6.pcap', ['exchange.server', 'exchange.evidence'],
                         '-2', '-Y', 'exchange.confidence == "learned"')
    assert {tuple(r) for r in rows} == {
        ('[2001:db8:2::50]:59531', 'ept_map answer in frame 13 mapped EMSMDB to [2001:db8:2::50]:59531')}


def test_negative_capture_has_no_exchange_tag(tshark):
    capture = 'rpc-tcp-negative.pcap'
    assert tshark.frames(capture, 'exchange', '-2') == []
    # It is real DCE/RPC: EPM answers, SAMR, LSA and the store-admin interface,
    # whose UUID differs from EMSMDB's by one digit.
    assert len(tshark.frames(capture, 'epm.proto.tcp_port > 0', '-2')) == 2
    uuids = {r[0] for r in tshark.fields(capture, ['dcerpc.cn_bind_to_uuid'], '-2', '-Y', 'dcerpc.pkt_type == 11')}
    assert 'a4f1db00-ca47-1067-b31e-00dd010662da' in uuids


def test_filter_on_interface_and_confidence(tshark):
    assert sorted({int(r[0]) for r in tshark.fields('rpc-tcp-static-ports.pcap', ['tcp.stream'], '-2', '-Y',
                                                  'exchange.interface == "AsyncEMSMDB"')}) == [1]
    assert sorted({int(r[0]) for r in tshark.fields('rpc-tcp-ipv6.pcap', ['tcp.stream'], '-2', '-Y',
                                                  'exchange.confidence == "learned"')}) == [4]
    assert sorted({int(r[0]) for r in tshark.fields('rpc-tcp-late-start.pcap', ['tcp.stream'], '-2', '-Y',
                                                  'exchange.role_id == 1')}) == [3, 4]


# -- stock dissection is kept, apart from the ports the plugin hands to DCE/RPC

def protocols(tshark, capture, *extra):
    return {int(n): p.replace(':exchange', '')
            for n, p in tshark.fields(capture, ['frame.number', 'frame.protocols'], '-2', *extra)}


@pytest.mark.parametrize('capture', sorted(EXPECTED))
def test_stock_dissection_unchanged_except_learned_ports(tshark, capture):
    stock = protocols(tshark, capture, '--disable-protocol', 'exchange')
    assert protocols(tshark, capture) == stock      # a run that names nothing of the plugin's is stock
    mine = protocols(tshark, capture, *ALWAYS)
    changed = sorted(n for n in stock if stock[n] != mine[n])
    if capture == 'rpc-tcp-static-ports.pcap':
        # Every data frame on 6001/6004: X11 in stock 4.0, DCE/RPC after the ept_map answers.
        by_stream = streams(tshark, capture)
        data = set(tshark.frames(capture, 'tcp.len > 0'))
        assert changed == sorted(f for s in (1, 2) for f in by_stream[s] if f in data)
        assert all(':dcerpc' not in stock[n] and mine[n].endswith(':dcerpc') for n in changed)
    elif capture in ('rpc-tcp-static-ports-no-epm.pcap', 'rpc-tcp-malformed-bind.pcap'):
        # Without an ept_map answer, stock X11 owns 6001/6004 and its
        # reassembly keeps the client side; only frames of those two
        # connections may change, and never away from DCE/RPC.
        x11_port_frames = set(tshark.frames(capture, 'tcp.port == 6001 || tcp.port == 6004'))
        assert changed and set(changed) <= x11_port_frames
        assert all(':dcerpc' not in stock[n] for n in changed)
        assert any(mine[n].endswith(':dcerpc') for n in changed)
    else:
        assert changed == []


def test_learned_ports_are_no_longer_x11(tshark):
    """Where the plugin works (here named by its preference; Wireshark always), learned ports decode as
    DCE/RPC; a run that reads nothing of the plugin keeps stock decoding (test_activation.py)."""
    capture = 'rpc-tcp-static-ports.pcap'
    stock = tshark.frames(capture, 'x11', '-2', '--disable-protocol', 'exchange')
    assert stock != []
    assert tshark.frames(capture, 'x11', '-2', *ALWAYS) == []
    assert len(tshark.frames(capture, 'nspi', '-2', *ALWAYS)) == 2
    assert tshark.frames(capture, 'x11', '-2') == stock


def test_preference_keeps_stock_decoding_and_the_roles(tshark):
    capture = 'rpc-tcp-static-ports.pcap'
    off = ('-o', 'exchange.decode_learned_ports:FALSE', *ALWAYS)
    assert tshark.frames(capture, 'x11', '-2', *off) == tshark.frames(capture, 'x11', '-2', '--disable-protocol',
                                                                     'exchange')
    assert conversations(tshark, capture, *off) == EXPECTED[capture]


# -- bad input

def test_malformed_bind_is_reported_once_and_state_survives(tshark):
    capture = 'rpc-tcp-malformed-bind.pcap'
    assert tshark.frames(capture, 'exchange.bad_bind', '-2') == [14]
    # -2 -z expert alone builds no tree on the first pass: nothing there names the plugin (README)
    expert = tshark.out('-r', capture, '-2', '-q', '-z', 'expert,warn', *ALWAYS)
    assert 'Malformed DCE/RPC BIND in a connection no stock dissector decoded' in expert
    assert conversations(tshark, capture) == EXPECTED[capture]


def test_non_exchange_bind_withdraws_a_learned_role(tshark):
    capture = 'rpc-tcp-contradicted.pcap'
    rows = tshark.fields(capture, ['frame.number', 'tcp.stream', '_ws.expert.message'], '-2', '-Y',
                         'exchange.role_decided || exchange.role_changed')
    # (expert messages are joined by ',' without a space)
    assert [(r[0], r[1], re.split(r',(?=\S)', r[2][r[2].index('Exchange role'):])[0]) for r in rows] == [
        ('8', '0', 'Exchange role endpoint-mapper: ept_map request for EMSMDB in frame 8'),
        ('9', '0', 'Exchange role endpoint-mapper confirmed: ept_map answer for EMSMDB in frame 9'),
        ('13', '1', 'Exchange role mailbox: ept_map answer in frame 9 mapped EMSMDB to 192.168.2.50:59531'),
        ('16', '1', 'Exchange role mailbox withdrawn: BIND to a4f1db00-ca47-1067-b31e-00dd010662da '
                    '(not Exchange) in frame 16'),
        ('25', '2', 'Exchange role mailbox: ept_map answer in frame 9 mapped EMSMDB to 192.168.2.50:59531'),
        ('30', '2', 'Exchange role mailbox confirmed: BIND to EMSMDB in frame 28, accepted by the server in frame 30'),
    ]
    # Single pass shows what was known when each frame was read.
    assert tshark.frames(capture, 'tcp.stream == 1 && exchange.role == "mailbox"') == [13, 14, 15]
