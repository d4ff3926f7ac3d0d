"""The .deb and the "Exchange" configuration profile."""
import io
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import REPO, plugin_path, project_version, series

PROFILE = REPO / 'plugin' / 'profile' / 'Exchange'
PACKAGE = 'wireshark-exchange-roles'


@pytest.fixture(scope='module')
def deb():
    build = plugin_path().parent.parent
    deb = build / f'{PACKAGE}_{project_version()}+ws{series()}_amd64.deb'
    deb.unlink(missing_ok=True)     # nothing of an earlier build may pass for this one
    subprocess.run(['cmake', '--build', str(build), '--target', 'package'], check=True, capture_output=True)
    assert deb.is_file(), sorted(build.glob('*.deb'))
    return deb


def plugindir():
    return subprocess.run(['pkg-config', '--variable=plugindir', 'wireshark'], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_deb_holds_the_module_and_the_profile(deb):
    listing = subprocess.run(['dpkg-deb', '-c', str(deb)], check=True, capture_output=True, text=True).stdout
    files = sorted(line.split()[-1].lstrip('.') for line in listing.splitlines() if not line.startswith('d'))
    assert files == [plugindir() + '/epan/exchange.so', '/usr/share/wireshark/profiles/Exchange/colorfilters',
                     '/usr/share/wireshark/profiles/Exchange/custom_http_header_fields',
                     '/usr/share/wireshark/profiles/Exchange/io_graphs',
                     '/usr/share/wireshark/profiles/Exchange/preferences',
                     '/usr/share/wireshark/profiles/Exchange/recent']
    # The profile's colouring rules as built: the Exchange ones, then this series' default rules.
    shipped = subprocess.run(['dpkg-deb', '--fsys-tarfile', str(deb)], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(shipped)) as tar:
        colorfilters = tar.extractfile('./usr/share/wireshark/profiles/Exchange/colorfilters').read()
    assert colorfilters == (plugin_path().parent / 'profile' / 'Exchange' / 'colorfilters').read_bytes()
    assert b'\n@TCP RST@' in colorfilters


def test_deb_depends_on_the_libwireshark_abi_it_was_built_for(deb):
    needed = subprocess.run(['objdump', '-p', str(plugin_path())], check=True, capture_output=True, text=True).stdout
    soname = re.search(r'NEEDED\s+(libwireshark\.so\.\d+)', needed).group(1)
    libpkg = 'libwireshark' + soname.rsplit('.', 1)[1]
    owner = subprocess.run(['dpkg-query', '-S', soname], capture_output=True, text=True).stdout
    assert owner.startswith(libpkg + ':'), owner           # Debian names the package after the soname
    version = subprocess.run(['dpkg-query', '-W', '-f=${Version}', libpkg], check=True, capture_output=True,
                             text=True).stdout
    lib_series = '.'.join(version.split('.')[:2])
    assert lib_series == series()
    major, minor = lib_series.split('.')
    depends = subprocess.run(['dpkg-deb', '-f', str(deb), 'Depends'], check=True, capture_output=True,
                             text=True).stdout.strip()
    assert f'{libpkg} (>= {lib_series}.' in depends and f'{libpkg} (<< {major}.{int(minor) + 1}~)' in depends
    assert f'wireshark-common (<< {major}.{int(minor) + 1}~)' in depends


def test_deb_version_and_name_say_the_series(deb):
    """One package per series: the version tells a 4.4 package from a 4.6 one."""
    version = subprocess.run(['dpkg-deb', '-f', str(deb), 'Version'], check=True, capture_output=True,
                             text=True).stdout.strip()
    assert version == f'{project_version()}+ws{series()}'
    assert deb.name == f'{PACKAGE}_{version}_amd64.deb'


@pytest.mark.skipif(os.environ.get('EXCHANGE_DISPOSABLE_SYSTEM') != '1' or os.geteuid() != 0,
                    reason='installs into the system itself: only in the matrix\'s Debian systems and on CI\'s machine')
def test_deb_installs_into_its_own_system_and_tshark_loads_it(deb, tshark):
    """The real thing in the series' own Debian: apt resolves the Depends, the global plugin folder
    holds the module, tshark (as a user, no plugin folder of ours) lists it, and purge removes it."""
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    # apt's --no-download refuses a local .deb ("Pathname to install is not absolute"); with every
    # dependency installed it fetches nothing anyway.
    subprocess.run(['apt-get', 'install', '-y', str(deb)], check=True, capture_output=True, env=env)
    try:
        module = Path(plugindir()) / 'epan' / 'exchange.so'
        assert module.is_file()
        clean_env = {k: v for k, v in tshark.env().items() if k != 'WIRESHARK_PLUGIN_DIR'}
        out = subprocess.run(tshark.prefix() + ['tshark', '-G', 'plugins'], env=clean_env, cwd=tshark.caps,
                             capture_output=True, text=True, check=True).stdout
        assert re.search(rf'^exchange\.so\s+{re.escape(project_version())}\s+dissector\s+{re.escape(str(module))}$',
                         out, re.M), out
        roles = subprocess.run(tshark.prefix() + ['tshark', '-2', '-r', 'mapi-http-outlook.pcapng', '-T', 'fields',
                                                  '-e', 'exchange.role', '-Y', 'exchange.role'],
                               env=clean_env, cwd=tshark.caps, capture_output=True, text=True, check=True).stdout
        assert set(roles.split()) == {'mailbox', 'directory'}
    finally:
        subprocess.run(['dpkg', '--purge', PACKAGE], check=True, capture_output=True)
    assert not module.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason='dpkg needs root to install, even into a scratch root')
def test_deb_installs_loads_and_uninstalls_cleanly(deb, tmp_path, tshark):
    # Dependencies are satisfiable on this system ...
    subprocess.run(['dpkg', '--dry-run', '-i', str(deb)], check=True, capture_output=True)
    # ... and the package installs into, and leaves, a scratch root.
    root = tmp_path / 'root'
    for d in ('info', 'updates', 'triggers'):
        (root / 'var/lib/dpkg' / d).mkdir(parents=True)
    for f in ('status', 'available'):
        (root / 'var/lib/dpkg' / f).touch()
    dpkg = ['dpkg', f'--root={root}', '--force-depends', '--force-script-chrootless']
    subprocess.run(dpkg + ['-i', str(deb)], check=True, capture_output=True)
    module = root / plugindir().lstrip('/') / 'epan' / 'exchange.so'
    assert module.is_file()
    # The installed module is the one tshark loads from that plugin folder.
    stage = tshark.stage / 'deb-plugins'
    shutil.copytree(root / plugindir().lstrip('/'), stage / series())
    for p in [stage, *stage.rglob('*')]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    env = dict(tshark.env(), WIRESHARK_PLUGIN_DIR=str(stage))
    out = subprocess.run(tshark.prefix() + ['tshark', '-G', 'plugins'], env=env, cwd=tshark.caps,
                         capture_output=True, text=True, check=True).stdout
    assert re.search(rf'^exchange\.so\s+\S+\s+dissector\s+{re.escape(f"{stage}/{series()}")}/epan/exchange\.so$', out, re.M)
    subprocess.run(dpkg + ['--purge', PACKAGE], check=True, capture_output=True)
    assert not (root / 'usr').exists() or not any(p.is_file() for p in (root / 'usr').rglob('*'))
    status = (root / 'var/lib/dpkg/status').read_text()
    assert f'Package: {PACKAGE}' not in status or 'Status: purge' in status or 'not-installed' in status


def test_profile_columns_and_header_fields(tshark):
    profiles = tshark.home / '.config' / 'wireshark' / 'profiles'
    profiles.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROFILE, profiles / 'Exchange', dirs_exist_ok=True)
    for p in [tshark.home / '.config', *(tshark.home / '.config').rglob('*')]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    out = tshark.out('-2', '-C', 'Exchange', '-r', 'mapi-http-cleartext.pcap',
                     '-Y', 'http.header.X-RequestType == "NotificationWait" && http.request')
    # Columns: No., Time, Source, Destination, Protocol, role, transport, process, PID, MAPI request, ...
    assert re.search(r'^\s*23 .* HTTP mailbox mapi-http OUTLOOK\.EXE\s+NotificationWait \d+ POST /mapi/emsmdb/', out,
                     re.M), out
    # The coloring rules parse, and colour each connection by its role.
    rows = tshark.fields('mapi-http-cleartext.pcap', ['tcp.stream', 'frame.coloring_rule.name'], '-2', '-C',
                         'Exchange', '--color')
    assert {tuple(r) for r in rows} == {('0', 'Exchange mailbox'), ('1', 'Exchange directory')}
