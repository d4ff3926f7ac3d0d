#!/usr/bin/python3
"""Time tshark with and without the exchange plugin on the benchmark captures.

Runs, interleaved (b, B, h, H, ..., b, B, ...), --reps repetitions of each mode (MODES below) over the
captures gen_bench.py writes.  Upper-case modes are STOCK: tshark with no plugin loaded at all (an empty
WIRESHARK_PLUGIN_DIR), the baseline of every ratio with a target (issue 15):

  unused      (b) -z conv,tcp  (h) -z io,phs  (w) -w copy  (p) -Y 'tcp.port == 443'
              each <= 1.03 x its STOCK twin (B, H, W, P)
  tables      (c) -z exchange,clients, (n) -z exchange,conns <= 1.15 x STOCK -z conv,tcp (B);
              (d) -2 -z exchange,clients <= 1.15 x STOCK -2 -z conv,tcp (D)
  filter      (m) -Y 'exchange.role == "mailbox"' <= 1.10 x STOCK -Y 'tcp.port == 443' (P)
  linear      each mode, 2x capture / 1x capture <= 2.05;  peak RSS <= 1.10 x the baseline
  reference   (g) -z conv,tcp with exchange.always_analyse (the plugin before issue 15), (e) disabled,
              (a) disabled with nothing to dissect (reads the file only)

and reports wall time, CPU time (user+sys of tshark, from wait4) and peak RSS (ru_maxrss) as median
and min-max per mode and capture, then the ratios with their targets.  MISS is a finding, not an
error: the exit status is 0 unless something failed (a missing capture or plugin, tshark exiting
non-zero, --check finding wrong roles).

The plugin is staged in a private WIRESHARK_PLUGIN_DIR; as root (which ignores
that variable) tshark runs as 'nobody' through setpriv with a private HOME, as
the test suite does.  --check runs (d) once per capture and compares the role
totals with the manifest gen_bench.py wrote beside the capture.

    /usr/bin/python3 tests/bench/bench.py --generate            # 5 reps, 1x and 2x
    /usr/bin/python3 tests/bench/bench.py --reps 1 --scales 1   # quick sanity run
    /usr/bin/python3 tests/bench/bench.py --scales 0.02 --generate --check
    /usr/bin/python3 tests/bench/bench.py --instructions --scales 0.1,0.2   # callgrind counts

--instructions runs each mode once per capture under valgrind's callgrind and
reports the instructions executed instead of times: deterministic, so the
ratios do not move with the noise of a shared machine (here, one command's
CPU time varies by up to 26% between runs), and unaffected by other work
running beside it.  It is slow (about 40x): --jobs runs several at once.
"""
import argparse
import json
import os
import platform
import pwd
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# Every mode: (label, tshark arguments).  Upper-case letters run with no plugin loaded at all (an empty
# WIRESHARK_PLUGIN_DIR): stock tshark, the baseline of every ratio (issue 15).
MODES = {
    # Installed, enabled, nothing asks for Exchange output: each against its stock twin.
    'b': ('conv,tcp', ['-q', '-r', '{F}', '-z', 'conv,tcp']),
    'B': ('STOCK conv,tcp', ['-q', '-r', '{F}', '-z', 'conv,tcp']),
    'h': ('io,phs', ['-q', '-r', '{F}', '-z', 'io,phs']),
    'H': ('STOCK io,phs', ['-q', '-r', '{F}', '-z', 'io,phs']),
    'w': ('-w copy', ['-r', '{F}', '-w', '/dev/null']),
    'W': ('STOCK -w copy', ['-r', '{F}', '-w', '/dev/null']),
    'p': ('-Y tcp.port==443', ['-q', '-r', '{F}', '-Y', 'tcp.port == 443']),
    'P': ('STOCK -Y tcp.port==443', ['-q', '-r', '{F}', '-Y', 'tcp.port == 443']),
    # The plugin's own output.
    'c': ('exchange,clients', ['-q', '-r', '{F}', '-z', 'exchange,clients']),
    'n': ('exchange,conns', ['-q', '-r', '{F}', '-z', 'exchange,conns']),
    'd': ('-2 exchange,clients', ['-2', '-q', '-r', '{F}', '-z', 'exchange,clients']),
    'D': ('STOCK -2 conv,tcp', ['-2', '-q', '-r', '{F}', '-z', 'conv,tcp']),
    'm': ('-Y exchange.role==mailbox', ['-q', '-r', '{F}', '-Y', 'exchange.role == "mailbox"']),
    # For reference: the plugin loaded but disabled, and (a) reading the file with nothing to dissect.
    'a': ('disabled', ['-q', '-r', '{F}', '--disable-protocol', 'exchange']),
    'e': ('conv,tcp, disabled', ['-q', '-r', '{F}', '--disable-protocol', 'exchange', '-z', 'conv,tcp']),
    # The plugin as it was before issue 15: analysing every capture (a tree on every frame).
    'g': ('conv,tcp, always_analyse', ['-q', '-r', '{F}', '-z', 'conv,tcp', '-o', 'exchange.always_analyse:TRUE']),
}
NO_PLUGIN = {m for m in MODES if m.isupper()}
# (mode, stock baseline, target): issue 15's targets, every baseline stock tshark without the plugin.
TARGETS = [('b', 'B', 1.03), ('h', 'H', 1.03), ('w', 'W', 1.03), ('p', 'P', 1.03),
           ('c', 'B', 1.15), ('n', 'B', 1.15), ('d', 'D', 1.15), ('m', 'P', 1.10),
           ('g', 'B', None), ('e', 'B', None)]
ROLES = ['mailbox', 'directory', 'rpc-in', 'rpc-out', 'ews', 'autodiscover', 'oab', 'endpoint-mapper', 'unknown']


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------- machine

def read(path):
    try:
        return Path(path).read_text(errors='replace')
    except OSError:
        return ''


def machine(tshark_version):
    cpu = re.search(r'^model name\s*:\s*(.*)$', read('/proc/cpuinfo'), re.M)
    mem = re.search(r'^MemTotal:\s*(\d+) kB', read('/proc/meminfo'), re.M)
    osr = re.search(r'^PRETTY_NAME="?([^"\n]*)', read('/etc/os-release'), re.M)
    return {
        'cpu': cpu.group(1).strip() if cpu else platform.processor() or 'unknown',
        'cores': os.cpu_count(),
        'affinity': len(os.sched_getaffinity(0)),
        'ram_gib': round(int(mem.group(1)) / 1048576, 1) if mem else None,
        'os': (osr.group(1) if osr else 'unknown') + f' (debian_version {read("/etc/debian_version").strip()})',
        'kernel': platform.release(),
        'tshark': tshark_version,
        'python': platform.python_version(),
        'loadavg_start': read('/proc/loadavg').split()[:3],
    }


# --------------------------------------------------------------------------- staging

class Stage:
    """Private plugin folder, HOME and output folder; runs tshark as nobody when root."""

    def __init__(self, plugin):
        self.dir = Path(tempfile.mkdtemp(prefix='exchange-bench-'))
        os.chmod(self.dir, 0o755)
        self.as_nobody = os.geteuid() == 0
        self.home = self.dir / 'home'
        self.home.mkdir()
        self.out = self.dir / 'out'
        self.out.mkdir()
        self.plugins = self.dir / 'plugins'
        self.plugin = plugin
        self.version = None
        if self.as_nobody:
            nobody = pwd.getpwnam('nobody')
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
            os.chown(self.home, self.uid, self.gid)

    def setup(self):
        ver = subprocess.run(self.prefix() + ['tshark', '--version'], env=self.env(), cwd=self.dir,
                             capture_output=True, text=True)
        if ver.returncode != 0:
            raise BenchError(f'tshark --version failed: {ver.stderr.strip()}')
        first = ver.stdout.splitlines()[0] if ver.stdout else ''
        m = re.search(r'(\d+)\.(\d+)\.\d+', first)
        if not m:
            raise BenchError(f'cannot read the tshark version from {first!r}')
        self.version = first.strip()
        epan = self.plugins / f'{m.group(1)}.{m.group(2)}' / 'epan'
        epan.mkdir(parents=True)
        (self.dir / 'no-plugins' / f'{m.group(1)}.{m.group(2)}' / 'epan').mkdir(parents=True)
        shutil.copy(self.plugin, epan / 'exchange.so')
        for p in [self.plugins, *self.plugins.rglob('*'), *(self.dir / 'no-plugins').rglob('*'), self.dir / 'no-plugins']:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        plugins = subprocess.run(self.prefix() + ['tshark', '-G', 'plugins'], env=self.env(), cwd=self.dir,
                                 capture_output=True, text=True)
        if str(epan / 'exchange.so') not in plugins.stdout:
            raise BenchError(f'tshark did not load {epan / "exchange.so"}:\n{plugins.stdout}{plugins.stderr}')

    def env(self, plugin=True):
        plugins = self.plugins if plugin else self.dir / 'no-plugins'
        return {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'HOME': str(self.home),
                'WIRESHARK_PLUGIN_DIR': str(plugins), 'TZ': 'UTC', 'LANG': 'C.UTF-8'}

    def prefix(self):
        if not self.as_nobody:
            return []
        return ['setpriv', f'--reuid={self.uid}', f'--regid={self.gid}', '--clear-groups', '--']

    def readable(self, path):
        return subprocess.run(self.prefix() + ['test', '-r', str(path)], env=self.env()).returncode == 0

    def run(self, args, tag, plugin=True):
        """tshark ARGS; returns wall s, cpu s, peak RSS KiB, stdout path."""
        out_path, err_path = self.out / f'{tag}.out', self.out / f'{tag}.err'
        with open(out_path, 'wb') as out, open(err_path, 'wb') as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(self.prefix() + ['tshark', *args], stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=err, env=self.env(plugin), cwd=self.dir)
            _, status, ru = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise BenchError(f'tshark {" ".join(args)} exited {proc.returncode}:\n{err_path.read_text(errors="replace")[-2000:]}')
        return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, out_path

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- roles

def role_totals(text):
    """Sum of the role columns over all rows of the exchange,clients table, and the row count."""
    cols, tot, rows = None, None, 0
    for line in text.splitlines():
        parts = [p.strip() for p in line.strip().rstrip('|').split('|')]
        if 'Source' in parts and 'Total' in parts:      # the header: Process, PID, Host, Source, roles, Total, ...
            cols = parts
            roles = cols[cols.index('Source') + 1:cols.index('Total') + 1]
            tot = dict.fromkeys(roles, 0)
            continue
        if cols and len(parts) == len(cols) and parts[cols.index('Total')].isdigit():
            rows += 1
            for c in roles:
                tot[c] += int(parts[cols.index(c)])
    return (tot or {}), rows


def compare_roles(got, expected):
    return [f'{r}: expected {expected.get(r, 0)}, got {got.get(r, 0)}' for r in ROLES
            if got.get(r, 0) != expected.get(r, 0)]


# --------------------------------------------------------------------------- report

def stats(values):
    return {'median': statistics.median(values), 'min': min(values), 'max': max(values), 'n': len(values)}


def fmt_range(s, unit, scale=1.0, prec=2):
    return f'{s["median"] * scale:.{prec}f} ({s["min"] * scale:.{prec}f}-{s["max"] * scale:.{prec}f}){unit}'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument('--plugin', type=Path, default=REPO / 'build' / 'plugin' / 'exchange.so',
                    help='exchange.so to stage (default build/plugin/exchange.so)')
    ap.add_argument('--captures', type=Path, default=Path('/tmp/exchange-bench'),
                    help='folder of bench-<scale>x.pcapng (default /tmp/exchange-bench)')
    ap.add_argument('--scales', default='1,2', help='captures to use, comma-separated scales (default 1,2)')
    ap.add_argument('--generate', action='store_true', help='run gen_bench.py for missing captures')
    ap.add_argument('--seed', type=int, default=1, help='seed for --generate (default 1)')
    ap.add_argument('--reps', type=int, default=5, help='repetitions of each mode and capture (default 5)')
    ap.add_argument('--modes', default='bBhHwWpPcnDdm', help='mode letters (default: every mode with a target)')
    ap.add_argument('--check', action='store_true',
                    help='only run (d) once per capture and compare the roles with the manifest; exit 1 if not equal')
    ap.add_argument('--json', type=Path, help='also save the figures as JSON')
    ap.add_argument('--instructions', action='store_true',
                    help='count instructions under callgrind (once per mode and capture) instead of timing')
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 1, help='callgrind runs at once (default: CPUs)')
    args = ap.parse_args()

    modes = [m for m in args.modes if m in MODES]
    if not modes or len(modes) != len(args.modes):
        ap.error('--modes: letters from ' + ''.join(MODES))
    if args.reps < 1:
        ap.error('--reps must be >= 1')
    try:
        scales = [float(s) for s in args.scales.split(',') if s.strip()]
    except ValueError:
        ap.error('--scales: numbers, comma-separated')
    caps = {f'{s:g}x': args.captures / f'bench-{s:g}x.pcapng' for s in scales}

    if not args.plugin.is_file():
        print(f'error: plugin {args.plugin} not found (build first, or --plugin PATH)', file=sys.stderr)
        return 2
    for (tag, path), s in zip(caps.items(), scales):
        if path.is_file():
            continue
        if not args.generate:
            print(f'error: {path} missing (use --generate)', file=sys.stderr)
            return 2
        args.captures.mkdir(parents=True, exist_ok=True)
        os.chmod(args.captures, 0o755)
        cmd = [sys.executable, str(HERE / 'gen_bench.py'), '--scale', f'{s:g}', '--seed', str(args.seed),
               '--out', str(path)]
        print('$ ' + ' '.join(cmd), flush=True)
        if subprocess.run(cmd).returncode != 0:
            print(f'error: gen_bench.py failed for {tag}', file=sys.stderr)
            return 2

    stage = Stage(args.plugin)
    try:
        stage.setup()
        for path in caps.values():
            if not stage.readable(path):
                raise BenchError(f'{path} is not readable by the tshark user (nobody): chmod a+rX it and its folders')
        manifests = {}
        for tag, path in caps.items():
            mp = path.with_suffix('.json')
            manifests[tag] = json.loads(mp.read_text()) if mp.is_file() else None
        if args.check:
            return check(stage, caps, manifests)
        if args.instructions:
            return instructions(stage, caps, modes, args)
        return bench(stage, caps, manifests, modes, args)
    except BenchError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    finally:
        stage.cleanup()


def check(stage, caps, manifests):
    ok = True
    for tag, path in caps.items():
        argv = [a.replace('{F}', str(path)) for a in MODES['d'][1]]
        wall, cpu, rss, out = stage.run(argv, f'check-{tag}')
        got, rows = role_totals(out.read_text(errors='replace'))
        exp = (manifests[tag] or {}).get('expected_roles_two_pass')
        print(f'{tag}: tshark {" ".join(argv)}  ({wall:.1f} s, {rows} client rows)')
        print('  role            expected      got')
        for r in ROLES:
            e = exp.get(r, 0) if exp else '?'
            print(f'  {r:15s} {e!s:>8} {got.get(r, 0):>8}  {"ok" if exp and e == got.get(r, 0) else "DIFF"}')
        if not exp:
            print('  no manifest: nothing to compare with')
            ok = False
        elif compare_roles(got, exp):
            ok = False
    print('roles: ' + ('as expected' if ok else 'NOT as expected'))
    return 0 if ok else 1


def count_instructions(stage, argv, tag, plugin=True):
    """Instructions tshark ARGV executes, from callgrind's summary line."""
    log = stage.out / f'{tag}.callgrind.log'
    cmd = ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null', f'--log-file={log}', 'tshark', *argv]
    proc = subprocess.run(stage.prefix() + cmd, env=stage.env(plugin), cwd=stage.dir, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors='replace')
    text = log.read_text(errors='replace') if log.exists() else ''
    m = re.search(r'Collected : (\d+)', text)
    if proc.returncode != 0 or not m:
        raise BenchError(f'callgrind tshark {" ".join(argv)} failed ({proc.returncode}):\n{proc.stderr[-1500:]}{text[-1500:]}')
    return int(m.group(1))


def instructions(stage, caps, modes, args):
    from concurrent.futures import ThreadPoolExecutor
    if not shutil.which('valgrind'):
        raise BenchError('--instructions needs valgrind (apt-get install valgrind)')
    os.chmod(stage.out, 0o777)          # callgrind writes its log as the tshark user
    jobs = [(tag, m, [a.replace('{F}', str(path)) for a in MODES[m][1]]) for tag, path in caps.items() for m in modes]
    print(f'Instructions (valgrind --tool=callgrind, {len(jobs)} runs, {args.jobs} at a time; tshark {stage.version})')
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        counts = dict(zip([(tag, m) for tag, m, _ in jobs],
                          pool.map(lambda j: count_instructions(stage, j[2], f'{j[0]}-{j[1]}', j[1] not in NO_PLUGIN),
                                   jobs)))
    for (tag, m), n in counts.items():
        print(f'  {tag:7s} ({m}) {MODES[m][0]:27s} {n / 1e9:10.3f} G')
    print('Ratios')
    ratios = []
    for tag in caps:
        for num, den, target in TARGETS:
            if (tag, num) in counts and (tag, den) in counts:
                v = counts[(tag, num)] / counts[(tag, den)]
                ratios.append((f'{tag} ({num})/({den})', v, target))
    tags = list(caps)
    if len(tags) == 2:
        for m in modes:
            if (tags[0], m) in counts and (tags[1], m) in counts:
                ratios.append((f'({m}) {tags[1]}/{tags[0]}', counts[(tags[1], m)] / counts[(tags[0], m)], 2.05))
    for name, v, target in ratios:
        verdict = '(no target)' if target is None else f'<= {target:.2f}  {"PASS" if v <= target else "MISS"}'
        print(f'  {name:22s} {v:7.3f}  {verdict}')
    print(f'({time.perf_counter() - t0:.0f} s)')
    if args.json:
        args.json.write_text(json.dumps({'tshark': stage.version, 'plugin': str(args.plugin),
                                         'instructions': {f'{t}/{m}': n for (t, m), n in counts.items()},
                                         'ratios': [{'ratio': n, 'value': round(v, 4), 'target': tg}
                                                    for n, v, tg in ratios]}, indent=2) + '\n')
        print(f'figures saved to {args.json}')
    return 0


def bench(stage, caps, manifests, modes, args):
    mach = machine(stage.version)
    print('Machine')
    print(f'  CPU     {mach["cpu"]}, {mach["cores"]} logical CPUs ({mach["affinity"]} usable)')
    print(f'  RAM     {mach["ram_gib"]} GiB')
    print(f'  OS      {mach["os"]}, kernel {mach["kernel"]}')
    print(f'  tshark  {mach["tshark"]}')
    print(f'  plugin  {args.plugin} (staged in {stage.plugins}; tshark runs as '
          f'{"nobody via setpriv" if stage.as_nobody else "the current user"})')
    print(f'  load    {" ".join(mach["loadavg_start"])} (1/5/15 min) at start')
    print('Captures')
    for tag, path in caps.items():
        m = manifests[tag]
        extra = (f': {m["packets"]} packets, {m["exchange_connections"]} Exchange connections, '
                 f'{m["distinct_clients"]} clients, seed {m["seed"]}') if m else ''
        print(f'  {tag}  {path} ({path.stat().st_size / 1e6:.0f} MB){extra}')
    print('Commands (F = capture; env HOME, WIRESHARK_PLUGIN_DIR=' + str(stage.plugins) + ')')
    for m in modes:
        print(f'  ({m}) ' + ' '.join(stage.prefix()) + (' ' if stage.prefix() else '') + 'tshark ' +
              ' '.join(a.replace('{F}', 'F') for a in MODES[m][1]) +
              ('   [WIRESHARK_PLUGIN_DIR empty: no plugin loaded]' if m in NO_PLUGIN else ''))
    # Warm the page cache so the first run does not pay for the disk.
    for path in caps.values():
        with open(path, 'rb') as f:
            while f.read(1 << 24):
                pass

    runs = []
    total = args.reps * len(caps) * len(modes)
    k = 0
    for rep in range(args.reps):
        for tag, path in caps.items():
            for m in modes:
                k += 1
                argv = [a.replace('{F}', str(path)) for a in MODES[m][1]]
                wall, cpu, rss, out = stage.run(argv, f'{tag}-{m}', plugin=m not in NO_PLUGIN)
                r = {'rep': rep + 1, 'capture': tag, 'mode': m, 'wall_s': round(wall, 3), 'cpu_s': round(cpu, 3),
                     'peak_rss_kib': rss}
                if m in 'cd':
                    got, rows = role_totals(out.read_text(errors='replace'))
                    r['roles'], r['client_rows'] = got, rows
                runs.append(r)
                print(f'  [{k}/{total}] rep {rep + 1} {tag} ({m}) wall {wall:7.2f} s  cpu {cpu:7.2f} s  '
                      f'rss {rss / 1024:7.1f} MiB', flush=True)

    summary = {}
    for tag in caps:
        for m in modes:
            sel = [r for r in runs if r['capture'] == tag and r['mode'] == m]
            summary[f'{tag}/{m}'] = {'wall_s': stats([r['wall_s'] for r in sel]),
                                     'cpu_s': stats([r['cpu_s'] for r in sel]),
                                     'peak_rss_mib': stats([r['peak_rss_kib'] / 1024 for r in sel])}
    print()
    print(f'Results: median (min-max) over {args.reps} run(s) each')
    print(f'  {"capture":7s} {"mode":32s} {"wall s":>24s} {"cpu s":>24s} {"peak RSS MiB":>26s}')
    for tag in caps:
        for m in modes:
            s = summary[f'{tag}/{m}']
            print(f'  {tag:7s} ({m}) {MODES[m][0]:27s} {fmt_range(s["wall_s"], ""):>24s} '
                  f'{fmt_range(s["cpu_s"], ""):>24s} {fmt_range(s["peak_rss_mib"], "", prec=1):>26s}')

    ratios = []

    def ratio(name, num, den, metric, target):
        if num not in summary or den not in summary:
            return
        a, b = summary[num][metric]['median'], summary[den][metric]['median']
        v = a / b if b else float('inf')
        ratios.append({'ratio': name, 'metric': metric, 'value': round(v, 3), 'target': target,
                       'verdict': 'PASS' if v <= target else 'MISS'})

    for tag in caps:
        for num, den, target in TARGETS:
            for metric in ('cpu_s', 'wall_s'):
                ratio(f'{tag} ({num})/({den}) time', f'{tag}/{num}', f'{tag}/{den}', metric,
                      float('inf') if target is None else target)
            ratio(f'{tag} ({num})/({den}) peak RSS', f'{tag}/{num}', f'{tag}/{den}', 'peak_rss_mib', 1.10)
    tags = list(caps)
    if len(tags) == 2:
        for m in modes:
            ratio(f'({m}) {tags[1]}/{tags[0]} time', f'{tags[1]}/{m}', f'{tags[0]}/{m}', 'cpu_s', 2.05)
    print()
    print('Ratios of medians')
    for r in ratios:
        tgt = f'<= {r["target"]:.2f}' if r['target'] != float('inf') else '(no target)'
        verdict = r['verdict'] if r['target'] != float('inf') else ''
        print(f'  {r["ratio"]:28s} {r["metric"]:13s} {r["value"]:6.3f}  {tgt:11s} {verdict}')
    role_report = {}
    for tag in caps:
        exp = (manifests[tag] or {}).get('expected_roles_two_pass')
        for m in 'cd':
            sel = [r for r in runs if r['capture'] == tag and r['mode'] == m]
            if not sel or not exp:
                continue
            diffs = compare_roles(sel[-1]['roles'], exp)
            role_report[f'{tag}/{m}'] = diffs
    if role_report:
        print()
        print('Roles (exchange,clients totals vs the manifest; (d) must match, (c) may differ by design)')
        for key, diffs in role_report.items():
            print(f'  {key}: ' + ('as expected' if not diffs else '; '.join(diffs)))
    mach['loadavg_end'] = read('/proc/loadavg').split()[:3]
    print(f'\nload {" ".join(mach["loadavg_end"])} (1/5/15 min) at end')

    if args.json:
        doc = {'machine': mach, 'plugin': str(args.plugin),
               'captures': {t: {'path': str(p), 'manifest': manifests[t]} for t, p in caps.items()},
               'commands': {m: ['tshark', *MODES[m][1]] for m in modes}, 'reps': args.reps,
               'runs': runs, 'summary': summary,
               'ratios': [dict(r, target=None if r['target'] == float('inf') else r['target']) for r in ratios],
               'roles': role_report}
        args.json.write_text(json.dumps(doc, indent=2) + '\n')
        print(f'figures saved to {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
