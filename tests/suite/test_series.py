"""The same answers on every Wireshark series (4.0, 4.4, 4.6), and foreign fields read by their real type.

The tables of every capture are compared with test-captures/expected/, written on 4.0:
    EXCHANGE_UPDATE_EXPECTED=1 ctest --test-dir build -R test_series   (on 4.0 only)
A series whose stock dissectors legitimately show more keeps its own file under
expected/<series>/, and expected/README.md says why.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CAPTURES, REPO, series

EXPECTED = CAPTURES / 'expected'
SERVERS = ('-o', 'exchange.servers:mail.contoso.com')
ALL_CAPTURES = sorted(p.name for p in CAPTURES.iterdir()
                      if p.name.endswith(('.pcap', '.pcapng', '.pcap.gz', '.pcapng.gz')))

# Every foreign field the plugin reads (plugin/exchange_fields.c) and the types its accessor for that field
# reads.  A series that changes one of them to anything else fails here, before a capture is misread.
UINT = {'FT_UINT8', 'FT_UINT16', 'FT_UINT24', 'FT_UINT32'}
STRING = {'FT_STRING', 'FT_STRINGZ'}
FOREIGN = {
    'tcp.payload': {'FT_BYTES'}, 'data.data': {'FT_BYTES'},
    'dcerpc.pkt_type': UINT, 'dcerpc.opnum': UINT, 'dcerpc.cn_bind_to_uuid': {'FT_GUID'},
    'dcerpc.cn_rts_command.cookie': {'FT_GUID'}, 'dcerpc.time': {'FT_RELATIVE_TIME'}, 'dcerpc.cn_ack_result': UINT,
    'epm.tower.num_floors': UINT, 'epm.uuid': {'FT_GUID'}, 'epm.proto.tcp_port': UINT, 'epm.proto.ip': {'FT_IPv4'},
    'http.request.method': STRING, 'http.request.uri': STRING, 'http.host': STRING, 'http.user_agent': STRING,
    'http.request.line': STRING, 'http.response.line': STRING, 'http.time': {'FT_RELATIVE_TIME'},
    # FT_UINT16 in 4.0, FT_UINT24 from 4.2 on
    'http.response.code': UINT,
    # FT_STRING in 4.0, FT_BYTES from 4.2 on: read as text from the bytes it covers
    'http.file_data': {'FT_STRING', 'FT_BYTES'},
    'tls.handshake.extensions_server_name': STRING, 'tls.record.content_type': UINT, 'tls.record.length': UINT,
    'tls.handshake.type': UINT, 'tls.handshake.extensions.supported_version': UINT,
    'frame.comment': STRING, 'pktap.pid': UINT, 'pktap.cmdname': STRING,
    'dns.qry.name': STRING, 'dns.a': {'FT_IPv4'}, 'dns.aaaa': {'FT_IPv6'},
    'dcerpc.cn_status': UINT, 'dcerpc.stub_data': {'FT_BYTES'},
    'nspi.opnum': UINT, 'nspi.MAPISTATUS_status': UINT, 'mapi.opnum': UINT,
}
# The return code of an EMSMDB call has another name from 4.4 on (exchange_compat.h EXCH_MAPI_RETURN_FIELD).
MAPI_RETURN = {'4.0': 'mapi.MAPISTATUS_status'}
MAPI_RETURN_LATER = 'mapi.werror'


def foreign():
    """FOREIGN with the names this series uses."""
    return {**FOREIGN, MAPI_RETURN.get(series(), MAPI_RETURN_LATER): UINT}


def test_every_foreign_field_has_a_type_we_read(tshark):
    wanted, types = foreign(), {}
    for line in tshark.out('-G', 'fields').splitlines():
        cols = line.split('\t')
        if cols[0] == 'F' and cols[2] in wanted:
            types.setdefault(cols[2], set()).add(cols[3])
    assert set(types) == set(wanted), f'not registered in {series()}: {set(wanted) - set(types)}'
    wrong = {name: t for name, t in types.items() if not t <= wanted[name]}
    assert not wrong, f'Wireshark {series()} changed the type of {wrong}'


def test_foreign_field_list_matches_the_plugin():
    """The list above is the plugin's own list, so a new foreign field gets its type checked too."""
    source = (REPO / 'plugin' / 'exchange_fields.c').read_text()
    compat = (REPO / 'plugin' / 'exchange_compat.h').read_text()
    names = set(re.findall(r'\.name = "([A-Za-z0-9_.]+)"', source))
    assert re.findall(r'\.name = (EXCH_\w+_FIELD)', source) == ['EXCH_MAPI_RETURN_FIELD']
    per_series = set(re.findall(r'#define EXCH_MAPI_RETURN_FIELD "([A-Za-z0-9_.]+)"', compat))
    assert per_series == {*MAPI_RETURN.values(), MAPI_RETURN_LATER}
    assert names == set(FOREIGN)


def variants():
    for capture in ALL_CAPTURES:
        yield capture, ()
        yield capture, SERVERS


def golden_name(capture, extra):
    return capture + ('+servers' if extra else '') + '.txt'


def tables(tshark, capture, extra):
    return tshark.out('-2', '-q', '-r', capture, *extra, '-z', 'exchange,conns', '-z', 'exchange,clients')


@pytest.mark.parametrize('capture,extra', list(variants()),
                         ids=[golden_name(c, e)[:-4] for c, e in variants()])
def test_tables_are_the_same_on_every_series(tshark, capture, extra):
    out = tables(tshark, capture, extra)
    name = golden_name(capture, extra)
    own = EXPECTED / series() / name
    if os.environ.get('EXCHANGE_UPDATE_EXPECTED') == '1' and series() == '4.0':
        (EXPECTED / name).write_text(out)
    expected = own if own.exists() else EXPECTED / name
    assert expected.exists(), f'{expected} missing: write it on 4.0 with EXCHANGE_UPDATE_EXPECTED=1'
    assert out == expected.read_text(), f'{capture} {" ".join(extra)} differs from {expected}'


def test_series_differences_are_explained():
    """Every series-specific expected file is named in expected/README.md with its reason."""
    readme = (EXPECTED / 'README.md').read_text()
    for own in sorted(EXPECTED.glob('4.*/*.txt')):
        assert f'{own.parent.name}/{own.name}' in readme, f'{own} is not explained in expected/README.md'


# ---- A field registered twice under one name, with another type ----

CLASH_CAPTURES = {
    # capture: the clashing fields the plugin meets there (and must skip, saying so once).  Cleartext only:
    # TCP hands a TLS connection to its conversation's dissector without trying heuristics.
    'rpc-tcp-outlook-start.pcap': {'dcerpc.pkt_type'},
    'mapi-http-cleartext.pcap': {'http.response.code', 'http.time'},
}
WARNING = re.compile(r'field (\S+) is of type (FT_\w+) here, not [^:]+: its evidence is skipped')


@pytest.fixture(scope='module')
def clash_plugins(tshark):
    module = os.environ.get('EXCHANGE_CLASH') or next(iter(sorted(
        REPO.glob('build*/tests/clash.so'))), None)
    if not module or not Path(module).is_file():
        pytest.fail('the clash test module is not built (cmake --build build)')
    folder = tshark.stage / 'clash-plugins'
    epan = folder / series() / 'epan'
    epan.mkdir(parents=True, exist_ok=True)
    shutil.copy(tshark.plugins / series() / 'epan' / 'exchange.so', epan / 'exchange.so')
    shutil.copy(module, epan / 'clash.so')
    for p in [folder, *folder.rglob('*')]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    return folder


def run_with(tshark, plugins, *args):
    env = dict(tshark.env(), WIRESHARK_PLUGIN_DIR=str(plugins))
    return subprocess.run(tshark.prefix() + ['tshark', *args], cwd=tshark.caps, env=env, capture_output=True,
                          text=True, errors='replace', timeout=600)


@pytest.mark.parametrize('capture', sorted(CLASH_CAPTURES))
def test_a_field_of_another_type_is_skipped_once_and_changes_nothing(tshark, clash_plugins, capture):
    # The test module's heuristic runs first on every TCP segment (then declines), so its
    # same-name fields are in the tree of the frames the plugin reads.
    args = ['-o', 'tcp.try_heuristic_first:TRUE', '-2', '-r', capture, '-T', 'fields', '-e', 'frame.number',
            '-e', 'exchange.role', '-e', 'exchange.confidence', '-e', 'exchange.evidence',
            '-z', 'exchange,conns', '-z', 'exchange,clients']
    clashed = run_with(tshark, clash_plugins, *args)
    assert clashed.returncode == 0, f'tshark failed ({clashed.returncode}):\n{clashed.stderr[-3000:]}'
    listed = run_with(tshark, clash_plugins, '-G', 'plugins').stdout
    assert re.search(r'^clash\.so\s', listed, re.M) and re.search(r'^exchange\.so\s', listed, re.M), listed
    plain = tshark.run(*args)
    assert clashed.stdout == plain.stdout
    warned = WARNING.findall(clashed.stderr)
    names = [name for name, _ in warned]
    assert len(names) == len(set(names)), f'a field was warned about more than once: {names}'
    assert set(names) == CLASH_CAPTURES[capture], clashed.stderr
    assert all(t != 'FT_NONE' for _, t in warned)
