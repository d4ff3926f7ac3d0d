#!/usr/bin/python3
"""valgrind memcheck of tshark with the plugin over every capture here (and a process map).

    /usr/bin/python3 tests/memcheck/memcheck.py [--plugin build/plugin/exchange.so] [--jobs 2]

Counts, per capture, memcheck errors and definitely-lost leaks whose stack passes through exchange.so
(tshark and its libraries have their own findings; they are reported as a total, not judged). Exit
status 0 only when the plugin has none. Needs the valgrind package.
"""
import argparse
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CAPTURES = REPO / 'test-captures'
sys.path.insert(0, str(REPO / 'tests'))
from fuzz.fuzz import stage_captures  # noqa: E402
from wireshark_series import series  # noqa: E402


def ours(error):
    return any((f.findtext('obj') or '').endswith('/exchange.so') for f in error.iter('frame'))


def check(stage, env, prefix, name, opts):
    xml = stage / f'{name}.xml'
    cmd = prefix + ['valgrind', '--tool=memcheck', '--leak-check=full', '--show-leak-kinds=definite',
                    '--errors-for-leak-kinds=definite', '--num-callers=40', '--xml=yes', f'--xml-file={xml}',
                    'tshark', '-2', '-V', '-r', name, *opts, '-z', 'exchange,clients', '-z', 'exchange,conns']
    proc = subprocess.run(cmd, cwd=stage, env=env, capture_output=True, timeout=1800)
    root = ET.parse(xml).getroot()
    errors = root.findall('error')
    mine = [e for e in errors if ours(e)]
    kinds = sorted({e.findtext('kind') for e in mine})
    return name, proc.returncode, len(errors), len(mine), kinds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--plugin', type=Path, default=REPO / 'build' / 'plugin' / 'exchange.so')
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    if not shutil.which('valgrind'):
        sys.exit('memcheck: valgrind is not installed (apt-get install valgrind)')

    started = time.time()
    stage = Path(tempfile.mkdtemp(prefix='exchange-memcheck-'))
    try:
        epan = stage / 'plugins' / series() / 'epan'
        epan.mkdir(parents=True)
        shutil.copy(args.plugin, epan / 'exchange.so')
        (stage / 'home').mkdir()
        runs = stage_captures(stage)
        shutil.copy(CAPTURES / 'maps' / 'multi-client.txt', stage / 'map.txt')
        runs.append(('multi-client.pcap', ['-o', f'exchange.process_map:{stage / "map.txt"}',
                                           '-o', 'exchange.servers:mail.contoso.com']))
        shutil.copy(CAPTURES / 'maps' / 'bad-partly.txt', stage / 'bad.txt')
        runs.append(('mapi-http-outlook.pcapng', ['-o', f'exchange.process_map:{stage / "bad.txt"}']))
        for p in stage.rglob('*'):
            p.chmod(0o755 if p.is_dir() else 0o644)
        stage.chmod(0o777)
        prefix = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam('nobody')
            os.chown(stage / 'home', nobody.pw_uid, nobody.pw_gid)
            prefix = ['setpriv', f'--reuid={nobody.pw_uid}', f'--regid={nobody.pw_gid}', '--clear-groups', '--']
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'HOME': str(stage / 'home'), 'LANG': 'C.UTF-8',
               'WIRESHARK_PLUGIN_DIR': str(stage / 'plugins'), 'G_SLICE': 'always-malloc'}
        total_other, total_mine = 0, 0
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda r: check(stage, env, prefix, *r), runs[:-2]))
        # These read captures checked above, so they run after them (one XML file per capture name).
        results += [check(stage, env, prefix, *r) for r in runs[-2:]]
        for name, rc, n_all, n_mine, kinds in results:
            total_other += n_all - n_mine
            total_mine += n_mine
            print(f'{name}: rc {rc}, plugin errors/definite leaks {n_mine}{" " + ",".join(kinds) if kinds else ""}'
                  f', elsewhere {n_all - n_mine}')
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    print(f'memcheck: {len(results)} runs, {total_mine} errors or definite leaks in exchange.so, '
          f'{total_other} elsewhere (tshark and its libraries) ({time.time() - started:.0f} s)')
    return 1 if total_mine else 0


if __name__ == '__main__':
    sys.exit(main())
