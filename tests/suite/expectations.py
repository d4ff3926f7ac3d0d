"""The roles each capture must show, read from test-captures/expected/roles-*.json.

Data, not code: the test modules that check roles, tables and filters all read the same files here
instead of importing each other's tables.
"""
import json

from conftest import CAPTURES

SERVERS = ('-o', 'exchange.servers:mail.contoso.com')
_DIR = CAPTURES / 'expected'


def _load(name):
    data = json.loads((_DIR / name).read_text())
    data.pop('_about')
    return data


def _rpc_tcp():
    """capture -> {tcp.stream: (role, interfaces (deciding one first), confidence, decided_in)}"""
    return {cap: {int(s): (r['role'], r['interfaces'], r['confidence'], r['decided_in']) for s, r in conns.items()}
            for cap, conns in _load('roles-rpc-tcp.json').items()}


def _http():
    """(capture, extra tshark options) -> {tcp.stream: (role, transport, rpc target, confidence, decided_in)}"""
    out = {}
    for key, conns in _load('roles-http.json').items():
        capture, servers = (key[:-len('+servers')], SERVERS) if key.endswith('+servers') else (key, ())
        out[(capture, servers)] = {int(s): (r['role'], r['transport'], r['rpc_target'], r['confidence'],
                                            r['decided_in']) for s, r in conns.items()}
    return out


def _midstream():
    """(capture, tshark options) -> {'single'|'two': {tcp.stream: (role, confidence, decided_in, evidence)},
    'late': [tcp.stream decided only from evidence later in the capture]}"""
    out = {}
    for capture, cases in _load('roles-midstream.json').items():
        for case in cases:
            per = {p: {int(s): (r['role'], r['confidence'], r['decided_in'], r['evidence'])
                       for s, r in case[p].items()} for p in ('single', 'two')}
            per['late'] = sorted(int(s) for s in case['late'])
            out[(capture, tuple(case['options']))] = per
    return out


RPC_TCP = _rpc_tcp()
HTTP = _http()
MIDSTREAM = _midstream()


def ident(key):
    """A test id for an HTTP key: the capture, with +servers when exchange.servers is set."""
    capture, extra = key
    return capture + ('+servers' if extra else '')


def midstream_ident(key):
    """A test id: the capture and its -o values."""
    capture, options = key
    return capture + ''.join('+' + o.split(':', 1)[1] for o in options if o != '-o')
