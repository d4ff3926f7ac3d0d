"""The "Exchange" profile's colours and columns: one background per role that people with normal vision
and with the common colour blindnesses tell apart, black text readable on each, Wireshark's default
colouring rules kept after the Exchange ones, and packet-list columns wide enough for their values."""
import math
import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO, plugin_path

PROFILE = REPO / 'plugin' / 'profile' / 'Exchange'
ROLES = ['mailbox', 'directory', 'rpc-in', 'rpc-out', 'ews', 'autodiscover', 'oab', 'endpoint-mapper', 'unknown']
RULE = re.compile(r'^(!?)@([^@]+)@([^@]+)@\[(\d+),(\d+),(\d+)\]\[(\d+),(\d+),(\d+)\]$', re.M)

# The palette before issue 17 (16-bit values as the file held them): two close oranges for rpc-in and
# rpc-out, two greys for endpoint-mapper and unknown, a blue and a lilac that deuteranopes see alike.
OLD_PALETTE = {'mailbox': (45232, 57568, 65535), 'directory': (57568, 65535, 45232),
               'rpc-in': (65535, 57568, 45232), 'rpc-out': (65535, 50372, 37008),
               'ews': (57568, 50372, 65535), 'autodiscover': (50372, 65535, 65535),
               'oab': (61166, 61166, 50372), 'endpoint-mapper': (55512, 55512, 55512),
               'unknown': (61166, 61166, 61166)}

# Smallest CIEDE2000 difference between any two role colours.  About 1 is just noticeable side by side;
# rows of a packet list are compared across the screen, so two roles must differ at a glance: 10 in
# normal vision, 8 as seen with protanopia, deuteranopia or tritanopia (complete loss of one cone type,
# the worst case of each).  Paul Tol's "light" scheme, made for colour-blind readers, gets 9.3 normal
# and 7.5-8.8 simulated; the palette before issue 17 got 4.9 normal and 2.0 as deuteranopes see it.
MIN_DE_NORMAL = 10
MIN_DE_SIMULATED = 8
# WCAG 2 "AAA" contrast for normal text: black on each background.
MIN_CONTRAST = 7

# Machado, Oliveira and Fernandes (2009), "A physiologically-based model for simulation of color vision
# deficiency", severity 1.0 matrices, applied to linear sRGB.
MACHADO = {
    'protanopia': ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    'deuteranopia': ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    'tritanopia': ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}
VISIONS = ('normal', 'protanopia', 'deuteranopia', 'tritanopia')


def linear(rgb16):
    """sRGB (0-65535 per channel, as colorfilters holds it) to linear RGB 0-1."""
    out = []
    for v in rgb16:
        c = v / 65535
        out.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return tuple(out)


def simulate(lin, vision):
    if vision == 'normal':
        return lin
    return tuple(min(1.0, max(0.0, sum(m * c for m, c in zip(row, lin)))) for row in MACHADO[vision])


def luminance(lin):
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(lin1, lin2):
    hi, lo = sorted((luminance(lin1), luminance(lin2)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def cielab(lin):
    """Linear sRGB to CIELAB (D65)."""
    r, g, b = lin
    xyz = ((0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047,
           0.2126729 * r + 0.7151522 * g + 0.0721750 * b,
           (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883)
    fx, fy, fz = (t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29 for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def ciede2000(lab1, lab2):
    """CIEDE2000 colour difference (kL = kC = kH = 1), as Sharma, Wu and Dalal (2005) spell it out."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7)))
    a1, a2 = (1 + g) * a1, (1 + g) * a2
    c1, c2 = math.hypot(a1, b1), math.hypot(a2, b2)
    h1 = math.degrees(math.atan2(b1, a1)) % 360 if c1 else 0.0
    h2 = math.degrees(math.atan2(b2, a2)) % 360 if c2 else 0.0
    dh = 0.0
    if c1 * c2:
        dh = h2 - h1 - 360 if h2 - h1 > 180 else h2 - h1 + 360 if h2 - h1 < -180 else h2 - h1
    d_l, d_c = l2 - l1, c2 - c1
    d_h = 2 * math.sqrt(c1 * c2) * math.sin(math.radians(dh / 2))
    l_mean, c_mean = (l1 + l2) / 2, (c1 + c2) / 2
    if not c1 * c2:
        h_mean = h1 + h2
    elif abs(h1 - h2) <= 180:
        h_mean = (h1 + h2) / 2
    else:
        h_mean = (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_mean - 30)) + 0.24 * math.cos(math.radians(2 * h_mean))
         + 0.32 * math.cos(math.radians(3 * h_mean + 6)) - 0.20 * math.cos(math.radians(4 * h_mean - 63)))
    rotation = 30 * math.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * math.sqrt(c_mean ** 7 / (c_mean ** 7 + 25 ** 7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * c_mean
    s_h = 1 + 0.015 * c_mean * t
    r_t = -math.sin(math.radians(2 * rotation)) * r_c
    return math.sqrt((d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2 + r_t * (d_c / s_c) * (d_h / s_h))


def closest_pairs(palette):
    """{vision: (smallest CIEDE2000 between two roles' backgrounds, role, role)}."""
    out = {}
    for vision in VISIONS:
        lab = {role: cielab(simulate(linear(rgb), vision)) for role, rgb in palette.items()}
        roles = list(palette)
        out[vision] = min((ciede2000(lab[a], lab[b]), a, b) for i, a in enumerate(roles) for b in roles[i + 1:])
    return out


def palette_problems(palette):
    """Pairs of roles too close to tell apart, per vision: [] for a good palette."""
    problems = []
    for vision, (de, a, b) in closest_pairs(palette).items():
        if de < (MIN_DE_NORMAL if vision == 'normal' else MIN_DE_SIMULATED):
            problems.append(f'{vision}: {a} and {b} differ by CIEDE2000 {de:.2f}')
    return problems


def rules(text):
    """[(enabled, name, filter, background, foreground)] of a colorfilters file, in order."""
    return [(not m[0], m[1], m[2], tuple(map(int, m[3:6])), tuple(map(int, m[6:9]))) for m in RULE.findall(text)]


def exchange_rules():
    return rules((PROFILE / 'colorfilters').read_text())


def palette():
    return {re.fullmatch(r'exchange\.role == "([^"]+)"', f).group(1): bg for _, _, f, bg, _ in exchange_rules()}


def built_profile():
    """The profile as the build installs it: the source folder with the built colorfilters."""
    return plugin_path().parent / 'profile' / 'Exchange'


def global_conf_dir(tshark):
    out = tshark.out('-G', 'folders')
    return re.search(r'^Global configuration:\s+(\S+)$', out, re.M).group(1)


def stage_profile(tshark):
    profiles = tshark.home / '.config' / 'wireshark' / 'profiles'
    shutil.rmtree(profiles / 'Exchange', ignore_errors=True)
    profiles.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROFILE, profiles / 'Exchange')
    shutil.copy(built_profile() / 'colorfilters', profiles / 'Exchange' / 'colorfilters')
    for p in [tshark.home / '.config', *(tshark.home / '.config').rglob('*')]:
        p.chmod(0o755 if p.is_dir() else 0o644)


def test_ciede2000_and_cielab_match_published_values():
    # Sharma, Wu and Dalal (2005), table 1: pairs 1, 7, 17, 25, 34 (a hue, a grey, a large, a dark pair).
    for lab1, lab2, expected in [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
                                 ((50, 0, 0), (50, -1, 2), 2.3669),
                                 ((50, 2.5, 0), (73, 25, -18), 27.1492),
                                 ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
                                 ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082)]:
        assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)
        assert ciede2000(lab2, lab1) == pytest.approx(expected, abs=1e-4)
    # sRGB white and a saturated red in CIELAB (D65).
    assert cielab(linear((65535, 65535, 65535))) == pytest.approx((100, 0, 0), abs=0.01)
    assert cielab(linear((65535, 0, 0))) == pytest.approx((53.24, 80.09, 67.20), abs=0.05)
    # A dichromat's view of grey is grey; each simulation merges its own confusion pair, which normal
    # vision tells apart at a glance: red and olive (protanopia), red and green (deuteranopia), pink and
    # orange (tritanopia).
    grey = linear((32768, 32768, 32768))
    assert all(simulate(grey, v) == pytest.approx(grey, abs=0.002) for v in VISIONS)
    for vision, one, other in [('protanopia', (65535, 0, 0), (26214, 26214, 0)),
                               ('deuteranopia', (65535, 0, 0), (0, 43690, 0)),
                               ('tritanopia', (65535, 26214, 43690), (65535, 26214, 13107))]:
        one, other = linear(one), linear(other)
        assert ciede2000(cielab(simulate(one, vision)), cielab(simulate(other, vision))) < 8 < 30 < \
            ciede2000(cielab(one), cielab(other)), vision


def test_one_rule_per_role_first_black_text_readable():
    found = exchange_rules()
    assert [re.fullmatch(r'exchange\.role == "([^"]+)"', f).group(1) for _, _, f, _, _ in found] == ROLES
    assert all(enabled and name.startswith('Exchange ') for enabled, name, *_ in found)
    for _, name, _, background, text in found:
        assert text == (0, 0, 0), name
        assert contrast(linear(background), linear(text)) >= MIN_CONTRAST, (name, background)


def test_role_colours_are_told_apart_with_and_without_colour_blindness():
    closest = {v: (round(de, 2), a, b) for v, (de, a, b) in closest_pairs(palette()).items()}
    print('closest role colours:', closest)
    assert palette_problems(palette()) == [], closest


def test_the_palette_before_issue_17_fails_the_check():
    """The check tells: the old palette (two oranges, two greys) fails in every vision."""
    problems = palette_problems(OLD_PALETTE)
    print('\n'.join(problems))
    assert [p.split(':')[0] for p in problems] == list(VISIONS)
    assert 'normal: endpoint-mapper and unknown' in problems[0]
    de, *_ = closest_pairs({r: OLD_PALETTE[r] for r in ('rpc-in', 'rpc-out')})['normal']
    assert de < MIN_DE_NORMAL, de


def test_built_colorfilters_keep_the_series_default_rules_after_the_exchange_ones(tshark):
    built = rules((built_profile() / 'colorfilters').read_text())
    defaults = rules((Path(global_conf_dir(tshark)) / 'colorfilters').read_text())
    assert len(defaults) >= 15, defaults          # Bad TCP ... System Event: 20 in 4.0, 21 in 4.4 and 4.6
    assert built == exchange_rules() + defaults
    assert any(name == 'Bad TCP' for _, name, *_ in defaults) and any(name == 'TCP RST' for _, name, *_ in defaults)


def test_every_rule_compiles_and_colours_frames(tshark):
    stage_profile(tshark)
    # Exchange connections take their role's rule ...
    proc = tshark.run('-2', '-C', 'Exchange', '--color', '-r', 'mapi-http-outlook.pcapng', '-T', 'fields',
                      '-e', 'exchange.role', '-e', 'frame.coloring_rule.name')
    assert 'Could not compile' not in proc.stderr and 'colorfilters' not in proc.stderr, proc.stderr
    pairs = {tuple(line.split('\t')) for line in proc.stdout.splitlines()}
    assert pairs == {('mailbox', 'Exchange mailbox'), ('directory', 'Exchange directory')}, pairs
    # ... and frames of other connections keep Wireshark's rules: the reset of a web scan is "TCP RST".
    proc = tshark.run('-2', '-C', 'Exchange', '--color', '-r', 'scanner-nginx-negative.pcap', '-T', 'fields',
                      '-e', 'tcp.flags.reset', '-e', 'exchange.role', '-e', 'frame.coloring_rule.name')
    assert 'Could not compile' not in proc.stderr, proc.stderr
    rows = [line.split('\t') for line in proc.stdout.splitlines()]
    reset = {'1', 'True'}                       # 4.0 prints a flag as 1, 4.4 and 4.6 as True
    assert {r[2] for r in rows if r[0] in reset} == {'TCP RST'}, rows
    assert {'HTTP', 'TCP', 'TCP SYN/FIN'} <= {r[2] for r in rows if r[0] not in reset}, rows
    # Every rule's filter compiles with the module loaded (a rule that does not is disabled with a
    # warning): one display filter that or's them all.
    every = ' || '.join(f'({f})' for _, _, f, _, _ in rules((built_profile() / 'colorfilters').read_text()))
    assert tshark.run('-r', 'scanner-nginx-negative.pcap', '-Y', every, '-c', '1').returncode == 0


# Longest values of the profile's Exchange columns (the plugin's value strings; MAPI/HTTP's
# X-RequestType values of [MS-OXCMAPIHTTP]; Outlook's image name), and their titles.
COLUMN_VALUES = {
    'exchange.role': ROLES + ['Exchange role'],
    'exchange.transport': ['rpc-tcp', 'rpc-http', 'mapi-http', 'https', 'http', 'Transport'],
    'exchange.client.process': ['OUTLOOK.EXE', 'Client process'],
    'exchange.client.pid': ['999999', 'PID'],
    'exchange.mapi.request_type': ['Connect', 'Execute', 'Disconnect', 'NotificationWait', 'Bind', 'Unbind',
                                   'CompareMIds', 'DNToMId', 'GetMatches', 'GetPropList', 'GetProps',
                                   'GetSpecialTable', 'GetTemplateInfo', 'ModLinkAtt', 'ModProps', 'QueryColumns',
                                   'QueryRows', 'ResolveNames', 'ResortRestriction', 'SeekEntries', 'UpdateStat',
                                   'GetMailboxUrl', 'GetAddressBookUrl', 'PING', 'MAPI request'],
}
# DejaVu Sans (Debian's default sans font) at 10 pt on a 96 dpi screen: 7.7 px per character for
# "endpoint-mapper", 8.4 for "GetAddressBookUrl" at 11 pt; plus the cell's margins.
PX_PER_CHAR, PADDING = 8, 12


def test_recent_gives_each_exchange_column_a_width_that_fits_its_values():
    """Wireshark keeps packet-list column widths in the profile's "recent" file (ui/recent.c, key
    column.width: pairs of column format, custom ones as "%Cus:<field>", and pixels).  4.0 finds a column's
    width by its format, 4.4 and later by position: the list follows gui.column.format exactly."""
    prefs = (PROFILE / 'preferences').read_text()
    columns = re.search(r'^gui\.column\.format:\n((?:\s+.*\n)+)', prefs, re.M).group(1)
    formats = re.findall(r'"[^"]*",\s*"([^"]+)"', columns)
    assert len(formats) == 12, formats
    recent = (PROFILE / 'recent').read_text()
    value = re.search(r'^column\.width:\n((?:\s+.*\n?)+)', recent, re.M).group(1)
    items = [i.strip() for i in value.replace('\n', ' ').split(',')]
    assert len(items) % 2 == 0, items
    listed = [f.strip('"') for f in items[::2]]
    assert listed == [re.sub(r'^(%Cus:[^:]+):.*', r'\1', f) for f in formats]
    widths = dict(zip(listed, map(int, items[1::2])))
    assert {f[len('%Cus:'):] for f in widths if f.startswith('%Cus:')} == set(COLUMN_VALUES), widths
    for field, values in COLUMN_VALUES.items():
        need = PX_PER_CHAR * max(map(len, values)) + PADDING
        assert widths[f'%Cus:{field}'] >= need, (field, widths[f'%Cus:{field}'], need)
    # Only the key Wireshark's recent file has for this: nothing else in it.
    assert [line.split(':')[0] for line in recent.splitlines() if line and not line[0].isspace()
            and not line.startswith('#')] == ['column.width']
