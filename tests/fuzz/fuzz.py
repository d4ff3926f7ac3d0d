#!/usr/bin/python3
"""Fuzz the plugin under AddressSanitizer and UndefinedBehaviorSanitizer, in the spirit of Wireshark's
own fuzz-test: mutate every capture here (editcap -E at several error rates, editcap -s truncations),
sometimes with a process map (good, broken or byte-mutated), and run tshark -2 -V with both tables.

    /usr/bin/python3 tests/fuzz/fuzz.py [--cases 2000] [--jobs 2] [--seed 1] [--keep DIR]

It builds an ASan+UBSan copy of the plugin (build-asan/ beside build/, or --build DIR) and loads it
into Debian's tshark with libasan preloaded. A case fails on a crash (a signal), a sanitizer report, a
"Dissector bug" in the Exchange protocol, or a hang (60 s). Failing inputs are kept (--keep, default
tests/fuzz/failures/) to become regression captures. The last line is the summary; the exit
status is 0 only when no case failed.
"""
import argparse
import os
import pwd
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CAPTURES = REPO / 'test-captures'
sys.path.insert(0, str(REPO / 'tests'))
from wireshark_series import series  # noqa: E402
RATES = (0.002, 0.01, 0.03, 0.08)
SNAPS = (40, 54, 60, 80, 120, 200)
TIMEOUT = 60


def build_asan(build):
    flags = '-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined'
    subprocess.run(['cmake', '-S', str(REPO), '-B', str(build), '-DBUILD_TESTING=OFF', '-DCMAKE_BUILD_TYPE=Debug',
                    f'-DCMAKE_C_FLAGS={flags}', '-DCMAKE_MODULE_LINKER_FLAGS=-fsanitize=address,undefined'],
                   check=True, capture_output=True)
    subprocess.run(['cmake', '--build', str(build)], check=True, capture_output=True)
    return build / 'plugin' / 'exchange.so'


def split_secrets(pcapng):
    """(pcapng bytes without Decryption Secrets Blocks, key log lines) — editcap 4.0 cannot rewrite
    a pcapng holding secrets."""
    data, kept, keys, pos = pcapng.read_bytes(), [], [], 0
    while pos + 12 <= len(data):
        block_type = int.from_bytes(data[pos:pos + 4], 'little')
        length = int.from_bytes(data[pos + 4:pos + 8], 'little')
        if length < 12:
            break
        if block_type == 0x0A:
            size = int.from_bytes(data[pos + 12:pos + 16], 'little')
            keys += data[pos + 16:pos + 16 + size].decode(errors='replace').splitlines()
        else:
            kept.append(data[pos:pos + length])
        pos += length
    return b''.join(kept), [k for k in keys if k.startswith('CLIENT_RANDOM') or '_SECRET ' in k]


def stage_captures(dst):
    """Copy every capture here (gzipped ones too) into dst, a pcapng's key log beside it as a file
    (see split_secrets); returns [(capture name, tshark options)]."""
    staged = []
    for cap in sorted(CAPTURES.glob('*.pcap')) + sorted(CAPTURES.glob('*.pcapng')) + sorted(CAPTURES.glob('*.pcap.gz')):
        opts = []
        if cap.suffix == '.pcapng':
            data, keys = split_secrets(cap)
            (dst / cap.name).write_bytes(data)
            if keys:
                (dst / f'{cap.stem}.keys').write_text('\n'.join(keys) + '\n')
                opts = ['-o', f'tls.keylog_file:{dst / (cap.stem + ".keys")}']
        else:
            shutil.copy(cap, dst / cap.name)
        staged.append((cap.name, opts))
    return staged


class Stage:
    """Captures, maps and the plugin where an unprivileged tshark can read them."""

    def __init__(self, plugin):
        self.dir = Path(tempfile.mkdtemp(prefix='exchange-fuzz-'))
        self.caps = self.dir / 'caps'
        self.caps.mkdir()
        epan = self.dir / 'plugins' / series() / 'epan'
        epan.mkdir(parents=True)
        shutil.copy(plugin, epan / 'exchange.so')
        (self.dir / 'home').mkdir()
        self.sources = stage_captures(self.caps)
        self.maps = sorted((CAPTURES / 'maps').iterdir())
        for p in self.dir.rglob('*'):
            p.chmod(0o755 if p.is_dir() else 0o644)
        self.dir.chmod(0o755)
        self.caps.chmod(0o777)
        self.prefix = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam('nobody')
            os.chown(self.dir / 'home', nobody.pw_uid, nobody.pw_gid)
            self.prefix = ['setpriv', f'--reuid={nobody.pw_uid}', f'--regid={nobody.pw_gid}', '--clear-groups', '--']
        (self.dir / 'no-plugins').mkdir()
        (self.dir / 'no-plugins').chmod(0o755)
        asan = subprocess.run(['gcc', '-print-file-name=libasan.so'], capture_output=True, text=True).stdout.strip()
        self.env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'HOME': str(self.dir / 'home'),
                    'WIRESHARK_PLUGIN_DIR': str(self.dir / 'plugins'), 'LD_PRELOAD': asan, 'LANG': 'C.UTF-8',
                    # tshark's own allocations are not ours to judge; the plugin's errors are.
                    'ASAN_OPTIONS': 'detect_leaks=0:abort_on_error=0:exitcode=86',
                    'UBSAN_OPTIONS': 'print_stacktrace=1:halt_on_error=1:exitcode=87'}
        # Stock tshark: no plugin at all, no sanitizer runtime.
        self.stock_env = dict(self.env, WIRESHARK_PLUGIN_DIR=str(self.dir / 'no-plugins'))
        del self.stock_env['LD_PRELOAD']
        self.module = self.dir / 'plugins' / series() / 'epan' / 'exchange.so'

    def check_loaded(self):
        """The module tshark loads here is the instrumented one, and it works: otherwise every case
        would pass without testing it.  (tshark -G plugins hangs with the sanitizer runtime preloaded,
        so this asks a capture instead: the staged folder holds only this module, and an instrumented
        module loads only where the runtime is.)"""
        staged = sorted(p.name for p in (self.dir / 'plugins').rglob('*.so'))
        if staged != ['exchange.so']:
            sys.exit(f'fuzz: the plugin folder holds {staged}, not just the module under test')
        symbols = subprocess.run(['nm', '-D', str(self.module)], capture_output=True, text=True).stdout
        if '__asan_' not in symbols or '__ubsan_' not in symbols:
            sys.exit(f'fuzz: {self.module} is not built with AddressSanitizer and UndefinedBehaviorSanitizer')
        name, opts = next((n, o) for n, o in self.sources if n == 'rpc-tcp-outlook-start.pcap')
        roles = subprocess.run(self.prefix + ['tshark', '-2', '-r', name, *opts, '-T', 'fields', '-e', 'exchange.role',
                                              '-Y', 'exchange.role'], cwd=self.caps, env=self.env,
                               capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT).stdout.split()
        if 'mailbox' not in roles:
            sys.exit(f'fuzz: the instrumented module tags nothing in {name}: {sorted(set(roles))}')
        print(f'fuzz: tshark loads {self.module} (ASan+UBSan) and it tags {name}', flush=True)


def make_case(stage, i, rng):
    """One mutated input: (capture file, tshark options, description)."""
    name, opts = stage.sources[i % len(stage.sources)]
    out = f'case-{i}-{name.removesuffix(".gz")}'      # editcap writes it uncompressed
    if rng.random() < 0.75:
        rate = rng.choice(RATES)
        args, what = ['-E', str(rate), '--seed', str(rng.randrange(1 << 30))], f'editcap -E {rate}'
    else:
        snap = rng.choice(SNAPS)
        args, what = ['-s', str(snap)], f'editcap -s {snap}'
    subprocess.run(['editcap', *args, name, out], cwd=stage.caps, check=True, capture_output=True)
    opts = list(opts)
    if rng.random() < 0.5:
        src = rng.choice(stage.maps)
        data = bytearray(src.read_bytes())
        if data and rng.random() < 0.5:
            for _ in range(rng.randrange(1, 1 + max(1, len(data) // 40))):
                data[rng.randrange(len(data))] = rng.randrange(256)
            what += f', mutated map {src.name}'
        else:
            what += f', map {src.name}'
        map_name = f'case-{i}.map'
        (stage.caps / map_name).write_bytes(bytes(data))
        opts += ['-o', f'exchange.process_map:{stage.caps / map_name}']
    for f in stage.caps.glob(f'case-{i}[-.]*'):
        f.chmod(0o644)
    return out, opts, f'{name}: {what}'


def run_case(stage, case):
    cap, opts, what = case
    cmd = stage.prefix + ['tshark', '-2', '-V', '-r', cap, *opts, '-z', 'exchange,clients', '-z', 'exchange,conns']
    try:
        proc = subprocess.run(cmd, cwd=stage.caps, env=stage.env, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return 'hang', what, ''
    out = proc.stdout.decode(errors='replace')
    err = proc.stderr.decode(errors='replace')
    if 'AddressSanitizer' in err or 'runtime error:' in err or proc.returncode in (86, 87):
        return 'sanitizer', what, err[-4000:]
    if proc.returncode < 0 or proc.returncode >= 128:
        return 'crash', what, err[-4000:]
    if 'Dissector bug, protocol Exchange' in out:
        return 'dissector-bug', what, ''
    if proc.returncode != 0:
        # Refused with the module: fine only when stock tshark refuses the same input too.
        stock = subprocess.run(stage.prefix + ['tshark', '-2', '-V', '-r', cap, *opts], cwd=stage.caps,
                               env=stage.stock_env, capture_output=True, timeout=TIMEOUT)
        if stock.returncode == 0:
            return 'refused', what, err[-1000:]
        return 'tshark-error', what, err[-1000:]
    return 'ok', what, ''


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--cases', type=int, default=2000)
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 2)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--build', type=Path, default=REPO / 'build-asan')
    ap.add_argument('--plugin', type=Path, help='an ASan build of exchange.so (skips building)')
    ap.add_argument('--keep', type=Path, default=Path(__file__).resolve().parent / 'failures')
    args = ap.parse_args()

    started = time.time()
    plugin = args.plugin or build_asan(args.build)
    stage = Stage(plugin)
    stage.check_loaded()
    rng = random.Random(args.seed)
    counts, failures = {}, []
    try:
        cases = [make_case(stage, i, rng) for i in range(args.cases)]
        with ThreadPoolExecutor(args.jobs) as pool:
            for case, (result, what, detail) in zip(cases, pool.map(lambda c: run_case(stage, c), cases)):
                counts[result] = counts.get(result, 0) + 1
                if result not in ('ok', 'tshark-error'):
                    failures.append((case, result, what, detail))
        for case, result, what, detail in failures:
            args.keep.mkdir(parents=True, exist_ok=True)
            for f in stage.caps.glob(case[0].split('-', 2)[0] + '-' + case[0].split('-', 2)[1] + '[-.]*'):
                shutil.copy(f, args.keep / f.name)
            print(f'{result}: {case[0]} ({what})\n{detail}', file=sys.stderr)
    finally:
        shutil.rmtree(stage.dir, ignore_errors=True)
    bad = {k: v for k, v in counts.items() if k not in ('ok', 'tshark-error')}
    print(f'fuzz: {args.cases} cases, {counts.get("crash", 0)} crashes, {counts.get("sanitizer", 0)} sanitizer '
          f'reports, {counts.get("hang", 0)} hangs, {counts.get("dissector-bug", 0)} Exchange dissector bugs, '
          f'{counts.get("refused", 0)} inputs only the module refused, '
          f'{counts.get("tshark-error", 0)} inputs stock tshark refuses too ({time.time() - started:.0f} s)')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
