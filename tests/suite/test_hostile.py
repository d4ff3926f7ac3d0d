"""Hostile and odd inputs, the quick and deterministic part: huge and absurd endpoint-mapper answers,
an RPC/HTTP channel carrying megabytes, a binary and a garbage process map, a 100 000-row netstat map.

The captures come from gen_hostile.py; tests/hostile/hostile.py runs the long version (10 MB and 1M-line maps,
70 MB map, the learned-table limit) and measures time and memory.
"""
import pytest

from conftest import CAPTURES

from hostile.hostile import (ABSURD_LEARNED, ABSURD_MALFORMED, CONV_FIELDS, EXPECTED,  # noqa: E402
                     MANY_TOWERS_LEARNED, MAPI_ROLES, OUTLOOK_4028, OUTLOOK_HEADER, write_binary, write_garbage,
                     write_netstat)
from tables import clients  # noqa: E402


@pytest.fixture(scope='module', autouse=True)
def compressed_captures(tshark):
    """conftest stages *.pcap and *.pcapng; the gzipped captures are added here."""
    for name in EXPECTED:
        if name.endswith('.gz'):
            tshark.add_file(CAPTURES / name)


def conversations(tshark, capture, *extra):
    """{stream: (role, interface, transport, rpc target, confidence, decided_in)} with -2, failing unless
    every frame of a tagged connection carries the same values."""
    seen, untagged = {}, set()
    for stream, role, *rest in tshark.fields(capture, CONV_FIELDS, '-2', *extra):
        if not role:
            untagged.add(int(stream))
            continue
        row = (role, *rest[:-1], int(rest[-1]))
        assert seen.setdefault(int(stream), row) == row, f'stream {stream} is inconsistent'
    assert not (untagged & set(seen)), f'streams {untagged & set(seen)} have frames without a role'
    return seen


@pytest.mark.parametrize('capture', sorted(EXPECTED))
def test_roles_per_connection(tshark, capture):
    assert conversations(tshark, capture) == EXPECTED[capture]


def test_thousands_of_towers_are_all_learned_below_the_limit(tshark):
    rows = tshark.fields('epm-many-towers.pcap.gz', ['frame.number', 'exchange.epm.learned_port'], '-2',
                         '-Y', 'exchange.epm.learned_port')
    learned = {}
    for number, ports in rows:
        p = [int(x) for x in ports.split(',')]
        assert p == list(range(p[0], p[-1] + 1)), number
        learned[int(number)] = (p[0], p[-1])
    assert learned == MANY_TOWERS_LEARNED
    assert tshark.frames('epm-many-towers.pcap.gz', 'exchange.learn_limit', '-2') == []


def test_absurd_counts_teach_only_what_the_stock_dissector_read(tshark):
    capture = 'epm-absurd-count.pcap'
    rows = tshark.fields(capture, ['frame.number', 'exchange.epm.learned', '_ws.malformed'], '-2',
                         '-Y', 'epm && dcerpc.pkt_type == 2')
    assert {int(n): learned for n, learned, _ in rows if learned} == ABSURD_LEARNED
    assert [int(n) for n, _, malformed in rows if malformed] == ABSURD_MALFORMED
    proc = tshark.run('-2', '-V', '-r', capture, '-z', 'exchange,conns')
    assert 'Dissector bug' not in proc.stdout + proc.stderr


def test_huge_channel_bodies_keep_single_pass_roles(tshark):
    """Single pass: the OUT channel from its CONN/A1 (19), the IN channel from its CONN/B1 (20) on."""
    capture = 'rpc-http-huge-body.pcap.gz'
    rows = tshark.fields(capture, ['frame.number', 'tcp.stream', 'exchange.role'])
    first = {}
    for number, stream, role in rows:
        if role:
            first.setdefault(int(stream), (int(number), role))
    assert first == {0: (20, 'rpc-in'), 1: (19, 'rpc-out')}
    assert sum(1 for _, _, role in rows if role) == sum(1 for n, _, _ in rows if int(n) >= 19)


def bad_map_is_reported_once(tshark, name, reason):
    opts = ('-o', f'exchange.process_map:{name}')
    rows = tshark.fields('mapi-http-outlook.pcapng', ['frame.number', '_ws.expert.message'], '-2',
                         '-Y', 'exchange.process_map_problem', *opts)
    assert len(rows) == 1 and rows[0][0] == '1'
    assert f'exchange.process_map: {name}: ' in rows[0][1] and reason in rows[0][1]
    proc = tshark.run('-2', '-q', '-r', 'mapi-http-outlook.pcapng', '-z', 'exchange,clients', *opts)
    assert proc.stderr.count(f'exchange.process_map: {name}') == 1, proc.stderr
    return clients(tshark, 'mapi-http-outlook.pcapng', '-2', *opts)


def test_binary_map_is_one_message_and_roles_still_count(tshark, tmp_path):
    write_binary(tmp_path / 'hostile-binary.bin', 1 << 20)
    name = tshark.add_file(tmp_path / 'hostile-binary.bin')
    table = bad_map_is_reported_once(tshark, name, 'binary data, not a saved command output')
    assert table == {OUTLOOK_HEADER: MAPI_ROLES}


def test_garbage_map_is_one_message_and_roles_still_count(tshark, tmp_path):
    """Printable words and high bytes (read as the OEM code page), none of them command output."""
    write_garbage(tmp_path / 'hostile-garbage.txt', 1 << 20)
    name = tshark.add_file(tmp_path / 'hostile-garbage.txt')
    table = bad_map_is_reported_once(tshark, name, 'no tasklist, netstat, Get-NetTCPConnection, Get-Process or ss')
    assert table == {OUTLOOK_HEADER: MAPI_ROLES}


def test_netstat_map_of_100000_rows_still_attributes(tshark, tmp_path):
    write_netstat(tmp_path / 'hostile-netstat-100k.txt', 100_000)
    name = tshark.add_file(tmp_path / 'hostile-netstat-100k.txt')
    proc = tshark.run('-2', '-q', '-r', 'mapi-http-outlook.pcapng', '-o', f'exchange.process_map:{name}')
    assert 'exchange.process_map:' not in proc.stderr
    table = clients(tshark, 'mapi-http-outlook.pcapng', '-2', '-o', f'exchange.process_map:{name}')
    assert table == {OUTLOOK_4028: MAPI_ROLES}
