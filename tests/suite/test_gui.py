"""The real Wireshark-Qt with the module just built, on a private Xvfb: tests/gui-check/gui-check."""
import struct
import subprocess
import sys

import pytest

from conftest import REPO, plugin_path

# name: smallest width and height (the menu is narrow; the dialogs open at Wireshark's default size, 587x459
# with Debian's fonts; the main window is set)
SCREENSHOTS = {'gui-mailbox-filter.png': (600, 150), 'gui-statistics-menu.png': (300, 300),
               'gui-clients-dialog.png': (500, 300), 'gui-conns-dialog.png': (500, 300)}
MAX_BYTES = 150 * 1024


def png_size(path):
    """(width, height) of a PNG file, checking its signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == b'\x89PNG\r\n\x1a\n' and head[12:16] == b'IHDR', f'{path} is not a PNG'
    return struct.unpack('>II', head[16:24])


def test_wireshark_shows_roles_filter_and_statistics_dialogs(tmp_path):
    """Titles, Displayed counts and both dialogs' tables, as the GUI shows them, against tshark."""
    proc = subprocess.run([str(REPO / 'tests' / 'gui-check' / 'gui-check'), '--plugin', str(plugin_path()), '--out', str(tmp_path)],
                          capture_output=True, text=True, errors='replace', timeout=900)
    sys.stdout.write(proc.stdout)
    if proc.returncode == 77:
        pytest.skip(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else 'gui-check skipped')
    assert proc.returncode == 0, f'tests/gui-check/gui-check failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}'
    for name, (min_w, min_h) in SCREENSHOTS.items():
        shot = tmp_path / name
        width, height = png_size(shot)
        assert width >= min_w and height >= min_h, f'{name}: {width}x{height}'
        assert shot.stat().st_size < MAX_BYTES, f'{name}: {shot.stat().st_size} bytes'


# Captures that begin mid-conversation, with what only a second pass learns: Wireshark applies it
# once the file is loaded (both dialogs equal tshark -2 -z, which finds more than single-pass tshark).
MIDSTREAM = {
    'rpc-tcp-late-epm.pcap': (),
    'rpc-http-dns-late-nokeys.pcap': ('-o', 'exchange.servers:mail.contoso.com'),
}


@pytest.mark.parametrize('capture', list(MIDSTREAM))
def test_wireshark_applies_later_evidence_once_loaded(tmp_path, capture):
    proc = subprocess.run([str(REPO / 'tests' / 'gui-check' / 'gui-check'), '--plugin', str(plugin_path()),
                           '--out', str(tmp_path), '--midstream', capture, *MIDSTREAM[capture]],
                          capture_output=True, text=True, errors='replace', timeout=900)
    sys.stdout.write(proc.stdout)
    if proc.returncode == 77:
        pytest.skip(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else 'gui-check skipped')
    assert proc.returncode == 0, f'gui-check --midstream {capture} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}'
    width, height = png_size(tmp_path / 'gui-midstream-conns-dialog.png')
    assert width >= 500 and height >= 300


def test_wireshark_io_graphs_show_the_profile_presets(tmp_path):
    """Statistics > I/O Graphs in the Exchange profile: the presets of plugin/profile/Exchange/io_graphs."""
    proc = subprocess.run([str(REPO / 'tests' / 'gui-check' / 'gui-check'), '--plugin', str(plugin_path()),
                           '--out', str(tmp_path), '--io-graph'],
                          capture_output=True, text=True, errors='replace', timeout=900)
    sys.stdout.write(proc.stdout)
    if proc.returncode == 77:
        pytest.skip(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else 'gui-check skipped')
    assert proc.returncode == 0, f'gui-check --io-graph failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}'
    width, height = png_size(tmp_path / 'gui-io-graph.png')
    assert width >= 600 and height >= 400


def test_docs_screenshots_are_small_pngs():
    """The screenshots README.md shows are the ones tests/gui-check/gui-check writes to docs/."""
    readme = (REPO / 'README.md').read_text()
    for name, (min_w, min_h) in {**SCREENSHOTS, 'gui-midstream-conns-dialog.png': (500, 300),
                                 'gui-io-graph.png': (600, 400)}.items():
        shot = REPO / 'docs' / name
        assert shot.is_file(), f'docs/{name} missing: run cmake --build build --target gui-check'
        width, height = png_size(shot)
        assert width >= min_w and height >= min_h, f'{name}: {width}x{height}'
        assert f'](docs/{name})' in readme, f'README.md does not show docs/{name}'
        assert shot.stat().st_size < MAX_BYTES, f'{name}: {shot.stat().st_size} bytes'
