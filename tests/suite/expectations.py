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


RPC_TCP = _rpc_tcp()
HTTP = _http()


def ident(key):
    """A test id for an HTTP key: the capture, with +servers when exchange.servers is set."""
    capture, extra = key
    return capture + ('+servers' if extra else '')
