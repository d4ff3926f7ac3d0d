"""Stock decoding of RPC/TCP connections whose interface the plugin learned without their BIND (issue 17, item 6).

Wireshark's DCE/RPC dissector turns a request's context id into an interface only through its bind table,
which its own BIND handling fills (packet-dcerpc.c: `dcerpc_binds`, static). A connection whose BIND is
not in the capture therefore shows "opnum N" even where the plugin knows its interface (an ept_map answer
named its port, or another connection bound the same endpoint). The plugin could tell the dissector only
through a libwireshark export that adds to that table while a file is dissected; `BIND_TABLE_CALL` is the
one packet-dcerpc.c has (`dcerpc_add_conv_to_bind_table`, static up to 4.6). Decode As > DCERPC does not
help a plugin: its list (reachable through `decode_as_list`) is copied into the table only when dissection
is initialised again (a file opened or re-dissected in Wireshark), never between tshark's two passes.

No series (4.0, 4.4, 4.6) exports that call, so the plugin leaves DCE/RPC decoding alone: these tests pin
that the call is absent (a series that adds it fails the first test, the sign to use it), that stock
decoding stays as it is with the plugin, without it and with -o exchange.decode_learned_ports:FALSE, and
that the learned roles stay.
"""
import ctypes
import re
import shutil
import subprocess

import pytest

from conftest import series

BIND_TABLE_CALL = 'dcerpc_add_conv_to_bind_table'
OFF = ('-o', 'exchange.decode_learned_ports:FALSE')
WITHOUT_PLUGIN = ('--disable-protocol', 'exchange')

# capture: (stream, role it learns, the interface's stock protocol, the stock name of its first call)
LEARNED = {
    'rpc-tcp-late-start.pcap': (3, 'mailbox', 'mapi', 'EcDoConnectEx'),      # ept_map answer, frame 13
    'rpc-tcp-midstream.pcap': (0, 'mailbox', 'mapi', 'EcDoConnectEx'),       # BIND on stream 1, frame 8
    'rpc-tcp-bind-elsewhere.pcap': (0, 'directory', 'nspi', 'NspiQueryRows'),  # BIND on stream 1, frame 7
}


def libwireshark():
    """The libwireshark the tshark on PATH loads."""
    out = subprocess.run(['ldd', shutil.which('tshark')], capture_output=True, text=True, check=True).stdout
    m = re.search(r'libwireshark\.so\S* => (\S+)', out)
    assert m, f'tshark links no libwireshark:\n{out}'
    return m.group(1)


def exports(symbol):
    """Whether libwireshark exports symbol (its dynamic symbol table, as a plugin would link to it)."""
    return hasattr(ctypes.CDLL(libwireshark()), symbol)


def dcerpc_rows(tshark, capture, stream, *extra):
    """[(frame, role, confidence, Info)] of the stream's DCE/RPC requests and responses."""
    rows = tshark.fields(capture, ['frame.number', 'exchange.role', 'exchange.confidence', '_ws.col.Info'],
                         '-Y', f'tcp.stream == {stream} && (dcerpc.pkt_type == 0 || dcerpc.pkt_type == 2)', *extra)
    assert rows, f'{capture}: no DCE/RPC request or response on stream {stream}'
    return [(int(n), role, conf, info) for n, role, conf, info in rows]


def decoded(tshark, capture, stream, proto, *extra):
    return tshark.frames(capture, f'tcp.stream == {stream} && {proto}', *extra)


def test_no_call_adds_to_the_dcerpc_bind_table():
    """Why the plugin does not make learned connections decode: the libwireshark this tshark loads exports
    no call that adds a binding while a file is dissected.  A series that does must make this fail, so
    that the plugin starts using it."""
    assert not exports(BIND_TABLE_CALL), f'Wireshark {series()}: {libwireshark()} exports {BIND_TABLE_CALL}'


@pytest.mark.parametrize('variant', ['without the plugin', 'decode_learned_ports off'])
@pytest.mark.parametrize('capture', list(LEARNED))
def test_stock_decoding_stays_without_plugin_or_preference(tshark, capture, variant):
    stream, role, proto, _ = LEARNED[capture]
    extra = WITHOUT_PLUGIN if variant == 'without the plugin' else OFF
    rows = dcerpc_rows(tshark, capture, stream, '-2', *extra)
    assert decoded(tshark, capture, stream, proto, '-2', *extra) == []
    requests = [info for n, _, _, info in rows if info.startswith('Request:')]
    assert requests and all(re.search(r'opnum: \d+, Ctx: \d+', info) for info in requests), requests
    # The preference changes decoding only: the connection still has its learned role.
    expected_role = '' if variant == 'without the plugin' else role
    assert {(r, conf) for _, r, conf, _ in rows} == {(expected_role, 'learned' if expected_role else '')}


@pytest.mark.parametrize('capture', list(LEARNED))
def test_without_the_call_the_plugin_leaves_dcerpc_decoding_stock(tshark, capture):
    """Where the series offers no way in, the plugin writes nothing into DCE/RPC's state: its Info column
    and fields are stock Wireshark's, and the role is still learned."""
    stream, role, proto, _ = LEARNED[capture]
    mine = dcerpc_rows(tshark, capture, stream, '-2')
    stock = dcerpc_rows(tshark, capture, stream, '-2', *WITHOUT_PLUGIN)
    assert [(n, info) for n, _, _, info in mine] == [(n, info) for n, _, _, info in stock]
    assert {(r, conf) for _, r, conf, _ in mine} == {(role, 'learned')}
    assert decoded(tshark, capture, stream, proto, '-2') == []
