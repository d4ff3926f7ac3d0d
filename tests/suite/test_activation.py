"""The plugin works only where something reads its output (issue 15).

Its evidence comes from stock fields, and wanting them makes tshark build a protocol tree on every frame, which
costs a stock statistic half as much again.  So the plugin asks for them only when the run reads what it says:
its tables, an exchange.* field named anywhere (filter, -e, column, Lua), a printed tree, a filter on the
protocol itself, the preference exchange.always_analyse, and Wireshark itself (test_gui).  Each such run must
give exactly what the always-on plugin gives (the preference, i.e. the behaviour before); each run that reads
nothing of it must be stock tshark's, and on 4.0, whose debug log says so, build no tree.
"""
import json
import re
import shutil
import subprocess

import pytest

from conftest import TESTS, series

ALWAYS = ('-o', 'exchange.always_analyse:TRUE')
STOCK = ('--disable-protocol', 'exchange')
FIRST = 'rpc-tcp-bind-first-frame.pcap'           # frame 1 is the evidence (a BIND to RFR)
CAPTURES = [FIRST, 'rpc-tcp-bind-first-frame-negative.pcap', 'rpc-tcp-midstream.pcap', 'mapi-http-outlook.pcapng',
            'rpc-http-outlook.pcapng', 'ews-autodiscover-nokeys.pcap']

# Runs that read the plugin's output, as tshark arguments after -r CAPTURE.
READERS = {
    'table': ('-q', '-z', 'exchange,conns'),
    'table, -2': ('-2', '-q', '-z', 'exchange,clients'),
    'field in -e, -2 (first pass builds no tree)': ('-2', '-T', 'fields', '-e', 'frame.number', '-e', 'exchange.role',
                                                    '-e', 'exchange.evidence'),
    'field in a filter': ('-Y', 'exchange.role == "directory"', '-T', 'fields', '-e', 'frame.number'),
    'the protocol in a filter': ('-Y', 'exchange', '-T', 'fields', '-e', 'frame.number'),
    'the protocol in a filter, -2': ('-2', '-Y', 'exchange', '-T', 'fields', '-e', 'frame.number'),
    'printed tree': ('-V',),
    'PDML': ('-T', 'pdml'),
    'custom column': ('-o', 'gui.column.format:"No.","%m","Role","%Cus:exchange.role:0:R"'),
    'expert tap filtered on the protocol': ('-q', '-z', 'expert,exchange'),
    'expert infos in a filter, -2': ('-2', '-Y', '_ws.expert', '-T', 'fields', '-e', 'frame.number',
                                     '-e', '_ws.expert.message'),
}
# Runs that read nothing of it: stock output, stock cost.
UNUSED = {
    'conv,tcp': ('-q', '-z', 'conv,tcp'),
    'io,phs': ('-q', '-z', 'io,phs'),
    'summary lines': (),
    'stock filter and fields': ('-Y', 'tcp.port == 59532 || tcp.port == 443', '-T', 'fields', '-e', 'frame.number',
                                '-e', 'frame.protocols', '-e', '_ws.col.Info'),
    'stock filter, -2': ('-2', '-Y', 'dcerpc || http', '-T', 'fields', '-e', 'frame.protocols'),
    # fields the plugin reads too: kept for the first frame until it decides, then left as tshark primed them
    'stock fields the plugin reads': ('-Y', 'tcp', '-T', 'fields', '-e', 'frame.number', '-e', 'tcp.payload',
                                      '-e', 'http.request.uri', '-e', 'dcerpc.cn_bind_to_uuid', '-e', 'tls.record.length'),
}


def without_pdml_header(text):
    # PDML names the capture file and the time it was written
    return re.sub(r'<pdml [^>]*>', '<pdml>', text)


@pytest.mark.parametrize('reader', list(READERS))
@pytest.mark.parametrize('capture', CAPTURES)
def test_every_reader_gets_what_the_always_on_plugin_gives(tshark, capture, reader):
    args = READERS[reader]
    mine = tshark.out('-r', capture, *args)
    always = tshark.out('-r', capture, *args, *ALWAYS)
    assert without_pdml_header(mine) == without_pdml_header(always)


def test_first_frame_evidence_counts_when_the_first_frame_decides(tshark):
    """-Y exchange names no field: only the first frame tells that the plugin is wanted, and that frame is the
    BIND that decides stream 0.  Its stock fields are kept for that case (exchange_activation.c primes them)."""
    assert tshark.frames(FIRST, 'exchange')[:3] == [1, 2, 5]
    assert tshark.frames(FIRST, 'exchange', *STOCK) == []


@pytest.mark.parametrize('run', list(UNUSED))
@pytest.mark.parametrize('capture', CAPTURES)
def test_a_run_that_reads_nothing_of_the_plugin_is_stock(tshark, capture, run):
    args = UNUSED[run]
    assert tshark.out('-r', capture, *args) == tshark.out('-r', capture, *args, *STOCK)


def test_writing_a_copy_is_stock(tshark, tmp_path):
    out = tshark.run('-r', 'mapi-http-outlook.pcapng', '-w', '-').stdout
    assert out == tshark.run('-r', 'mapi-http-outlook.pcapng', '-w', '-', *STOCK).stdout


def builds_tree(tshark, *extra):
    """tshark's own answer (its debug log, 4.0) to "does this run build a protocol tree?"."""
    err = tshark.run('-q', '-r', 'mapi-http-outlook.pcapng', '--log-level', 'debug', *extra).stderr
    answers = re.findall(r'create_proto_tree = (TRUE|FALSE)', err)
    assert answers, 'tshark no longer logs its create_proto_tree decision'
    return answers[-1] == 'TRUE'


def test_only_a_reader_costs_a_tree(tshark):
    if series() != '4.0':
        pytest.skip(f'tshark {series()} does not log its create_proto_tree decision (4.0 does); the runs above '
                    'prove the output, and the benchmark measures the cost on the newest series')
    assert not builds_tree(tshark, '-z', 'conv,tcp')
    assert builds_tree(tshark, '-z', 'exchange,clients')
    assert builds_tree(tshark, '-z', 'conv,tcp', *ALWAYS)
    assert not builds_tree(tshark, '-z', 'exchange,clients', *STOCK)


def test_two_pass_printed_tree_needs_a_sign_before_the_first_pass(tshark):
    """tshark -2 -V alone builds no tree on its first pass, so nothing there tells that the second pass will
    print the plugin's tree: the plugin stays out (stock output), and naming it in any way brings it back."""
    capture = 'mapi-http-outlook.pcapng'
    plain = tshark.out('-r', capture, '-2', '-V')
    assert plain == tshark.out('-r', capture, '-2', '-V', *STOCK)
    assert 'Role: mailbox' in tshark.out('-r', capture, '-2', '-V', *ALWAYS)
    assert 'Role: mailbox' in tshark.out('-r', capture, '-2', '-V', '-Y', 'exchange || !exchange')


def test_lua_field_names_the_plugin(tshark):
    """A Lua script's Field.new("exchange.role") is a lookup like any other."""
    if not re.search(r'(with |\+)Lua', tshark.out('-v')):      # 4.6 lists it as +Lua 5.4.9
        pytest.skip(f'this tshark {series()} is built without Lua')
    script = tshark.add_file(TESTS / 'suite' / 'roles.lua')
    out = tshark.out('-q', '-r', 'mapi-http-outlook.pcapng', '-X', f'lua_script:{script}')
    assert out.strip() == 'directory 1, mailbox 0'


def test_sharkd_analyses_before_it_is_asked(tshark):
    """sharkd (Wireshark's engine behind web front ends) reads the file first and is asked for a filter only
    then, like the GUI: it always analyses."""
    if not shutil.which('sharkd'):
        pytest.skip(f'no sharkd beside tshark {series()}')
    capture = 'mapi-http-outlook.pcapng'
    requests = [{'jsonrpc': '2.0', 'id': 1, 'method': 'load', 'params': {'file': str(tshark.caps / capture)}},
                {'jsonrpc': '2.0', 'id': 2, 'method': 'frames', 'params': {'filter': 'exchange.role == "mailbox"'}}]
    proc = subprocess.run(tshark.prefix() + ['sharkd', '-'], input=''.join(json.dumps(r) + '\n' for r in requests),
                          cwd=tshark.caps, env=tshark.env(), capture_output=True, text=True, timeout=300)
    answers = {a['id']: a for a in map(json.loads, (line for line in proc.stdout.splitlines() if line.startswith('{')))}
    assert answers[1]['result']['status'] == 'OK', proc.stdout + proc.stderr
    frames = [int(f['num']) for f in answers[2]['result']]
    assert frames and frames == tshark.frames(capture, 'exchange.role == "mailbox"', '-2')
