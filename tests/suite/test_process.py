"""Connections per client process: the process map, capture metadata, headers; the clients table,
the extended connections table and the expert infos about connection health."""
import subprocess

import pytest

from conftest import CAPTURES
from expectations import SERVERS
from tables import DECIDED, FAILURES, FRAMES, PROCESS, REQUESTS, ROLE, STREAM, clients, conns_table

def derived(tshark, source, name, display_filter):
    """A copy of a capture without the frames matching display_filter (editcap)."""
    drop = [str(f) for f in tshark.frames(source, display_filter)]
    subprocess.run(['editcap', source, name, *drop], cwd=tshark.caps, check=True, capture_output=True)
    (tshark.caps / name).chmod(0o644)
    return name


def with_map(tshark, name):
    return ('-o', f'exchange.process_map:{tshark.add_file(str(tshark.caps.parent / "maps" / name))}')


@pytest.fixture(scope='module', autouse=True)
def maps(tshark):
    """The maps beside the captures, readable by the tshark user."""
    from conftest import CAPTURES
    dst = tshark.caps.parent / 'maps'
    dst.mkdir(exist_ok=True)
    dst.chmod(0o755)
    for f in (CAPTURES / 'maps').iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
        (dst / f.name).chmod(0o644)


OUTLOOK_4028 = ('192.168.2.56', 'OUTLOOK.EXE', '4028', 'process-map')


# -- the seed scenario: tasklist says PID 4028, netstat says two connections to :443

@pytest.mark.parametrize('two_pass', [False, True], ids=['single-pass', 'two-pass'])
@pytest.mark.parametrize('map_file, process', [
    ('outlook-tasklist-netstat.txt', 'OUTLOOK.EXE'),
    ('outlook-de.txt', 'OUTLOOK.EXE'),
    ('outlook-csv.txt', 'OUTLOOK.EXE'),
    ('outlook-powershell-utf16.txt', 'OUTLOOK'),       # Get-Process prints names without .exe
])
def test_mapi_http_outlook_is_one_mailbox_and_one_directory(tshark, map_file, process, two_pass):
    table = clients(tshark, 'mapi-http-outlook.pcapng', *with_map(tshark, map_file), *(['-2'] if two_pass else []))
    assert table == {('192.168.2.56', process, '4028', 'process-map'): {'mailbox': 1, 'directory': 1, 'total': 2}}


def test_without_keys_still_two_connections_for_4028(tshark):
    table = clients(tshark, 'mapi-http-outlook-nokeys.pcap', '-2', *SERVERS,
                    *with_map(tshark, 'outlook-tasklist-netstat.txt'))
    assert table == {OUTLOOK_4028: {'unknown': 2, 'total': 2}}


def test_rpc_http_channels_per_process(tshark):
    table = clients(tshark, 'rpc-http-outlook.pcapng', '-2', *with_map(tshark, 'rpc-http-outlook.txt'))
    assert table == {OUTLOOK_4028: {'rpc-in': 2, 'rpc-out': 2, 'total': 4}}


def test_rpc_tcp_per_process_and_the_closed_endpoint_mapper_connection(tshark):
    """netstat shows the port-135 connection in TIME_WAIT with PID 0: owned by nobody any more."""
    table = clients(tshark, 'rpc-tcp-outlook-start.pcap', '-2', *with_map(tshark, 'rpc-tcp-outlook.txt'))
    assert table == {
        OUTLOOK_4028: {'mailbox': 2, 'directory': 2, 'total': 4},
        ('192.168.2.56', 'unknown', '-', 'none'): {'endpoint-mapper': 1, 'total': 1},
    }



# -- ss -tnp (Linux) and netstat -anob (names from the " [OUTLOOK.EXE]" lines, no tasklist)

EVOLUTION_2201 = ('192.168.2.56', 'evolution', '2201', 'process-map')
UNATTRIBUTED = ('192.168.2.56', 'unknown', '-', 'none')
# Without a map entry, mapi-http-outlook's process comes from X-ClientApplication; rpc-http-outlook's
# User-Agent (MSRPC) names none.
MAPI_HEADER = ('192.168.2.56', 'OUTLOOK.EXE', '-', 'header')


def attribution(tshark, capture, *opts):
    """{tcp.stream: {(host, process, pid, source)}} over every frame of the capture."""
    found = {}
    for stream, *proc in tshark.fields(capture, ['tcp.stream', 'exchange.client.host', 'exchange.client.process',
                                                 'exchange.client.pid', 'exchange.client.source'], '-2', *opts):
        found.setdefault(int(stream), set()).add(tuple(proc))
    return found


def map_problems(tshark, capture, *opts):
    return tshark.fields(capture, ['_ws.expert.message'], '-2', '-Y', 'exchange.process_map_problem', *opts)


@pytest.mark.parametrize('two_pass', [False, True], ids=['single-pass', 'two-pass'])
@pytest.mark.parametrize('capture, map_file, owner, counts', [
    ('mapi-http-outlook.pcapng', 'linux-ss.txt', EVOLUTION_2201, {'mailbox': 1, 'directory': 1, 'total': 2}),
    ('rpc-http-outlook.pcapng', 'outlook-netstat-b.txt', OUTLOOK_4028, {'rpc-in': 2, 'rpc-out': 2, 'total': 4}),
], ids=['ss', 'netstat-b'])
def test_ss_and_netstat_b_maps(tshark, capture, map_file, owner, counts, two_pass):
    """Every connection of the capture is the map's; its other rows (other processes, IPv6, v4-mapped,
    listeners, TIME_WAIT, pidless, "Can not obtain ownership information") add no row to the table."""
    opts = with_map(tshark, map_file)
    assert clients(tshark, capture, *opts, *(['-2'] if two_pass else [])) == {owner: counts}
    streams = attribution(tshark, capture, *opts)
    assert streams == {s: {owner[:3] + ('process-map',)} for s in range(counts['total'])}
    assert map_problems(tshark, capture, *opts) == []       # every line understood


def edited_map(tshark, source, name, edits):
    """A copy of a map with each (old, new) replaced; old must be in it (every occurrence is replaced)."""
    text = (CAPTURES / 'maps' / source).read_bytes().decode()
    for old, new in edits:
        assert old in text, f'{old!r} not in {source}'
        text = text.replace(old, new)
    dst = tshark.caps.parent / 'maps' / name
    dst.write_bytes(text.encode())
    dst.chmod(0o644)
    return with_map(tshark, name)


SS_ROW = '192.168.2.56:{}   192.168.2.50:443                        users:(("evolution",pid=2201,fd={})'
NETSTAT_ROW = '192.168.2.56:{}     192.168.2.50:443       ESTABLISHED     4028\r\n [OUTLOOK.EXE]'


@pytest.mark.parametrize('source, edits, table', [
    # ss without root for another user's socket prints no users:(...) on 50702's rows (both listings)
    ('linux-ss.txt', [(SS_ROW.format(50702, '33),("evolution",pid=2201,fd=35)'),
                       '192.168.2.56:50702   192.168.2.50:443')],
     {EVOLUTION_2201: {'mailbox': 1, 'total': 1}, MAPI_HEADER: {'directory': 1, 'total': 1}}),
    # the same client port to another server: not this connection
    ('linux-ss.txt', [(SS_ROW.format(50701, 31), SS_ROW.format(50701, 31).replace('.50:443', '.60:443'))],
     {EVOLUTION_2201: {'directory': 1, 'total': 1}, MAPI_HEADER: {'mailbox': 1, 'total': 1}}),
    # ss on a dual-stack socket prints IPv4 as v4-mapped IPv6: still this connection
    ('linux-ss.txt', [('192.168.2.56:50701   192.168.2.50:443', '[::ffff:192.168.2.56]:50701   [::ffff:192.168.2.50]:443')],
     {EVOLUTION_2201: {'mailbox': 1, 'directory': 1, 'total': 2}}),
    # 50704 (stream 3, rpc-out) closed: TIME_WAIT, PID 0, nothing after the row
    ('outlook-netstat-b.txt', [(NETSTAT_ROW.format(50704),
                                '192.168.2.56:50704     192.168.2.50:443       TIME_WAIT       0')],
     {OUTLOOK_4028: {'rpc-in': 2, 'rpc-out': 1, 'total': 3}, UNATTRIBUTED: {'rpc-out': 1, 'total': 1}}),
    # 50703 (stream 2, rpc-in) to another server
    ('outlook-netstat-b.txt', [(NETSTAT_ROW.format(50703), NETSTAT_ROW.format(50703).replace('.50:443', '.60:443'))],
     {OUTLOOK_4028: {'rpc-in': 1, 'rpc-out': 2, 'total': 3}, UNATTRIBUTED: {'rpc-in': 1, 'total': 1}}),
    # 50701 (stream 0) owned by PID 3456, which netstat -b could not name: the PID without a name, and
    # the next row's " [OUTLOOK.EXE]" stays with 4028
    ('outlook-netstat-b.txt', [(NETSTAT_ROW.format(50701), '192.168.2.56:50701     192.168.2.50:443       '
                                'ESTABLISHED     3456\r\n Can not obtain ownership information')],
     {OUTLOOK_4028: {'rpc-in': 1, 'rpc-out': 2, 'total': 3},
      ('192.168.2.56', 'unknown', '3456', 'process-map'): {'rpc-in': 1, 'total': 1}}),
], ids=['ss-pidless', 'ss-other-server', 'ss-v4-mapped', 'netstat-b-time-wait', 'netstat-b-other-server',
        'netstat-b-no-ownership'])
def test_rows_that_are_not_the_connection_attribute_nothing(tshark, source, edits, table):
    capture = 'mapi-http-outlook.pcapng' if source == 'linux-ss.txt' else 'rpc-http-outlook.pcapng'
    opts = edited_map(tshark, source, 'edited-' + source, edits)
    assert clients(tshark, capture, '-2', *opts) == table
    assert map_problems(tshark, capture, *opts) == []


def test_netstat_b_without_o_names_no_connection(tshark):
    """netstat -anb prints no PID column: the " [OUTLOOK.EXE]" lines name no PID, so nothing is attributed,
    and the map is reported as naming no process."""
    text = (CAPTURES / 'maps' / 'outlook-netstat-b.txt').read_bytes().decode()
    rows = [line for line in text.split('\r\n') if line.startswith('  TCP ') or line.startswith('  UDP ')]
    opts = edited_map(tshark, 'outlook-netstat-b.txt', 'netstat-anb.txt',
                      [(row, row.rsplit(' ', 1)[0].rstrip()) for row in rows]
                      + [('-anob', '-anb'), ('State           PID', 'State')])
    assert clients(tshark, 'rpc-http-outlook.pcapng', '-2', *opts) == {UNATTRIBUTED: {'rpc-in': 2, 'rpc-out': 2,
                                                                                      'total': 4}}
    [(message,)] = map_problems(tshark, 'rpc-http-outlook.pcapng', *opts)
    assert 'its connection lists name no process (netstat needs -o, ss needs -p)' in message

@pytest.mark.parametrize('two_pass', [False, True], ids=['single-pass', 'two-pass'])
def test_several_hosts_and_processes(tshark, two_pass):
    table = clients(tshark, 'multi-client.pcap', *SERVERS, *with_map(tshark, 'multi-client.txt'),
                    *(['-2'] if two_pass else []))
    assert table == {
        ('PC-ALICE', 'OUTLOOK.EXE', '4028', 'process-map'): {'mailbox': 1, 'directory': 1, 'total': 2},
        ('PC-ALICE', 'ms-teams.exe', '9100', 'process-map'): {'autodiscover': 1, 'unknown': 2, 'total': 3},
        ('PC-BOB', 'OUTLOOK.EXE', '5120', 'process-map'): {'mailbox': 2, 'directory': 2, 'total': 4},
        ('192.168.2.57', 'unknown', '-', 'none'): {'endpoint-mapper': 1, 'total': 1},
    }


def test_process_fields_filter(tshark):
    opts = with_map(tshark, 'multi-client.txt')
    rows = tshark.fields('multi-client.pcap', ['tcp.stream', 'exchange.client.host', 'exchange.client.process',
                                              'exchange.client.pid', 'exchange.client.source'],
                         '-2', '-Y', 'exchange.client.pid == 5120', *opts)
    assert sorted({tuple(r) for r in rows}) == [
        (str(s), 'PC-BOB', 'OUTLOOK.EXE', '5120', 'process-map') for s in (6, 7, 8, 9)]


def test_clients_table_takes_a_filter(tshark):
    table = clients(tshark, 'multi-client.pcap', '-2', *with_map(tshark, 'multi-client.txt'),
                    arg='exchange,clients,exchange.transport=="rpc-tcp"')
    assert table == {
        ('PC-BOB', 'OUTLOOK.EXE', '5120', 'process-map'): {'mailbox': 2, 'directory': 2, 'total': 4},
        ('192.168.2.57', 'unknown', '-', 'none'): {'endpoint-mapper': 1, 'total': 1},
    }


# -- other sources

@pytest.mark.parametrize('capture, process', [
    ('mapi-http-outlook.pcapng', ('OUTLOOK.EXE', '-', 'header')),          # X-ClientApplication, no PID
    ('pid-comments.pcapng', ('OUTLOOK.EXE', '4028', 'capture-comment')),   # PID by majority of sent frames
    ('ptcpdump-comments.pcapng', ('python3', '3141', 'capture-comment')),
    ('pktap-mapi.pcap', ('Microsoft Outlook', '4028', 'pktap')),
])
def test_capture_metadata_and_headers_name_the_process(tshark, capture, process):
    assert clients(tshark, capture, '-2') == {('192.168.2.56',) + process: {'mailbox': 1, 'directory': 1, 'total': 2}}


def test_the_map_beats_capture_comments(tshark):
    opts = with_map(tshark, 'extra-mailbox.txt')
    assert clients(tshark, 'ptcpdump-comments.pcapng', '-2', *opts) == {
        OUTLOOK_4028: {'mailbox': 1, 'directory': 1, 'total': 2}}


# -- bad maps: one readable message, analysis goes on

BAD_MAPS = [
    ('does-not-exist.txt', 'cannot open'),
    ('bad-empty.txt', 'empty'),
    ('bad-binary.bin', 'binary'),
    ('bad-nothing.txt', 'no tasklist, netstat'),
    ('bad-partly.txt', 'lines not understood'),
]


@pytest.mark.parametrize('name, reason', BAD_MAPS)
def test_bad_map_is_reported_once_and_analysis_goes_on(tshark, name, reason):
    path = (tshark.caps.parent / 'maps' / name)
    opts = ('-o', f'exchange.process_map:{path}')
    rows = tshark.fields('mapi-http-outlook.pcapng', ['frame.number', '_ws.expert.message'], '-2',
                         '-Y', 'exchange.process_map_problem', *opts)
    assert len(rows) == 1 and rows[0][0] == '1'
    message = rows[0][1]
    assert f'exchange.process_map: {path}: ' in message and reason in message
    table = clients(tshark, 'mapi-http-outlook.pcapng', '-2', *opts)
    if name == 'bad-partly.txt':
        assert table == {OUTLOOK_4028: {'mailbox': 1, 'directory': 1, 'total': 2}}
    else:
        assert table == {('192.168.2.56', 'OUTLOOK.EXE', '-', 'header'): {'mailbox': 1, 'directory': 1, 'total': 2}}
    proc = tshark.run('-2', '-q', '-r', 'mapi-http-outlook.pcapng', *opts)
    assert proc.stderr.count(f'exchange.process_map: {path}') == 1, proc.stderr


# -- the connections table, like Outlook's Connection Status

def test_connection_status_columns(tshark):
    rows = conns_table(tshark, 'mapi-http-cleartext.pcap', '-2', *with_map(tshark, 'extra-mailbox.txt'))
    by_stream = {int(r[STREAM]): r for r in rows}
    frames = {}
    for (s,) in tshark.fields('mapi-http-cleartext.pcap', ['tcp.stream']):
        frames[int(s)] = frames.get(int(s), 0) + 1
    for s, r in by_stream.items():
        assert r[PROCESS] == 'OUTLOOK.EXE 4028'
        assert int(r[FRAMES]) == frames[s]
        assert int(r[REQUESTS]) == 4
    # Execute answered with X-ResponseCode 10 is the one failure.
    assert [int(by_stream[s][FAILURES]) for s in (0, 1)] == [1, 0]
    assert [by_stream[s][ROLE] for s in (0, 1)] == ['mailbox', 'directory']
    assert int(by_stream[0][DECIDED]) == 10     # the answer to the POST in frame 6 (request-id)


def test_rpc_faults_and_requests_count_on_rpc_tcp(tshark):
    rows = conns_table(tshark, 'rpc-tcp-outlook-start.pcap', '-2')
    requests = {int(r[STREAM]): int(r[REQUESTS]) for r in rows}
    want = {}
    for (s,) in tshark.fields('rpc-tcp-outlook-start.pcap', ['tcp.stream'], '-Y', 'dcerpc.pkt_type == 0'):
        want[int(s)] = want.get(int(s), 0) + 1
    assert requests == {s: want.get(s, 0) for s in requests}


# -- expert infos

def experts(tshark, capture, name, *extra):
    return [(int(f), m) for f, m in tshark.fields(capture, ['frame.number', '_ws.expert.message'], '-2', '-Y',
                                                  f'exchange.{name}', *extra)]


def test_legacy_transports_are_flagged(tshark):
    rpc_tcp = experts(tshark, 'rpc-tcp-outlook-start.pcap', 'rpc_tcp_legacy')
    assert [f for f, _ in rpc_tcp] == [22, 34, 43, 54]      # the BIND_ACKs that make them certain
    rpc_http = experts(tshark, 'rpc-http-outlook.pcapng', 'rpc_http_deprecated')
    assert [f for f, _ in rpc_http] == [27, 28, 73, 74]
    assert experts(tshark, 'mapi-http-outlook.pcapng', 'rpc_http_deprecated') == []


def test_channel_without_partner(tshark):
    name = derived(tshark, 'rpc-http-port-mismatch.pcap', 'rpc-http-in-only.pcap', 'tcp.stream == 1')   # no OUT
    found = experts(tshark, name, 'channel_unpaired')
    assert len(found) == 1 and 'IN channel of virtual connection 7c000000-0000-4000-8000-000000000001' in found[0][1]
    assert experts(tshark, 'rpc-http-port-mismatch.pcap', 'channel_unpaired') == []


def test_more_connections_than_the_transport_needs(tshark):
    opts = with_map(tshark, 'extra-mailbox.txt')
    found = experts(tshark, 'mapi-http-extra-mailbox.pcap', 'extra_connection', *opts)
    # The mailbox connections overlap (NotificationWait holds one for 1.5 s); the directory ones,
    # 3 ms each, do not.
    assert [f for f, _ in found] == sorted(tshark.frames('mapi-http-extra-mailbox.pcap',
                                                         'exchange.role == "mailbox" && exchange.decided_in == frame.number',
                                                         '-2'))
    assert len(found) == 2
    assert all('OUTLOOK.EXE PID 4028 holds 2 concurrent mailbox connections over mapi-http to the same mailbox' in m
               for _, m in found)
    assert experts(tshark, 'mapi-http-cleartext.pcap', 'extra_connection', *opts) == []


def test_endpoint_mapper_answer_never_used(tshark):
    name = derived(tshark, 'rpc-tcp-outlook-start.pcap', 'rpc-tcp-no-mailbox.pcap', 'tcp.port == 59531')
    found = experts(tshark, name, 'epm_unused')
    assert len(found) == 1
    assert 'Endpoint mapper announced EMSMDB at 192.168.2.50:59531, but no connection to it follows' in found[0][1]
    assert experts(tshark, 'rpc-tcp-outlook-start.pcap', 'epm_unused') == []
