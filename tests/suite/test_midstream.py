"""Captures that begin mid-conversation: what one pass and two passes give, per connection.

The expectations are data (test-captures/expected/roles-midstream.json): for each capture and its
options, per pass, every tagged tcp.stream's role, confidence, deciding frame and evidence, as the
connection's last frame shows them.  A stream not listed must stay untagged.
"""
import pytest

from expectations import MIDSTREAM, midstream_ident

FIELDS = ['tcp.stream', 'exchange.role', 'exchange.confidence', 'exchange.decided_in', 'exchange.evidence']
PASSES = {'single': (), 'two': ('-2',)}
CASES = [(key, passes) for key in MIDSTREAM for passes in PASSES]


def final_state(tshark, capture, options, passes):
    """tcp.stream -> (role, confidence, decided_in, evidence) of the stream's last frame (single pass:
    what was known when it was read; -2: the same on every frame)."""
    last = {}
    for stream, role, conf, decided, evidence in tshark.fields(capture, FIELDS, *PASSES[passes], *options):
        if stream:
            last[int(stream)] = (role, conf, decided, evidence)
    return {s: (r, c, int(d), e) for s, (r, c, d, e) in last.items() if r}


@pytest.mark.parametrize('key,passes', CASES, ids=[f'{midstream_ident(k)}-{p}' for k, p in CASES])
def test_roles_per_stream(tshark, key, passes):
    capture, options = key
    want = MIDSTREAM[key][passes]
    got = final_state(tshark, capture, options, passes)
    assert got == want


@pytest.mark.parametrize('key', list(MIDSTREAM), ids=[midstream_ident(k) for k in MIDSTREAM])
def test_late_decisions_are_told_on_their_first_frame(tshark, key):
    """With -2, a connection decided from evidence later in the capture carries one expert note, on its
    first frame, which is its exchange.decided_in."""
    capture, options = key
    late = MIDSTREAM[key]['late']
    rows = tshark.fields(capture, ['frame.number', 'tcp.stream'], '-2', *options,
                         '-Y', '_ws.expert.message contains "from evidence later in the capture"')
    told = {}
    for frame, stream in rows:
        assert int(stream) not in told, f'stream {stream} told twice: {rows}'
        told[int(stream)] = int(frame)
    first = {}
    for frame, stream in tshark.fields(capture, ['frame.number', 'tcp.stream'], *options, '-Y', 'tcp'):
        first.setdefault(int(stream), int(frame))
    assert told == {s: first[s] for s in late}
    assert all(MIDSTREAM[key]['two'][s][2] == first[s] for s in late)
