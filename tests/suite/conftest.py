"""Run the real tshark with the freshly built exchange.so.

The module is staged in a private plugin folder named by WIRESHARK_PLUGIN_DIR,
so a copy installed system-wide can never shadow the one under test.  tshark
started as root ignores that variable (and personal plugins), so as root the
harness runs tshark as the unprivileged user 'nobody' (setpriv) with a
temporary HOME; as any other user it runs tshark directly.
"""
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CAPTURES = REPO / 'test-captures'
TESTS = REPO / 'tests'

import sys  # noqa: E402
sys.path.insert(0, str(TESTS))
from wireshark_series import series  # noqa: E402,F401


def plugin_path():
    env = os.environ.get('EXCHANGE_PLUGIN')
    if env:
        return Path(env)
    found = sorted(REPO.glob('build*/plugin/exchange.so'))
    if not found:
        pytest.exit('exchange.so not found: build first (cmake --build build) or set EXCHANGE_PLUGIN', 2)
    return found[0]


def project_version():
    env = os.environ.get('EXCHANGE_VERSION')
    if env:
        return env
    m = re.search(r'project\(\w+ VERSION ([0-9.]+)', (REPO / 'CMakeLists.txt').read_text())
    return m.group(1)


class Tshark:
    def __init__(self, stage):
        self.stage = stage
        self.caps = stage / 'caps'
        self.plugins = stage / 'plugins'
        self.home = stage / 'home'
        self.as_nobody = os.geteuid() == 0

    def env(self):
        return {
            'PATH': '/usr/sbin:/usr/bin:/sbin:/bin',
            'HOME': str(self.home),
            'WIRESHARK_PLUGIN_DIR': str(self.plugins),
            'TZ': 'UTC',
            'LANG': 'C.UTF-8',
        }

    def prefix(self):
        if not self.as_nobody:
            return []
        nobody = pwd.getpwnam('nobody')
        return ['setpriv', f'--reuid={nobody.pw_uid}', f'--regid={nobody.pw_gid}', '--clear-groups', '--']

    def run(self, *args, check=True):
        """tshark ARGS in the staged capture folder; returns the CompletedProcess."""
        proc = subprocess.run(self.prefix() + ['tshark', *args], cwd=self.caps, env=self.env(),
                              capture_output=True, text=True, errors='replace', timeout=300)
        if check:
            assert proc.returncode == 0, f'tshark {" ".join(args)} failed ({proc.returncode}):\n{proc.stderr}'
        return proc

    def out(self, *args):
        return self.run(*args).stdout

    def fields(self, capture, fields, *extra):
        """Rows of -T fields output (tab-separated) as lists of strings."""
        args = ['-r', capture, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,']
        for f in fields:
            args += ['-e', f]
        return [line.split('\t') for line in self.out(*args, *extra).splitlines()]

    def frames(self, capture, display_filter, *extra):
        """Frame numbers matching a display filter."""
        rows = self.fields(capture, ['frame.number'], '-Y', display_filter, *extra)
        return [int(r[0]) for r in rows]

    def add_file(self, src, name=None):
        """Copy a side file next to the captures, readable by the tshark user."""
        dst = self.caps / (name or Path(src).name)
        shutil.copy(src, dst)
        os.chmod(dst, 0o644)
        return dst.name


@pytest.fixture(scope='session')
def tshark():
    stage = Path(tempfile.mkdtemp(prefix='exchange-test-'))
    try:
        os.chmod(stage, 0o755)
        epan = stage / 'plugins' / series() / 'epan'
        epan.mkdir(parents=True)
        shutil.copy(plugin_path(), epan / 'exchange.so')
        (stage / 'caps').mkdir()
        for cap in [p for p in CAPTURES.iterdir() if p.name.endswith(('.pcap', '.pcapng', '.gz'))]:
            shutil.copy(cap, stage / 'caps' / cap.name)
        (stage / 'home').mkdir()
        for path in stage.rglob('*'):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        t = Tshark(stage)
        if t.as_nobody:
            nobody = pwd.getpwnam('nobody')
            os.chown(stage / 'home', nobody.pw_uid, nobody.pw_gid)
            os.chmod(stage / 'caps', 0o777)
        yield t
    finally:
        shutil.rmtree(stage, ignore_errors=True)


SKIPPED_EXIT = 77       # ctest's SKIP_RETURN_CODE (cmake/ExchangeTesting.cmake)


def pytest_sessionfinish(session, exitstatus):
    """ctest runs one test per pytest session: one that was only skipped exits 77, so ctest's summary
    counts it as skipped, not passed."""
    reporter = session.config.pluginmanager.get_plugin('terminalreporter')
    if reporter is None or exitstatus != 0:
        return
    stats = reporter.stats
    if stats.get('skipped') and not stats.get('passed'):
        session.exitstatus = SKIPPED_EXIT
