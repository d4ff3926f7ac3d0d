"""Live capture: tshark -i, one pass, fills -z exchange,conns and -z exchange,clients as packets arrive.

Each capture is replayed (tcpreplay --topspeed, as root) onto one end of a veth pair whose both ends
sit in a private network namespace made for this module, so that no frame can leave it.  dumpcap, as
root in that namespace, captures the other end and writes the packets to a pipe; tshark with the module
under test reads that pipe as its capture interface (`-i -`), as the unprivileged test user with the
module in its plugin folder.  That is tshark's live-capture path: it starts its own dumpcap on the pipe
and dissects each packet as that dumpcap hands it over, in a single pass (tshark refuses -2 with -i);
there is no -r.  Where tcpreplay injects through a TX ring, which loses frames, replay.py sends them.

Nothing waits on a clock: the fixture sends probe frames until one crosses the new veth pair; the
replay starts once dumpcap has said "File:", which it does only after the interface is open; dumpcap
stops after exactly the capture's frame count (-c), which closes the pipe and ends tshark's capture.

What must hold: the tables of the live run equal those of a single-pass `tshark -r` of the file that
live tshark wrote (-w: the very packets it dissected, with the timestamps they got on the wire, so
Start, Duration and Avg response compare exactly), and equal those of a single-pass read of the
original capture in everything but those three timing columns and the gap between the openings of
paired channels that TLS-only evidence quotes (the replay runs at top speed).  Both tables must be
non-empty: a module that never loaded has no tables at all.
"""
import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CAPTURES
from expectations import SERVERS
from replay import PROBE_TYPE
from tables import (AVG_RESPONSE, CLIENTS_TITLE, CONNS_TITLE, DURATION, EVIDENCE, START, clients_from_rows,
                    parse_stat_table)

REPLAY = Path(__file__).with_name('replay.py')
NS = f'exchange-live-{os.getpid()}'
SEND, RECV = 'xlive0', 'xlive1'     # veth ends: the replay writes to SEND, dumpcap listens on RECV

CASES = {
    'mapi-http-cleartext.pcap': (),
    'rpc-tcp-outlook-start.pcap': (),
    'rpc-http-outlook-nokeys.pcap': SERVERS,                        # its README row: roles only with the servers
    'multi-client.pcap': (*SERVERS, '-o', 'exchange.process_map:multi-client.txt'),   # three processes, two hosts
}
TABLES = ('-z', 'exchange,conns', '-z', 'exchange,clients')


def root_run(*args):
    return subprocess.run(args, capture_output=True, text=True, errors='replace', timeout=300)


@pytest.fixture(scope='module')
def netns():
    """Prefix running a command in a fresh network namespace holding the veth pair SEND <-> RECV, both up."""
    if os.geteuid() != 0:
        pytest.skip('live capture needs root to make a network namespace, capture and replay (run as root)')
    missing = [tool for tool in ('ip', 'nsenter', 'dumpcap', 'tcpreplay') if not shutil.which(tool)]
    if missing:
        pytest.skip(f'live capture needs {", ".join(missing)} (.ci/deps.sh installs them)')
    made = root_run('ip', 'netns', 'add', NS)
    if made.returncode != 0:
        pytest.skip(f'cannot make a network namespace here (ip netns add: {made.stderr.strip()})')
    # nsenter, not `ip netns exec`/`ip -n`: those also remount / as a slave, which fails in a chroot
    # whose root is no mount point (tests/matrix/enter.sh); the network namespace is all we need.
    inside = ['nsenter', f'--net=/run/netns/{NS}', '--']
    try:
        # No IPv6 in the namespace: a link coming up would send its own DAD and MLD frames.
        for conf in ('all', 'default'):
            path = f'/proc/sys/net/ipv6/conf/{conf}/disable_ipv6'
            root_run(*inside, 'sh', '-c', f'[ ! -e {path} ] || echo 1 > {path}')
        for cmd in (['ip', 'link', 'add', SEND, 'type', 'veth', 'peer', 'name', RECV],
                    # the captures hold frames up to 2.1 kB (loopback stacks): more than Ethernet's 1500
                    ['ip', 'link', 'set', SEND, 'mtu', '65535', 'up'],
                    ['ip', 'link', 'set', RECV, 'mtu', '65535', 'up']):
            done = root_run(*inside, *cmd)
            assert done.returncode == 0, f'{" ".join(cmd)} in namespace {NS}: {done.stderr}'
        carries = root_run(*inside, sys.executable, str(REPLAY), 'probe', SEND, RECV)
        assert carries.returncode == 0, f'probe over {SEND} -> {RECV}: {carries.stderr}'
        yield inside
    finally:
        root_run('ip', 'netns', 'del', NS)      # takes the veth pair with it


@functools.cache
def replayer():
    """tcpreplay at top speed, unless it injects through a TX ring, which loses frames (replay.py)."""
    version = root_run('tcpreplay', '-V')
    if 'Injection method: PF_PACKET send()' in version.stdout + version.stderr:
        return ['tcpreplay', '-i', SEND, '--topspeed']
    return [sys.executable, str(REPLAY), 'send', SEND]


def tables(out):
    """(connections rows, clients {key: counts}) from tshark output holding both tables."""
    return parse_stat_table(out, *CONNS_TITLE), clients_from_rows(parse_stat_table(out, *CLIENTS_TITLE))


def untimed(rows):
    """Rows without what the replay's speed changes: Start, Duration, Avg response, and the gap between
    the openings of paired RPC/HTTP channels that the evidence of TLS-only rows quotes."""
    def cell(i, text):
        if i in (START, DURATION, AVG_RESPONSE):
            return ''
        return re.sub(r'opened [0-9.]+ s apart', 'opened (gap) apart', text) if i == EVIDENCE else text
    return [[cell(i, text) for i, text in enumerate(row)] for row in rows]


def capture_live(tshark, netns, capture, saved, opts):
    """Replay `capture` onto the veth pair while tshark -i - dissects it live, saving it as `saved`:
    tshark's stdout and stderr and the capture's frame count."""
    frames = len(tshark.fields(capture, ['frame.number']))
    dumpcap = subprocess.Popen([*netns, 'dumpcap', '-i', RECV, '-f', f'not ether proto {PROBE_TYPE}',
                                '-c', str(frames), '-w', '-'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors='replace')
    live = subprocess.Popen(tshark.prefix() + ['tshark', '-i', '-', '-w', saved, '-q', *TABLES, *opts],
                            stdin=dumpcap.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=tshark.caps, env=tshark.env(), text=True, errors='replace')
    dumpcap.stdout.close()          # tshark's dumpcap holds the pipe now
    try:
        told = []
        for line in dumpcap.stderr:     # "File:" comes once RECV is open and the output started
            told.append(line)
            if line.startswith('File:'):
                break
        else:
            pytest.fail(f'dumpcap on {RECV} never started ({dumpcap.wait()}):\n{"".join(told)}')
        replay = root_run(*netns, *replayer(), str(CAPTURES / capture))
        out, err = live.communicate(timeout=300)
        told.append(dumpcap.stderr.read())
    finally:
        for proc in (live, dumpcap):
            if proc.poll() is None:
                proc.kill()
    assert live.returncode == 0, f'live tshark failed ({live.returncode}):\n{err}'
    assert dumpcap.wait() == 0, ''.join(told)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert re.search(rf'Successful packets:\s+{frames}\n', replay.stdout), replay.stdout
    return out, err, frames


@pytest.mark.parametrize('capture', sorted(CASES))
def test_live_capture_fills_both_tables(tshark, netns, capture):
    if capture == 'multi-client.pcap':
        tshark.add_file(CAPTURES / 'maps' / 'multi-client.txt')
    opts = CASES[capture]
    saved = 'live-' + capture.replace('.pcap', '.pcapng')
    out, err, frames = capture_live(tshark, netns, capture, saved, opts)
    # tshark's capture path, not a file read: it names its interface and counts what it captured
    assert re.search(r"^Capturing on '(-|Standard input)'$", err, re.M), err
    assert re.search(rf'^{frames} packets? captured$', err, re.M), err
    live_conns, live_clients = tables(out)
    assert live_conns and live_clients, f'empty tables from the live capture:\n{out}'

    assert tables(tshark.out('-q', '-r', saved, *TABLES, *opts)) == (live_conns, live_clients)

    orig_conns, orig_clients = tables(tshark.out('-q', '-r', capture, *TABLES, *opts))
    assert live_clients == orig_clients
    assert untimed(live_conns) == untimed(orig_conns)
