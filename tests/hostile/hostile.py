#!/usr/bin/python3
"""Hostile and odd inputs: every check, one line each with its figures, PASS or FAIL.

    /usr/bin/python3 tests/hostile/hostile.py [--plugin build/plugin/exchange.so] [--only NAME ...] [--keep]

Runs the real tshark with the plugin staged in a private plugin folder (as tests/conftest.py does; as
root, tshark runs as 'nobody' through setpriv) and measures each run's wall time and peak RSS
(os.wait4's ru_maxrss). Exit status 0 only when every check passes.

Captures (made by gen_hostile.py; roles as the README rows say), each run with the plugin and with
--disable-protocol exchange on the same command line:
    epm-many-towers.pcap.gz     6000 endpoints learned from six 1000-tower ept_map answers; roles
    epm-absurd-count.pcap       ept_map answers with absurd NDR counts; no crash; legit answer learned
    rpc-http-huge-body.pcap.gz  8.4 MB each way on one RPC/HTTP virtual connection; rpc-in / rpc-out
    epm-learn-limit (made here) 70 ept_map answers of 1000 towers (70000 endpoints on two server
                                addresses): the learned table stops at 65536, exchange.learn_limit on each answer past it

Process maps, written at run time into the staging folder (seeded, never committed), each loaded
with -o exchange.process_map:<map> over mapi-http-outlook.pcapng (-2 -q -z exchange,clients) and
compared with the same run without a map (time budget 2 s + 20 us a line, RSS at most 10 x the file):
    garbage 10 MB               random printable words and high (non-UTF-8) bytes, no command output
    garbage+rows 10 MB          the same with the English tasklist/netstat sample inside
    binary 10 MB                random bytes
    netstat 1M lines            1 000 000 netstat -ano TCP rows, OUTLOOK.EXE's two rows last
    tasklist 1M lines           1 000 000 tasklist rows, then the netstat rows for the capture
    netstat-max 64 MiB          as many bare netstat rows as fit under the limit (~1.68M): the worst case
    oversized 70 MB             netstat rows past the 64 MiB limit: one message, nothing loaded
    hosts 50k                   50 000 "#host" sections of one row each, then PC-ALICE's sample

Bounds measured with it (tshark 4.0.17, 2 CPUs; tshark alone peaks at ~155 MB RSS on these inputs):
  - learned endpoints: at most 65536 per file (EXCH_MAX_LEARNED), ~780 bytes each: ~290 for the
    plugin's table and per-answer records, ~490 for the DCE/RPC conversation template it registers per
    endpoint (-o exchange.decode_learned_ports:FALSE saves those); +8 MB for 6000, +49 MB when full.
    File scope: freed when the capture is closed.
  - RPC/HTTP channel bodies: nothing is kept per byte (8.4 MB each way adds 0 MB).
  - process map: files over 64 MiB are refused after reading the first 64 MiB (+64 MB transient,
    0.2 s). Loading holds the bytes and a decoded copy (2 x the file, transient); a loaded map costs
    ~380 bytes per netstat connection with its own local endpoint and ~160 bytes per tasklist row,
    so the worst case, 64 MiB of bare netstat rows (1.68M connections), adds ~550 MB. The map is read
    twice per tshark run (when the preference is applied and when the file opens); time is linear,
    ~3.5 us per netstat line per read, "#host" sections included (50 000 of them: 0.4 s).
"""
import argparse
import os
import pwd
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CAPTURES = REPO / 'test-captures'
sys.path.insert(0, str(REPO / 'tests'))
from wireshark_series import series  # noqa: E402
MB = 1 << 20

OUTLOOK_HEADER = ('192.168.2.56', 'OUTLOOK.EXE', '-', 'header')      # X-ClientApplication, no map
OUTLOOK_4028 = ('192.168.2.56', 'OUTLOOK.EXE', '4028', 'process-map')
MAPI_ROLES = {'mailbox': 1, 'directory': 1, 'total': 2}

# capture -> {tcp.stream: (role, interface, transport, rpc target, confidence, decided_in)}, from -2


def outlook_start(*decided_in):
    """rpc-tcp-outlook-start's six connections behind hostile answers: where each was decided."""
    roles = [('endpoint-mapper', 'EPM'), ('endpoint-mapper', 'EPM'), ('directory', 'RFR'), ('directory', 'NSPI'),
             ('mailbox', 'EMSMDB'), ('mailbox', 'AsyncEMSMDB')]
    return {i: (role, iface, 'rpc-tcp', '', 'certain', frame)
            for i, ((role, iface), frame) in enumerate(zip(roles, decided_in))}


EXPECTED = {
    # decided by the server's answers: the ept_map answers and the BIND_ACKs
    'epm-many-towers.pcap.gz': outlook_start(33, 181, 194, 206, 215, 226),
    'epm-absurd-count.pcap': outlook_start(9, 35, 48, 60, 69, 80),
    'rpc-http-huge-body.pcap.gz': {
        0: ('rpc-in', 'EMSMDB', 'rpc-http', 'mailbox', 'certain', 20),
        1: ('rpc-out', 'EMSMDB', 'rpc-http', 'mailbox', 'certain', 19),
    },
}
CONV_FIELDS = ['tcp.stream', 'exchange.role', 'exchange.interface', 'exchange.transport', 'exchange.rpc.target',
               'exchange.confidence', 'exchange.decided_in']

# epm-many-towers: six answers of 1000 towers (ports 20000-25999), then outlook-start's three.
MANY_TOWERS_LEARNED = {33: (20000, 20999), 63: (21000, 21999), 89: (22000, 22999), 117: (23000, 23999),
                       139: (24000, 24999), 168: (25000, 25999), 181: (59532, 59532), 183: (59532, 59532),
                       185: (59531, 59531)}
# epm-absurd-count: what each answer taught (the stock EPM dissector gives up on frames 11, 17, 19, 21).
# Frames 17 and 19 teach the port the stock dissector read before giving up; frame 39 (outlook-start's
# EMSMDB -> 59531) teaches nothing new: frame 23 did.
ABSURD_LEARNED = {9: '192.168.2.50:40001', 13: '192.168.2.50:40003', 15: '192.168.2.50:40004',
                  17: '192.168.2.50:40005', 19: '192.168.2.50:40006', 23: '192.168.2.50:59531',
                  35: '192.168.2.50:59532', 37: '192.168.2.50:59532'}
ABSURD_MALFORMED = [11, 17, 19, 21]


# ---------------------------------------------------------------- running tshark

class Run:
    def __init__(self, rc, out, err, wall, rss_kb):
        self.rc, self.out, self.err, self.wall, self.rss = rc, out, err, wall, rss_kb * 1024

    def rss_mb(self):
        return self.rss / MB


class Stage:
    """A private plugin folder, a captures folder readable by the tshark user, a HOME for it."""

    def __init__(self, plugin, keep=False):
        self.root = Path(tempfile.mkdtemp(prefix='exchange-hostile-'))
        self.keep = keep
        os.chmod(self.root, 0o755)
        epan = self.root / 'plugins' / series() / 'epan'
        epan.mkdir(parents=True)
        shutil.copy(plugin, epan / 'exchange.so')
        self.caps = self.root / 'caps'
        self.caps.mkdir()
        self.home = self.root / 'home'
        self.home.mkdir()
        self.as_nobody = os.geteuid() == 0
        for path in self.root.rglob('*'):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        if self.as_nobody:
            nobody = pwd.getpwnam('nobody')
            os.chown(self.home, nobody.pw_uid, nobody.pw_gid)

    def add(self, src):
        dst = self.caps / Path(src).name
        shutil.copy(src, dst)
        os.chmod(dst, 0o644)
        return dst.name

    def path(self, name):
        p = self.caps / name
        return p

    def finish(self, name):
        os.chmod(self.caps / name, 0o644)
        return name

    def cleanup(self):
        if self.keep:
            print(f'staging kept in {self.root}')
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    def tshark(self, *args, timeout=900):
        """tshark ARGS in the captures folder; waits with os.wait4 for its peak RSS."""
        prefix = []
        if self.as_nobody:
            nobody = pwd.getpwnam('nobody')
            prefix = ['setpriv', f'--reuid={nobody.pw_uid}', f'--regid={nobody.pw_gid}', '--clear-groups', '--']
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'HOME': str(self.home),
               'WIRESHARK_PLUGIN_DIR': str(self.root / 'plugins'), 'TZ': 'UTC', 'LANG': 'C.UTF-8'}
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.monotonic()
            proc = subprocess.Popen(prefix + ['tshark', *args], cwd=self.caps, env=env, stdout=out, stderr=err)
            timer = threading.Timer(timeout, proc.kill)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            wall = time.monotonic() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            return Run(proc.returncode, out.read().decode(errors='replace'), err.read().decode(errors='replace'),
                       wall, usage.ru_maxrss)


def fields(run):
    return [line.split('\t') for line in run.out.splitlines()]


def field_args(names):
    args = ['-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,']
    for n in names:
        args += ['-e', n]
    return args


def conversations(run):
    """{stream: row} over every frame, or a string saying what is inconsistent."""
    seen, untagged = {}, set()
    for stream, role, *rest in fields(run):
        if not role:
            untagged.add(int(stream))
            continue
        row = (role, *rest[:-1], int(rest[-1]))
        if seen.setdefault(int(stream), row) != row:
            return f'stream {stream} inconsistent'
    if untagged & set(seen):
        return f'streams {sorted(untagged & set(seen))} have untagged frames'
    return seen


def clients(run):
    """{(host, process, pid, source): {role: n, 'total': n}} from -z exchange,clients, or None."""
    lines = run.out.splitlines()
    try:
        head = lines.index('Exchange Connections per Client Process:')
    except ValueError:
        return None
    header = [c.strip() for c in lines[head + 2].split(' |')[:-1]]
    roles = [h.lower() for h in header[4:header.index('Total') + 1]]    # the counts; Back ends follows
    table = {}
    for line in lines[head + 4:]:
        if line.startswith('====='):
            break
        cells = [c.strip() for c in line.split(' |')[:-1]]
        key = dict(zip(header, cells))
        table[(key['Host'], key['Process'], key['PID'], key['Source'])] = \
            {r: int(n) for r, n in zip(roles, cells[4:]) if int(n)}
    return table


def dissector_bugs(run):
    return [line for line in (run.out + run.err).splitlines() if 'Dissector bug' in line]


# ---------------------------------------------------------------- results

class Report:
    def __init__(self):
        self.lines = []

    def check(self, name, ok, figures):
        line = f'{"PASS" if ok else "FAIL"}  {name}: {figures}'
        self.lines.append((ok, line))
        print(line, flush=True)

    def failed(self):
        return [line for ok, line in self.lines if not ok]


# What the plugin may add to tshark's peak RSS on each capture: a few MB for ~6000 learned endpoints,
# nothing that grows with RPC/HTTP body size, and the learned table's 65536 entries at most.
RSS_LIMIT = {'epm-many-towers.pcap.gz': 16, 'epm-absurd-count.pcap': 8, 'rpc-http-huge-body.pcap.gz': 8,
             'epm-learn-limit': 100}


def rss_over(name, with_plugin, without):
    delta = (with_plugin.rss - without.rss) / MB
    return [f'the plugin adds {delta:.1f} MB, over {RSS_LIMIT[name]} MB'] if delta > RSS_LIMIT[name] else []


def rss_figures(with_plugin, without):
    return (f'peak RSS {with_plugin.rss_mb():.1f} MB with the plugin, {without.rss_mb():.1f} MB without '
            f'({(with_plugin.rss - without.rss) / MB:+.1f} MB); wall {with_plugin.wall:.1f} s / {without.wall:.1f} s')


# ---------------------------------------------------------------- capture checks

def capture_roles(stage, capture):
    """The role run with the plugin and the same command without it, the roles found, and the
    problems so far (roles other than EXPECTED, or tshark failing)."""
    args = ['-2', '-r', capture, *field_args(CONV_FIELDS)]
    mine, stock = stage.tshark(*args), stage.tshark(*args, '--disable-protocol', 'exchange')
    got = conversations(mine)
    problems = [] if mine.rc == 0 and stock.rc == 0 and got == EXPECTED[capture] else [f'roles {got} (rc {mine.rc})']
    return mine, stock, got, problems


def check_many_towers(stage, report):
    cap = 'epm-many-towers.pcap.gz'
    mine, stock, got, problems = capture_roles(stage, cap)
    learned = stage.tshark('-2', '-r', cap, '-Y', 'exchange.epm.learned_port || exchange.learn_limit',
                           *field_args(['frame.number', 'exchange.epm.learned_port', 'exchange.learn_limit']))
    ports = {}
    for number, plist, limit in fields(learned):
        if limit:
            problems.append(f'learn_limit on frame {number}')
        p = [int(x) for x in plist.split(',') if x]
        ports[int(number)] = (min(p), max(p)) if p else None
        if p and len(p) != p[-1] - p[0] + 1:
            problems.append(f'frame {number}: {len(p)} ports')
    total = sum(hi - lo + 1 for lo, hi in filter(None, ports.values()))
    if ports != MANY_TOWERS_LEARNED:
        problems.append(f'learned {ports}')
    problems += rss_over(cap, mine, stock)
    report.check(cap, not problems,
                 f'{len(got) if isinstance(got, dict) else "?"} streams with the expected roles, {total} endpoints '
                 f'learned in {len(ports)} answers, no learn_limit; {rss_figures(mine, stock)}'
                 + ('; ' + '; '.join(problems) if problems else ''))


def check_absurd(stage, report):
    cap = 'epm-absurd-count.pcap'
    mine, stock, got, problems = capture_roles(stage, cap)
    detail = stage.tshark('-2', '-r', cap, '-Y', 'epm && dcerpc.pkt_type == 2',
                          *field_args(['frame.number', 'exchange.epm.learned', '_ws.malformed']))
    learned = {int(n): l for n, l, _ in fields(detail) if l}
    malformed = [int(n) for n, _, m in fields(detail) if m]
    if learned != ABSURD_LEARNED:
        problems.append(f'learned {learned}')
    if malformed != ABSURD_MALFORMED:
        problems.append(f'stock malformed frames {malformed}')
    verbose = stage.tshark('-2', '-V', '-r', cap, '-z', 'exchange,conns')
    bugs = dissector_bugs(verbose)
    if verbose.rc or bugs:
        problems.append(f'-V rc {verbose.rc}, {len(bugs)} dissector bugs')
    problems += rss_over(cap, mine, stock)
    report.check(cap, not problems,
                 f'{len(got) if isinstance(got, dict) else "?"} streams with the expected roles, legit answer '
                 f'(frame 23) learned 192.168.2.50:59531, stock malformed on {malformed}, no dissector bug; '
                 f'{rss_figures(mine, stock)}' + ('; ' + '; '.join(problems) if problems else ''))


def check_huge_body(stage, report):
    cap = 'rpc-http-huge-body.pcap.gz'
    mine, stock, got, problems = capture_roles(stage, cap)
    problems += rss_over(cap, mine, stock)
    frames = len(mine.out.splitlines())
    report.check(cap, not problems, f'{frames} frames, 2 streams: rpc-in / rpc-out, target mailbox, certain; '
                 f'{rss_figures(mine, stock)}' + ('; ' + '; '.join(problems) if problems else ''))


def learn_limit_capture(stage, answers=70, per_answer=1000):
    """One port-135 connection: BIND EPM, then `answers` ept_map calls whose answers carry
    `per_answer` towers each on distinct (address, port) pairs, as scapy packets with consistent
    sequence numbers; each PDU in its own segment (answers fragmented at 4280 bytes)."""
    sys.path.insert(0, str(REPO / 'tests' / 'generators'))
    from gen_hostile import epm_stub, response_fragments, tower_bytes, tower_floors
    from gen_rpc_tcp import EMSMDB, EPM, NDR, Handler, Service, _co_pdu, _co_request, ept_map_request
    from impacket.dcerpc.v5.rpcrt import MSRPC_BIND, CtxItem, MSRPCBind, MSRPCHeader
    from scapy.all import IP, TCP, Ether, wrpcap

    client, server = ('192.168.2.56', 50701), ('192.168.2.50', 135)
    template = tower_floors(EMSMDB, 0)
    pkts, seq = [], {True: 1000, False: 5000}
    t = [1700000000.0]

    def seg(from_client, payload=b'', flags='PA'):
        src, dst = (client, server) if from_client else (server, client)
        p = (Ether(src='00:15:5d:02:00:56' if from_client else '00:15:5d:02:00:50',
                   dst='00:15:5d:02:00:50' if from_client else '00:15:5d:02:00:56')
             / IP(src=src[0], dst=dst[0], ttl=128) / TCP(sport=src[1], dport=dst[1], flags=flags,
                                                          seq=seq[from_client], ack=seq[not from_client], window=65535)
             / payload)
        t[0] += 0.0001
        p.time = t[0]
        pkts.append(p)
        seq[from_client] += len(payload) + (1 if 'S' in flags or 'F' in flags else 0)

    seq[True] -= 1
    seg(True, flags='S')
    seq[False] -= 1
    seg(False, flags='SA')
    seg(True, flags='A')
    bind = MSRPCBind()
    item = CtxItem()
    item['ContextID'], item['TransItems'], item['AbstractSyntax'], item['TransferSyntax'] = 0, 1, EPM, NDR
    bind.addCtxItem(item)
    bind_pdu = _co_pdu(MSRPC_BIND, bind.getData(), 1)
    seg(True, bind_pdu)
    seg(False, Handler.bind_ack(MSRPCHeader(bind_pdu), Service({EPM}, None, '135'), {}))
    for k in range(answers):
        seg(True, _co_request(3, k + 2, ept_map_request(EMSMDB, per_answer).getData()))
        first = k * per_answer
        towers = []
        for i in range(first, first + per_answer):
            # floor 4: the TCP port (big-endian), floor 5: the IPv4 address; 60000 ports per address
            floors = list(template)
            floors[3] = floors[3][:5] + struct.pack('>H', 1024 + i % 60000)
            floors[4] = floors[4][:5] + bytes((192, 168, 2, 50 + i // 60000))
            towers.append(tower_bytes(floors))
        for frag in response_fragments(k + 2, 0, epm_stub(towers)):
            seg(False, frag)
        seg(True, flags='A')
    seg(True, flags='FA')
    seg(False, flags='FA')
    seg(True, flags='A')
    name = 'epm-learn-limit.pcap'
    wrpcap(str(stage.path(name)), pkts)
    return stage.finish(name), answers * per_answer


def check_learn_limit(stage, report):
    name, announced = learn_limit_capture(stage)
    args = ['-2', '-r', name, '-Y', 'exchange.epm.learned_port || exchange.learn_limit',
            *field_args(['frame.number', 'exchange.epm.learned_port', 'exchange.learn_limit', 'exchange.role'])]
    mine = stage.tshark(*args)
    stock = stage.tshark(*args, '--disable-protocol', 'exchange')
    rows = fields(mine)
    learned = sum(len([x for x in r[1].split(',') if x]) for r in rows)
    limited = [int(r[0]) for r in rows if r[2]]
    problems = rss_over('epm-learn-limit', mine, stock)
    ok = mine.rc == 0 and learned == 65536 and len(limited) >= 1 and not problems
    report.check('epm-learn-limit (generated)', ok,
                 f'{announced} endpoints announced, {learned} learned (EXCH_MAX_LEARNED 65536), learn_limit expert '
                 f'from frame {limited[0] if limited else "-"} on {len(limited)} answer frames; '
                 f'{rss_figures(mine, stock)}' + ('; ' + '; '.join(problems) if problems else ''))


# ---------------------------------------------------------------- maps

OUTLOOK_SAMPLE = (CAPTURES / 'maps' / 'outlook-tasklist-netstat.txt').read_bytes()
OUTLOOK_ROWS = ('  TCP    192.168.2.56:50701     192.168.2.50:443       ESTABLISHED     4028\r\n'
                '  TCP    192.168.2.56:50702     192.168.2.50:443       ESTABLISHED     4028\r\n')
TASKLIST_HEAD = ('\r\nImage Name                     PID Session Name        Session#    Mem Usage\r\n'
                 '========================= ======== ================ =========== ============\r\n'
                 'System                           4 Services                   0      1,216 K\r\n'
                 'OUTLOOK.EXE                   4028 Console                    1    312,456 K\r\n\r\n')
NETSTAT_HEAD = ('\r\nActive Connections\r\n\r\n'
                '  Proto  Local Address          Foreign Address        State           PID\r\n')


def garbage_lines(rng, size):
    """Seeded nonsense: lines of random printable words and high bytes (0x80-0xFF, not UTF-8 as a
    whole, so read as the OEM code page), sometimes blank, sometimes long; no NUL or control byte."""
    printable = bytes(range(0x20, 0x7f))
    high = bytes(range(0x80, 0x100))
    out, n = bytearray(), 0
    while len(out) < size:
        kind = rng.random()
        if kind < 0.05:
            line = b''
        elif kind < 0.07:
            line = bytes(rng.choice(printable) for _ in range(rng.randrange(200, 2000)))
        else:
            words = []
            for _ in range(rng.randrange(1, 12)):
                alphabet = high if rng.random() < 0.3 else printable
                words.append(bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 14))))
            line = b' '.join(words)
        out += line + (b'\r\n' if n % 2 else b'\n')
        n += 1
    return bytes(out[:size])


def write_garbage(path, size, seed=6):
    path.write_bytes(garbage_lines(random.Random(seed), size))


def write_garbage_with_rows(path, size, seed=7):
    g = garbage_lines(random.Random(seed), size)
    cut = g.rfind(b'\n', 0, len(g) // 2) + 1
    path.write_bytes(g[:cut] + OUTLOOK_SAMPLE + g[cut:])


def write_binary(path, size, seed=8):
    path.write_bytes(random.Random(seed).randbytes(size))


def netstat_rows(n, start=0):
    """n distinct netstat -ano TCP rows, columns two blanks apart (netstat pads them to 77 bytes a row,
    which would put a million rows over the plugin's 64 MiB limit: ~870 000 rows fit)."""
    for i in range(start, start + n):
        yield (f'  TCP  10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}:{1024 + i % 60000}  '
               f'203.0.113.{1 + i % 250}:443  ESTABLISHED  {8 + 4 * (i % 250000)}\n')


def write_netstat(path, rows):
    with open(path, 'w', newline='') as f:
        f.write(TASKLIST_HEAD + NETSTAT_HEAD)
        f.writelines(netstat_rows(rows - 2))
        f.write(OUTLOOK_ROWS)


def write_netstat_max(path, size=66_000_000):
    """The most connections a map under the 64 MiB limit can hold: netstat rows cut to their bare
    tokens ("TCP 0.0.1.1:2 1.1.1.1:1 E 8"), each a distinct local endpoint, OUTLOOK.EXE's rows last."""
    with open(path, 'w', newline='') as f:
        written = f.write(TASKLIST_HEAD + NETSTAT_HEAD) + len(OUTLOOK_ROWS)
        i = 0
        while written < size:
            row = f'TCP {i >> 16 & 255}.{i >> 8 & 255}.{i & 255}.1:{1 + i % 60000} 1.1.1.1:1 E {8 + 4 * (i % 9999)}\n'
            written += f.write(row)
            i += 1
        f.write(OUTLOOK_ROWS)


def write_tasklist(path, rows):
    """rows tasklist rows (narrower columns than tasklist's, for the same 64 MiB reason), PID 4028
    last as OUTLOOK.EXE, then netstat with the capture's two connections."""
    with open(path, 'w', newline='') as f:
        f.write('\nImage Name          PID Session  S#  Mem Usage\n'
                '================ ======== ======== == ==========\n')
        for i in range(rows - 1):
            pid = 8 + 4 * i
            pid += 4 if pid >= 4028 else 0
            f.write(f'proc{i % 9973:04d}.exe {pid:>8} Console  1 {12 + i % 900:>7},{i % 1000:03d} K\n')
        f.write('OUTLOOK.EXE          4028 Console  1   312,456 K\n')
        f.write(NETSTAT_HEAD + OUTLOOK_ROWS)


def write_hosts(path, sections):
    """sections "#host" sections of one netstat row each (a concatenation of many machines' output),
    then PC-ALICE's English tasklist/netstat sample."""
    with open(path, 'w', newline='') as f:
        for i in range(sections):
            f.write(f'#host PC-{i:06d}\r\n  TCP  10.1.{i >> 8 & 255}.{i & 255}:50000  203.0.113.9:443  '
                    f'ESTABLISHED  {8 + 4 * i}\r\n')
        f.write('#host PC-ALICE\r\n')
    with open(path, 'ab') as f:
        f.write(OUTLOOK_SAMPLE)


def write_oversized(path, size):
    """Valid netstat rows, but more of them than the 64 MiB limit allows."""
    with open(path, 'w', newline='') as f:
        f.write(TASKLIST_HEAD + NETSTAT_HEAD + OUTLOOK_ROWS)
        written, i = 0, 0
        while written < size:
            chunk = ''.join(netstat_rows(10000, i))
            f.write(chunk)
            written += len(chunk)
            i += 10000


def line_count(path):
    with open(path, 'rb') as f:
        return sum(chunk.count(b'\n') for chunk in iter(lambda: f.read(1 << 20), b''))


MAPS = [
    # name, writer, expected clients table, expected message fragment (None: no message)
    ('garbage-10MB.txt', lambda p: write_garbage(p, 10 * MB), {OUTLOOK_HEADER: MAPI_ROLES},
     'no tasklist, netstat, Get-NetTCPConnection, Get-Process or ss output found'),
    ('garbage-rows-10MB.txt', lambda p: write_garbage_with_rows(p, 10 * MB), {OUTLOOK_4028: MAPI_ROLES},
     'lines not understood'),
    ('binary-10MB.bin', lambda p: write_binary(p, 10 * MB), {OUTLOOK_HEADER: MAPI_ROLES},
     'binary data, not a saved command output'),
    ('netstat-1M.txt', lambda p: write_netstat(p, 1_000_000), {OUTLOOK_4028: MAPI_ROLES}, None),
    ('tasklist-1M.txt', lambda p: write_tasklist(p, 1_000_000), {OUTLOOK_4028: MAPI_ROLES}, None),
    ('netstat-max-64MiB.txt', write_netstat_max, {OUTLOOK_4028: MAPI_ROLES}, None),
    ('oversized-70MB.txt', lambda p: write_oversized(p, 70 * MB), {OUTLOOK_HEADER: MAPI_ROLES},
     'larger than 64 MiB, not a saved command output'),
    ('hosts-50k.txt', lambda p: write_hosts(p, 50_000), {('PC-ALICE',) + OUTLOOK_4028[1:]: MAPI_ROLES}, None),
]
# Budgets: the map is read twice per run (preference applied, file opened); together they may take
# 2 s + 20 us per line over the run without a map, and grow peak RSS by 10 times the file size at most
# (a loaded connection costs ~350 bytes; 64 MiB of the shortest netstat rows is ~9 times its size).
TIME_BASE, TIME_PER_LINE, RSS_FACTOR = 2.0, 20e-6, 10


def map_run(stage, map_name=None):
    opts = ['-o', f'exchange.process_map:{stage.path(map_name)}'] if map_name else []
    return stage.tshark('-2', '-q', '-r', 'mapi-http-outlook.pcapng', '-z', 'exchange,clients', *opts)


def check_map(stage, report, base, name, writer, want_table, want_message):
    path = stage.path(name)
    writer(path)
    stage.finish(name)
    size, lines = path.stat().st_size, line_count(path)
    run = map_run(stage, name)
    table = clients(run)
    prefix = f'exchange.process_map: {path}: '
    messages = [line for line in run.err.splitlines() if 'exchange.process_map:' in line]
    problems = []
    if run.rc:
        problems.append(f'rc {run.rc}')
    if table != want_table:
        problems.append(f'clients {table}')
    if want_message is None:
        if messages:
            problems.append(f'unexpected message: {messages[0][-200:]}')
        said = 'no message'
    else:
        if len(messages) != 1 or prefix not in messages[0] or want_message not in messages[0]:
            problems.append(f'{len(messages)} messages: {messages[:2]}')
        said = '"' + (messages[0].split(prefix, 1)[-1] if messages else '') + '"'
        # The same text as expert info on frame 1, once.
        expert = stage.tshark('-2', '-r', 'mapi-http-outlook.pcapng', '-o', f'exchange.process_map:{path}',
                              '-Y', 'exchange.process_map_problem', *field_args(['frame.number', '_ws.expert.message']))
        rows = fields(expert)
        if len(rows) != 1 or rows[0][0] != '1' or want_message not in rows[0][1]:
            problems.append(f'expert info {rows[:2]}')
    roles = ', '.join(f'{k[0]} {k[1]} {k[2]} ({k[3]}): ' + ' '.join(f'{r} {n}' for r, n in v.items() if r != 'total')
                      for k, v in (table or {}).items())
    growth = (run.rss - base.rss) / MB
    extra = run.wall - base.wall
    budget = TIME_BASE + TIME_PER_LINE * lines
    if extra > budget:
        problems.append(f'load took {extra:.1f} s, over the {budget:.1f} s budget')
    if growth > RSS_FACTOR * size / MB:
        problems.append(f'RSS grew {growth:.0f} MB, over {RSS_FACTOR} x the file size')
    per_m = f', {growth / lines * 1e6:.0f} MB per million lines' if want_message is None and lines >= 100_000 else ''
    report.check(f'map {name}', not problems,
                 f'{size / MB:.1f} MB, {lines} lines; {said}; {roles}; load+run {run.wall:.1f} s '
                 f'({extra:+.1f} s over no map, budget {budget:.1f} s), peak RSS {run.rss_mb():.1f} MB '
                 f'({growth:+.1f} MB{per_m})' + ('; ' + '; '.join(problems) if problems else ''))
    path.unlink()


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--plugin', type=Path, default=REPO / 'build' / 'plugin' / 'exchange.so')
    ap.add_argument('--only', nargs='*', help='run only checks whose name contains one of these words')
    ap.add_argument('--keep', action='store_true', help='keep the staging folder')
    args = ap.parse_args()
    if not args.plugin.is_file():
        sys.exit(f'hostile: {args.plugin} not found (cmake --build build)')

    def wanted(name):
        return not args.only or any(w in name for w in args.only)

    started = time.monotonic()
    stage = Stage(args.plugin, args.keep)
    report = Report()
    try:
        for cap in list(EXPECTED) + ['mapi-http-outlook.pcapng']:
            stage.add(CAPTURES / cap)
        if wanted('epm-many-towers'):
            check_many_towers(stage, report)
        if wanted('epm-absurd-count'):
            check_absurd(stage, report)
        if wanted('rpc-http-huge-body'):
            check_huge_body(stage, report)
        if wanted('epm-learn-limit'):
            check_learn_limit(stage, report)
        maps = [m for m in MAPS if wanted('map ' + m[0])]
        if maps:
            base = map_run(stage)
            ok = base.rc == 0 and clients(base) == {OUTLOOK_HEADER: MAPI_ROLES}
            report.check('map none (baseline)', ok, f'mapi-http-outlook.pcapng -2 -z exchange,clients: '
                         f'{base.wall:.1f} s, peak RSS {base.rss_mb():.1f} MB')
            for m in maps:
                check_map(stage, report, base, *m)
    finally:
        stage.cleanup()
    failed = report.failed()
    print(f'hostile: {len(report.lines)} checks, {len(report.lines) - len(failed)} passed, {len(failed)} failed '
          f'({time.monotonic() - started:.0f} s)')
    return 1 if failed or not report.lines else 0


if __name__ == '__main__':
    sys.exit(main())
