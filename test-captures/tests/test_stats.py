"""-z exchange,conns: one row per Exchange TCP connection, never per packet."""
import pytest

from test_http import EXPECTED as HTTP_EXPECTED
from test_http import ident
from test_rpc_tcp import EXPECTED

HEADER = ['Stream', 'Client', 'Server', 'Role', 'Transport', 'Interface', 'RPC target', 'Confidence', 'Decided in',
          'Evidence']


def conns_table(tshark, capture, *extra, arg='exchange,conns'):
    out = tshark.out('-q', '-r', capture, '-z', arg, *extra)
    lines = out.splitlines()
    head = lines.index('Exchange Connections:')
    assert lines[head + 2].split(' |')[:-1] == HEADER
    assert lines[head + 3] == 'Exchange connections'
    rows = []
    for line in lines[head + 4:]:
        if line.startswith('====='):
            break
        rows.append([cell.strip() for cell in line.split(' |')[:-1]])
    return rows


@pytest.mark.parametrize('two_pass', [False, True], ids=['single-pass', 'two-pass'])
@pytest.mark.parametrize('capture', sorted(EXPECTED))
def test_each_connection_counted_once(tshark, capture, two_pass):
    rows = conns_table(tshark, capture, *(['-2'] if two_pass else []))
    streams = [int(r[0]) for r in rows]
    assert streams == sorted(EXPECTED[capture])
    # Rows follow every change of a connection, so both modes end with the
    # final state that -2 shows on every frame.
    got = {int(r[0]): (r[3], r[5], r[7], int(r[8])) for r in rows}
    assert got == EXPECTED[capture]


@pytest.mark.parametrize('two_pass', [False, True], ids=['single-pass', 'two-pass'])
@pytest.mark.parametrize('key', sorted(HTTP_EXPECTED), ids=ident)
def test_each_http_connection_counted_once(tshark, key, two_pass):
    capture, extra = key
    rows = conns_table(tshark, capture, *extra, *(['-2'] if two_pass else []))
    assert [int(r[0]) for r in rows] == sorted(HTTP_EXPECTED[key])
    got = {int(r[0]): (r[3], r[4], r[6].replace('-', ''), r[7], int(r[8])) for r in rows}
    if not two_pass:
        # An OUT channel's row is written when the channel opens; its IN
        # partner's BIND comes later on another connection.
        got = {s: v[:2] + (HTTP_EXPECTED[key][s][2],) + v[3:] if v[0] == 'rpc-out' else v for s, v in got.items()}
    assert got == HTTP_EXPECTED[key]


def test_rows_are_in_stream_order_whatever_the_decision_order(tshark):
    """The OUT channel (stream 1) is decided before the IN channel (stream 0)."""
    rows = conns_table(tshark, 'rpc-http-outlook.pcapng', '-2')
    assert [(r[0], r[3], r[5], r[6], r[8]) for r in rows] == [
        ('0', 'rpc-in', 'EMSMDB', 'mailbox', '28'), ('1', 'rpc-out', 'EMSMDB', 'mailbox', '27'),
        ('2', 'rpc-in', 'NSPI', 'directory', '74'), ('3', 'rpc-out', 'NSPI', 'directory', '73')]


def test_row_carries_endpoints_and_evidence(tshark):
    rows = conns_table(tshark, 'rpc-tcp-ipv6.pcap', '-2')
    assert rows[4] == ['4', '[2001:db8:2::56]:50705', '[2001:db8:2::50]:59531', 'mailbox', 'rpc-tcp', 'EMSMDB', '-',
                       'learned', '49', 'ept_map answer in frame 13 mapped EMSMDB to [2001:db8:2::50]:59531']


def test_display_filter_selects_connections(tshark):
    rows = conns_table(tshark, 'rpc-tcp-outlook-start.pcap', '-2', arg='exchange,conns,exchange.role=="directory"')
    assert [(r[0], r[5]) for r in rows] == [('1', 'RFR'), ('2', 'NSPI')]


def test_table_is_listed_by_z_help(tshark):
    proc = tshark.run('-z', 'help')     # tshark lists them on stderr
    assert 'exchange,conns' in (proc.stdout + proc.stderr).split()
