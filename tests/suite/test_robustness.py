"""Bad input never takes tshark down: every capture, byte-mutated and cut short.

A short version of the fuzzing in Wireshark's own fuzz-test; the long run
under sanitizers is a separate job.  editcap 4.0 cannot rewrite a pcapng that
holds TLS secrets, so those captures are mutated as copies without their
Decryption Secrets Blocks and decrypted with the key log instead
(-o tls.keylog_file), which keeps the decrypted HTTP paths under test.
"""
import subprocess

import pytest

from conftest import CAPTURES
from tables import extract_keylog

ALL = sorted(p.name for p in CAPTURES.iterdir() if p.suffix in ('.pcap', '.pcapng'))
SEEDS = range(1, 6)


def editable(tshark, capture):
    """(a copy editcap can rewrite, tshark options that decrypt it)."""
    if not capture.endswith('.pcapng'):
        return capture, []
    data, kept, pos = (tshark.caps / capture).read_bytes(), [], 0
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos + 4:pos + 8], 'little')
        if int.from_bytes(data[pos:pos + 4], 'little') != 0x0A:     # not a Decryption Secrets Block
            kept.append(data[pos:pos + length])
        pos += length
    if len(kept) == 0 or b''.join(kept) == data:
        return capture, []          # no secrets: editcap copes
    plain = capture.replace('.pcapng', '-nosecrets.pcapng')
    (tshark.caps / plain).write_bytes(b''.join(kept))
    (tshark.caps / plain).chmod(0o644)
    keys = extract_keylog(tshark.caps / capture, tshark.caps / capture.replace('.pcapng', '.keys'))
    keys.chmod(0o644)
    return plain, ['-o', f'tls.keylog_file:{keys.name}']


def editcap(tshark, *args):
    subprocess.run(['editcap', *args], cwd=tshark.caps, check=True, capture_output=True)
    (tshark.caps / args[-1]).chmod(0o644)
    return args[-1]


def assert_survives(tshark, name, *args):
    proc = tshark.run('-2', '-V', '-r', name, '-z', 'exchange,conns', *args, check=False)
    assert proc.returncode == 0, f'{name}: rc {proc.returncode}\n{proc.stderr[-2000:]}'
    assert 'Exchange Connections:' in proc.stdout, name
    bugs = [line for line in proc.stdout.splitlines() if 'Dissector bug' in line]
    assert not [b for b in bugs if 'exchange' in b.lower()], name
    if bugs:
        # A stock dissector's own assertion on garbage (e.g. TLS reassembly)
        # is not ours, but the plugin must not add any.
        stock = tshark.run('-2', '-V', '-r', name, *args, '--disable-protocol', 'exchange', check=False)
        assert len(bugs) <= stock.stdout.count('Dissector bug'), name


@pytest.mark.parametrize('capture', ALL)
def test_mutated_captures_dissect_without_crash(tshark, capture):
    source, opts = editable(tshark, capture)
    for seed in SEEDS:
        for rate in (0.01, 0.05):
            name = editcap(tshark, '-E', str(rate), '--seed', str(seed), source, f'fuzz-{seed}-{rate}-{source}')
            assert_survives(tshark, name, '-z', 'expert', *opts)


@pytest.mark.parametrize('capture', ALL)
def test_truncated_captures_dissect_without_crash(tshark, capture):
    source, opts = editable(tshark, capture)
    for snap in (40, 60, 90):
        assert_survives(tshark, editcap(tshark, '-s', str(snap), source, f'snap-{snap}-{source}'), *opts)


MAPS = sorted(p.name for p in (CAPTURES / 'maps').iterdir())


@pytest.mark.parametrize('map_name', MAPS)
def test_mutated_process_maps_never_take_tshark_down(tshark, map_name):
    """Byte flips, cuts and doubled halves of every map: at most one message about the file (and one that
    it does not fit the capture), never a crash."""
    import random
    data = (CAPTURES / 'maps' / map_name).read_bytes()
    rng = random.Random(map_name)
    for i in range(12):
        b = bytearray(data)
        if b and i % 3 == 0:
            for _ in range(max(1, len(b) // 50)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif i % 3 == 1:
            b = b[:rng.randrange(len(b) + 1)]
        else:
            b = b[len(b) // 2:] + b + b[:len(b) // 3]
        name = f'mutated-{i}-{map_name}'
        (tshark.caps / name).write_bytes(bytes(b))
        (tshark.caps / name).chmod(0o644)
        proc = tshark.run('-2', '-q', '-r', 'mapi-http-outlook.pcapng', '-o', f'exchange.process_map:{name}',
                          '-z', 'exchange,clients', check=False)
        assert proc.returncode == 0, f'{name}: rc {proc.returncode}\n{proc.stderr[-2000:]}'
        assert 'Exchange Connections per Client Process:' in proc.stdout, name
        # one message about the file at most, and one that it does not fit the capture
        misfits = proc.stderr.count(' does not fit this capture: ')
        assert proc.stderr.count('exchange.process_map:') - misfits <= 1, proc.stderr
        assert misfits <= 1, proc.stderr
