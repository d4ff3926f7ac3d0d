#!/usr/bin/python3
"""Generate the process-attribution captures from captures already in this folder.

Process information never comes from the wire: capture tools add it beside the packets. These
scenarios take the committed recordings (made by gen_http.py and gen_rpc_tcp.py from real stacks) and
add what each tool adds, or combine them the way a capture on a busy network would hold them:

    pid-comments        mapi-http-cleartext.pcap with etl2pcapng's per-packet comment
                        "PID=<n> TID=<m>" (editcap -a). Frames the client sends carry Outlook's
                        PID 4028; frames it receives carry the context the NDIS event ran in
                        (PID 4 or 0, DPC context), as etl2pcapng's README warns.
    ptcpdump-comments   the same recording with ptcpdump's comment "PID: <n>\\nCmd: <comm>\\nArgs: ..."
                        naming the Python process that really ran the client (PID 3141, python3).
    pktap               the same recording as macOS `tcpdump -i pktap -k` writes it (DLT_PKTAP 258):
                        each frame behind a PKTAP header naming PID 4028 "Microsoft Outlook".
    multi-client        three clients' traffic in one capture: host A 192.168.2.56 with Outlook's
                        MAPI/HTTP connections (mapi-http-cleartext, ports 50701/50702) and a second
                        process's TLS connections (ews-autodiscover-nokeys, client ports 50801..50803);
                        host B 192.168.2.57 with Outlook over RPC/TCP (rpc-tcp-outlook-start, client
                        ports 51001..51005), starting 2 s later. maps/multi-client.txt names them.
    mapi-http-extra-mailbox  Outlook holding two MAPI/HTTP sessions to one mailbox at once:
                        mapi-http-cleartext twice, the copy on client ports 50703/50704, 0.2 s later.
    tcp-port-reuse      one client port used three times in turn to the same server port: the
                        mailbox connection of mapi-http-cleartext (client port 50701), then
                        http-lookalike-negative's connection (same addresses and ports), then the
                        directory connection of mapi-http-cleartext moved from 50702 to 50701,
                        each 0.5 s after the last frame of the one before.

Run with Debian's python3 (no root needed): /usr/bin/python3 tests/generators/gen_process.py [scenario ...]
"""
import os
import struct
import subprocess
import sys

from scapy.all import IP, TCP, Ether, rdpcap, wrpcap

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test-captures')
MAPI = os.path.join(HERE, 'mapi-http-cleartext.pcap')
CLIENT, SERVER = '192.168.2.56', '192.168.2.50'


def from_client(p):
    return p[IP].src == CLIENT


def with_comments(source, out, comment_of):
    """editcap -a N:comment for every frame (pcapng out)."""
    pkts = rdpcap(source)
    args = ['editcap', '-F', 'pcapng']
    for n, p in enumerate(pkts, 1):
        args += ['-a', f'{n}:{comment_of(n, p)}']
    subprocess.run(args + [source, os.path.join(HERE, out)], check=True)
    print(f'{out}: {len(pkts)} frames, comments added')


def etl2pcapng_comment(n, p):
    if from_client(p):
        return f'PID=4028 TID={5120 + 4 * (p[TCP].sport % 2)}'
    return 'PID=4 TID=88' if n % 3 else 'PID=0 TID=0'


def ptcpdump_comment(n, p):
    return 'PID: 3141\nCmd: python3\nArgs: python3 gen_http.py mapi-http-cleartext'


PKTAP_HDR = '<IIi24sIIIIi20sIHHi20s'    # struct pktap_header (net/pktap.h), host (little) endian


def pktap_header(pid, cmd):
    hdr_len = struct.calcsize(PKTAP_HDR)
    return struct.pack(PKTAP_HDR, hdr_len, 1, 1, b'en0', 0, 2, 14, 0, pid, cmd.encode(), 0, 6, 0, pid,
                       cmd.encode())


def pktap(out):
    """DLT_PKTAP (258): every Ethernet frame behind a PKTAP header naming its process."""
    pkts = rdpcap(MAPI)
    with open(os.path.join(HERE, out), 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 258))   # pcap header, DLT_PKTAP
        for p in pkts:
            frame = pktap_header(4028, 'Microsoft Outlook') + bytes(p)
            usec = int(round((float(p.time) % 1) * 1e6))
            f.write(struct.pack('<IIII', int(p.time), usec, len(frame), len(frame)) + frame)
    print(f'{out}: {len(pkts)} frames')


def moved(pkts, client=None, port_base=None, first_port=None, delay=0.0, t0=None):
    """Copies of pkts with the client address and/or ports renumbered and times shifted."""
    out = []
    start = float(pkts[0].time)
    for p in pkts:
        q = p.copy()
        ip, tcp = q[IP], q[TCP]
        c_side = ip.src == CLIENT
        if client:
            if c_side:
                ip.src = client
            else:
                ip.dst = client
        if port_base:
            if c_side:
                tcp.sport = port_base + tcp.sport - first_port
            else:
                tcp.dport = port_base + tcp.dport - first_port
        del ip.chksum, tcp.chksum
        q = Ether(bytes(q))
        q.time = (t0 if t0 is not None else start) + (float(p.time) - start) + delay
        out.append(q)
    return out


def write_merged(out, *parts):
    pkts = sorted((p for part in parts for p in part), key=lambda p: float(p.time))
    wrpcap(os.path.join(HERE, out), pkts)
    print(f'{out}: {len(pkts)} frames')


def multi_client(out):
    mapi = rdpcap(MAPI)
    t0 = float(mapi[0].time)
    ews = moved(rdpcap(os.path.join(HERE, 'ews-autodiscover-nokeys.pcap')), port_base=50801, first_port=50701,
                delay=0.5, t0=t0)
    rpc = moved(rdpcap(os.path.join(HERE, 'rpc-tcp-outlook-start.pcap')), client='192.168.2.57', port_base=51001,
                first_port=50701, delay=2.0, t0=t0)
    write_merged(out, mapi, ews, rpc)


def extra_mailbox(out):
    mapi = rdpcap(MAPI)
    twin = moved(mapi, port_base=50703, first_port=50701, delay=0.2, t0=float(mapi[0].time))
    write_merged(out, mapi, twin)


def port_reuse(out):
    """Three connections on one address and port pair, one after the other: TCP's reused-port rule
    makes each its own stream, and no role may pass from one to the next."""
    mapi = rdpcap(MAPI)
    mailbox = [p for p in mapi if 50701 in (p[TCP].sport, p[TCP].dport)]
    directory = [p for p in mapi if 50702 in (p[TCP].sport, p[TCP].dport)]
    other = rdpcap(os.path.join(HERE, 'http-lookalike-negative.pcap'))
    middle = moved(other, t0=float(mailbox[-1].time), delay=0.5)
    last = moved(directory, port_base=50701, first_port=50702, t0=float(middle[-1].time), delay=0.5)
    write_merged(out, mailbox, middle, last)


def main(argv):
    scenarios = {
        'pid-comments': lambda: with_comments(MAPI, 'pid-comments.pcapng', etl2pcapng_comment),
        'ptcpdump-comments': lambda: with_comments(MAPI, 'ptcpdump-comments.pcapng', ptcpdump_comment),
        'pktap': lambda: pktap('pktap-mapi.pcap'),
        'multi-client': lambda: multi_client('multi-client.pcap'),
        'mapi-http-extra-mailbox': lambda: extra_mailbox('mapi-http-extra-mailbox.pcap'),
        'tcp-port-reuse': lambda: port_reuse('tcp-port-reuse.pcap'),
    }
    wanted = argv or list(scenarios)
    unknown = set(wanted) - set(scenarios)
    if unknown:
        sys.exit(f'unknown scenario(s): {" ".join(sorted(unknown))}; known: {" ".join(scenarios)}')
    for name in wanted:
        scenarios[name]()


if __name__ == '__main__':
    main(sys.argv[1:])
