#!/usr/bin/python3
"""Build the module and run the whole suite on every supported Wireshark series.

    tests/matrix/matrix.py --host-build BUILD [--series 4.0,4.4,4.6] [--systems DIR]

4.0 is this machine's own Wireshark (Debian 12): its suite runs in BUILD.
4.4 (Debian 13 "trixie") and 4.6 (Debian unstable) run in root file systems
made with mmdebstrap under --systems (kept outside the clone and reused; made
when absent), with the source tree mounted read-only.  Each series builds its
own module (a module loads only in the series it was built for), runs the
whole ctest suite there, and leaves its .deb in BUILD/matrix/debs.

Prints one line per series and a closing 'matrix: N passed, N failed, N skipped'.
Exit status 0 only when every series built and passed.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# series -> (Debian suite, description); None: this machine
SYSTEMS = {
    '4.0': (None, 'Debian 12, this machine'),
    '4.4': ('trixie', 'Debian 13 trixie, chroot'),
    '4.6': ('sid', 'Debian unstable, chroot'),
}
BUILD_IN_SYSTEM = '/var/tmp/exchange-build'


class Result:
    def __init__(self, series, system):
        self.series, self.system = series, system
        self.version = '?'
        self.built = False
        self.passed = self.failed = self.skipped = 0
        self.total = 0
        self.deb = None
        self.note = ''
        self.seconds = 0.0

    @property
    def ok(self):
        return self.built and self.total > 0 and self.failed == 0


def log_run(cmd, log, **kw):
    """Run CMD, appending its output to LOG; return its exit status."""
    with open(log, 'a') as f:
        f.write(f'\n$ {" ".join(map(str, cmd))}\n')
        f.flush()
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kw).returncode


def ctest_counts(log_text, result):
    """Fill passed/failed/skipped from ctest's summary."""
    m = re.search(r'(\d+)% tests passed, (\d+) tests? failed out of (\d+)', log_text)
    if not m:
        return
    result.failed, result.total = int(m.group(2)), int(m.group(3))
    result.skipped = len(re.findall(r'^\s*\d+ - .* \(Skipped\)$', log_text, re.M))
    result.passed = result.total - result.failed - result.skipped


def failures(log_text):
    return re.findall(r'^\s*\d+ - (\S+) \((?:Failed|Timeout|SEGFAULT|Subprocess aborted|Not Run)\)$',
                      log_text, re.M)


def run_host(host_build, out, r):
    log = out / '4.0.log'
    log.write_text('')
    version = subprocess.run(['tshark', '--version'], capture_output=True, text=True).stdout.split('\n')[0]
    r.version = (re.search(r'(\d+\.\d+\.\d+)', version) or [None, '?'])[1]
    r.built = log_run(['cmake', '--build', str(host_build)], log) == 0
    if not r.built:
        return
    env = dict(os.environ)
    if os.environ.get('CI') == 'true' and os.geteuid() == 0:
        # CI's machine is its own to change: the .deb is installed into it (and purged) as into
        # the 4.4 and 4.6 systems; a developer's machine is left alone (scratch root only).
        env['EXCHANGE_DISPOSABLE_SYSTEM'] = '1'
    log_run(['ctest', '--test-dir', str(host_build), '-j2', '--output-on-failure'], log, env=env)
    ctest_counts(log.read_text(), r)
    debs = sorted(host_build.glob(f'wireshark-exchange-roles_*+ws{r.series}_*.deb'))
    if debs:
        r.deb = debs[-1]


def run_system(series, suite, systems, out, r):
    root = systems / suite
    log = out / f'{series}.log'
    log.write_text('')
    if log_run(['bash', str(HERE / 'make-system.sh'), suite, str(root)], log) != 0:
        r.note = f'could not make the {suite} system (see {log})'
        return
    enter = ['bash', str(HERE / 'enter.sh'), str(root)]
    version = subprocess.run(enter + ['pkg-config', '--modversion', 'wireshark'], capture_output=True,
                             text=True).stdout.strip()
    r.version = version or '?'
    if not version.startswith(series + '.'):
        r.note = f'the {suite} system has Wireshark {version or "?"}, not {series}'
        return
    # A fresh build tree each run: nothing of an earlier run can make it pass.
    script = f'''set -e
rm -rf {BUILD_IN_SYSTEM}
cmake -S /src -B {BUILD_IN_SYSTEM}
cmake --build {BUILD_IN_SYSTEM} -j2
'''
    r.built = log_run(enter + ['bash', '-c', script], log) == 0
    if not r.built:
        return
    log_run(enter + ['ctest', '--test-dir', BUILD_IN_SYSTEM, '-j2', '--output-on-failure'], log)
    ctest_counts(log.read_text(), r)
    debs = sorted((root / BUILD_IN_SYSTEM.lstrip('/')).glob(f'wireshark-exchange-roles_*+ws{series}_*.deb'))
    if debs:
        r.deb = debs[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--host-build', type=Path, required=True)
    ap.add_argument('--series', default=','.join(SYSTEMS))
    ap.add_argument('--systems', type=Path, default=Path(os.environ.get('EXCHANGE_SYSTEMS',
                                                                        '/var/cache/exchange-roles')))
    args = ap.parse_args()
    wanted = [s for s in args.series.split(',') if s]
    unknown = [s for s in wanted if s not in SYSTEMS]
    if unknown:
        sys.exit(f'matrix: unknown series {", ".join(unknown)} (known: {", ".join(SYSTEMS)})')
    if any(SYSTEMS[s][0] for s in wanted) and os.geteuid() != 0:
        sys.exit('matrix: the 4.4 and 4.6 systems need root (mmdebstrap, chroot, mount)')
    try:
        args.systems.resolve().relative_to(REPO)
        sys.exit(f'matrix: keep the systems outside the clone ({args.systems})')
    except ValueError:
        pass

    out = args.host_build.resolve() / 'matrix'
    debs = out / 'debs'
    shutil.rmtree(out, ignore_errors=True)
    debs.mkdir(parents=True)

    results = []
    for series in wanted:
        suite, system = SYSTEMS[series]
        r = Result(series, system)
        print(f'matrix: {series} ({system}) ...', flush=True)
        started = time.monotonic()
        if suite is None:
            run_host(args.host_build.resolve(), out, r)
        else:
            run_system(series, suite, args.systems, out, r)
        r.seconds = time.monotonic() - started
        if r.deb:
            shutil.copy(r.deb, debs / r.deb.name)
        text = (out / f'{series}.log').read_text(errors='replace')
        if not r.ok:
            # The failing tests' own output, as ctest printed it.
            print(text[-20000:] if not r.built else '\n'.join(
                line for line in text.splitlines() if 'Failed' in line or '***' in line)[-20000:])
            bad = failures(text)
            if bad:
                r.note = 'failed: ' + ', '.join(bad[:8]) + (' ...' if len(bad) > 8 else '')
            elif not r.note:
                r.note = 'build failed' if not r.built else 'no test ran'
        print(f'matrix: {series} done in {r.seconds:.0f} s (log: {out / (series + ".log")})', flush=True)
        results.append(r)

    print()
    print(f'{"series":7} {"wireshark":10} {"system":26} {"built":6} {"passed":>7} {"failed":>7} {"skipped":>8}  deb')
    for r in results:
        print(f'{r.series:7} {r.version:10} {r.system:26} {"yes" if r.built else "NO":6} {r.passed:7} '
              f'{r.failed:7} {r.skipped:8}  {r.deb.name if r.deb else "-"}'
              + (f'  ({r.note})' if r.note else ''))
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results) + sum(1 for r in results if not r.ok and r.failed == 0)
    skipped = sum(r.skipped for r in results)
    print(f'matrix: {passed} passed, {failed} failed, {skipped} skipped')
    sys.exit(0 if all(r.ok for r in results) else 1)


if __name__ == '__main__':
    main()
