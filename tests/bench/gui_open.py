#!/usr/bin/python3
"""Time Wireshark-Qt opening a capture: the Exchange profile with the plugin against stock (issue 15).

On a private Xvfb, Wireshark (as 'nobody' when root) opens the capture with -r, in turn (interleaved,
--reps times):

  (X) the shipped Exchange profile (-C Exchange: its columns, colouring rules and preferences), the plugin
      staged in WIRESHARK_PLUGIN_DIR;
  (S) STOCK: the Default profile, no plugin loaded (an empty WIRESHARK_PLUGIN_DIR);
  (P) with --variants XSP: the Default profile with the plugin, which tells the profile's columns and
      colouring rules apart from the plugin's analysis.

"Loaded" is when Wireshark goes idle after reading: its CPU time (user+sys, /proc/PID/stat) stops growing,
less than 1 % of a CPU over --idle seconds.  Reported: CPU seconds and wall seconds to that point, and the
peak RSS (VmHWM); the figure with a target is (X)/(S) CPU time <= 1.10.  Wireshark is then killed.

    /usr/bin/python3 tests/bench/gui_open.py --plugin build/plugin/exchange.so \\
        --capture /tmp/exchange-bench/bench-1x.pcapng --reps 3
"""
import argparse
import os
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / 'tests'))
from wireshark_series import series  # noqa: E402

TICK = os.sysconf('SC_CLK_TCK')


def cpu_seconds(pid):
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK       # utime, stime


def peak_rss_mib(pid):
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024
    return 0.0


class Stage:
    def __init__(self, plugin, built_colorfilters):
        self.root = Path(tempfile.mkdtemp(prefix='exchange-gui-bench-'))
        self.plugins = self.root / 'plugins'
        (self.plugins / series() / 'epan').mkdir(parents=True)
        shutil.copy(plugin, self.plugins / series() / 'epan' / 'exchange.so')
        self.empty = self.root / 'no-plugins'
        (self.empty / series() / 'epan').mkdir(parents=True)
        self.home = self.root / 'home'
        conf = self.home / '.config' / 'wireshark'
        conf.mkdir(parents=True)
        (conf / 'recent_common').write_text('privs.warn_if_elevated: FALSE\nsys.warn_if_no_capture: FALSE\n'
                                            'gui.geometry_main_width: 1200\ngui.geometry_main_height: 800\n')
        shutil.copytree(REPO / 'plugin' / 'profile' / 'Exchange', conf / 'profiles' / 'Exchange')
        shutil.copy(built_colorfilters, conf / 'profiles' / 'Exchange' / 'colorfilters')
        self.runtime = self.root / 'run'
        self.runtime.mkdir(mode=0o700)
        self.as_nobody = os.geteuid() == 0
        for path in [self.root, *self.root.rglob('*')]:
            if path != self.runtime:
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
        if self.as_nobody:
            nobody = pwd.getpwnam('nobody')
            self.ids = (nobody.pw_uid, nobody.pw_gid)
            for path in [self.home, *self.home.rglob('*'), self.runtime]:
                os.chown(path, *self.ids)

    def command(self, capture, variant, display):
        exchange = variant == 'X'
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'HOME': str(self.home), 'LANG': 'C.UTF-8', 'TZ': 'UTC',
               'WIRESHARK_PLUGIN_DIR': str(self.empty if variant == 'S' else self.plugins),
               'XDG_RUNTIME_DIR': str(self.runtime), 'NO_AT_BRIDGE': '1', 'DISPLAY': display}
        prefix = []
        if self.as_nobody:
            prefix = ['setpriv', f'--reuid={self.ids[0]}', f'--regid={self.ids[1]}', '--clear-groups', '--']
        return prefix + ['wireshark', *(['-C', 'Exchange'] if exchange else []), '-r', str(capture)], env


def xvfb():
    read, write = os.pipe()
    proc = subprocess.Popen(['Xvfb', '-displayfd', str(write), '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    number = b''
    while not number.endswith(b'\n'):
        chunk = os.read(read, 16)
        if not chunk:
            raise SystemExit('Xvfb did not start')
        number += chunk
    os.close(read)
    return proc, f':{number.decode().strip()}'


def open_once(stage, capture, variant, display, idle, limit):
    cmd, env = stage.command(capture, variant, display)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=stage.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    pid = proc.pid
    try:
        history = []                        # (wall, cpu)
        while True:
            time.sleep(0.1)
            if proc.poll() is not None:
                raise SystemExit(f'wireshark exited {proc.returncode} before it was idle')
            now, cpu = time.perf_counter() - t0, cpu_seconds(pid)
            history.append((now, cpu))
            window = [h for h in history if h[0] >= now - idle]
            if cpu > 1.0 and now - history[0][0] > idle and window[-1][1] - window[0][1] < 0.01 * idle:
                start = window[0]
                return start[1], start[0], peak_rss_mib(pid)
            if now > limit:
                raise SystemExit(f'wireshark not idle after {limit} s')
    finally:
        os.killpg(pid, signal.SIGKILL)
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--plugin', type=Path, default=REPO / 'build' / 'plugin' / 'exchange.so')
    ap.add_argument('--capture', type=Path, default=Path('/tmp/exchange-bench/bench-1x.pcapng'))
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--variants', default='XS', help='X, S and optionally P (default XS)')
    ap.add_argument('--idle', type=float, default=3.0, help='seconds without CPU that mean loaded (default 3)')
    ap.add_argument('--limit', type=float, default=1800, help='give up after this many seconds (default 1800)')
    args = ap.parse_args()
    built = args.plugin.parent / 'profile' / 'Exchange' / 'colorfilters'
    if not built.is_file():
        ap.error(f'{built} missing: build the module with CMake first')
    if not shutil.which('Xvfb') or not shutil.which('wireshark'):
        print('Xvfb or wireshark missing', file=sys.stderr)
        return 77
    stage = Stage(args.plugin, built)
    server, display = xvfb()
    capture = stage.root / args.capture.name
    os.symlink(args.capture.resolve(), capture)
    results = {v: [] for v in args.variants}
    try:
        for rep in range(args.reps):
            for variant in args.variants:
                cpu, wall, rss = open_once(stage, capture, variant, display, args.idle, args.limit)
                results[variant].append((cpu, wall, rss))
                print(f'  rep {rep + 1} ({variant}) cpu {cpu:7.2f} s  wall {wall:7.2f} s  peak RSS {rss:7.0f} MiB',
                      flush=True)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(stage.root, ignore_errors=True)
    med = {v: [statistics.median(r[i] for r in results[v]) for i in range(3)] for v in results}
    print(f'Wireshark {series()}, {args.capture} ({args.reps} reps, medians)')
    print(f'  (X) Exchange profile, plugin   cpu {med["X"][0]:.2f} s  wall {med["X"][1]:.2f} s  RSS {med["X"][2]:.0f} MiB')
    print(f'  (S) STOCK Default, no plugin   cpu {med["S"][0]:.2f} s  wall {med["S"][1]:.2f} s  RSS {med["S"][2]:.0f} MiB')
    if 'P' in med:
        print(f'  (P) Default profile, plugin    cpu {med["P"][0]:.2f} s  wall {med["P"][1]:.2f} s  RSS {med["P"][2]:.0f} MiB'
              f'  ((P)/(S) cpu {med["P"][0] / med["S"][0]:.3f})')
    ratio = med['X'][0] / med['S'][0]
    print(f'  (X)/(S) cpu {ratio:.3f} (target <= 1.10: {"PASS" if ratio <= 1.10 else "MISS"}), '
          f'wall {med["X"][1] / med["S"][1]:.3f}, peak RSS {med["X"][2] / med["S"][2]:.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
