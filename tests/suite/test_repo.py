"""Promises the repository makes to its users: README commands, install paths, capture catalogue."""
import os
import re
import subprocess
from pathlib import Path

from conftest import REPO, CAPTURES, plugin_path, series


def readme_commands():
    block = re.search(r'```sh\n(.*?)```', (REPO / 'README.md').read_text(), re.S).group(1)
    return block.strip().splitlines()


def test_readme_starts_with_two_commands_and_ci_runs_the_test_one():
    main_job, tests = readme_commands()
    assert main_job.endswith('--target main-job')
    assert tests.endswith('--target matrix')     # the whole suite on every series, ctest in each
    ci = (REPO / '.ci' / 'run').read_text().splitlines()
    assert tests in ci


def test_every_capture_has_a_readme_row():
    catalogue = (CAPTURES / 'README.md').read_text()
    captures = sorted(p.name for p in CAPTURES.iterdir() if p.name.endswith(('.pcap', '.pcapng', '.pcap.gz')))
    assert captures
    for name in captures:
        assert re.search(rf'^\| `{re.escape(name)}` \|', catalogue, re.M), name
        assert os.path.getsize(CAPTURES / name) < 1_000_000


def test_install_lands_where_wireshark_scans(tmp_path):
    build = plugin_path().parent.parent
    env = dict(os.environ, DESTDIR=str(tmp_path))
    subprocess.run(['cmake', '--install', str(build)], check=True, env=env, capture_output=True)
    plugindir = subprocess.run(['pkg-config', '--variable=plugindir', 'wireshark'], check=True,
                               capture_output=True, text=True).stdout.strip()
    installed = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob('*') if p.is_file())
    profile = Path('usr/share/wireshark/profiles/Exchange')
    assert installed == sorted([Path(plugindir.lstrip('/')) / 'epan' / 'exchange.so', profile / 'colorfilters',
                                profile / 'custom_http_header_fields', profile / 'io_graphs', profile / 'preferences', profile / 'recent'])
    # The colouring rules as built (the Exchange ones, then this series' default ones), not the source's.
    built = plugin_path().parent / 'profile' / 'Exchange' / 'colorfilters'
    assert (tmp_path / profile / 'colorfilters').read_text() == built.read_text()


def test_module_exports_only_the_loader_symbols():
    out = subprocess.run(['nm', '-D', '--defined-only', str(plugin_path())], check=True,
                         capture_output=True, text=True).stdout
    symbols = sorted(line.split()[-1] for line in out.splitlines() if line.split()[1] in 'TDBRV')
    loader = ['plugin_register', 'plugin_version', 'plugin_want_major', 'plugin_want_minor']
    if tuple(map(int, series().split('.'))) >= (4, 4):
        loader.insert(0, 'plugin_describe')     # asked by the 4.4 loader (optional)
    assert symbols == loader


def test_per_user_install_goes_to_the_personal_folder(tmp_path):
    build = plugin_path().parent.parent
    env = dict(os.environ, HOME=str(tmp_path))
    subprocess.run(['cmake', '--build', str(build), '--target', 'install-user'], check=True, env=env,
                   capture_output=True)
    assert (tmp_path / f'.local/lib/wireshark/plugins/{series()}/epan/exchange.so').is_file()
    assert (tmp_path / '.config/wireshark/profiles/Exchange/preferences').is_file()
    assert (tmp_path / '.config/wireshark/profiles/Exchange/recent').is_file()
    assert (tmp_path / '.config/wireshark/profiles/Exchange/colorfilters').read_text() == \
        (plugin_path().parent / 'profile' / 'Exchange' / 'colorfilters').read_text()
    assert (tmp_path / '.config/wireshark/profiles/Exchange/io_graphs').is_file()
    # A profile of the same name that the user has is kept.
    (tmp_path / '.config/wireshark/profiles/Exchange/preferences').write_text('# mine\n')
    subprocess.run(['cmake', '--build', str(build), '--target', 'install-user'], check=True, env=env,
                   capture_output=True)
    assert (tmp_path / '.config/wireshark/profiles/Exchange/preferences').read_text() == '# mine\n'


def object_symbols():
    """For the module's object files: {symbol: file defining it}, {symbol: files using it}."""
    objects = sorted((plugin_path().parent / 'CMakeFiles' / 'exchange.dir').glob('*.o'))
    assert len(objects) >= 10, objects
    defined, users = {}, {}
    for obj in objects:
        name = obj.name.split('.')[0]
        for line in subprocess.run(['nm', str(obj)], check=True, capture_output=True, text=True).stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in 'TDBR':
                defined[parts[2]] = name
            elif len(parts) == 2 and parts[0] == 'U':
                users.setdefault(parts[1], set()).add(name)
    return defined, users


def test_no_two_plugin_files_call_each_other():
    """Data flows one way: the file-level call graph, read from the object files' symbols, has no cycle."""
    defined, users = object_symbols()
    calls = {}
    for sym, files in users.items():
        for f in files:
            if sym in defined and defined[sym] != f:
                calls.setdefault(f, set()).add(defined[sym])

    def reaches(a, b, seen):
        for n in calls.get(a, ()):
            if n == b or (n not in seen and (seen.add(n) or reaches(n, b, seen))):
                return True
        return False
    cycles = sorted({tuple(sorted((a, b))) for a in calls for b in calls[a] if reaches(b, a, set())})
    assert not cycles, f'files that call each other: {cycles}'


def test_no_plugin_file_is_over_600_lines():
    sizes = {p.name: len(p.read_text().splitlines()) for p in (REPO / 'plugin').glob('*.[ch]')}
    assert {name: n for name, n in sizes.items() if n > 600} == {}


def test_every_export_is_used_by_another_file():
    """A function or table shared in exchange.h is used outside the file that defines it; the rest is static."""
    defined, users = object_symbols()
    lonely = sorted(f'{f}: {sym}' for sym, f in defined.items()
                    if not sym.startswith('plugin_') and not users.get(sym, set()) - {f})
    assert not lonely, f'exported but used only where defined: {lonely}'


# The calls Wireshark's tools/checkAPIs.pl rejects in dissectors (its 'prohibited', 'deprecated' and
# 'dissectors-prohibited' groups, as of 4.0-4.6), by the names the object files import: a macro
# can't hide a call there, and a comment can't trip it.
CHECKAPIS_REJECTED = {
    'atoi', 'gets', 'sprintf', 'g_sprintf', 'vsprintf', 'g_vsprintf', 'strcpy', 'strncpy', 'strcat', 'strncat',
    'cftime', 'ascftime', 'ntohl', 'ntohs', 'htonl', 'htons', 'strdup', 'strndup', 'strtoull', 'g_fprintf',
    'g_vfprintf', 'g_snprintf', 'g_vsnprintf', 'bzero', 'bcopy', 'bcmp', 'malloc', 'calloc', 'realloc', 'valloc',
    'free', 'cfree', 'atof', 'strtod', 'strcasecmp', 'strncasecmp', 'g_memdup', 'g_strcasecmp', 'g_strncasecmp',
    'g_strup', 'g_strdown', 'g_string_up', 'g_string_down', 'strerror', 'tmpnam', 'perror', 'ctime', 'abort', 'exit',
    'g_basename', 'g_dirname', 'g_string_sprintf', 'g_string_sprintfa', '__assert_fail', 'g_assertion_message',
    'g_assertion_message_expr', 'tvb_length_remaining', 'printf', 'g_warning', 'index',
}
# Checked in the source instead: locale-dependent character classes and assertions are macros, and the
# file calls are what ws_fopen() and friends expand to on POSIX, so the names written are what counts.
CHECKAPIS_REJECTED_MACROS = ('open', 'rename', 'mkdir', 'stat', 'unlink', 'remove', 'fopen', 'freopen', 'fstat', 'lseek',
                             'isalnum', 'isascii', 'isalpha', 'iscntrl', 'isdigit', 'islower', 'isgraph', 'isprint',
                             'ispunct', 'isspace', 'isupper', 'isxdigit', 'tolower', 'toupper', 'assert', 'g_assert',
                             'g_error')


def test_plugin_uses_nothing_wireshark_checkapis_rejects():
    _, users = object_symbols()
    imported = {sym: sorted(files) for sym, files in users.items() if sym in CHECKAPIS_REJECTED}
    assert imported == {}
    call = re.compile(r'(?<![\w.>])(%s)\s*\(' % '|'.join(CHECKAPIS_REJECTED_MACROS))
    found = []
    for p in sorted((REPO / 'plugin').glob('*.[ch]')):
        code = re.sub(r'/\*.*?\*/|"(?:\\.|[^"\\])*"', '', p.read_text(), flags=re.S)   # no comments, strings
        found += [f'{p.name}: {m.group(1)}' for m in call.finditer(code)]
    assert found == []


def test_each_frame_record_has_one_writer():
    """A frame's records are created (and so written) only by the file each key names as its writer."""
    header = (REPO / 'plugin' / 'exchange.h').read_text()
    owner = dict(re.findall(r'(EXCH_FRAME_\w+),?\s*/\* \w+, written by (\w+)\.c \*/', header))
    assert set(owner) == {'EXCH_FRAME_CONV', 'EXCH_FRAME_RPC', 'EXCH_FRAME_HTTP', 'EXCH_FRAME_TRAFFIC'}
    writers = {}
    for p in sorted((REPO / 'plugin').glob('*.c')):
        for key in re.findall(r'EXCH_FRAME_PART\(\s*pinfo,\s*\w+,\s*(EXCH_FRAME_\w+),\s*TRUE\s*\)', p.read_text()):
            writers.setdefault(key, set()).add(p.stem)
    assert writers == {key: {f} for key, f in owner.items()}
