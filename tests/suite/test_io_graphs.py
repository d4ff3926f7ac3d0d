"""The Exchange profile's I/O Graphs presets (plugin/profile/Exchange/io_graphs): the file is what
plugin/profile/make_io_graphs.py writes from colorfilters, every record has a field count the running
series reads, and each preset's filter counts, with tshark, what it is named for."""
import sys

import pytest

from conftest import REPO, series

sys.path.insert(0, str(REPO / 'plugin' / 'profile'))
import make_io_graphs  # noqa: E402

PROFILE = REPO / 'plugin' / 'profile' / 'Exchange'
# The I/O Graphs UAT of each series (ui/qt/io_graph_dialog.cpp): (fields a record may give, all fields);
# 4.6 added asAOT last, with a default.
UAT_FIELDS = {'4.0': (9, 9), '4.4': (9, 9), '4.6': (9, 10)}
# capture, extra tshark options: the roles it holds connections of
CAPTURES = {
    'multi-client.pcap': ('-o', 'exchange.servers:mail.contoso.com'),
    'rpc-http-outlook.pcapng': (),
    'ews-autodiscover.pcapng': (),
    'mapi-http-midstream.pcap': (),          # its mailbox connection began before the capture: no SYN
}


def records():
    return make_io_graphs.parse_uat((PROFILE / 'io_graphs').read_text())


def test_io_graphs_is_generated_from_colorfilters():
    assert (PROFILE / 'io_graphs').read_text() == make_io_graphs.render((PROFILE / 'colorfilters').read_text()), \
        'run plugin/profile/make_io_graphs.py'


def test_io_graphs_records_fit_this_series():
    least, most = UAT_FIELDS[series()]
    rows = records()
    assert len(rows) == 2 * len(make_io_graphs.ROLES)
    for row in rows:
        assert least <= len(row) <= most, row
        enabled, name, _, colour, style, yaxis, yfield, sma, factor = row[:9]
        assert enabled in ('Enabled', 'Disabled') and style in ('Stacked Bar', 'Line')
        assert yaxis in ('Packets', 'Bytes') and yfield == '' and sma == 'None' and factor == '1'
        assert len(colour) == 7 and colour.startswith('#') and int(colour[1:], 16) >= 0


def conns_by_role(tshark, capture, extra):
    """{tcp.stream: role} from the frames that carry a role (-2: whole connections)."""
    rows = tshark.fields(capture, ['tcp.stream', 'exchange.role'], '-2', *extra, '-Y', 'exchange.role')
    return {int(s): r for s, r in rows}


@pytest.mark.parametrize('capture', list(CAPTURES))
def test_presets_count_connections_and_bytes_per_role(tshark, capture):
    extra = CAPTURES[capture]
    roles = conns_by_role(tshark, capture, extra)
    lengths = tshark.fields(capture, ['tcp.stream', 'frame.len'], '-2', *extra, '-Y', 'tcp')
    for _, name, dfilter, _, _, yaxis, *_ in records():
        role = name.split()[0]
        args = ['-2', '-q', '-r', capture, *extra, '-z', f'io,stat,0,{dfilter}']
        out = tshark.out(*args)
        # the one interval row: | 0.0 <> end | frames | bytes |
        row = [line for line in out.splitlines() if '<>' in line][0]
        frames, nbytes = [int(c) for c in row.split('|')[2:4]]
        streams = [s for s, r in roles.items() if r == role]
        if yaxis == 'Packets':          # one frame per connection: its first
            assert frames == len(streams), f'{capture}: {name}: {frames} frames, {len(streams)} connections'
        else:
            assert nbytes == sum(int(n) for s, n in lengths if int(s) in streams), f'{capture}: {name}'


def test_midstream_connection_counts_without_a_syn(tshark):
    """mapi-http-midstream: the mailbox connection has no SYN in the capture, and still counts once."""
    syn = tshark.frames('mapi-http-midstream.pcap', 'exchange.role == "mailbox" && tcp.flags.syn == 1', '-2')
    assert syn == []
    opened = [r for r in records() if r[1] == 'mailbox connections'][0][2]
    assert len(tshark.frames('mapi-http-midstream.pcap', opened, '-2')) == 1
