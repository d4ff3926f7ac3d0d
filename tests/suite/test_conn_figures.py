"""-z exchange,conns: Start, Duration, Frames, Bytes and Avg response of every row, worked out again from
stock fields only (tshark -T fields, no exchange.* field), for every capture in test-captures/.

What the plugin counts (plugin/exchange_traffic.c), and so what is recomputed here, per tcp.stream:
  Start         frame.time_relative of the stream's first frame (relative to the capture's first frame)
  Duration      time of the stream's last frame minus its first (= tcp.time_relative of the last frame)
  Frames/Bytes  count of the stream's frames, sum of their frame.len
  Avg response  mean of every http.time in frames with an http.response.code and every dcerpc.time in
                frames with a dcerpc.pkt_type, in ms; 0.0 when there is none.  Interim and
                authentication answers (100 Continue, the 401 of NTLM) count like any other.  On RPC/HTTP
                the RPC calls are never timed: their requests go on the IN channel's TCP connection and
                their answers on the OUT channel's, and stock DCE/RPC pairs calls within one connection
                only, so each channel's figure is that of its HTTP answers alone.
"""
from decimal import Decimal

import pytest

from conftest import CAPTURES
from expectations import SERVERS
from tables import AVG_RESPONSE, BYTES, DURATION, FRAMES, HEADER, START, STREAM, conns_table

ALL_CAPTURES = sorted(p.name for p in CAPTURES.iterdir()
                      if p.name.endswith(('.pcap', '.pcapng', '.pcap.gz', '.pcapng.gz')))

FIELDS = ['frame.number', 'tcp.stream', 'frame.time_epoch', 'frame.time_relative', 'frame.len', 'tcp.time_relative',
          'http.response.code', 'http.time', 'dcerpc.pkt_type', 'dcerpc.time']


def seconds(text):
    """A stock time field as tshark -T fields prints it ('0.001017000', or with ' seconds' after it)."""
    return Decimal(text.split()[0])


def values(cell):
    return cell.split(',') if cell else []


def stock_figures(tshark, capture):
    """{tcp.stream: {start, duration, frames, bytes, times}} from stock fields, by the plugin's definition."""
    # Stock fields as dissected where the plugin works (learned ports decode as DCE/RPC there): this run
    # names none of its fields, so the preference makes it work.
    rows = tshark.fields(capture, FIELDS, '-2', '-o', 'tcp.calculate_timestamps:TRUE',
                         '-o', 'exchange.always_analyse:TRUE')
    capture_start = seconds(rows[0][2])
    streams = {}
    for number, stream, epoch, rel, length, tcp_rel, codes, http_times, ptypes, rpc_times in rows:
        if not stream:
            continue
        # Relative to the capture's first frame, not to the epoch or to a time reference.
        assert seconds(rel) == seconds(epoch) - capture_start, f'frame {number}'
        s = streams.setdefault(int(stream), {'start': seconds(rel), 'frames': 0, 'bytes': 0, 'times': []})
        s['duration'] = seconds(rel) - s['start']
        # TCP's own figure for the same thing, on the stream's last frame.
        s['tcp_duration'] = seconds(tcp_rel)
        s['frames'] += 1
        s['bytes'] += int(length)
        # The plugin looks for a response time only where there is an answer: an HTTP response code,
        # a DCE/RPC PDU.
        if codes:
            s['times'] += [seconds(t) for t in values(http_times)]
        if ptypes:
            s['times'] += [seconds(t) for t in values(rpc_times)]
    for s in streams.values():
        assert s['tcp_duration'] == s['duration']
        s['avg_ms'] = 1000 * sum(s['times']) / len(s['times']) if s['times'] else Decimal(0)
    return streams


def close(cell, exact):
    """The table's cell is exact printed to its precision, give or take one unit of its last digit."""
    unit = Decimal(1).scaleb(Decimal(cell).as_tuple().exponent)
    return abs(Decimal(cell) - exact.quantize(unit)) <= unit


def mismatches(rows, streams):
    """Per row, the cells that do not match the stock figures of its stream."""
    bad = {}
    for r in rows:
        s = streams.get(int(r[STREAM]))
        assert s, f'row for stream {r[STREAM]}, which has no frame'
        want = {'Start': (r[START], s['start']), 'Duration': (r[DURATION], s['duration'])}
        wrong = {k: (cell, str(exact)) for k, (cell, exact) in want.items() if not close(cell, exact)}
        # Nothing timed is "-", never a zero that reads as "instant".
        if s['times'] and (r[AVG_RESPONSE] == '-' or not close(r[AVG_RESPONSE], s['avg_ms'])) or \
                not s['times'] and r[AVG_RESPONSE] != '-':
            wrong['Avg response'] = (r[AVG_RESPONSE], str(s['avg_ms']) if s['times'] else '-')
        if (int(r[FRAMES]), int(r[BYTES])) != (s['frames'], s['bytes']):
            wrong['Frames, Bytes'] = ((r[FRAMES], r[BYTES]), (s['frames'], s['bytes']))
        if wrong:
            bad[int(r[STREAM])] = wrong
    return bad


@pytest.mark.parametrize('capture', ALL_CAPTURES)
def test_figures_match_stock_fields(tshark, capture):
    streams = stock_figures(tshark, capture)
    for extra in ((), SERVERS):
        rows = conns_table(tshark, capture, '-2', *extra)
        assert len({r[STREAM] for r in rows}) == len(rows), 'a stream with more than one row'
        assert mismatches(rows, streams) == {}, f'with {extra or "no option"}'


def test_rpc_http_times_only_the_http_answers(tshark):
    """The definition pinned on one capture: each RPC/HTTP channel's average is that of its 401 and 100/200
    answers; the 256 calls of rpc-http-huge-body, requests on stream 0 and answers on stream 1, add nothing."""
    streams = stock_figures(tshark, 'rpc-http-huge-body.pcap.gz')
    assert [len(streams[s]['times']) for s in (0, 1)] == [2, 2]
    rows = conns_table(tshark, 'rpc-http-huge-body.pcap.gz', '-2')
    assert [r[STREAM] for r in rows] == ['0', '1']
    assert mismatches(rows, streams) == {}


def test_a_wrong_figure_is_caught():
    """The comparison itself: one unit off passes, two units off or one byte off do not."""
    s = {0: {'start': Decimal('0.0344'), 'duration': Decimal('1.5054'), 'frames': 35, 'bytes': 8712,
             'avg_ms': Decimal('375.26'), 'times': [Decimal('0.37526')]}}
    row = [''] * len(HEADER)
    row[STREAM] = '0'
    row[START], row[DURATION], row[FRAMES], row[BYTES], row[AVG_RESPONSE] = '0.035', '1.506', '35', '8712', '375.2'
    assert mismatches([row], s) == {}
    row[DURATION] = '1.507'
    row[BYTES] = '8713'
    assert set(mismatches([row], s)[0]) == {'Duration', 'Frames, Bytes'}
    # Unmeasured must print "-": 0.0 for a connection without times, or "-" with times, is caught.
    s[0]['times'], row[DURATION], row[BYTES] = [], '1.506', '8712'
    assert set(mismatches([row], s)[0]) == {'Avg response'}
    row[AVG_RESPONSE] = '-'
    assert mismatches([row], s) == {}
    s[0]['times'] = [Decimal('0.37526')]
    assert set(mismatches([row], s)[0]) == {'Avg response'}
