"""A process map that is not of the capture says so, once: a map row that gives a connection's client
port another server (the connection gets no process from the map), or a map most of whose connections
to the capture's servers are not in it; and a map path that cannot be read is one message too.

The message goes through Wireshark's failure reporting (tshark: stderr, "tshark: ..."; Wireshark: a
dialog) and is an expert info (exchange.process_map_mismatch, exchange.process_map_problem)."""
import os

import pytest

from conftest import CAPTURES
from expectations import SERVERS
from tables import clients

OUTLOOK_4028 = ('192.168.2.56', 'OUTLOOK.EXE', '4028', 'process-map')
MAPI_HEADER = ('192.168.2.56', 'OUTLOOK.EXE', '-', 'header')        # X-ClientApplication: a name, no PID
MISFIT = 'does not fit this capture: '
PASSES = pytest.mark.parametrize('two_pass', [False, True], ids=['single-pass', 'two-pass'])


def with_map(tshark, name):
    return ('-o', f'exchange.process_map:{tshark.add_file(CAPTURES / "maps" / name)}')


def ours(messages, prefix):
    """Our expert message among a frame's (joined by commas; TCP's SYN note comes first): the only one
    that starts with prefix, to the end (nothing of ours follows on these frames)."""
    assert messages.count(prefix) == 1, messages
    return messages[messages.index(prefix):]


def misfits(tshark, capture, *opts):
    """(frame, message) of every exchange.process_map_mismatch expert info."""
    return [(int(f), ours(m, 'Process map not of this capture: '))
            for f, m in tshark.fields(capture, ['frame.number', '_ws.expert.message'],
                                      '-Y', 'exchange.process_map_mismatch', *opts)]


def told(tshark, capture, *opts):
    """The lines tshark wrote to stderr about the map not fitting (with a tap, so frames are dissected)."""
    proc = tshark.run('-q', '-r', capture, '-z', 'exchange,clients', *opts)
    return [line for line in proc.stderr.splitlines() if MISFIT in line]


def pid_per_port(tshark, capture, *opts):
    """{client port: PID from the map or ''} for every connection's SYN."""
    rows = tshark.fields(capture, ['tcp.srcport', 'exchange.client.pid'], '-2', '-Y',
                         'tcp.flags.syn == 1 && tcp.flags.ack == 0', *opts)
    return {int(port): pid for port, pid in rows}


# -- a map row that names another server for the capture's client port

@PASSES
def test_another_captures_map_whose_ports_collide_is_told_once_and_attributes_nothing(tshark, two_pass):
    """The Outlook map of mapi-http-outlook (50701/50702 -> 192.168.2.50:443) over mapi-http-cleartext,
    whose connections have the same client ports but go to port 80: without the check the ports
    'matched'; now nothing is attributed and the first contradicted connection tells why."""
    opts = (*with_map(tshark, 'outlook-tasklist-netstat.txt'), *(['-2'] if two_pass else []))
    assert clients(tshark, 'mapi-http-cleartext.pcap', *opts) == {MAPI_HEADER: {'mailbox': 1, 'directory': 1,
                                                                                  'total': 2}}
    [(frame, message)] = misfits(tshark, 'mapi-http-cleartext.pcap', *opts)
    first_syn = tshark.frames('mapi-http-cleartext.pcap', 'tcp.flags.syn == 1 && tcp.flags.ack == 0')[0]
    assert frame == first_syn
    assert message.startswith('Process map not of this capture: its line 32 connects 192.168.2.56:')
    assert '(OUTLOOK.EXE PID 4028) to 192.168.2.50:443, the capture to 192.168.2.50:80' in message
    [line] = told(tshark, 'mapi-http-cleartext.pcap', *opts)
    assert line.startswith('tshark: exchange.process_map: outlook-tasklist-netstat.txt does not fit this capture: '
                           'its line 32 connects 192.168.2.56:')
    assert line.endswith('the capture to 192.168.2.50:80: no process from the map for it')


@PASSES
def test_only_the_contradicted_connection_loses_the_map(tshark, two_pass):
    """misfit-other-server: 50701 -> 192.168.2.50:443 as in the capture, 50702 -> 192.168.2.60:443 where
    the capture has 192.168.2.50:443.  50701 keeps PID 4028; 50702 falls back to its header's name."""
    opts = (*with_map(tshark, 'misfit-other-server.txt'), *(['-2'] if two_pass else []))
    assert clients(tshark, 'mapi-http-outlook.pcapng', *opts) == {
        OUTLOOK_4028: {'mailbox': 1, 'total': 1}, MAPI_HEADER: {'directory': 1, 'total': 1}}
    assert pid_per_port(tshark, 'mapi-http-outlook.pcapng', *opts) == {50701: '4028', 50702: ''}
    syn_50702 = tshark.frames('mapi-http-outlook.pcapng', 'tcp.srcport == 50702 && tcp.flags.syn == 1')[0]
    [(frame, message)] = misfits(tshark, 'mapi-http-outlook.pcapng', *opts)
    assert frame == syn_50702
    assert ('its line 20 connects 192.168.2.56:50702 (OUTLOOK.EXE PID 4028) to 192.168.2.60:443, the capture to '
            '192.168.2.50:443') in message
    assert len(told(tshark, 'mapi-http-outlook.pcapng', *opts)) == 1


# -- a map most of whose connections are not in the capture

STALE = ('3 of its 4 connections to servers in the capture are not in it (first: line 21, 192.168.2.56:50705 to '
         '192.168.2.50:443, OUTLOOK.EXE PID 4028)')


@PASSES
def test_a_map_of_another_day_is_told_once(tshark, two_pass):
    """misfit-stale: four Outlook connections to 192.168.2.50:443, of which only 50701 is in the capture
    (by chance). Judged once the capture is read: with -2 (and in the GUI) as an expert info on the first
    TCP frame too; single-pass tshark can tell it only on stderr, when the file is closed."""
    opts = (*with_map(tshark, 'misfit-stale.txt'), *(['-2'] if two_pass else []))
    [line] = told(tshark, 'mapi-http-outlook.pcapng', *opts)
    assert line == f'tshark: exchange.process_map: misfit-stale.txt {MISFIT}{STALE}'
    found = misfits(tshark, 'mapi-http-outlook.pcapng', *opts)
    assert found == ([(1, f'Process map not of this capture: {STALE}')] if two_pass else [])
    # Not a contradiction: 50701 is the map's connection, whatever the rest says.
    assert clients(tshark, 'mapi-http-outlook.pcapng', *opts) == {
        OUTLOOK_4028: {'mailbox': 1, 'total': 1}, MAPI_HEADER: {'directory': 1, 'total': 1}}


# -- the negative twins: a map on its own capture says nothing and attributes as before

FITTING = [
    ('mapi-http-outlook.pcapng', 'outlook-tasklist-netstat.txt', (), {OUTLOOK_4028: {'mailbox': 1, 'directory': 1,
                                                                                     'total': 2}}),
    ('mapi-http-outlook.pcapng', 'linux-ss.txt', (),
     {('192.168.2.56', 'evolution', '2201', 'process-map'): {'mailbox': 1, 'directory': 1, 'total': 2}}),
    ('rpc-http-outlook.pcapng', 'outlook-netstat-b.txt', (), {OUTLOOK_4028: {'rpc-in': 2, 'rpc-out': 2, 'total': 4}}),
    ('rpc-tcp-outlook-start.pcap', 'rpc-tcp-outlook.txt', (), {
        OUTLOOK_4028: {'mailbox': 2, 'directory': 2, 'total': 4},
        ('192.168.2.56', 'unknown', '-', 'none'): {'endpoint-mapper': 1, 'total': 1}}),
    ('multi-client.pcap', 'multi-client.txt', SERVERS, {
        ('PC-ALICE', 'OUTLOOK.EXE', '4028', 'process-map'): {'mailbox': 1, 'directory': 1, 'total': 2},
        ('PC-ALICE', 'ms-teams.exe', '9100', 'process-map'): {'autodiscover': 1, 'unknown': 2, 'total': 3},
        ('PC-BOB', 'OUTLOOK.EXE', '5120', 'process-map'): {'mailbox': 2, 'directory': 2, 'total': 4},
        ('192.168.2.57', 'unknown', '-', 'none'): {'endpoint-mapper': 1, 'total': 1}}),
    # the boundary: 2 of the map's 4 connections are not in the capture, which is not more than half
    ('mapi-http-cleartext.pcap', 'extra-mailbox.txt', (), {OUTLOOK_4028: {'mailbox': 1, 'directory': 1, 'total': 2}}),
]


@PASSES
@pytest.mark.parametrize('capture, map_file, extra, table', FITTING,
                         ids=[f'{m}-on-{c}' for c, m, _, _ in FITTING])
def test_a_map_of_the_capture_says_nothing(tshark, capture, map_file, extra, table, two_pass):
    opts = (*with_map(tshark, map_file), *extra, *(['-2'] if two_pass else []))
    assert told(tshark, capture, *opts) == []
    assert misfits(tshark, capture, *opts) == []
    assert clients(tshark, capture, *opts) == table


# -- a path that cannot be read: one message through the failure reporting, analysis goes on

@pytest.mark.parametrize('two_pass', [False, True], ids=['single-pass', 'two-pass'])
@pytest.mark.parametrize('kind', ['missing', 'unreadable'])
def test_a_map_that_cannot_be_read_is_one_failure_and_analysis_goes_on(tshark, kind, two_pass):
    name = f'map-{kind}.txt'
    path = tshark.caps / name
    if kind == 'unreadable':
        path.write_bytes((CAPTURES / 'maps' / 'outlook-tasklist-netstat.txt').read_bytes())
        os.chmod(path, 0)       # root's, mode 000: the tshark user cannot open it
        reason = 'cannot open: Permission denied'
    else:
        reason = 'cannot open: No such file or directory'
    opts = ('-o', f'exchange.process_map:{name}', *(['-2'] if two_pass else []))
    try:
        proc = tshark.run('-q', '-r', 'mapi-http-outlook.pcapng', '-z', 'exchange,clients', *opts)
        lines = [line for line in proc.stderr.splitlines() if 'exchange.process_map' in line]
        assert lines == [f'tshark: exchange.process_map: {name}: {reason}'], proc.stderr
        problems = tshark.fields('mapi-http-outlook.pcapng', ['frame.number', '_ws.expert.message'], '-Y',
                                 'exchange.process_map_problem', *opts)
        assert [(f, ours(m, 'exchange.process_map: ')) for f, m in problems] == [
            ('1', f'exchange.process_map: {name}: {reason}')]
        assert misfits(tshark, 'mapi-http-outlook.pcapng', *opts) == []
        assert clients(tshark, 'mapi-http-outlook.pcapng', *opts) == {MAPI_HEADER: {'mailbox': 1, 'directory': 1,
                                                                                      'total': 2}}
    finally:
        path.unlink(missing_ok=True)
