"""Bad input never takes tshark down: every capture, byte-mutated and cut short.

A short version of the fuzzing in Wireshark's own fuzz-test; the long run
under sanitizers is a separate job.
"""
import subprocess

import pytest

from test_rpc_tcp import EXPECTED

SEEDS = range(1, 6)


def mutate(tshark, capture, seed, rate):
    name = f'fuzz-{seed}-{rate}-{capture}'
    subprocess.run(['editcap', '-E', str(rate), '--seed', str(seed), capture, name],
                   cwd=tshark.caps, check=True, capture_output=True)
    (tshark.caps / name).chmod(0o644)
    return name


@pytest.mark.parametrize('capture', sorted(EXPECTED))
def test_mutated_captures_dissect_without_crash(tshark, capture):
    for seed in SEEDS:
        for rate in (0.01, 0.05):
            name = mutate(tshark, capture, seed, rate)
            proc = tshark.run('-2', '-V', '-r', name, '-z', 'exchange,conns', '-z', 'expert', check=False)
            assert proc.returncode == 0, f'{name}: rc {proc.returncode}\n{proc.stderr[-2000:]}'
            assert 'Dissector bug' not in proc.stdout + proc.stderr, name
            assert 'Exchange Connections:' in proc.stdout


@pytest.mark.parametrize('capture', sorted(EXPECTED))
def test_truncated_captures_dissect_without_crash(tshark, capture):
    for snap in (40, 60, 90):
        name = f'snap-{snap}-{capture}'
        subprocess.run(['editcap', '-s', str(snap), capture, name], cwd=tshark.caps, check=True,
                       capture_output=True)
        (tshark.caps / name).chmod(0o644)
        proc = tshark.run('-2', '-V', '-r', name, '-z', 'exchange,conns', check=False)
        assert proc.returncode == 0, f'{name}: rc {proc.returncode}\n{proc.stderr[-2000:]}'
        assert 'Dissector bug' not in proc.stdout + proc.stderr, name
