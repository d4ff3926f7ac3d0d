#!/usr/bin/python3
"""Generate a large, mixed benchmark capture for the exchange plugin.

Deterministic for a given --seed and --scale.  Standard library only (Debian's
/usr/bin/python3); packets are handled as raw bytes with struct.

The capture is built from the small real captures in test-captures/ (made with
real stacks, see test-captures/README.md), each replicated many times:

* Exchange sessions, every transport: RPC/TCP with the endpoint mapper
  (rpc-tcp-outlook-start, rpc-tcp-static-ports, rpc-tcp-late-start,
  rpc-tcp-bind-no-epm), RPC/HTTP (rpc-http-outlook with keys, its -nokeys twin,
  cleartext rpc-http-port-mismatch), MAPI/HTTP (mapi-http-outlook with keys, its
  -nokeys twin, mapi-http-cleartext), EWS and Autodiscover (ews-autodiscover
  with keys, its -nokeys twin, exchange-online-nokeys).
* Ordinary traffic, the majority of packets: web TLS (https-browsing-negative,
  decrypted), TLS to look-alike names (sni-lookalike-negative), cleartext HTTP
  (http-lookalike-negative), other DCE/RPC (rpc-tcp-negative: EPM, SAMR, LSA),
  synthesized DNS over UDP, synthesized SMB2 file reads over TCP 445 and large
  web-TLS downloads (the handshake of https-browsing-negative's second
  connection followed by a synthesized bulk of encrypted records).

Each copy gets a client from a pool of client hosts in 10.64.0.0/10, its own
client ports (unique per client, so 4-tuples never collide), a server from a
small pool for its kind (an RPC/TCP copy keeps the endpoint mapper and the data
connections on one server, and the towers of its ept_map answers are rewritten
to that server's address so learned endpoints hold), and a start time spread
over the capture's span, so copies interleave.  All copies are merged by time
through a heap, so only the copies in flight are held in memory.

TLS: one Decryption Secrets Block holds the union of the templates' key logs.
Copies of a keyed template keep their handshake, so the same key-log line
decrypts every copy.  The -nokeys templates hold the very same handshakes as
their keyed twins, so their copies (and the bulk downloads) get fresh client
and server randoms and session IDs: no key-log line matches them.  IPv4 and
TCP/UDP checksums are recomputed.

Writes PCAPNG (SHB, one Ethernet IDB, the DSB, EPBs) and, beside it, a JSON
manifest with the plan and the role totals that `tshark -2 -z exchange,clients`
must show (tests/bench/bench.py --check compares them).

    /usr/bin/python3 tests/bench/gen_bench.py                 # 1x -> /tmp/exchange-bench/bench-1x.pcapng
    /usr/bin/python3 tests/bench/gen_bench.py --scale 2       # 2x -> /tmp/exchange-bench/bench-2x.pcapng
    /usr/bin/python3 tests/bench/gen_bench.py --scale 0.02 --out /tmp/exchange-bench/small.pcapng
"""
import argparse
import heapq
import json
import os
import random
import struct
import time
from pathlib import Path

CAPS = Path(__file__).resolve().parents[2] / 'test-captures'
OUT_DIR = Path('/tmp/exchange-bench')

TLSK = 0x544C534B
T_CLIENT = bytes([192, 168, 2, 56])
T_SERVER = bytes([192, 168, 2, 50])
ROUTER_MAC = bytes.fromhex('001daa100001')
# gen_http.py's fixed RTS cookies (VC, IN, OUT channel, association group of virtual connection n), as
# GUIDs on the wire; cleartext RPC/HTTP copies get random ones so each copy is its own virtual connection.
RTS_COOKIES = [struct.pack('<IHH', pfx, 0, 0x4000) + bytes([0x80, 0, 0, 0, 0, 0, 0, n])
               for pfx in (0x7C000000, 0x1C000000, 0x0C000000, 0xA9000000) for n in range(1, 10)]

SPAN_US = 900 * 1_000_000          # capture span at scale 1 (15 min); scales with --scale
BASE_TS = 1709542800 * 1_000_000   # 2024-03-04 09:00:00 UTC

SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
MSS = 1448                         # 1500 - IP - TCP with timestamps

ROLES = ['mailbox', 'directory', 'rpc-in', 'rpc-out', 'ews', 'autodiscover', 'oab', 'endpoint-mapper', 'unknown']

# Exchange templates: file, share of the Exchange session copies, re-randomize TLS handshakes,
# server pool, and per TCP connection (in client-port order) the kind (ground truth) and the role
# `tshark -2` must give it in the mixed capture.  The -nokeys copies to mail.contoso.com are
# Exchange hosts there (the decrypted and cleartext copies served Exchange requests under that
# name), so they come out as with -o exchange.servers:mail.contoso.com.
EXCHANGE = [
    ('rpc-tcp-outlook-start.pcap', 0.14, False, 'exch',
     [('rpc-tcp/epm', 'endpoint-mapper'), ('rpc-tcp/rfr', 'directory'), ('rpc-tcp/nspi', 'directory'),
      ('rpc-tcp/emsmdb', 'mailbox'), ('rpc-tcp/async-emsmdb', 'mailbox')]),
    ('rpc-tcp-late-start.pcap', 0.04, False, 'exch',
     [('rpc-tcp/epm', 'endpoint-mapper'), ('rpc-tcp/rfr-learned', 'directory'),
      ('rpc-tcp/nspi-learned', 'directory'), ('rpc-tcp/emsmdb-learned', 'mailbox'),
      ('rpc-tcp/async-emsmdb-learned', 'mailbox')]),
    ('rpc-tcp-static-ports.pcap', 0.06, False, 'exch',
     [('rpc-tcp/epm', 'endpoint-mapper'), ('rpc-tcp/emsmdb-6001', 'mailbox'),
      ('rpc-tcp/nspi-6004', 'directory')]),
    ('rpc-tcp-bind-no-epm.pcap', 0.04, False, 'exch',
     [('rpc-tcp/rfr', 'directory'), ('rpc-tcp/nspi', 'directory'), ('rpc-tcp/emsmdb', 'mailbox'),
      ('rpc-tcp/async-emsmdb', 'mailbox')]),
    ('rpc-http-outlook.pcapng', 0.10, False, 'exch',
     [('rpc-http/tls-keys', 'rpc-in'), ('rpc-http/tls-keys', 'rpc-out'), ('rpc-http/tls-keys', 'rpc-in'),
      ('rpc-http/tls-keys', 'rpc-out')]),
    ('rpc-http-outlook-nokeys.pcap', 0.08, True, 'exch',
     [('rpc-http/tls-nokeys', 'rpc-in'), ('rpc-http/tls-nokeys', 'rpc-out'),
      ('rpc-http/tls-nokeys', 'rpc-in'), ('rpc-http/tls-nokeys', 'rpc-out')]),
    ('rpc-http-port-mismatch.pcap', 0.03, False, 'exch',
     [('rpc-http/cleartext', 'rpc-in'), ('rpc-http/cleartext', 'rpc-out'), ('rpc-http/cleartext-echo', None)]),
    ('mapi-http-outlook.pcapng', 0.16, False, 'exch',
     [('mapi-http/tls-keys', 'mailbox'), ('mapi-http/tls-keys', 'directory')]),
    ('mapi-http-outlook-nokeys.pcap', 0.10, True, 'exch',
     [('mapi-http/tls-nokeys', 'unknown'), ('mapi-http/tls-nokeys', 'unknown')]),
    ('mapi-http-cleartext.pcap', 0.04, False, 'exch',
     [('mapi-http/cleartext', 'mailbox'), ('mapi-http/cleartext', 'directory')]),
    ('ews-autodiscover.pcapng', 0.10, False, 'exch',
     [('autodiscover/tls-keys', 'autodiscover'), ('ews+oab/tls-keys', 'ews'),
      ('autodiscover/tls-keys', 'autodiscover')]),
    ('ews-autodiscover-nokeys.pcap', 0.06, True, 'exch',
     [('autodiscover/tls-nokeys', 'autodiscover'), ('ews+oab/tls-nokeys', 'unknown'),
      ('autodiscover/tls-nokeys', 'unknown')]),
    ('exchange-online-nokeys.pcap', 0.05, True, 'exo',
     [('autodiscover/exchange-online-nokeys', 'autodiscover'), ('ews/exchange-online-nokeys', 'unknown')]),
]
EXCHANGE_COPIES = 4000             # Exchange session copies at scale 1 (about 12 800 connections)

# Ordinary template copies at scale 1: file, copies, re-randomize TLS, server pool, kind.
ORDINARY = [
    ('https-browsing-negative.pcapng', 3000, False, 'web', 'web-tls/keys'),
    ('sni-lookalike-negative.pcap', 600, True, 'web', 'web-tls/lookalike-nokeys'),
    ('http-lookalike-negative.pcap', 800, False, 'web', 'http/cleartext'),
    ('rpc-tcp-negative.pcap', 800, False, 'dc', 'dcerpc/epm+samr+lsa'),
]
WARM_FIRST = {'mapi-http-outlook.pcapng'}      # one copy opens the capture at t = 0 ...
AFTER_WARM = {'rpc-http-outlook-nokeys.pcap', 'mapi-http-outlook-nokeys.pcap', 'ews-autodiscover-nokeys.pcap'}
NOKEYS_AFTER_US = 2_000_000                     # ... and copies of these start 2 s later or more
DNS_TRANSACTIONS = 40000
SMB_SESSIONS = 250
CLASS_NAMES = {'dns': 'dns (synthesized)', 'smb': 'smb2 (synthesized)', 'bulk': 'web-tls bulk downloads'}
TARGET_PACKETS = 1_000_000         # large web-TLS downloads fill up to this
CLIENTS = 2500
WEB_NETS = [(93, 184), (151, 101), (104, 16), (13, 107), (140, 82)]


def ones(data):
    """One's-complement sum of 16-bit big-endian words, modulo 65535 (data at an even offset)."""
    if len(data) & 1:
        data += b'\0'
    return int.from_bytes(data, 'big') % 0xFFFF


def ip_int(a):
    return int.from_bytes(a, 'big')


# --------------------------------------------------------------------------- reading captures

def read_capture(path):
    """[(ts_us, frame)], [key-log bytes]; pcap or pcapng, Ethernet only."""
    data = path.read_bytes()
    if data[:4] == b'\x0a\x0d\x0d\x0a':
        return read_pcapng(data, path)
    return read_pcap(data, path), []


def read_pcap(data, path):
    for e in '<>':
        magic = struct.unpack(e + 'I', data[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        raise SystemExit(f'{path}: not a pcap file')
    nano = magic == 0xA1B23C4D
    if struct.unpack_from(e + 'I', data, 20)[0] & 0x0FFFFFFF != 1:
        raise SystemExit(f'{path}: not Ethernet')
    pkts, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack_from(e + 'IIII', data, off)
        off += 16
        pkts.append((sec * 1_000_000 + (frac // 1000 if nano else frac), data[off:off + incl]))
        off += incl
    return pkts


def read_pcapng(data, path):
    pkts, secrets, ifaces, e, off = [], [], [], '<', 0
    while off + 12 <= len(data):
        if data[off:off + 4] == b'\x0a\x0d\x0d\x0a':
            e = '<' if data[off + 8:off + 12] == b'\x4d\x3c\x2b\x1a' else '>'
            ifaces = []
        btype, blen = struct.unpack_from(e + 'II', data, off)
        body = data[off + 8:off + blen - 4]
        if btype == 1:
            linktype = struct.unpack_from(e + 'H', body, 0)[0]
            units, o = 1_000_000, 8
            while o + 4 <= len(body):
                code, olen = struct.unpack_from(e + 'HH', body, o)
                if code == 0:
                    break
                if code == 9:
                    v = body[o + 4]
                    units = 2 ** (v & 0x7F) if v & 0x80 else 10 ** v
                o += 4 + ((olen + 3) & ~3)
            ifaces.append((linktype, units))
        elif btype == 6:
            iface, hi, lo, cap, _ = struct.unpack_from(e + 'IIIII', body, 0)
            linktype, units = ifaces[iface]
            if linktype != 1:
                raise SystemExit(f'{path}: not Ethernet')
            pkts.append((((hi << 32) | lo) * 1_000_000 // units, body[20:20 + cap]))
        elif btype == 0x0A:
            stype, slen = struct.unpack_from(e + 'II', body, 0)
            if stype == TLSK:
                secrets.append(body[8:8 + slen])
        off += blen
    return pkts, secrets


# --------------------------------------------------------------------------- templates

class Pkt:
    __slots__ = ('dt', 'c2s', 'conn', 'srv_port', 'seq', 'ack', 'ackflag', 'ip_head', 'ip_opts', 'ip_rest',
                 'tcp_mid', 'tcp_tail', 'tcp_rest', 'payload', 'pay_sum', 'patch', 'flags')


class Template:
    """One template capture: client 192.168.2.56, server 192.168.2.50, IPv4/TCP over Ethernet."""

    def __init__(self, name, randomize_tls):
        self.name = name
        raw, self.secrets = read_capture(CAPS / name)
        t0 = raw[0][0]
        self.pkts, cports = [], []
        for ts, frame in raw:
            if frame[12:14] != b'\x08\x00':
                raise SystemExit(f'{name}: non-IPv4 frame')
            ihl = (frame[14] & 0x0F) * 4
            ip = frame[14:14 + ihl]
            total = struct.unpack('>H', ip[2:4])[0]
            src, dst = ip[12:16], ip[16:20]
            if ip[9] != 6:
                raise SystemExit(f'{name}: non-TCP frame')
            if (src, dst) == (T_CLIENT, T_SERVER):
                c2s = True
            elif (src, dst) == (T_SERVER, T_CLIENT):
                c2s = False
            else:
                raise SystemExit(f'{name}: unexpected addresses')
            l4 = frame[14 + ihl:14 + total]
            sport, dport, seq, ack = struct.unpack('>HHII', l4[:12])
            doff = (l4[12] >> 4) * 4
            hdr, payload = bytearray(l4[:doff]), l4[doff:]
            flags = hdr[13]
            if flags & SYN:           # loopback MSS 65495 -> Ethernet's 1460
                o = 20
                while o < doff and hdr[o] != 0:
                    if hdr[o] == 1:
                        o += 1
                        continue
                    if hdr[o] == 2 and hdr[o + 1] == 4:
                        hdr[o + 2:o + 4] = struct.pack('>H', 1460)
                    o += max(hdr[o + 1], 2)
            cport = sport if c2s else dport
            if cport not in cports:
                cports.append(cport)
            p = Pkt()
            p.dt = ts - t0
            p.c2s = c2s
            p.conn = cports.index(cport)
            p.srv_port = dport if c2s else sport
            p.seq, p.ack, p.flags = seq, ack, flags
            p.ackflag = bool(flags & ACK)
            p.ip_head, p.ip_opts = ip[:10], ip[20:]
            p.ip_rest = ones(ip[:10]) + ones(ip[20:])
            p.tcp_mid, p.tcp_tail = bytes(hdr[12:16]), bytes(hdr[18:])
            p.tcp_rest = ones(p.tcp_mid) + ones(p.tcp_tail) + 6 + len(l4)
            p.payload, p.pay_sum = payload, ones(payload)
            p.patch = None
            if (sport == 135 or dport == 135) and T_SERVER in payload:
                p.patch = 'epm'       # towers carry the server's address
            elif any(ck in payload for ck in RTS_COOKIES):
                p.patch = 'rts'       # cleartext RTS cookies
            elif randomize_tls and len(payload) > 44 and payload[0] == 0x16 and payload[1] == 3:
                if c2s and payload[5] == 1:
                    p.patch = 'ch'
                elif not c2s and payload[5] == 2:
                    p.patch = 'sh'
            self.pkts.append(p)
        self.nconns = len(cports)
        self.srv_ports = [next(p.srv_port for p in self.pkts if p.conn == c) for c in range(self.nconns)]
        self.randomize = randomize_tls
        if randomize_tls and not any(p.patch == 'ch' for p in self.pkts):
            raise SystemExit(f'{name}: no ClientHello found to re-randomize')

    def subset(self, conn):
        """A copy of this template with one TCP connection only (renumbered 0, time from 0)."""
        t = object.__new__(Template)
        t.name, t.secrets, t.randomize, t.nconns = f'{self.name}#{conn}', [], True, 1
        t.srv_ports = [self.srv_ports[conn]]
        sel = [p for p in self.pkts if p.conn == conn]
        t0 = sel[0].dt
        t.pkts = []
        for p in sel:
            q = Pkt()
            for s in Pkt.__slots__:
                setattr(q, s, getattr(p, s))
            q.dt, q.conn = p.dt - t0, 0
            if q.payload[:2] == b'\x16\x03' and len(q.payload) > 44:
                q.patch = 'ch' if q.c2s and q.payload[5] == 1 else 'sh' if not q.c2s and q.payload[5] == 2 else None
            t.pkts.append(q)
        return t


class Host:
    """Addresses of one end: IPv4 bytes and int, MAC."""
    __slots__ = ('ip', 'ipi', 'mac')

    def __init__(self, ip, mac=ROUTER_MAC):
        self.ip, self.ipi, self.mac = ip, ip_int(ip), mac


def client_host(i):
    n = (10 << 24) | (64 << 16) | ((i // 250) << 8) | (i % 250 + 2)
    ip = n.to_bytes(4, 'big')
    return Host(ip, b'\x00\x15\x5d' + ip[1:])


def tcp_frame(eth, src, dst, addr_sum, sp, dp, seq, ack, flags, win, opts, payload, ipid, pay_sum=None):
    doff = 20 + len(opts)
    iph = struct.pack('>BBHHHBB', 0x45, 0, 20 + doff + len(payload), ipid, 0x4000, 64, 6)
    ipc = 0xFFFF - (ones(iph) + addr_sum) % 0xFFFF
    mid = struct.pack('>BBH', doff << 2, flags, win)
    if pay_sum is None:
        pay_sum = ones(payload)
    s = (addr_sum + sp + dp + seq + ack + ones(mid) + ones(opts) + pay_sum + 6 + doff + len(payload)) % 0xFFFF
    return b''.join((eth, iph, struct.pack('>H', ipc), src, dst, struct.pack('>HHII', sp, dp, seq, ack), mid,
                     struct.pack('>HH', 0xFFFF - s, 0), opts, payload))


def udp_frame(eth, src, dst, addr_sum, sp, dp, payload, ipid):
    ulen = 8 + len(payload)
    iph = struct.pack('>BBHHHBB', 0x45, 0, 20 + ulen, ipid, 0, 128, 17)
    ipc = 0xFFFF - (ones(iph) + addr_sum) % 0xFFFF
    s = (addr_sum + 17 + ulen + sp + dp + ulen + ones(payload)) % 0xFFFF
    return b''.join((eth, iph, struct.pack('>H', ipc), src, dst, struct.pack('>HHHH', sp, dp, ulen, 0xFFFF - s),
                     payload))


def template_frames(tpl, start, cl, sv, ports, rng, pkts=None, shift=0, dt_shift=0):
    """Frames of one copy of tpl (or of its packets pkts) as [(ts_us, frame)].

    shift: bytes the server sent beyond the template (added to server seq, client ack);
    dt_shift: microseconds added to the template times."""
    addr_sum = cl.ipi + sv.ipi
    eth_c = sv.mac + cl.mac + b'\x08\x00'
    eth_s = cl.mac + sv.mac + b'\x08\x00'
    patches = {}
    cookies = {}
    out = []
    pack_h = struct.Struct('>H').pack
    pack_ports = struct.Struct('>HHII').pack
    for p in (tpl.pkts if pkts is None else pkts):
        payload, pay_sum = p.payload, p.pay_sum
        if p.patch:
            payload = patches.get(id(p))
            if payload is None:
                payload = patch_payload(p, sv, rng, cookies)
                patches[id(p)] = payload
            pay_sum = ones(payload)
        cport = ports[p.conn]
        if p.c2s:
            src, dst, sp, dp, eth = cl.ip, sv.ip, cport, p.srv_port, eth_c
            seq, ack = p.seq, ((p.ack + shift) & 0xFFFFFFFF) if p.ackflag else p.ack
        else:
            src, dst, sp, dp, eth = sv.ip, cl.ip, p.srv_port, cport, eth_s
            seq, ack = (p.seq + shift) & 0xFFFFFFFF, p.ack
        ipc = 0xFFFF - (p.ip_rest + addr_sum) % 0xFFFF
        tc = 0xFFFF - (p.tcp_rest + pay_sum + addr_sum + sp + dp + seq + ack) % 0xFFFF
        out.append((start + p.dt + dt_shift,
                    b''.join((eth, p.ip_head, pack_h(ipc), src, dst, p.ip_opts, pack_ports(sp, dp, seq, ack),
                              p.tcp_mid, pack_h(tc), p.tcp_tail, payload))))
    return out


def patch_payload(p, sv, rng, cookies):
    pl = p.payload
    if p.patch == 'epm':
        return pl.replace(T_SERVER, sv.ip)
    if p.patch == 'rts':
        for ck in RTS_COOKIES:
            if ck in pl:
                if ck not in cookies:
                    cookies[ck] = rng.randbytes(16)
                pl = pl.replace(ck, cookies[ck])
        return pl
    if p.patch == 'ch':
        return pl[:11] + rng.randbytes(32) + pl[43:]
    n = pl[43]                  # ServerHello: random, session ID
    return pl[:11] + rng.randbytes(32) + pl[43:44] + rng.randbytes(n) + pl[44 + n:]


# --------------------------------------------------------------------------- synthesized TCP

class TcpSim:
    """A synthesized TCP connection (timestamps option, MSS 1448) appending to out."""

    def __init__(self, out, t, cl, sv, cport, sport, rng, cseq=None, sseq=None, tsval=None):
        self.out, self.t, self.rng = out, t, rng
        self.h = (cl, sv)
        self.port = (cport, sport)
        self.addr_sum = cl.ipi + sv.ipi
        self.eth = (sv.mac + cl.mac + b'\x08\x00', cl.mac + sv.mac + b'\x08\x00')
        self.seq = [rng.getrandbits(32) if cseq is None else cseq, rng.getrandbits(32) if sseq is None else sseq]
        self.ipid = [rng.getrandbits(16), rng.getrandbits(16)]
        self.ts = list(tsval) if tsval else [rng.getrandbits(31), rng.getrandbits(31)]
        self.t0 = t
        self.unacked = [0, 0]

    def emit(self, d, flags, payload=b'', pay_sum=None, opts=None):
        src, dst = self.h[d].ip, self.h[1 - d].ip
        ms = (self.t - self.t0) // 1000
        if opts is None:
            opts = struct.pack('>BBBBII', 1, 1, 8, 10, (self.ts[d] + ms) & 0xFFFFFFFF,
                               (self.ts[1 - d] + ms) & 0xFFFFFFFF)
        ack = self.seq[1 - d] if flags & ACK else 0
        self.out.append((self.t, tcp_frame(self.eth[d], src, dst, self.addr_sum, self.port[d], self.port[1 - d],
                                           self.seq[d], ack, flags, 0x1F6 if d == 0 else 0x1F5, opts, payload,
                                           self.ipid[d], pay_sum)))
        self.ipid[d] = (self.ipid[d] + 1) & 0xFFFF
        self.seq[d] = (self.seq[d] + len(payload) + (1 if flags & (SYN | FIN) else 0)) & 0xFFFFFFFF

    def wait(self, us):
        self.t += int(us)

    def handshake(self, rtt):
        def syn_opts(d):
            return struct.pack('>BBHBBBBIIBBBB', 2, 4, 1460, 4, 2, 8, 10, self.ts[d], self.ts[1 - d] if d else 0,
                               1, 3, 3, 8)
        self.emit(0, SYN, opts=syn_opts(0))
        self.wait(rtt / 2)
        self.emit(1, SYN | ACK, opts=syn_opts(1))
        self.wait(rtt / 2)
        self.emit(0, ACK)

    def send(self, d, data, rtt, us_per_seg):
        """data from side d in MSS segments; the receiver acknowledges every second one and the last."""
        n = 0
        for off in range(0, len(data), MSS):
            seg = data[off:off + MSS]
            self.emit(d, ACK | (PSH if off + MSS >= len(data) else 0), seg)
            n += 1
            self.wait(us_per_seg)
            if n % 2 == 0 or off + MSS >= len(data):
                self.emit(1 - d, ACK)
        self.wait(rtt)

    def close(self, rtt):
        self.emit(0, FIN | ACK)
        self.wait(rtt / 2)
        self.emit(1, FIN | ACK)
        self.wait(rtt / 2)
        self.emit(0, ACK)


# --------------------------------------------------------------------------- SMB2

def nbss(msg):
    return b'\x00' + len(msg).to_bytes(3, 'big') + msg


def smb2_hdr(cmd, mid, resp, tree=0, sess=0, status=0, credits=1, charge=1):
    return struct.pack('<4sHHIHHIIQIIQ16s', b'\xfeSMB', 64, charge, status, cmd, credits, 1 if resp else 0, 0, mid,
                       0xFEFF, tree, sess, b'\0' * 16)


def der(tag, content):
    n = len(content)
    if n < 128:
        return bytes([tag, n]) + content
    return bytes([tag, 0x82]) + n.to_bytes(2, 'big') + content


SPNEGO_INIT = der(0x60, bytes.fromhex('06062b0601050502') + der(0xA0, der(0x30, der(0xA0, der(0x30, der(
    0x06, bytes.fromhex('2b0601040182370202') + b'\x1e') + der(0x06, bytes.fromhex('2b06010401823702020a')))))))
FILETIME_2024 = 133540164000000000


def smb_session(out, t, cl, sv, cport, rng, pool):
    """TCP 445: NEGOTIATE, TREE_CONNECT, CREATE, 64 KiB READs of a file, CLOSE."""
    s = TcpSim(out, t, cl, sv, cport, 445, rng)
    rtt = rng.randint(150, 900)
    seg_us = rng.choice((12, 25, 60, 120))     # 1 Gbit/s .. 100 Mbit/s
    s.handshake(rtt)
    sess, tree, mid = rng.getrandbits(64) | 1, rng.randint(1, 9), 0
    guid_c, guid_s, file_id = rng.randbytes(16), rng.randbytes(16), rng.randbytes(16)

    def rr(req, resp, resp_seg_us=seg_us):
        s.send(0, nbss(req), rtt // 2, seg_us)
        s.wait(rng.randint(50, 400))
        s.send(1, nbss(resp), rtt // 2, resp_seg_us)

    req = smb2_hdr(0, mid, False) + struct.pack('<HHHHI16sQ4H', 36, 4, 1, 0, 0x7F, guid_c, 0,
                                                  0x0202, 0x0210, 0x0300, 0x0302)
    resp = smb2_hdr(0, mid, True) + struct.pack('<HHHH16sIIIIQQHHI', 65, 1, 0x0302, 0, guid_s, 0x2F, 8388608,
                                                   8388608, 8388608, FILETIME_2024 + t * 10, 0, 128,
                                                   len(SPNEGO_INIT), 0) + SPNEGO_INIT
    rr(req, resp)
    mid += 1
    share = f'\\\\fs{sv.ip[3]:02d}.contoso.com\\{rng.choice(("users", "projects", "software", "public"))}'
    path = share.encode('utf-16-le')
    req = smb2_hdr(3, mid, False, sess=sess) + struct.pack('<HHHH', 9, 0, 72, len(path)) + path
    resp = smb2_hdr(3, mid, True, tree=tree, sess=sess) + struct.pack('<HBBIII', 16, 1, 0, 0, 0, 0x001F01FF)
    rr(req, resp)
    mid += 1
    name = f'{rng.choice(("reports", "scans", "builds", "home"))}\\{rng.getrandbits(32):08x}.{rng.choice(("pdf", "docx", "zip", "iso", "msi"))}'
    fname = name.encode('utf-16-le')
    nreads = rng.randint(1, 16)
    size = (nreads - 1) * 65536 + rng.randint(1, 65536)
    req = smb2_hdr(5, mid, False, tree=tree, sess=sess) + struct.pack(
        '<HBBIQQIIIIIHHII', 57, 0, 0, 2, 0, 0, 0x00120089, 0, 7, 1, 0x40, 120, len(fname), 0, 0) + fname
    now = FILETIME_2024 + t * 10
    resp = smb2_hdr(5, mid, True, tree=tree, sess=sess) + struct.pack(
        '<HBBIQQQQQQII16sII', 89, 0, 0, 1, now - 10**12, now, now - 10**11, now - 10**11,
        (size + 4095) & ~4095, size, 0x20, 0, file_id, 0, 0)
    rr(req, resp)
    for i in range(nreads):
        mid += 1
        n = min(65536, size - i * 65536)
        req = smb2_hdr(8, mid, False, tree=tree, sess=sess) + struct.pack(
            '<HBBIQ16sIIIHH', 49, 0x50, 0, 65536, i * 65536, file_id, 0, 0, 0, 0, 0) + b'\0'
        off = rng.randrange(0, len(pool) - n)
        resp = smb2_hdr(8, mid, True, tree=tree, sess=sess) + struct.pack('<HBBIII', 17, 0x50, 0, n, 0, 0) + \
            pool[off:off + n]
        rr(req, resp)
    mid += 1
    req = smb2_hdr(6, mid, False, tree=tree, sess=sess) + struct.pack('<HHI16s', 24, 0, 0, file_id)
    resp = smb2_hdr(6, mid, True, tree=tree, sess=sess) + struct.pack('<HHIQQQQQQI', 60, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    rr(req, resp)
    s.wait(rng.randint(1000, 50000))
    s.close(rtt)


# --------------------------------------------------------------------------- DNS

DOMAINS = ['example.org', 'example.net', 'contoso.com', 'fabrikam.com', 'microsoft.com', 'office.com',
           'windowsupdate.com', 'github.com', 'wikipedia.org', 'debian.org', 'akamaiedge.net', 'cloudflare.com',
           'google.com', 'gstatic.com', 'office365.com', 'live.com', 'digicert.com', 'adobe.com']
PREFIXES = ['www', 'api', 'cdn', 'login', 'static', 'img', 'mail', 'autodiscover', 'teams', 'files', 'update',
            'ocsp', 'ctldl', 'dc01', 'fs01', 'intranet', 'wpad', 'time']


def dns_name(name):
    return b''.join(bytes([len(x)]) + x.encode() for x in name.split('.')) + b'\0'


def dns_transaction(out, t, cl, sv, rng):
    name = f'{rng.choice(PREFIXES)}.{rng.choice(DOMAINS)}'
    qtype = 28 if rng.random() < 0.3 else 1
    tid, sport = rng.getrandbits(16), rng.randint(49152, 65535)
    q = dns_name(name) + struct.pack('>HH', qtype, 1)
    addr_sum = cl.ipi + sv.ipi
    out.append((t, udp_frame(sv.mac + cl.mac + b'\x08\x00', cl.ip, sv.ip, addr_sum, sport, 53,
                             struct.pack('>HHHHHH', tid, 0x0100, 1, 0, 0, 0) + q, rng.getrandbits(16))))
    answers = b''
    if rng.random() < 0.05:
        flags, an = 0x8183, 0      # NXDOMAIN
    else:
        flags = 0x8180
        an = 1 if qtype == 28 else rng.randint(1, 3)
        for _ in range(an):
            rdata = rng.randbytes(16) if qtype == 28 else bytes([rng.randint(1, 223)]) + rng.randbytes(3)
            answers += struct.pack('>HHHIH', 0xC00C, qtype, 1, rng.randint(30, 3600), len(rdata)) + rdata
    r = struct.pack('>HHHHHH', tid, flags, 1, an, 0, 0) + q + answers
    out.append((t + rng.randint(200, 20000), udp_frame(cl.mac + sv.mac + b'\x08\x00', sv.ip, cl.ip, addr_sum, 53,
                                                       sport, r, rng.getrandbits(16))))


# --------------------------------------------------------------------------- bulk web-TLS download

def bulk_download(out, t, cl, sv, cport, rng, tpl, pool, nsegs):
    """https-browsing-negative's cdn.example.net connection (fresh randoms) whose response is followed by
    nsegs MSS segments of encrypted records, acknowledged every second segment."""
    pk = tpl.pkts
    ins = max(i for i, p in enumerate(pk) if not p.c2s and p.payload)
    out.extend(template_frames(tpl, t, cl, sv, [cport], rng, pkts=pk[:ins + 1]))
    last = pk[ins]
    cseq = max((p.seq + len(p.payload)) & 0xFFFFFFFF for p in pk[:ins + 1] if p.c2s)
    sseq = (last.seq + len(last.payload)) & 0xFFFFFFFF
    t_ins = out[-1][0]
    s = TcpSim(out, t_ins + rng.randint(50, 500), cl, sv, cport, 443, rng, cseq=cseq, sseq=sseq)
    # The template's own timestamps continue (client's, server's), read from its options.
    last_c = next(p for p in reversed(pk[:ins]) if p.c2s)
    s.ts = [struct.unpack('>I', last_c.tcp_tail[6:10])[0], struct.unpack('>I', last.tcp_tail[6:10])[0]]
    seg_us = rng.choice((12, 25, 60, 120, 250))
    nbytes = nsegs * MSS
    full, rem = divmod(nbytes, 16413)             # records of 16 384 B plaintext + 8 B nonce + 16 B tag
    bodies = [16408] * full
    if rem >= 6:
        bodies.append(rem - 5)
    elif rem:                                     # too short for a record: split the last two
        bodies[-1:] = [8000, 16413 + rem - 8005 - 5]
    stream = []
    for n in bodies:
        off = rng.randrange(0, len(pool) - n)
        stream.append(b'\x17\x03\x03' + struct.pack('>H', n) + pool[off:off + n])
    data = b''.join(stream)
    assert len(data) == nbytes
    s.send(1, data, 0, seg_us)
    out.extend(template_frames(tpl, t, cl, sv, [cport], rng, pkts=pk[ins + 1:], shift=nbytes,
                               dt_shift=s.t - t_ins))


# --------------------------------------------------------------------------- plan and merge

def largest_remainder(weights, total):
    raw = [w * total for w in weights]
    n = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - n[i], reverse=True)[:total - sum(n)]:
        n[i] += 1
    return n


def pcapng_block(btype, body):
    pad = (-len(body)) % 4
    blen = 12 + len(body) + pad
    return struct.pack('<II', btype, blen) + body + b'\0' * pad + struct.pack('<I', blen)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--scale', type=float, default=1.0, help='1 -> >= 1 000 000 packets (default 1)')
    ap.add_argument('--packets', type=int, help='target packet count instead of --scale (scale = N / 1e6)')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--out', type=Path, help='default /tmp/exchange-bench/bench-<scale>x.pcapng')
    ap.add_argument('--conn-list', type=Path, metavar='CSV',
                    help='also write every templated TCP connection: client, server, template, expected role')
    ap.add_argument('--quiet', action='store_true')
    args = ap.parse_args()
    scale = args.packets / TARGET_PACKETS if args.packets else args.scale
    if scale <= 0:
        ap.error('scale must be positive')
    tag = f'{scale:g}x'
    out_path = args.out or OUT_DIR / f'bench-{tag}.pcapng'
    out_path.parent.mkdir(parents=True, exist_ok=True)
    t_begin = time.monotonic()
    rng = random.Random(args.seed)

    templates = {}
    for name, _, rnd, _, _ in EXCHANGE:
        templates[name] = Template(name, rnd)
    for name, _, rnd, _, _ in ORDINARY:
        templates[name] = Template(name, rnd)
    for name, _, _, _, roles in EXCHANGE:
        if templates[name].nconns != len(roles):
            raise SystemExit(f'{name}: {templates[name].nconns} connections, table says {len(roles)}')
    bulk_tpl = templates['https-browsing-negative.pcapng'].subset(1)
    keylog, seen = [], set()
    for t in templates.values():
        for blob in t.secrets:
            for line in blob.decode().splitlines():
                if line.strip() and line not in seen:
                    seen.add(line)
                    keylog.append(line)
    keylog = ('\n'.join(keylog) + '\n').encode()

    pools = {
        'exch': [Host(bytes([10, 10, 0, 11 + i])) for i in range(8)],
        'exo': [Host(bytes([52, 97 + i // 8, 128 + i, 18])) for i in range(16)],
        'web': [Host(bytes(WEB_NETS[i % 5] + ((i * 7) % 250 + 1, (i * 13) % 250 + 2))) for i in range(200)],
        'dc': [Host(bytes([10, 10, 1, 5])), Host(bytes([10, 10, 1, 6]))],
        'fs': [Host(bytes([10, 10, 2, 20 + i])) for i in range(4)],
    }
    nclients = max(20, round(CLIENTS * scale))
    clients = [client_host(i) for i in range(nclients)]
    next_port = [49152 + rng.randrange(0, 4000) for _ in range(nclients)]
    span = max(int(SPAN_US * scale), 5_000_000)

    def ports(ci, n):
        p = next_port[ci]
        if p + n > 65535:
            p = 49152
        next_port[ci] = p + n
        return list(range(p, p + n))

    # plan: (start_us, kind, template name or None, client index, server Host, ports, seed, extra)
    plan, npk, npk_exch = [], 0, 0
    n_exch = max(len(EXCHANGE), round(EXCHANGE_COPIES * scale))
    copies = dict(zip([e[0] for e in EXCHANGE], largest_remainder([e[1] for e in EXCHANGE], n_exch)))
    expected = dict.fromkeys(ROLES, 0)
    kinds = {}
    for name, _, _, pool, conns in EXCHANGE:
        for kind, role in conns:
            kinds[kind] = kinds.get(kind, 0) + copies[name]
            if role:
                expected[role] += copies[name]
    ordinary = {}
    for name, n, _, pool, kind in ORDINARY:
        copies[name] = max(1, round(n * scale))
        ordinary[kind] = copies[name] * templates[name].nconns
    conn_rows = []
    role_of = {e[0]: [r for _, r in e[4]] for e in EXCHANGE}
    for name, _, _, pool, _ in EXCHANGE + ORDINARY:
        tpl = templates[name]
        dur = tpl.pkts[-1].dt
        # Undecrypted TLS to mail.contoso.com counts as Exchange once a decrypted or cleartext request has
        # named that host, and the plugin decides on the first pass from what it has seen so far (also
        # with -2).  So the capture opens with a decrypted MAPI/HTTP session and those copies start later.
        early = 0 if name in WARM_FIRST else NOKEYS_AFTER_US if name in AFTER_WARM else None
        for k in range(copies[name]):
            ci = rng.randrange(nclients)
            lo = early or 0
            t0 = 0 if k == 0 and early == 0 else rng.randrange(lo, max(lo + 1, span - dur))
            plan.append((t0, 'tpl', name, ci, rng.choice(pools[pool]),
                         ports(ci, tpl.nconns), rng.getrandbits(64), None))
            npk += len(tpl.pkts)
            if name in role_of:
                npk_exch += len(tpl.pkts)
            if args.conn_list:
                p = plan[-1]
                for c in range(tpl.nconns):
                    role = role_of[name][c] if name in role_of else None
                    conn_rows.append(f'{".".join(map(str, clients[ci].ip))},{p[5][c]},{".".join(map(str, p[4].ip))},'
                                     f'{tpl.srv_ports[c]},{name},{c},{role or "-"}')
    ndns = max(1, round(DNS_TRANSACTIONS * scale))
    for _ in range(ndns):
        plan.append((rng.randrange(0, span), 'dns', None, rng.randrange(nclients), rng.choice(pools['dc']),
                     None, rng.getrandbits(64), None))
    npk += 2 * ndns
    nsmb = max(1, round(SMB_SESSIONS * scale))
    smb_est = 0
    for _ in range(nsmb):
        ci = rng.randrange(nclients)
        plan.append((rng.randrange(0, span), 'smb', None, ci, rng.choice(pools['fs']), ports(ci, 1),
                     rng.getrandbits(64), None))
    # SMB packet count depends on its seed; count by building (cheap relative to the whole run).
    pool_bytes = random.Random(args.seed ^ 0x5EED).randbytes(1 << 20)
    for p in plan[-nsmb:]:
        tmp = []
        smb_session(tmp, 0, clients[p[3]], p[4], p[5][0], random.Random(p[6]), pool_bytes)
        smb_est += len(tmp)
    npk += smb_est
    target = int(TARGET_PACKETS * scale)
    nbulk, bulk_base = 0, len(bulk_tpl.pkts)
    while npk < target:
        nsegs = rng.randint(50, 800)
        ci = rng.randrange(nclients)
        plan.append((rng.randrange(0, span), 'bulk', None, ci, rng.choice(pools['web']), ports(ci, 1),
                     rng.getrandbits(64), nsegs))
        npk += bulk_base + nsegs + (nsegs + 1) // 2
        nbulk += 1
    ordinary['dns/udp (transactions)'] = ndns
    ordinary['smb2/tcp-445'] = nsmb
    ordinary['web-tls/bulk-download'] = nbulk
    plan.sort(key=lambda p: p[0])

    def build(p):
        start, what, name, ci, sv, prts, seed, extra = p
        start += BASE_TS
        r = random.Random(seed)
        cl = clients[ci]
        if what == 'tpl':
            return template_frames(templates[name], start, cl, sv, prts, r)
        out = []
        if what == 'dns':
            dns_transaction(out, start, cl, sv, r)
        elif what == 'smb':
            smb_session(out, start, cl, sv, prts[0], r, pool_bytes)
        else:
            bulk_download(out, start, cl, sv, prts[0], r, bulk_tpl, pool_bytes, extra)
        return out

    tmp_path = out_path.with_name(out_path.name + '.part')
    used_clients = set()
    by_class = {}
    npackets = nbytes_pkts = 0
    with open(tmp_path, 'wb', buffering=1 << 22) as f:
        f.write(pcapng_block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1) +
                             struct.pack('<HH', 4, 12) + b'gen_bench.py' + b'\0\0\0\0'))
        f.write(pcapng_block(1, struct.pack('<HHI', 1, 0, 262144)))
        f.write(pcapng_block(0x0A, struct.pack('<II', TLSK, len(keylog)) + keylog +
                             b'\0' * ((-len(keylog)) % 4)))
        heap, i, n = [], 0, len(plan)
        epb = struct.Struct('<IIIIIII').pack
        tail = struct.Struct('<I').pack
        write = f.write
        while i < n or heap:
            while i < n and (not heap or plan[i][0] + BASE_TS <= heap[0][0]):
                pk = build(plan[i])
                used_clients.add(plan[i][3])
                if pk:
                    heapq.heappush(heap, (pk[0][0], i, 0, pk))
                    cls = plan[i][2] or CLASS_NAMES[plan[i][1]]
                    by_class[cls] = by_class.get(cls, 0) + len(pk)
                i += 1
            ts, cid, j, pk = heap[0]
            frame = pk[j][1]
            ln = len(frame)
            pad = (-ln) % 4
            blen = 32 + ln + pad
            write(epb(6, blen, 0, ts >> 32, ts & 0xFFFFFFFF, ln, ln))
            write(frame)
            write(b'\0' * pad + tail(blen))
            npackets += 1
            nbytes_pkts += ln
            if j + 1 < len(pk):
                nts = pk[j + 1][0]
                if nts < ts:
                    raise SystemExit(f'copy {cid}: packets out of order')
                heapq.heapreplace(heap, (nts, cid, j + 1, pk))
            else:
                heapq.heappop(heap)
    os.replace(tmp_path, out_path)
    os.chmod(out_path, 0o644)
    gen_s = time.monotonic() - t_begin
    size = out_path.stat().st_size

    exch_conns = sum(kinds.values())
    manifest = {
        'capture': str(out_path), 'seed': args.seed, 'scale': scale, 'packets': npackets,
        'packet_bytes': nbytes_pkts, 'file_bytes': size, 'generation_seconds': round(gen_s, 1),
        'span_seconds': span / 1e6, 'distinct_clients': len(used_clients), 'keylog_lines': len(seen),
        'exchange_copies': {e[0]: copies[e[0]] for e in EXCHANGE},
        'ordinary_copies': {o[0]: copies[o[0]] for o in ORDINARY},
        'exchange_packets': npk_exch, 'ordinary_packets': npackets - npk_exch,
        'packets_by_source': dict(sorted(by_class.items(), key=lambda kv: -kv[1])),
        'exchange_connections': exch_conns, 'exchange_connections_by_kind': dict(sorted(kinds.items())),
        'ordinary_conversations': ordinary,
        'expected_roles_two_pass': expected,
        'expected_tagged_connections': sum(expected.values()),
    }
    if args.conn_list:
        args.conn_list.write_text('client,client_port,server,server_port,template,conn,expected_role\n' +
                                  '\n'.join(conn_rows) + '\n')
    man_path = out_path.with_suffix('.json')
    man_path.write_text(json.dumps(manifest, indent=2) + '\n')
    os.chmod(man_path, 0o644)
    if not args.quiet:
        print(f'{out_path}: {npackets} packets, {size / 1e6:.1f} MB, span {span / 1e6:.0f} s, '
              f'generated in {gen_s:.1f} s (seed {args.seed}, scale {scale:g})')
        print(f'  distinct client hosts: {len(used_clients)}; TLS key-log lines in the DSB: {len(seen)}')
        print(f'  packets: Exchange {npk_exch} ({100 * npk_exch / npackets:.1f} %), ordinary {npackets - npk_exch}')
        print('  packets by source: ' + ', '.join(f'{k} {v}' for k, v in
                                                  sorted(by_class.items(), key=lambda kv: -kv[1])))
        print(f'  Exchange session copies: {n_exch}; Exchange TCP connections: {exch_conns}')
        for name, _, _, _, _ in EXCHANGE:
            print(f'    {copies[name]:6d} x {name}')
        print('  Exchange connections by kind:')
        for k, v in sorted(kinds.items()):
            print(f'    {v:6d} {k}')
        print(f'  ordinary conversations: {sum(ordinary.values())}')
        for k, v in ordinary.items():
            print(f'    {v:6d} {k}')
        print('  expected roles (tshark -2 -z exchange,clients, all rows summed): ' +
              ', '.join(f'{r} {expected[r]}' for r in ROLES) + f'; total {sum(expected.values())}')
        print(f'  manifest: {man_path}')


if __name__ == '__main__':
    main()
