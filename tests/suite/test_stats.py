"""-z exchange,conns: one row per Exchange TCP connection, never per packet."""
import pytest

from expectations import HTTP as HTTP_EXPECTED
from expectations import RPC_TCP as EXPECTED
from expectations import ident
from tables import (BACKEND, CLIENT, CONF, DECIDED, EVIDENCE, FAILURES, FRONTEND, IFACE, PROCESS, REQUESTS, ROLE,
                    SERVER, STREAM, TARGET, TRANSPORT, clients, conns_table)


@pytest.mark.parametrize('two_pass', [False, True], ids=['single-pass', 'two-pass'])
@pytest.mark.parametrize('capture', sorted(EXPECTED))
def test_each_connection_counted_once(tshark, capture, two_pass):
    rows = conns_table(tshark, capture, *(['-2'] if two_pass else []))
    streams = [int(r[STREAM]) for r in rows]
    assert streams == sorted(EXPECTED[capture])
    # Rows follow every change of a connection, so both modes end with the
    # final state that -2 shows on every frame.
    got = {int(r[STREAM]): (r[ROLE], r[IFACE], r[CONF], int(r[DECIDED])) for r in rows}
    assert got == EXPECTED[capture]


@pytest.mark.parametrize('two_pass', [False, True], ids=['single-pass', 'two-pass'])
@pytest.mark.parametrize('key', sorted(HTTP_EXPECTED), ids=ident)
def test_each_http_connection_counted_once(tshark, key, two_pass):
    capture, extra = key
    rows = conns_table(tshark, capture, *extra, *(['-2'] if two_pass else []))
    assert [int(r[STREAM]) for r in rows] == sorted(HTTP_EXPECTED[key])
    got = {int(r[STREAM]): (r[ROLE], r[TRANSPORT], r[TARGET].replace('-', ''), r[CONF], int(r[DECIDED]))
           for r in rows}
    assert got == HTTP_EXPECTED[key]


def test_rows_are_in_stream_order_whatever_the_decision_order(tshark):
    """The OUT channel (stream 1) is decided before the IN channel (stream 0)."""
    rows = conns_table(tshark, 'rpc-http-outlook.pcapng', '-2')
    assert [(r[STREAM], r[ROLE], r[IFACE], r[TARGET], r[DECIDED]) for r in rows] == [
        ('0', 'rpc-in', 'EMSMDB', 'mailbox', '28'), ('1', 'rpc-out', 'EMSMDB', 'mailbox', '27'),
        ('2', 'rpc-in', 'NSPI', 'directory', '74'), ('3', 'rpc-out', 'NSPI', 'directory', '73')]


def test_referral_and_oab_rows(tshark):
    """The RPC target column says referral for both channels of the RFR virtual connection; the oab
    connections count under oab per process (BITS runs in svchost.exe)."""
    rows = conns_table(tshark, 'rpc-http-referral.pcapng', '-2')
    assert [(r[STREAM], r[ROLE], r[TRANSPORT], r[IFACE], r[TARGET], r[CONF]) for r in rows] == [
        ('0', 'rpc-in', 'rpc-http', 'RFR', 'referral', 'certain'),
        ('1', 'rpc-out', 'rpc-http', 'RFR', 'referral', 'certain')]
    rows = conns_table(tshark, 'oab-download.pcapng', '-2')
    assert [(r[STREAM], r[PROCESS], r[ROLE], r[TRANSPORT], r[REQUESTS], r[FAILURES]) for r in rows] == [
        ('0', 'OUTLOOK.EXE', 'ews', 'https', '1', '0'), ('1', 'OUTLOOK.EXE', 'oab', 'https', '1', '0'),
        ('2', 'svchost.exe', 'oab', 'https', '2', '0')]
    assert clients(tshark, 'oab-download.pcapng', '-2') == {
        ('192.168.2.56', 'OUTLOOK.EXE', '-', 'header'): {'ews': 1, 'oab': 1, 'total': 2},
        ('192.168.2.56', 'svchost.exe', '-', 'header'): {'oab': 1, 'total': 1}}

def test_row_carries_endpoints_and_evidence(tshark):
    rows = conns_table(tshark, 'rpc-tcp-ipv6.pcap', '-2')
    row = rows[4]
    cells = (STREAM, CLIENT, SERVER, FRONTEND, BACKEND, PROCESS, ROLE, TRANSPORT, IFACE, TARGET, CONF, DECIDED, EVIDENCE)
    assert [row[c] for c in cells] == ['4', '[2001:db8:2::56]:50705', '[2001:db8:2::50]:59531', '-', '-', '-',
                                       'mailbox', 'rpc-tcp', 'EMSMDB', '-', 'learned', '49',
                                       'ept_map answer in frame 13 mapped EMSMDB to [2001:db8:2::50]:59531']


def test_display_filter_selects_connections(tshark):
    rows = conns_table(tshark, 'rpc-tcp-outlook-start.pcap', '-2', arg='exchange,conns,exchange.role=="directory"')
    assert [(r[STREAM], r[IFACE]) for r in rows] == [('1', 'RFR'), ('2', 'NSPI')]


def test_table_is_listed_by_z_help(tshark):
    proc = tshark.run('-z', 'help')     # tshark lists them on stderr
    assert 'exchange,conns' in (proc.stdout + proc.stderr).split()
