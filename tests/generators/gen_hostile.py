#!/usr/bin/python3
"""Generate the hostile-input captures: huge endpoint-mapper answers, absurd NDR counts, huge RPC/HTTP bodies.

Built from the same pieces as gen_rpc_tcp.py and gen_http.py: impacket's DCE/RPC client (and its RPC
over HTTP v2 client) against responders on loopback, recorded with dumpcap and rewritten to client
192.168.2.56 (ports 50701, 50702, ... in SYN order = tcp.stream 0, 1, ...) and server 192.168.2.50.
The responders here fragment their answers to the negotiated 4280 bytes (max_rfrag), as a Windows
server does, and reassemble fragmented requests; everything else is gen_rpc_tcp's / gen_http's code.

Run as root (port 135/80 and capturing on lo need it), with Debian's python3:
    sudo /usr/bin/python3 tests/generators/gen_hostile.py [scenario ...]

Scenarios (see test-captures/README.md and tests/hostile/hostile.py, which checks them):
    epm-many-towers     conn 1 (135): BIND EPM, then six ept_map requests with max_towers 4096 (three
                        for EMSMDB, three for NSPI, each continuing the previous entry handle); each answer
                        carries 1000 towers (distinct ports 20000-25999 on 192.168.2.50), ~88 kB of stub in
                        21 fragments: 6000 endpoints learned, none ever connected to. Then gen_rpc_tcp's
                        outlook-start (conn 2: EPM, 3: RFR, 4: NSPI, 5: EMSMDB, 6: AsyncEMSMDB).
                        Written gzip -9 (.pcap.gz).
    epm-absurd-count    conn 1 (135): BIND EPM, then ept_map requests answered with NDR that claims
                        absurd sizes (each names EMSMDB on a port 40001-40007 that nobody uses):
                        num_towers 0xFFFFFFF0 with one tower; max_count/actual_count 0x7FFFFFFF with one
                        tower; tower_length 0xFFFFFFFF; tower_length and the octet string's max_count
                        0xFFFFFFFF; NumberOfFloors 65535 (5 floors present); a floor whose rhs length
                        (0xFFFF) runs past the tower; max_count 1 but actual_count 2; then a normal answer
                        EMSMDB -> 59531. Then outlook-start (conn 2-6).
    rpc-http-huge-body  cleartext RPC over HTTP on port 80 (Outlook Anywhere without TLS), impacket's
                        client with NTLM: conn 1 RPC_IN_DATA /rpc/rpcproxy.dll?<mailbox>:6001
                        (Content-Length 1073741824), CONN/B1, BIND EMSMDB, EcDoConnectEx, then 256
                        EcDoRpcExt2 requests of 32 kB each (RopWriteStream of a repeated text block,
                        fragmented at 4152 bytes of stub); conn 2 RPC_OUT_DATA (CONN/A1), answered
                        200 Success, Content-Length 1073741824, CONN/A3, CONN/C2, BIND_ACK and 256
                        32 kB answers (RopReadStream) in 4280-byte fragments; the client's
                        FlowControlAck RTS PDUs go up the IN channel. ~8.4 MB each way, gzip -9.
"""
import gzip
import os
import shutil
import socket
import struct
import sys
import tempfile
import threading

from impacket.dcerpc.v5 import epm
from impacket.dcerpc.v5.rpcrt import (MSRPC_REQUEST, MSRPC_RESPONSE, PFC_FIRST_FRAG, PFC_LAST_FRAG, MSRPCHeader,
                                      MSRPCRequestHeader, MSRPCRespHeader)
from scapy.all import wrpcap

import gen_http as gh
from gen_rpc_tcp import (AB_PORT, EMSMDB, EPM, EXCHANGE_MAP, HERE, MAILBOX_PORT, NSPI, PORT_FILTER, SERVER4, Handler,
                         Server, Service, capture, dce_to, ec_do_connect_ex, epm_service, ept_map_request,
                         exchange_service, exchange_service_answering, make_tower, outlook_start, recv_pdu, rewrite,
                         rpc_call, write)

MAX_FRAG = 4280                 # impacket's max_tfrag/max_rfrag, echoed in our BIND_ACK

# ---------------------------------------------------------------- fragmenting responder


def response_fragments(call_id, ctx_id, stub, max_frag=MAX_FRAG):
    """RESPONSE PDUs carrying stub, each at most max_frag bytes (stub pieces a multiple of 8)."""
    room = (max_frag - MSRPCRespHeader._SIZE) & ~7
    pieces = [stub[i:i + room] for i in range(0, len(stub), room)] or [b'']
    out = []
    for i, piece in enumerate(pieces):
        resp = MSRPCRespHeader()
        resp['type'] = MSRPC_RESPONSE
        resp['flags'] = (PFC_FIRST_FRAG if i == 0 else 0) | (PFC_LAST_FRAG if i == len(pieces) - 1 else 0)
        resp['call_id'] = call_id
        resp['ctx_id'] = ctx_id
        resp['alloc_hint'] = len(stub) - i * room
        resp['pduData'] = piece
        resp['frag_len'] = len(resp.getData())
        out.append(resp.getData())
    return out


class Reassembler:
    """One association's request side: BIND/ALTER_CONTEXT answered at once (gen_rpc_tcp's Handler),
    REQUEST fragments collected until PFC_LAST_FRAG, then answered in fragments."""

    def __init__(self, svc):
        self.svc, self.contexts, self.pending = svc, {}, b''

    def replies(self, pdu):
        hdr = MSRPCHeader(pdu)
        if hdr['type'] != MSRPC_REQUEST:
            reply = Handler.answer_pdu(pdu, self.svc, self.contexts)
            return [reply] if reply is not None else []
        req = MSRPCRequestHeader(pdu)
        self.pending += req['pduData']
        if not hdr['flags'] & PFC_LAST_FRAG:
            return []
        stub, self.pending = self.pending, b''
        answer = self.svc.answer(self.contexts.get(req['ctx_id']), req['op_num'], stub)
        return response_fragments(hdr['call_id'], req['ctx_id'], answer)


class FragHandler(Handler):
    def handle(self):
        # One segment per PDU where the stack allows, as a Windows server sends them.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assoc = Reassembler(self.server.service)
        while (pdu := recv_pdu(self.request)) is not None:
            for reply in assoc.replies(pdu):
                self.request.sendall(reply)


def start_frag_responder(port, service):
    srv = Server(('127.0.0.1', port), FragHandler)
    srv.service = service
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def record_rpc(run, epm_svc):
    """Like gen_rpc_tcp.record() (IPv4), with epm_svc on 135 and fragmenting responders."""
    servers = [start_frag_responder(135, epm_svc)]
    for port in (MAILBOX_PORT, AB_PORT):
        servers.append(start_frag_responder(port, exchange_service(port)))
    try:
        return rewrite(capture(PORT_FILTER, lambda: run('127.0.0.1')), 4)
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


def requested_iface(stub):
    req = epm.ept_map(stub)
    tower = epm.EPMTower(b''.join(req['map_tower']['tower_octet_string']))
    floor = tower['Floors'][0]
    return floor['InterfaceUUID'] + struct.pack('<HH', floor['MajorVersion'], floor['MinorVersion']), req


# ---------------------------------------------------------------- epm-many-towers

TOWERS_PER_ANSWER = 1000
MANY_REQUESTS = [EMSMDB, EMSMDB, EMSMDB, NSPI, NSPI, NSPI]
MANY_FIRST_PORT = 20000
MAX_TOWERS_ASKED = 4096


def many_towers_stub(iface, first_port, count, handle):
    """An answer with count towers on consecutive ports. Written by epm_stub() below, not impacket's
    ept_mapResponse: impacket draws random referent IDs, and among 1000 full pointers a few repeat,
    which NDR reads as the same tower (stock Wireshark then shows ~995 towers)."""
    return epm_stub([tower_bytes(tower_floors(iface, port)) for port in range(first_port, first_port + count)],
                    handle=handle)


def many_towers_service():
    """ept_map with max_towers > 1: the next 1000 towers of the port range, with an entry handle
    that says more follow (zero on the third answer of an interface); max_towers 1: the normal map."""
    normal = epm_service(EXCHANGE_MAP, SERVER4)
    lock, calls = threading.Lock(), [0]

    def answer(iface, opnum, stub):
        wanted, req = requested_iface(stub)
        if req['max_towers'] <= 1:
            return normal.answer(iface, opnum, stub)
        with lock:
            k = calls[0]
            calls[0] += 1
        handle = b'\x00' * 16 if k % 3 == 2 else struct.pack('<I', 0x4e9a0000 + k + 1) + b'\x6d' * 12
        return many_towers_stub(wanted, MANY_FIRST_PORT + k * TOWERS_PER_ANSWER,
                                min(TOWERS_PER_ANSWER, req['max_towers']), handle)
    return Service({EPM}, answer, '135')


def ept_map_many(dce, iface, handle):
    """ept_map with a large max_towers and an entry handle, parsed by impacket: (handle, ports)."""
    resp = dce.request(ept_map_request(iface, MAX_TOWERS_ASKED, handle))
    ports = []
    for twr in resp['ITowers']:
        answer = epm.EPMTower(b''.join(twr['Data']['tower_octet_string']))
        ports.append(struct.unpack('>H', answer['Floors'][3]['RelatedData'])[0])
    return resp['entry_handle']['context_handle_uuid'], ports


def many_towers_client(host):
    dce = dce_to(host, 135)
    dce.bind(EPM)
    handle, ports = b'\x00' * 16, []
    for iface in MANY_REQUESTS:
        handle, got = ept_map_many(dce, iface, handle)
        ports += got
    dce.disconnect()
    assert len(set(ports)) == len(MANY_REQUESTS) * TOWERS_PER_ANSWER, len(set(ports))
    outlook_start(host)


# ---------------------------------------------------------------- epm-absurd-count

def tower_bytes(floors):
    """A tower's octets: NumberOfFloors, then the floors as given (raw bytes)."""
    return struct.pack('<H', len(floors)) + b''.join(floors)


def tower_floors(iface, port):
    """The five floors of gen_rpc_tcp.make_tower as separate byte strings."""
    data = make_tower(iface, port, SERVER4)['Floors']
    floors, pos = [], 0
    while pos < len(data):
        lhs = struct.unpack('<H', data[pos:pos + 2])[0]
        rhs = struct.unpack('<H', data[pos + 2 + lhs:pos + 4 + lhs])[0]
        floors.append(data[pos:pos + 4 + lhs + rhs])
        pos += 4 + lhs + rhs
    return floors


def epm_stub(towers, num_towers=None, max_count=None, actual=None, lengths=None, conf_max=None, handle=None):
    """An ept_map answer stub written by hand: entry handle, num_towers, the conformant varying array
    of tower pointers (max_count, offset 0, actual_count, referent IDs 0x20000, 0x20004, ... as Windows
    numbers them), the towers (tower_length, the octet string's max_count, octets, padding), status 0.
    Any count may be overridden."""
    n = len(towers)
    out = struct.pack('<I', 0) + (handle or b'\x00' * 16) + struct.pack('<I', n if num_towers is None else num_towers)
    out += struct.pack('<III', n if max_count is None else max_count, 0, n if actual is None else actual)
    out += b''.join(struct.pack('<I', 0x20000 + 4 * i) for i in range(n))
    for i, t in enumerate(towers):
        out += struct.pack('<II', len(t) if lengths is None else lengths[i],
                           len(t) if conf_max is None else conf_max[i])
        out += t + b'\x00' * ((4 - len(t) % 4) % 4)
    return out + struct.pack('<I', 0)


def absurd_answers():
    """(description, stub) for each absurd answer, in the order they are sent."""
    def good(port):
        return tower_bytes(tower_floors(EMSMDB, port))
    many_floors = struct.pack('<H', 65535) + b''.join(tower_floors(EMSMDB, 40005))
    floors = tower_floors(EMSMDB, 40006)
    port_floor = floors[3]      # lhs length 1, lhs 0x07 (TCP), rhs length 2, rhs the port (big-endian)
    cut_floor = port_floor[:3] + struct.pack('<H', 0xFFFF) + port_floor[5:]
    truncated = tower_bytes(floors[:3] + [cut_floor])       # four floors, the last cut short
    return [
        ('num_towers 0xFFFFFFF0, one tower', epm_stub([good(40001)], num_towers=0xFFFFFFF0)),
        ('max_count/actual_count 0x7FFFFFFF, one tower',
         epm_stub([good(40002)], max_count=0x7FFFFFFF, actual=0x7FFFFFFF)),
        ('tower_length 0xFFFFFFFF', epm_stub([good(40003)], lengths=[0xFFFFFFFF])),
        ('tower_length and octet max_count 0xFFFFFFFF',
         epm_stub([good(40004)], lengths=[0xFFFFFFFF], conf_max=[0xFFFFFFFF])),
        ('NumberOfFloors 65535, five floors present', epm_stub([many_floors])),
        ('floor 4 rhs length 0xFFFF past the end of the tower', epm_stub([truncated])),
        ('max_count 1, actual_count 2, one tower', epm_stub([good(40007)], max_count=1, actual=2)),
    ]


ABSURD = absurd_answers()


def absurd_service():
    """The first len(ABSURD) ept_map requests get the absurd answers, later ones the normal map."""
    normal = epm_service(EXCHANGE_MAP, SERVER4)
    pending, lock = [stub for _, stub in ABSURD], threading.Lock()

    def answer(iface, opnum, stub):
        with lock:
            crafted = pending.pop(0) if pending else None
        return crafted if crafted is not None else normal.answer(iface, opnum, stub)
    return Service({EPM}, answer, '135')


def ept_map_raw(dce, iface):
    """An ept_map request (max_towers 1, as impacket's hept_map); the answer's stub unparsed."""
    dce.call(epm.ept_map.opnum, ept_map_request(iface))
    return dce.recv()


def absurd_client(host):
    dce = dce_to(host, 135)
    dce.bind(EPM)
    for _, stub in ABSURD:
        assert ept_map_raw(dce, EMSMDB) == stub
    legit = epm.ept_mapResponse(ept_map_raw(dce, EMSMDB))
    tower = epm.EPMTower(b''.join(legit['ITowers'][0]['Data']['tower_octet_string']))
    assert struct.unpack('>H', tower['Floors'][3]['RelatedData'])[0] == MAILBOX_PORT
    dce.disconnect()
    outlook_start(host)


# ---------------------------------------------------------------- rpc-http-huge-body

HUGE_CALLS = 256
BLOCK = b''.join(b'Line %04d of attachment Q3-figures.xlsx, sent again and again by the hostile-input test.\r\n'
                 % i for i in range(40))[:4000]
STREAM_BYTES = 32000                      # per RopWriteStream / RopReadStream (a 16-bit DataSize)


def stream_data():
    return (BLOCK * (STREAM_BYTES // len(BLOCK) + 1))[:STREAM_BYTES]


def write_stream_stub():
    """EcDoRpcExt2 request: RopWriteStream (0x2D) of 32000 bytes (MS-OXCROPS 2.2.9.3)."""
    return gh.ec_do_rpc_ext2_stub(struct.pack('<BBBH', 0x2D, 0, 0, STREAM_BYTES) + stream_data())


def read_stream_stub():
    """EcDoRpcExt2 answer: RopReadStream (0x2C) returning 32000 bytes (MS-OXCROPS 2.2.9.2)."""
    buf = gh.rop_buffer(struct.pack('<BBIH', 0x2C, 0, 0, STREAM_BYTES) + stream_data(), [0x0000002a])
    pad = b'\x00' * ((4 - len(buf) % 4) % 4)
    return (b'\x00' * 4 + b'\x3c' * 16 + struct.pack('<II', 0, len(buf)) + buf + pad
            + struct.pack('<IIIII', len(buf), 0, 0, 0, 0))


def huge_service(port):
    return exchange_service_answering(port, {(EMSMDB, 11): read_stream_stub})


class HugeRpcProxy(gh.RpcProxy):
    """gen_http's RPC proxy, with request reassembly and fragmented answers on the OUT channel."""

    def in_channel(self, conn, port):
        out = self.out_queue(gh.vc_cookie(gh.read_pdu(conn)))       # CONN/B1
        out.put(gh.conn_c2())
        assoc = Reassembler(huge_service(port))
        while (pdu := gh.read_pdu(conn)) is not None:
            for reply in assoc.replies(pdu):                        # RTS (FlowControlAck): none
                out.put(reply)
        out.put(None)


def huge_session(dce):
    ec_do_connect_ex(dce)
    stub = write_stream_stub()
    for _ in range(HUGE_CALLS):
        rpc_call(dce, 11, stub)


def huge_client():
    gh.close_vc(gh.rpc_http_vc(80, 6001, EMSMDB, huge_session, 1))


# ---------------------------------------------------------------- output

def write_gz(name, pkts):
    """pcap, gzip -9 (tshark reads it as it is); mtime 0 so reruns differ only by the packets."""
    with tempfile.TemporaryDirectory() as tmp:
        plain = os.path.join(tmp, 'plain.pcap')
        wrpcap(plain, pkts)
        with open(plain, 'rb') as src, open(os.path.join(HERE, name), 'wb') as raw, \
                gzip.GzipFile(filename='', mode='wb', compresslevel=9, fileobj=raw, mtime=0) as dst:
            shutil.copyfileobj(src, dst)
        size = os.path.getsize(plain)
    print(f'{name}: {len(pkts)} frames, {size} bytes uncompressed, {os.path.getsize(os.path.join(HERE, name))} gzipped')


def main(argv):
    scenarios = ['epm-many-towers', 'epm-absurd-count', 'rpc-http-huge-body']
    wanted = set(argv) or set(scenarios)
    unknown = wanted - set(scenarios)
    if unknown:
        sys.exit(f'unknown scenario(s): {" ".join(sorted(unknown))}; known: {" ".join(scenarios)}')
    if 'epm-many-towers' in wanted:
        write_gz('epm-many-towers.pcap.gz', record_rpc(many_towers_client, many_towers_service()))
    if 'epm-absurd-count' in wanted:
        write('epm-absurd-count.pcap', record_rpc(absurd_client, absurd_service()))
    if 'rpc-http-huge-body' in wanted:
        gh.resolve_names_to_loopback()
        write_gz('rpc-http-huge-body.pcap.gz', gh.record(huge_client, 80, HugeRpcProxy()))


if __name__ == '__main__':
    main(sys.argv[1:])
