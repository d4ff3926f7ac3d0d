"""The hint that exchange.servers would help: expert note exchange.servers_hint (issue 17, item 5).

While exchange.servers lists nothing, TLS connections to port 443 that Wireshark did not decrypt and
nothing recognised look like Exchange's when two of them to the same server, opened at most 10 s
apart, carry data one way each, opposite ways (an RPC/HTTP IN and OUT channel pair), or when the name
they were reached by lies under a domain whose autodiscover.<domain> name is a TLS server name in the
capture.  One note per capture, on the frame where that first held (the same frame and text in one
pass, with -2 and in the GUI), naming what exchange.servers would list: the TLS server name, else the
name a DNS answer gave the server's address, else the address.
"""
import re

import pytest

from conftest import CAPTURES
from expectations import SERVERS
from tables import ROLE, STREAM, conns_table

PASSES = pytest.mark.parametrize('passes', [(), ('-2',)], ids=['single-pass', 'two-pass'])

PAIR = ('Undecrypted TLS to {0} (2 connections so far) looks like Exchange (streams 0 and 1 run one way each, '
        'opposite ways, opened {1} s apart: an RPC/HTTP channel pair): set exchange.servers to {0} to recognise them')
HINTS = {
    # capture: (frame, message, tcp.streams the setting it names then recognises)
    'rpc-http-outlook-nokeys.pcap': (40, PAIR.format('mail.contoso.com', '0.008'), [0, 1, 2, 3]),
    'rpc-http-midstream-nokeys.pcap': (18, PAIR.format('192.168.2.50', '0.004'), [0, 1]),
    # the name comes from the DNS answer in frame 2, whichever name it gives
    'rpc-http-dns-midstream-nokeys.pcap': (20, PAIR.format('mail.contoso.com', '0.004'), [0, 1]),
    'rpc-http-dns-other-name-nokeys.pcap': (20, PAIR.format('www.contoso.com', '0.004'), [0, 1]),
    # the DNS answer comes after the pair: the address is all there is when the hint holds
    'rpc-http-dns-late-nokeys.pcap': (18, PAIR.format('192.168.2.50', '0.004'), [0, 1]),
    # stream 1's answer (frame 29) shows it was not decrypted; stream 2 comes later
    'ews-autodiscover-nokeys.pcap': (29, 'Undecrypted TLS to mail.contoso.com (1 connection so far) looks like '
                                         'Exchange (mail.contoso.com is under contoso.com, like autodiscover.contoso.com '
                                         'in stream 0): set exchange.servers to mail.contoso.com to recognise it',
                                     [0, 1, 2]),
}
# No hint: no pair and no autodiscover sibling, or nothing undecrypted and unrecognised.
NEGATIVE = [
    'sni-lookalike-negative.pcap',          # names that only look like autodiscover's
    'rpc-http-out-channels-nokeys.pcap',    # two one-way connections, the same way
    'mapi-http-outlook-nokeys.pcap',        # Exchange, but neither sign: data both ways, no autodiscover name
    'mapi-http-midstream-nokeys.pcap',
    'exchange-online-nokeys.pcap',          # recognised already (Exchange Online's names)
    'rpc-http-outlook.pcapng',              # decrypted
    'ews-autodiscover.pcapng',
    'https-browsing-negative.pcapng',
]
ALL_CAPTURES = sorted(p.name for p in CAPTURES.iterdir()
                      if p.name.endswith(('.pcap', '.pcapng', '.pcap.gz', '.pcapng.gz')))
OURS = re.compile(r'Undecrypted TLS to .*? to recognise (?:it|them)')


def hints(tshark, capture, *extra):
    """[(frame, our message)] of the frames carrying exchange.servers_hint."""
    rows = tshark.fields(capture, ['frame.number', '_ws.expert.message'], *extra, '-Y', 'exchange.servers_hint')
    return [(int(frame), OURS.findall(messages)) for frame, messages in rows]


def expected(capture):
    """What hints() must give: one frame, one message of ours, or nothing."""
    if capture not in HINTS:
        return []
    frame, text, _ = HINTS[capture]
    return [(frame, [text])]


@PASSES
@pytest.mark.parametrize('capture', sorted(HINTS))
def test_hint_once_naming_the_servers(tshark, capture, passes):
    assert hints(tshark, capture, *passes) == expected(capture)


@pytest.mark.parametrize('capture', sorted(HINTS))
def test_hint_is_one_note_in_the_expert_table(tshark, capture):
    # -z expert alone builds no tree, so nothing tells the plugin it is read: the tap's filter names it
    out = tshark.out('-q', '-r', capture, '-z', 'expert,note,exchange')
    ours = [line.split() for line in out.splitlines() if 'Undecrypted TLS to' in line]
    assert [cells[:3] for cells in ours] == [['1', 'Sequence', 'Exchange']]
    assert HINTS[capture][1] in out


@PASSES
@pytest.mark.parametrize('capture', NEGATIVE)
def test_no_hint_without_its_signs(tshark, capture, passes):
    assert hints(tshark, capture, *passes) == []


@pytest.mark.parametrize('capture', ALL_CAPTURES)
def test_only_the_expected_captures_hint(tshark, capture):
    want = expected(capture)
    assert hints(tshark, capture, '-2') == want


@PASSES
@pytest.mark.parametrize('servers', [SERVERS, ('-o', 'exchange.servers:exch99.fabrikam.com')],
                         ids=['listed', 'another-server-listed'])
@pytest.mark.parametrize('capture', sorted(HINTS))
def test_no_hint_once_exchange_servers_lists_anything(tshark, capture, servers, passes):
    assert hints(tshark, capture, *servers, *passes) == []


@pytest.mark.parametrize('capture', sorted(HINTS))
def test_following_the_hint_recognises_the_connections(tshark, capture):
    setting = re.search(r'set exchange.servers to (\S+)', HINTS[capture][1]).group(1)
    streams = HINTS[capture][2]
    before = {int(r[STREAM]) for r in conns_table(tshark, capture, '-2') if r[ROLE]}
    after = {int(r[STREAM]) for r in conns_table(tshark, capture, '-2', '-o', f'exchange.servers:{setting}')
             if r[ROLE]}
    assert set(streams) - before and after == set(streams)
