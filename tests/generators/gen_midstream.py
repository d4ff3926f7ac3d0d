#!/usr/bin/python3
"""Generate the captures that begin mid-conversation from captures already in this folder.

A capture started late holds no SYN, no TLS handshake and no BIND of the connections that were open
already.  These scenarios cut committed recordings (made by gen_rpc_tcp.py and gen_http.py from real
stacks) with editcap, keeping a frame range, so the kept connections begin mid-stream:

    rpc-tcp-midstream            rpc-tcp-outlook-start.pcap frames 45-66: the EMSMDB connection from
                                 its first call on (its handshake and BIND are before frame 45), the
                                 NSPI connection's closing frames only, and the whole AsyncEMSMDB
                                 connection (handshake, BIND AsyncEMSMDB on the same server port 59531)
    rpc-tcp-other-port-bind      rpc-tcp-outlook-start.pcap frames 36-48, 58-59 and 61-64: the NSPI
                                 connection from its NspiBind call on (handshake and BIND cut), then
                                 the whole EMSMDB connection to another port of the same server (its
                                 BIND proves the server Exchange), and the closing frames
    rpc-tcp-bind-first-frame     rpc-tcp-outlook-start.pcap frames 18-66: the capture's first frame is
                                 the RFR connection's BIND (its handshake cut), so the evidence that
                                 decides a role is in frame 1, where tshark decides whether the
                                 plugin is wanted at all
    rpc-tcp-bind-first-frame-negative  its negative twin: rpc-tcp-negative.pcap frames 16-50, frame 1
                                 is a BIND to SAMR, the rest SAMR, LSARPC and a near-miss of EMSMDB
    rpc-http-midstream-nokeys    rpc-http-outlook-nokeys.pcap frames 23-46, 90-93 and 95-97: the first
                                 virtual connection's IN and OUT channels after both TLS handshakes
                                 (no ClientHello, no SNI), then their closing frames
    mapi-http-midstream-nokeys   mapi-http-outlook-nokeys.pcap frames 39-71: both connections after
                                 the second one's TLS handshake (no ClientHello, no SNI)

keep some connections of a recording whole (tshark display filter):

    rpc-http-out-channels-nokeys  rpc-http-outlook-nokeys.pcap streams 1 and 3 (client ports 50702,
                                  50704): the OUT channels of both virtual connections, without their
                                  IN channels -- two one-way connections running the same way

and add a real DNS exchange before one of them, recorded on loopback (a UDP socket sends a DNS query
built with scapy to a responder answering with a scapy-built DNS answer, dumpcap records both),
rewritten as the client 192.168.2.56 asking its resolver 192.168.2.1:

    rpc-http-dns-midstream-nokeys   A mail.contoso.com? -> 192.168.2.50, then rpc-http-midstream-nokeys
    rpc-http-dns-other-name-nokeys  negative twin: A www.contoso.com? -> 192.168.2.50, then the same
    rpc-http-dns-late-nokeys        rpc-http-midstream-nokeys, then A mail.contoso.com? -> 192.168.2.50
                                    after its last frame (only a second pass can use it)

The frame ranges are those of the committed sources: regenerating a source can move them (check with
tshark that no kept connection's handshake or BIND remains before regenerating these).

Run with Debian's python3; the DNS scenarios record on lo, so as root:
    sudo /usr/bin/python3 tests/generators/gen_midstream.py [scenario ...]
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading

from scapy.all import DNS, DNSQR, DNSRR, IP, UDP, Ether, rdpcap, wrpcap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_rpc_tcp import capture  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test-captures')
CLIENT, SERVER, RESOLVER = '192.168.2.56', '192.168.2.50', '192.168.2.1'
MAC_CLIENT, MAC_GATEWAY = '00:15:5d:02:00:56', '00:15:5d:02:00:01'

# capture -> (source, frame ranges kept)
CUTS = {
    'rpc-tcp-midstream.pcap': ('rpc-tcp-outlook-start.pcap', ['45-66']),
    'rpc-tcp-other-port-bind.pcap': ('rpc-tcp-outlook-start.pcap', ['36-48', '58-59', '61-64']),
    'rpc-tcp-bind-first-frame.pcap': ('rpc-tcp-outlook-start.pcap', ['18-66']),
    'rpc-tcp-bind-first-frame-negative.pcap': ('rpc-tcp-negative.pcap', ['16-50']),
    'rpc-http-midstream-nokeys.pcap': ('rpc-http-outlook-nokeys.pcap', ['23-46', '90-93', '95-97']),
    'mapi-http-midstream-nokeys.pcap': ('mapi-http-outlook-nokeys.pcap', ['39-71']),
}
# capture -> (source, connections kept)
KEEPS = {
    'rpc-http-out-channels-nokeys.pcap': ('rpc-http-outlook-nokeys.pcap', 'tcp.port == 50702 || tcp.port == 50704'),
}
# capture -> (name asked, TLS part, the DNS exchange before it or after it)
DNS_FIRST = {
    'rpc-http-dns-midstream-nokeys.pcap': ('mail.contoso.com', 'rpc-http-midstream-nokeys.pcap', 'before'),
    'rpc-http-dns-other-name-nokeys.pcap': ('www.contoso.com', 'rpc-http-midstream-nokeys.pcap', 'before'),
    'rpc-http-dns-late-nokeys.pcap': ('mail.contoso.com', 'rpc-http-midstream-nokeys.pcap', 'after'),
}


def cut(out):
    source, ranges = CUTS[out]
    subprocess.run(['editcap', '-r', os.path.join(HERE, source), os.path.join(HERE, out), *ranges], check=True)
    print(f'{out}: editcap -r {source} {out} {" ".join(ranges)}')


def keep(out):
    source, display_filter = KEEPS[out]
    subprocess.run(['tshark', '-r', os.path.join(HERE, source), '-Y', display_filter, '-F', 'pcap',
                    '-w', os.path.join(HERE, out)], check=True)
    print(f'{out}: tshark -r {source} -Y "{display_filter}" -w {out}')


def dns_exchange(name):
    """A real query and answer on loopback: A name? -> SERVER, as the client's resolver answers."""
    resolver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    resolver.bind(('127.0.0.1', 53))

    def answer():
        data, peer = resolver.recvfrom(512)
        query = DNS(data)
        reply = DNS(id=query.id, qr=1, aa=0, rd=query.rd, ra=1, qd=query.qd,
                    an=DNSRR(rrname=query.qd.qname, type='A', rclass='IN', ttl=3600, rdata=SERVER))
        resolver.sendto(bytes(reply), peer)
    responder = threading.Thread(target=answer)
    responder.start()

    def ask():
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.sendto(bytes(DNS(id=0x4d2e, rd=1, qd=DNSQR(qname=name, qtype='A'))), ('127.0.0.1', 53))
        reply = DNS(client.recv(512))
        assert reply.an.rdata == SERVER, reply.summary()
        client.close()
    try:
        pkts = capture('udp port 53', ask)
    finally:
        responder.join()
        resolver.close()
    out = []
    for p in pkts:
        from_client = p[UDP].dport == 53
        ip = IP(src=CLIENT if from_client else RESOLVER, dst=RESOLVER if from_client else CLIENT, ttl=128 if
                from_client else 64, id=p[IP].id)
        udp = p[UDP].copy()
        del udp.chksum
        del udp.len
        eth = Ether(src=MAC_CLIENT if from_client else MAC_GATEWAY, dst=MAC_GATEWAY if from_client else MAC_CLIENT)
        q = eth / ip / udp
        q.time = p.time
        out.append(q)
    assert len(out) == 2, [p.summary() for p in out]
    return out


def dns_first(out):
    name, tls, when = DNS_FIRST[out]
    dns = dns_exchange(name)
    rest = rdpcap(os.path.join(HERE, tls))
    # The answer 50 ms before the first TLS frame, the query as long before it as it was; or the
    # query 50 ms after the last TLS frame.
    if when == 'before':
        shift = float(rest[0].time) - 0.05 - float(dns[1].time)
    else:
        shift = float(rest[-1].time) + 0.05 - float(dns[0].time)
    for p in dns:
        p.time = float(p.time) + shift
    with tempfile.TemporaryDirectory() as tmp:
        wrpcap(os.path.join(tmp, 'dns.pcap'), dns)
        subprocess.run(['mergecap', '-F', 'pcap', '-w', os.path.join(HERE, out), os.path.join(tmp, 'dns.pcap'),
                        os.path.join(HERE, tls)], check=True)
    print(f'{out}: DNS A {name} -> {SERVER} {when} {tls}')


def main(argv):
    wanted = set(argv) or {n.rsplit('.', 1)[0] for n in (*CUTS, *KEEPS, *DNS_FIRST)}
    for out in CUTS:
        if out.rsplit('.', 1)[0] in wanted:
            cut(out)
    for out in KEEPS:
        if out.rsplit('.', 1)[0] in wanted:
            keep(out)
    for out in DNS_FIRST:
        if out.rsplit('.', 1)[0] in wanted:
            dns_first(out)


if __name__ == '__main__':
    main(sys.argv[1:])
