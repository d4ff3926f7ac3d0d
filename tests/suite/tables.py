"""Reading the plugin's -z tables and a pcapng's TLS secrets: helpers shared by the test modules.

Nothing here asserts what a capture must show (that is in expectations.py's data); it only reads.
"""

# The order the GUI dialog shows: role, process and client first, Evidence before the short Stream.
HEADER = ['Role', 'Process', 'Client', 'Server', 'Transport', 'Confidence', 'Requests', 'Failures', 'Failed at',
          'Avg response (ms)', 'Start (s)', 'Duration (s)', 'Frames', 'Bytes', 'Front end', 'Back end', 'Interface',
          'RPC target', 'Decided in', 'Evidence', 'Stream']
ROLE, PROCESS, CLIENT, SERVER, TRANSPORT, CONF, REQUESTS, FAILURES, FAILED_AT, AVG_RESPONSE, START, DURATION, FRAMES, \
    BYTES, FRONTEND, BACKEND, IFACE, TARGET, DECIDED, EVIDENCE, STREAM = range(len(HEADER))

ROLES = ['mailbox', 'directory', 'rpc-in', 'rpc-out', 'ews', 'autodiscover', 'oab', 'endpoint-mapper', 'unknown']
CLIENTS_HEADER = ['Process', 'PID', 'Host', 'Source'] + ROLES + ['Total', 'Back ends']
# (title, table name, header) of the two -z tables
CONNS_TITLE = ('Exchange Connections:', 'Exchange connections', HEADER)
CLIENTS_TITLE = ('Exchange Connections per Client Process:', 'Exchange connections per client process', CLIENTS_HEADER)


def stat_table(tshark, capture, title, name, header, *extra, arg):
    """Rows (lists of stripped cells) of one -z stat_tap_table, checking its title and header."""
    return parse_stat_table(tshark.out('-q', '-r', capture, '-z', arg, *extra), title, name, header)


def parse_stat_table(out, title, name, header):
    """Rows of the table titled `title` in tshark's output (which may hold several -z tables)."""
    lines = out.splitlines()
    head = lines.index(title)
    assert lines[head + 2].split(' |')[:-1] == header
    assert lines[head + 3] == name
    rows = []
    for line in lines[head + 4:]:
        if line.startswith('====='):
            break
        rows.append([cell.strip() for cell in line.split(' |')[:-1]])
    return rows


def conns_table(tshark, capture, *extra, arg='exchange,conns'):
    return stat_table(tshark, capture, *CONNS_TITLE, *extra, arg=arg)


def clients(tshark, capture, *extra, arg='exchange,clients'):
    """{(host, process, pid, source): {role: count, ..., 'total': n}} from -z exchange,clients."""
    return clients_from_rows(stat_table(tshark, capture, *CLIENTS_TITLE, *extra, arg=arg))


def client_key(cells):
    """(host, process, pid, source) of a -z exchange,clients row (whose columns start process, PID, host)."""
    process, pid, host, source = cells[:4]
    return host, process, pid, source


def clients_from_rows(rows):
    """{(host, process, pid, source): {role: count, ..., 'total': n}}: the counts only (clients_backends()
    reads the last column)."""
    return {client_key(cells): {role: int(n) for role, n in zip(ROLES + ['total'], cells[4:-1]) if int(n)}
            for cells in rows}


def clients_backends(rows):
    """{(host, process, pid, source): back ends cell} from -z exchange,clients rows."""
    return {client_key(cells): cells[-1] for cells in rows}


def extract_keylog(pcapng, out, only=None):
    """The key log of a pcapng's Decryption Secrets Block (the first `only` secrets if given)."""
    data, lines, pos = pcapng.read_bytes(), [], 0
    while pos + 12 <= len(data):
        block_type, length = int.from_bytes(data[pos:pos + 4], 'little'), int.from_bytes(data[pos + 4:pos + 8], 'little')
        if block_type == 0x0A:
            size = int.from_bytes(data[pos + 12:pos + 16], 'little')
            lines += [ln for ln in data[pos + 16:pos + 16 + size].decode().splitlines() if ln.startswith('CLIENT_RANDOM')]
        pos += length
    assert lines, f'{pcapng.name} has no TLS secrets'
    out.write_text('\n'.join(lines[:only]) + '\n')
    return out
