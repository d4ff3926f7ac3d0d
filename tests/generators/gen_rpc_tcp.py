#!/usr/bin/python3
"""Generate the RPC/TCP test captures from a real DCE/RPC exchange.

impacket's DCE/RPC client (the same code as its epm/nspi/oxabref tools) talks
to a small threaded responder built from impacket's PDU and NDR classes, on
loopback; dumpcap records it.  The recording is then rewritten so that it reads
like a Windows client talking to an Exchange server: every connection's client
side (known from its SYN) becomes CLIENT with Windows-like ports 50701, 50702,
..., the server side becomes SERVER; server ports stay as they were.

Run as root (port 135 and capturing on lo need it), with Debian's python3:
    sudo /usr/bin/python3 tests/generators/gen_rpc_tcp.py [scenario ...]

Scenarios (one capture each; see test-captures/README.md):
    outlook-start  135: BIND EPM, ept_map RFR, NSPI, EMSMDB -> 59532/59532/59531;
                   59532: BIND RFR + RfrGetNewDSA; 59532: BIND NSPI + NspiBind;
                   59531: BIND EMSMDB + EcDoConnectEx + EcDoRpcExt2;
                   59531: BIND AsyncEMSMDB + EcDoAsyncWaitEx
    late-start     outlook-start without the data connections' handshakes and
                   BIND/BIND_ACK PDUs (the capture began after them)
    bind-no-epm    outlook-start without the port-135 connection
    static-ports   135: ept_map EMSMDB -> 6001, NSPI -> 6004 (static ports, which
                   stock Wireshark 4.0 decodes as X11); 6001: one BIND with
                   EMSMDB + AsyncEMSMDB contexts; 6004: BIND NSPI, then
                   ALTER_CONTEXT RFR
    static-ports-no-epm  static-ports without the port-135 connection
    malformed-bind static-ports-no-epm with the 6004 BIND claiming 9 context
                   items in a PDU that holds one (bad input: must be reported,
                   must not corrupt state; the later ALTER_CONTEXT still counts)
    ipv6           outlook-start over IPv6; towers carry 0.0.0.0; the
                   AsyncEMSMDB connection's BIND/BIND_ACK are dropped so that
                   one connection is known only from the IPv6 EPM answer
    contradicted   135: ept_map EMSMDB -> 59531; one connection there binds the
                   store-admin interface (the learned guess must be dropped), a
                   second binds EMSMDB
    negative       135: ept_map SAMR, LSARPC -> 49664/49665; connections binding
                   SAMR (SamrConnect), LSARPC (LsarClose) and Exchange's store-admin interface (whose UUID
                   differs from EMSMDB by one digit)
    faults         135: ept_map NSPI, EMSMDB -> 59532/59531; 59532: BIND NSPI, NspiBind,
                   NspiQueryRows answered with a FAULT (rpc_s_access_denied); 59531: BIND EMSMDB,
                   EcDoConnectEx, a call with opnum 99 answered with a FAULT (nca_s_op_rng_error),
                   EcDoRpcExt2 answered with a FAULT (rpc_s_access_denied)
    nspi-logon-failed  135: ept_map NSPI, EMSMDB -> 59532/59531; 59532: BIND NSPI, NspiBind answered
                   MAPI_E_LOGON_FAILED (0x80040111), NspiBind again answered 0; 59531: BIND EMSMDB,
                   EcDoConnectEx answered 0, EcDoRpcExt2 answered ecRpcFormat (0x000004B6),
                   EcDoDisconnect answered 0 (well-formed MS-OXCRPC / MS-NSPI answer stubs)
    nspi-logon-ok  negative twin: the same calls, every one answered 0

Captures that begin mid-conversation: the recording is cut where the client marks it (mark_cut), so
every frame before that moment (handshakes, BINDs, the first EPM lookup) is gone, as when a capture
is started late.
    late-epm       135: ept_map NSPI, EMSMDB -> 59532/59531; BIND NSPI + NspiBind; BIND EMSMDB +
                   EcDoConnectEx; [cut]; NspiQueryRows, EcDoRpcExt2, the NSPI connection closes;
                   135 again: BIND EPM, ept_map NSPI, EMSMDB (-> 59532/59531); EcDoRpcExt2; close
    late-epm-negative  the same, but the late lookup asks for SAMR and LSARPC (-> 49664/49665)
    bind-elsewhere 49670 (a dynamic port no EPM answer names): A binds NSPI + NspiBind; [cut];
                   A NspiQueryRows; B binds NSPI + NspiBind, closes; A NspiQueryRows, closes
    bind-elsewhere-negative  the same with SAMR (SamrConnect, then calls) instead of NSPI
    unexplained-port  49671: binds the store-admin interface + a call; [cut]; a call; 135: BIND
                   EPM, ept_map NSPI, EMSMDB -> 59532/59531; a call on 49671; close
    unexplained-port-negative  the same, the lookup asking for SAMR and LSARPC
    port-reuse-late  59531 twice from one client port: A binds SAMR + SamrConnect, closes; B binds
                   EMSMDB (its BIND/BIND_ACK dropped from the recording) + EcDoConnectEx +
                   EcDoRpcExt2, closes; then 135: BIND EPM, ept_map EMSMDB -> 59531

The server's answer to a BIND decides (no endpoint mapper, dynamic ports):
    bind-refused   49672: BIND EMSMDB answered BIND_NAK; 49671 (a server process without
                   Exchange's interfaces): one BIND with EMSMDB + AsyncEMSMDB contexts, both
                   refused in the BIND_ACK (provider rejection); 49670: BIND NSPI accepted + NspiBind
"""
import os
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time

from impacket.dcerpc.v5 import epm, lsad, nspi, oxabref, samr, transport
from impacket.dcerpc.v5.ndr import NULL
from impacket.dcerpc.v5.rpcrt import (
    MSRPC_ALTERCTX, MSRPC_ALTERCTX_R, MSRPC_BIND, MSRPC_BINDACK, MSRPC_BINDNAK, MSRPC_CONT_RESULT_ACCEPT, MSRPC_FAULT,
    MSRPC_CONT_RESULT_PROV_REJECT, MSRPC_REQUEST, MSRPC_RESPONSE, PFC_FIRST_FRAG, PFC_LAST_FRAG,
    CtxItem, CtxItemResult, MSRPCBind, MSRPCBindAck, MSRPCHeader, MSRPCRequestHeader, MSRPCRespHeader)
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.uuid import uuidtup_to_bin
from scapy.all import IP, IPv6, TCP, Ether, rdpcap, wrpcap

# The captures live in test-captures/, two levels up from this generator.
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test-captures')

NDR = uuidtup_to_bin(('8a885d04-1ceb-11c9-9fe8-08002b104860', '2.0'))
EPM = epm.MSRPC_UUID_PORTMAP
EMSMDB = uuidtup_to_bin(('a4f1db00-ca47-1067-b31f-00dd010662da', '0.81'))
ASYNCEMSMDB = uuidtup_to_bin(('5261574a-4572-206e-b268-6b199213b4e4', '0.1'))
NSPI = nspi.MSRPC_UUID_NSPI
RFR = oxabref.MSRPC_UUID_OXABREF
SAMR = uuidtup_to_bin(('12345778-1234-abcd-ef00-0123456789ac', '1.0'))
LSARPC = uuidtup_to_bin(('12345778-1234-abcd-ef00-0123456789ab', '0.0'))
STORE_ADMIN1 = uuidtup_to_bin(('a4f1db00-ca47-1067-b31e-00dd010662da', '1.0'))

CLIENT4, SERVER4 = '192.168.2.56', '192.168.2.50'
CLIENT6, SERVER6 = '2001:db8:2::56', '2001:db8:2::50'
FIRST_CLIENT_PORT = 50701

# Interface -> port, as an Exchange 2010 server with static RPC ports answers.
MAILBOX_PORT, AB_PORT = 59531, 59532
EXCHANGE_MAP = {RFR: AB_PORT, NSPI: AB_PORT, EMSMDB: MAILBOX_PORT}
OTHER_MAP = {SAMR: 49664, LSARPC: 49665}
# Dynamic ports (Exchange 2013 on: no static RPC ports) that no ept_map answer in the captures names.
DYN_AB_PORT, DYN_OTHER_PORT = 49670, 49671
DYN_NAK_PORT = 49672        # bind-refused: a server process that answers every BIND with BIND_NAK


# ---------------------------------------------------------------- responder

def recv_exact(sock, n):
    buf = b''
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_pdu(sock):
    hdr = recv_exact(sock, 16)
    if hdr is None:
        return None
    frag_len = struct.unpack('<H', hdr[8:10])[0]
    rest = recv_exact(sock, frag_len - 16)
    return None if rest is None else hdr + rest


def make_tower(iface_bin, port, ip):
    """An ncacn_ip_tcp tower (5 floors), from impacket's floor classes."""
    itf = epm.EPMRPCInterface()
    itf['InterfaceUUID'] = iface_bin[:16]
    itf['MajorVersion'], itf['MinorVersion'] = struct.unpack('<HH', iface_bin[16:20])
    rep = epm.EPMRPCDataRepresentation()
    rep['DataRepUuid'] = NDR[:16]
    rep['MajorVersion'], rep['MinorVersion'] = 2, 0
    prot = epm.EPMProtocolIdentifier()
    prot['ProtIdentifier'] = epm.FLOOR_RPCV5_IDENTIFIER
    port_floor = epm.EPMPortAddr()
    port_floor['IpPort'] = port
    host = epm.EPMHostAddr()
    host['Ip4addr'] = socket.inet_aton(ip)
    tower = epm.EPMTower()
    tower['NumberOfFloors'] = 5
    tower['Floors'] = itf.getData() + rep.getData() + prot.getData() + port_floor.getData() + host.getData()
    return tower


def tower_answer(iface_bin, port, tower_ip):
    """An ept_map answer stub with one tower."""
    tower = make_tower(iface_bin, port, tower_ip)
    resp = epm.ept_mapResponse()
    resp['entry_handle']['context_handle_attributes'] = 0
    resp['num_towers'] = 1
    twr = epm.twr_p_t()
    twr['tower_length'] = len(tower.getData())
    twr['tower_octet_string'] = tower.getData()
    resp['ITowers'] = [twr]
    resp['status'] = 0
    return resp.getData()


class Fault:
    """What a Service's answer function returns for a call the server rejects: the FAULT PDU's
    status (C706 12.6.4.7), e.g. NCA_S_OP_RNG_ERROR or RPC_S_ACCESS_DENIED."""

    def __init__(self, status):
        self.status = status


NCA_S_OP_RNG_ERROR = 0x1c010002     # no such operation number (C706 appendix E)
RPC_S_ACCESS_DENIED = 0x00000005    # as Windows servers fault a call the caller may not make


class Service:
    """What one responder port answers: accepted interfaces and per-opnum stubs."""

    def __init__(self, ifaces, answer, sec_addr, nak_reason=None):
        self.ifaces = ifaces            # set of 20-byte syntax ids
        self.answer = answer            # (iface, opnum, stub) -> stub
        self.sec_addr = sec_addr
        self.nak_reason = nak_reason    # not None: every BIND is answered BIND_NAK with this reason


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        svc = self.server.service
        contexts = {}
        while True:
            data = recv_pdu(self.request)
            if data is None:
                return
            reply = self.answer_pdu(data, svc, contexts)
            if reply is not None:
                self.request.sendall(reply)

    @staticmethod
    def answer_pdu(data, svc, contexts):
        """The reply to one BIND, ALTER_CONTEXT or REQUEST PDU (None for other PDUs).

        Also used by gen_http.py, whose RPC proxy answers IN-channel PDUs on the OUT channel."""
        hdr = MSRPCHeader(data)
        if hdr['type'] == MSRPC_BIND and svc.nak_reason is not None:
            return Handler.bind_nak(hdr, svc.nak_reason)
        if hdr['type'] in (MSRPC_BIND, MSRPC_ALTERCTX):
            return Handler.bind_ack(hdr, svc, contexts)
        if hdr['type'] != MSRPC_REQUEST:
            return None
        req = MSRPCRequestHeader(data)
        iface = contexts.get(req['ctx_id'])
        stub = svc.answer(iface, req['op_num'], req['pduData'])
        resp = MSRPCRespHeader()
        resp['type'] = MSRPC_RESPONSE
        if isinstance(stub, Fault):
            # FAULT: the response header, then status and 4 reserved bytes; alloc_hint 0.
            resp['type'] = MSRPC_FAULT
            stub = struct.pack('<II', stub.status, 0)
        resp['flags'] = PFC_FIRST_FRAG | PFC_LAST_FRAG
        resp['call_id'] = hdr['call_id']
        resp['ctx_id'] = req['ctx_id']
        resp['alloc_hint'] = len(stub) if resp['type'] == MSRPC_RESPONSE else 0
        resp['pduData'] = stub
        resp['frag_len'] = len(resp.getData())
        return resp.getData()

    @staticmethod
    def bind_nak(hdr, reason):
        """BIND_NAK (C706 12.6.4.5): the reject reason and the protocol versions supported (5.0)."""
        return _co_pdu(MSRPC_BINDNAK, struct.pack('<HBBB', reason, 1, 5, 0), hdr['call_id'])

    @staticmethod
    def bind_ack(hdr, svc, contexts):
        bind = MSRPCBind(hdr['pduData'])
        ack = MSRPCBindAck()
        ack['type'] = MSRPC_BINDACK if hdr['type'] == MSRPC_BIND else MSRPC_ALTERCTX_R
        ack['flags'] = PFC_FIRST_FRAG | PFC_LAST_FRAG
        ack['call_id'] = hdr['call_id']
        ack['max_tfrag'] = bind['max_tfrag']
        ack['max_rfrag'] = bind['max_rfrag']
        ack['assoc_group'] = 0x5a3c
        # impacket writes SecondaryAddr NUL-terminated; the length counts the NUL.
        sec = svc.sec_addr.encode() if hdr['type'] == MSRPC_BIND else b''
        ack['SecondaryAddrLen'] = len(sec) + 1
        ack['SecondaryAddr'] = sec
        results = b''
        data = bind['ctx_items']
        for _ in range(bind['ctx_num']):
            item = CtxItem(data)
            data = data[len(item):]
            res = CtxItemResult()
            res['TransferSyntax'] = NDR
            if item['AbstractSyntax'] in svc.ifaces and item['TransferSyntax'] == NDR:
                res['Result'], res['Reason'] = MSRPC_CONT_RESULT_ACCEPT, 0
                contexts[item['ContextID']] = item['AbstractSyntax']
            else:
                res['Result'], res['Reason'] = MSRPC_CONT_RESULT_PROV_REJECT, 1
            results += res.getData()
        ack['ctx_num'] = bind['ctx_num']
        ack['Pad'] = b'\x00' * ((4 - ((len(sec) + 1 + MSRPCBindAck._SIZE) % 4)) % 4)
        ack['ctx_items'] = results
        ack['frag_len'] = len(ack.getData())
        return ack.getData()


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    address_family = socket.AF_INET


class Server6(Server):
    address_family = socket.AF_INET6


def start_responder(host, port, service):
    cls = Server6 if ':' in host else Server
    srv = cls((host, port), Handler)
    srv.service = service
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def epm_service(mapping, tower_ip):
    def answer(iface, opnum, stub):
        req = epm.ept_map(stub)
        tower = epm.EPMTower(b''.join(req['map_tower']['tower_octet_string']))
        wanted = tower['Floors'][0]['InterfaceUUID'] + struct.pack(
            '<HH', tower['Floors'][0]['MajorVersion'], tower['Floors'][0]['MinorVersion'])
        port = mapping.get(wanted)
        if port is None:
            # EPT_S_NOT_REGISTERED with no towers.
            return b'\x00' * 20 + struct.pack('<IIII', 0, 1, 0, 0) + struct.pack('<I', 0x16c9a0d6)
        return tower_answer(wanted, port, tower_ip)
    return Service({EPM}, answer, '135')


def exchange_service(port):
    def answer(iface, opnum, stub):
        if iface == NSPI and opnum == 0:
            resp = nspi.NspiBindResponse()
            resp['pServerGuid'] = NULL
            resp['contextHandle']['context_handle_attributes'] = 0
            resp['contextHandle']['context_handle_uuid'] = b'\x5e' * 16
            resp['ErrorCode'] = 0
            return resp.getData()
        if iface == RFR and opnum == 0:
            resp = oxabref.RfrGetNewDSAResponse()
            resp['ppszUnused'] = NULL
            resp['ppszServer'] = 'exch01.contoso.test\x00'
            return resp.getData() + struct.pack('<I', 0)
        if iface in (SAMR, LSARPC):
            # SamrConnect / LsarClose: a context handle and STATUS_SUCCESS.
            return b'\x00' * 4 + b'\x7a' * 16 + struct.pack('<I', 0)
        # EMSMDB / AsyncEMSMDB: a context handle and a zero return code are
        # all the client reads.
        return b'\x00' * 4 + b'\x3c' * 16 + struct.pack('<II', 0, 0)
    return Service({EMSMDB, ASYNCEMSMDB, NSPI, RFR, SAMR, LSARPC, STORE_ADMIN1}, answer, str(port))


# ------------------------------------------------------------------- client

def dce_to(host, port):
    t = transport.TCPTransport(host, port)
    dce = t.get_dce_rpc()
    dce.connect()
    return dce


def ept_map_request(iface_bin, max_towers=1, entry_handle=None):
    """An ept_map request for iface_bin's TCP endpoints, as impacket's hept_map builds it
    (fixed referent IDs); entry_handle (16 bytes) continues an earlier lookup."""
    tower = make_tower(iface_bin, 0, '0.0.0.0')
    req = epm.ept_map()
    if entry_handle is not None:
        req['entry_handle']['context_handle_attributes'] = 0
        req['entry_handle']['context_handle_uuid'] = entry_handle
    req['max_towers'] = max_towers
    req['map_tower']['tower_length'] = len(tower)
    req['map_tower']['tower_octet_string'] = tower.getData()
    req.fields['obj'].fields['ReferentID'] = 1
    req.fields['map_tower'].fields['ReferentID'] = 2
    return req


def exchange_service_answering(port, answers):
    """exchange_service(port), answering the (interface, opnum) pairs of answers with what their
    function returns (called with no argument) and everything else as before."""
    svc = exchange_service(port)
    plain = svc.answer

    def answer(iface, opnum, stub):
        make = answers.get((iface, opnum))
        return make() if make else plain(iface, opnum, stub)
    svc.answer = answer
    return svc


def ept_map(dce, iface_bin):
    """impacket's hept_map request, on an already bound EPM connection."""
    req = ept_map_request(iface_bin)
    try:
        resp = dce.request(req)
    except Exception:       # not registered: the answer carries no tower
        return None
    answer = epm.EPMTower(b''.join(resp['ITowers'][0]['Data']['tower_octet_string']))
    return struct.unpack('>H', answer['Floors'][3]['RelatedData'])[0]   # floor 4: TCP port, big-endian


def ec_do_connect_ex(dce):
    user_dn = b'/o=Contoso/ou=Exchange Administrative Group/cn=Recipients/cn=alice\x00'
    n = len(user_dn)
    stub = struct.pack('<III', n, 0, n) + user_dn
    stub += b'\x00' * ((4 - len(stub) % 4) % 4)
    stub += struct.pack('<IIIIIII', 0, 0, 0, 1252, 1033, 1033, 0xffffffff)
    stub += struct.pack('<HHHH', 1, 16, 0, 0) + struct.pack('<IIII', 0, 0, 0, 0x1008)
    dce.call(10, stub)
    dce.recv()


def rpc_call(dce, opnum, stub=b'\x00' * 8):
    dce.call(opnum, stub)
    dce.recv()


def outlook_start(host):
    conns = []
    dce = dce_to(host, 135)
    dce.bind(EPM)
    ports = {name: ept_map(dce, iface) for name, iface in (('rfr', RFR), ('nspi', NSPI), ('emsmdb', EMSMDB))}
    dce.disconnect()

    dce = dce_to(host, ports['rfr'])
    dce.bind(RFR)
    oxabref.hRfrGetNewDSA(dce, '/o=Contoso/ou=Exchange Administrative Group/cn=Recipients/cn=alice')
    dce.disconnect()

    dce = dce_to(host, ports['nspi'])
    dce.bind(NSPI)
    nspi.hNspiBind(dce)
    conns.append(dce)

    dce = dce_to(host, ports['emsmdb'])
    dce.bind(EMSMDB)
    ec_do_connect_ex(dce)
    rpc_call(dce, 11)
    conns.append(dce)

    dce = dce_to(host, ports['emsmdb'])
    dce.bind(ASYNCEMSMDB)
    rpc_call(dce, 0)
    conns.append(dce)
    for c in conns:
        c.disconnect()


def static_ports(host):
    dce = dce_to(host, 135)
    dce.bind(EPM)
    for iface in (EMSMDB, NSPI):
        ept_map(dce, iface)
    dce.disconnect()

    dce = dce_to(host, 6001)
    # One BIND with two presentation contexts, as Outlook's EMSMDB client
    # sends when it wants the async interface on the same association.
    link = dce.get_rpc_transport()
    link.send(_co_pdu(MSRPC_BIND, bind_contexts((EMSMDB, ASYNCEMSMDB)), 1))
    recv_pdu(link.get_socket())
    link.send(_co_request(10, 2, b'\x00' * 16))
    recv_pdu(link.get_socket())
    dce.disconnect()

    dce = dce_to(host, 6004)
    dce.bind(NSPI)
    nspi.hNspiBind(dce)
    alt = dce.alter_ctx(RFR)
    oxabref.hRfrGetNewDSA(alt, '/o=Contoso/ou=Exchange Administrative Group/cn=Recipients/cn=alice')
    dce.disconnect()


def bind_contexts(ifaces):
    """A BIND body with one presentation context per interface (NDR)."""
    bind = MSRPCBind()
    for ctx, iface in enumerate(ifaces):
        item = CtxItem()
        item['ContextID'] = ctx
        item['TransItems'] = 1
        item['AbstractSyntax'] = iface
        item['TransferSyntax'] = NDR
        bind.addCtxItem(item)
    return bind.getData()


def _co_pdu(ptype, body, call_id):
    hdr = MSRPCHeader()
    hdr['type'] = ptype
    hdr['flags'] = PFC_FIRST_FRAG | PFC_LAST_FRAG
    hdr['call_id'] = call_id
    hdr['pduData'] = body
    hdr['frag_len'] = len(hdr.getData())
    return hdr.getData()


def _co_request(opnum, call_id, stub):
    req = MSRPCRequestHeader()
    req['type'] = MSRPC_REQUEST
    req['flags'] = PFC_FIRST_FRAG | PFC_LAST_FRAG
    req['call_id'] = call_id
    req['ctx_id'] = 0
    req['op_num'] = opnum
    req['alloc_hint'] = len(stub)
    req['pduData'] = stub
    req['frag_len'] = len(req.getData())
    return req.getData()


def contradicted(host):
    dce = dce_to(host, 135)
    dce.bind(EPM)
    port = ept_map(dce, EMSMDB)
    dce.disconnect()
    d = dce_to(host, port)
    d.bind(STORE_ADMIN1)
    rpc_call(d, 0)
    d.disconnect()
    d = dce_to(host, port)
    d.bind(EMSMDB)
    ec_do_connect_ex(d)
    d.disconnect()


def negative(host):
    dce = dce_to(host, 135)
    dce.bind(EPM)
    ports = [ept_map(dce, iface) for iface in (SAMR, LSARPC)]
    dce.disconnect()
    d = dce_to(host, ports[0])
    d.bind(SAMR)
    samr.hSamrConnect(d)
    d.disconnect()
    d = dce_to(host, ports[1])
    d.bind(LSARPC)
    lsad.hLsarClose(d, b'\x00' * 4 + b'\x7a' * 16)
    d.disconnect()
    # Store admin on the mailbox port: one hex digit away from EMSMDB.
    d = dce_to(host, MAILBOX_PORT)
    d.bind(STORE_ADMIN1)
    rpc_call(d, 0)
    d.disconnect()


def faulted_call(dce, opnum, stub=b'\x00' * 8):
    """rpc_call() for a call the server faults: impacket raises the FAULT's status, by name."""
    try:
        rpc_call(dce, opnum, stub)
    except DCERPCException as e:
        return str(e)
    raise AssertionError(f'opnum {opnum} was answered, not faulted')


FAULTED = {(NSPI, 3): lambda: Fault(RPC_S_ACCESS_DENIED), (EMSMDB, 99): lambda: Fault(NCA_S_OP_RNG_ERROR),
           (EMSMDB, 11): lambda: Fault(RPC_S_ACCESS_DENIED)}


def faults(host):
    """Three answers are FAULT PDUs: NspiQueryRows, opnum 99 and EcDoRpcExt2 (see FAULTED)."""
    dce = dce_to(host, 135)
    dce.bind(EPM)
    ports = {name: ept_map(dce, iface) for name, iface in (('nspi', NSPI), ('emsmdb', EMSMDB))}
    dce.disconnect()

    dce = dce_to(host, ports['nspi'])
    dce.bind(NSPI)
    nspi.hNspiBind(dce)
    assert faulted_call(dce, 3) == 'rpc_s_access_denied'
    dce.disconnect()

    dce = dce_to(host, ports['emsmdb'])
    dce.bind(EMSMDB)
    ec_do_connect_ex(dce)
    assert faulted_call(dce, 99) == 'nca_s_op_rng_error'
    assert faulted_call(dce, 11) == 'rpc_s_access_denied'
    dce.disconnect()


# ------------------------------------------- return codes of EMSMDB and NSPI calls

MAPI_E_LOGON_FAILED = 0x80040111    # MS-OXCDATA 2.4.1 (ecLoginFailure)
EC_RPC_FORMAT = 0x000004B6          # MS-OXCDATA 2.4.2 ecRpcFormat: the request buffer is malformed


def nspi_bind_answer(code):
    """NspiBind's answer (MS-NSPI 3.1.4.1.1) as impacket builds it; a failed bind returns a null handle."""
    def make():
        resp = nspi.NspiBindResponse()
        resp['pServerGuid'] = NULL
        resp['contextHandle']['context_handle_attributes'] = 0
        resp['contextHandle']['context_handle_uuid'] = (b'\x5e' if code == 0 else b'\x00') * 16
        resp['ErrorCode'] = code
        return resp.getData()
    return make


def ndr_string(text):
    """A unique pointer to a conformant varying NUL-terminated 8-bit string, 4-byte aligned after."""
    raw = text.encode() + b'\x00'
    out = struct.pack('<IIII', 0x20000, len(raw), 0, len(raw)) + raw
    return out + b'\x00' * ((4 - len(out) % 4) % 4)


def ec_do_connect_ex_answer(code):
    """EcDoConnectEx's answer (MS-OXCRPC 3.1.4.1): session handle, polling and retry figures, the DN
    prefix and display name, server and best versions, time stamp, an empty auxiliary buffer and its
    size, then the return code."""
    def make():
        stub = b'\x00' * 4 + b'\x3c' * 16                 # pcxh
        stub += struct.pack('<III', 60000, 6, 10000)          # pcmsPollsMax, pcRetry, pcmsRetryDelay
        stub += struct.pack('<HH', 0x12, 0)                   # picxr, padding
        stub += ndr_string('/o=Contoso/ou=Exchange Administrative Group/cn=Recipients')
        stub += ndr_string('Alice')
        stub += struct.pack('<HHH', 14, 3, 8158) + struct.pack('<HHH', 14, 3, 8158)
        stub += struct.pack('<I', 0x5a3c0001)                 # pulTimeStamp
        stub += struct.pack('<III', 0, 0, 0)                  # rgbAuxOut: max 0, offset 0, actual 0
        stub += struct.pack('<I', 0)                          # pcbAuxOut
        return stub + struct.pack('<I', code)
    return make


def ec_do_rpc_ext2_answer(code):
    """EcDoRpcExt2's answer (MS-OXCRPC 3.1.4.2): handle, flags, an empty rgbOut and its size, an
    empty rgbAuxOut and its size, the server's processing time, then the return code."""
    def make():
        stub = b'\x00' * 4 + b'\x3c' * 16                 # pcxh
        stub += struct.pack('<I', 0)                          # pulFlags
        stub += struct.pack('<III', 0, 0, 0) + struct.pack('<I', 0)   # rgbOut, pcbOut
        stub += struct.pack('<III', 0, 0, 0) + struct.pack('<I', 0)   # rgbAuxOut, pcbAuxOut
        stub += struct.pack('<I', 3)                          # pulTransTime
        return stub + struct.pack('<I', code)
    return make


def ec_do_disconnect_answer(code):
    """EcDoDisconnect's answer (MS-OXCRPC 3.1.4.3): the (now null) handle and the return code."""
    return lambda: b'\x00' * 20 + struct.pack('<I', code)


def return_codes(nspi_first, rpc_ext2):
    """The answers of the nspi-logon-* scenarios: the first NspiBind's and EcDoRpcExt2's codes."""
    binds = iter([nspi_first, 0])
    return {(NSPI, 0): lambda: nspi_bind_answer(next(binds, 0))(),
            (EMSMDB, 10): ec_do_connect_ex_answer(0), (EMSMDB, 11): ec_do_rpc_ext2_answer(rpc_ext2),
            (EMSMDB, 1): ec_do_disconnect_answer(0)}


def nspi_logon(host):
    """NspiBind answered (first with the scenario's code), then again; EcDoConnectEx, EcDoRpcExt2,
    EcDoDisconnect on the mailbox port."""
    ab_port, mdb_port = epm_lookup(host, (NSPI, EMSMDB))
    ab = dce_to(host, ab_port)
    ab.bind(NSPI)
    for _ in range(2):
        try:
            nspi.hNspiBind(ab)
        except DCERPCException as e:       # impacket raises a non-zero ErrorCode by name
            assert 'MAPI_E_LOGON_FAILED' in str(e) or '0x80040111' in str(e), e
    ab.disconnect()
    mdb = dce_to(host, mdb_port)
    mdb.bind(EMSMDB)
    ec_do_connect_ex(mdb)
    rpc_call(mdb, 11, b'\x00' * 20 + struct.pack('<IIII', 0, 0, 0, 0x8008) + struct.pack('<III', 0, 0, 0))
    rpc_call(mdb, 1, b'\x00' * 4 + b'\x3c' * 16)
    mdb.disconnect()


# ------------------------------------------------ captures that begin mid-conversation

CUT = []    # the moment (time.time()) the scenario's capture is to begin; see cut()


def mark_cut():
    """The capture begins here: everything recorded before is dropped by cut().  Waits for the
    kernel's delayed ACKs first, so the cut falls between two exchanges, not inside one."""
    time.sleep(0.5)
    CUT.append(time.time())


def cut(pkts):
    """The packets recorded after the scenario's mark_cut()."""
    return [p for p in pkts if float(p.time) >= CUT[-1]]


def epm_lookup(host, ifaces):
    dce = dce_to(host, 135)
    dce.bind(EPM)
    ports = [ept_map(dce, iface) for iface in ifaces]
    dce.disconnect()
    return ports


# --------------------------------------------- the server's answer to a BIND decides

REASON_NOT_SPECIFIED = 0        # BIND_NAK provider_reject_reason (C706 12.6.3.1)


def refused_bind(dce, ifaces):
    """One BIND with a context per interface; impacket's client raises the server's refusal."""
    link = dce.get_rpc_transport()
    link.send(_co_pdu(MSRPC_BIND, bind_contexts(ifaces), 1))
    answer = recv_pdu(link.get_socket())
    assert answer[2] in (MSRPC_BINDNAK, MSRPC_BINDACK), answer[2]
    if answer[2] == MSRPC_BINDACK:
        ack = MSRPCBindAck(answer)
        assert all(ack.getCtxItem(i + 1)['Result'] == MSRPC_CONT_RESULT_PROV_REJECT for i in range(len(ifaces)))


def bind_refused(host):
    d = dce_to(host, DYN_NAK_PORT)
    try:
        d.bind(EMSMDB)
        raise AssertionError('the BIND was not refused')
    except DCERPCException as e:
        assert 'reason_not_specified' in str(e), e
    d.disconnect()
    d = dce_to(host, DYN_OTHER_PORT)
    refused_bind(d, (EMSMDB, ASYNCEMSMDB))
    d.disconnect()
    d = dce_to(host, DYN_AB_PORT)
    d.bind(NSPI)
    nspi.hNspiBind(d)
    d.disconnect()


def late_epm(late_ifaces):
    def run(host):
        ab_port, mdb_port = epm_lookup(host, (NSPI, EMSMDB))
        ab = dce_to(host, ab_port)
        ab.bind(NSPI)
        nspi.hNspiBind(ab)
        mdb = dce_to(host, mdb_port)
        mdb.bind(EMSMDB)
        ec_do_connect_ex(mdb)
        mark_cut()
        rpc_call(ab, 3)         # NspiQueryRows
        rpc_call(mdb, 11)       # EcDoRpcExt2
        ab.disconnect()
        epm_lookup(host, late_ifaces)
        rpc_call(mdb, 11)
        mdb.disconnect()
    return run


def bind_elsewhere(iface, first_call):
    def run(host):
        a = dce_to(host, DYN_AB_PORT)
        a.bind(iface)
        first_call(a)
        mark_cut()
        rpc_call(a, 3)
        b = dce_to(host, DYN_AB_PORT)
        b.bind(iface)
        first_call(b)
        b.disconnect()
        rpc_call(a, 3)
        a.disconnect()
    return run


def unexplained_port(ifaces):
    def run(host):
        x = dce_to(host, DYN_OTHER_PORT)
        x.bind(STORE_ADMIN1)
        rpc_call(x, 0)
        mark_cut()
        rpc_call(x, 0)
        epm_lookup(host, ifaces)
        rpc_call(x, 0)
        x.disconnect()
    return run


def port_reuse_late(host):
    a = dce_to(host, MAILBOX_PORT)
    a.bind(SAMR)
    samr.hSamrConnect(a)
    a.disconnect()
    time.sleep(0.5)     # both FINs and the last ACK before the next SYN, as tcp-port-reuse.pcap
    b = dce_to(host, MAILBOX_PORT)
    b.bind(EMSMDB)
    ec_do_connect_ex(b)
    rpc_call(b, 11)
    b.disconnect()
    time.sleep(0.5)
    epm_lookup(host, (EMSMDB,))


def reuse_client_port(pkts, old, new):
    """Connection `old` (a rewritten client port) moved onto client port `new`, and its BIND/BIND_ACK
    dropped: the same address and port pair used twice in turn, the second time with no BIND seen."""
    out = []
    for p in pkts:
        if old in (p[TCP].sport, p[TCP].dport):
            if is_bind_or_ack(p):
                continue
            p = p.copy()
            if p[TCP].sport == old:
                p[TCP].sport = new
            else:
                p[TCP].dport = new
            del p[TCP].chksum
        out.append(p)
    return out


# ---------------------------------------------------------------- recording

PORT_FILTER = 'tcp port 135 or tcp portrange 6001-6004 or tcp portrange 49664-49672 or tcp portrange 59531-59532'


def record(run, family, exchange_map=EXCHANGE_MAP, answers=None, services=None):
    """Run one client scenario against fresh responders and return its packets; answers: the
    (interface, opnum) pairs the Exchange ports answer otherwise (exchange_service_answering);
    services: {port: Service} answering instead of exchange_service on those ports."""
    host = '::1' if family == 6 else '127.0.0.1'
    tower_ip = '0.0.0.0' if family == 6 else SERVER4
    servers = [start_responder(host, 135, epm_service({**exchange_map, **OTHER_MAP}, tower_ip))]
    for port in (MAILBOX_PORT, AB_PORT, 6001, 6004, 49664, 49665, DYN_AB_PORT, DYN_OTHER_PORT):
        servers.append(start_responder(host, port, (services or {}).get(port)
                                       or exchange_service_answering(port, answers or {})))
    for port, svc in (services or {}).items():
        if port == DYN_NAK_PORT:
            servers.append(start_responder(host, port, svc))

    try:
        return capture(PORT_FILTER, lambda: run(host))
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


def capture(port_filter, action):
    """Record loopback traffic matching port_filter while action() runs; return its packets."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'raw.pcapng')
        cap = subprocess.Popen(['dumpcap', '-q', '-i', 'lo', '-f', port_filter, '-w', out],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not (os.path.exists(out) and os.path.getsize(out) > 0) and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        try:
            action()
        finally:
            time.sleep(1.0)
            cap.terminate()
            cap.wait()
        return list(rdpcap(out))


def rewrite(pkts, family):
    """Loopback -> a Windows client and an Exchange server; see the docstring."""
    client, server = (CLIENT6, SERVER6) if family == 6 else (CLIENT4, SERVER4)
    conns, next_port, out = {}, FIRST_CLIENT_PORT, []
    for p in pkts:
        tcp = p[TCP]
        key = frozenset((tcp.sport, tcp.dport))
        if tcp.flags.S and not tcp.flags.A:
            conns[key] = (tcp.sport, next_port)
            next_port += 1
        if key not in conns:
            continue
        orig_client_port, new_port = conns[key]
        from_client = tcp.sport == orig_client_port
        seg = tcp.copy()
        del seg.chksum
        if from_client:
            seg.sport = new_port
        else:
            seg.dport = new_port
        src, dst = (client, server) if from_client else (server, client)
        ip = IPv6(src=src, dst=dst, hlim=64) if family == 6 else IP(src=src, dst=dst, ttl=128, id=p[IP].id)
        mac_c, mac_s = '00:15:5d:02:00:56', '00:15:5d:02:00:50'
        eth = Ether(src=mac_c if from_client else mac_s, dst=mac_s if from_client else mac_c)
        q = eth / ip / seg
        q.time = p.time
        out.append(q)
    return out


def is_bind_or_ack(p):
    raw = bytes(p[TCP].payload)
    return len(raw) >= 16 and raw[0] == 5 and raw[2] in (MSRPC_BIND, MSRPC_BINDACK)


def is_handshake(p):
    return not bytes(p[TCP].payload) and (p[TCP].flags.S or p[TCP].flags.A and p[TCP].seq <= 1)


def server_port(p):
    return min(p[TCP].sport, p[TCP].dport)


def drop_start_of(pkts, pred_conn):
    """Drop the SYN handshake and BIND/BIND_ACK of the connections pred_conn selects."""
    out, seen_data = [], set()
    for p in pkts:
        key = frozenset((p[TCP].sport, p[TCP].dport))
        if pred_conn(p):
            if is_bind_or_ack(p):
                continue
            if key not in seen_data and not bytes(p[TCP].payload):
                continue        # handshake before the first data we keep
            if bytes(p[TCP].payload):
                seen_data.add(key)
        out.append(p)
    return out


def corrupt_bind(p):
    """The 6004 BIND with its context count (byte 24) set to 9."""
    raw = bytes(p[TCP].payload)
    if p[TCP].dport != 6004 or not is_bind_or_ack(p) or raw[2] != MSRPC_BIND:
        return p
    q = p.copy()
    q[TCP].remove_payload()
    q[TCP].add_payload(raw[:24] + b'\x09' + raw[25:])
    del q[TCP].chksum
    q.time = p.time
    return q


def write(name, pkts):
    path = os.path.join(HERE, name)
    wrpcap(path, pkts)
    print(f'{name}: {len(pkts)} frames')


def main(argv):
    wanted = set(argv) or {'outlook-start', 'late-start', 'bind-no-epm', 'static-ports', 'static-ports-no-epm',
                           'malformed-bind', 'ipv6', 'contradicted', 'negative', 'faults', 'late-epm',
                           'late-epm-negative', 'bind-elsewhere', 'bind-elsewhere-negative', 'unexplained-port',
                           'unexplained-port-negative', 'port-reuse-late', 'bind-refused', 'nspi-logon-failed',
                           'nspi-logon-ok'}
    if wanted & {'outlook-start', 'late-start', 'bind-no-epm'}:
        start = rewrite(record(outlook_start, 4), 4)
        if 'outlook-start' in wanted:
            write('rpc-tcp-outlook-start.pcap', start)
        if 'late-start' in wanted:
            write('rpc-tcp-late-start.pcap', drop_start_of(start, lambda p: server_port(p) != 135))
        if 'bind-no-epm' in wanted:
            write('rpc-tcp-bind-no-epm.pcap', [p for p in start if server_port(p) != 135])
    if wanted & {'static-ports', 'static-ports-no-epm', 'malformed-bind'}:
        static = rewrite(record(static_ports, 4, {EMSMDB: 6001, NSPI: 6004}), 4)
        if 'static-ports' in wanted:
            write('rpc-tcp-static-ports.pcap', static)
        if 'static-ports-no-epm' in wanted:
            write('rpc-tcp-static-ports-no-epm.pcap', [p for p in static if server_port(p) != 135])
        if 'malformed-bind' in wanted:
            write('rpc-tcp-malformed-bind.pcap',
                  [corrupt_bind(p) for p in static if server_port(p) != 135])
    if 'ipv6' in wanted:
        pkts = rewrite(record(outlook_start, 6), 6)
        # The last connection to the mailbox port is the AsyncEMSMDB one.
        last_client = max(p[TCP].sport for p in pkts if p[TCP].dport == MAILBOX_PORT)
        pkts = drop_start_of(pkts, lambda p: last_client in (p[TCP].sport, p[TCP].dport))
        write('rpc-tcp-ipv6.pcap', pkts)
    if 'contradicted' in wanted:
        write('rpc-tcp-contradicted.pcap', rewrite(record(contradicted, 4), 4))
    if 'negative' in wanted:
        write('rpc-tcp-negative.pcap', rewrite(record(negative, 4), 4))
    if 'faults' in wanted:
        write('rpc-tcp-faults.pcap', rewrite(record(faults, 4, answers=FAULTED), 4))
    if 'nspi-logon-failed' in wanted:
        write('rpc-tcp-nspi-logon-failed.pcap',
              rewrite(record(nspi_logon, 4, answers=return_codes(MAPI_E_LOGON_FAILED, EC_RPC_FORMAT)), 4))
    if 'nspi-logon-ok' in wanted:
        write('rpc-tcp-nspi-logon-ok.pcap', rewrite(record(nspi_logon, 4, answers=return_codes(0, 0)), 4))
    midstream = {
        'late-epm': late_epm((NSPI, EMSMDB)),
        'late-epm-negative': late_epm((SAMR, LSARPC)),
        'bind-elsewhere': bind_elsewhere(NSPI, nspi.hNspiBind),
        'bind-elsewhere-negative': bind_elsewhere(SAMR, samr.hSamrConnect),
        'unexplained-port': unexplained_port((NSPI, EMSMDB)),
        'unexplained-port-negative': unexplained_port((SAMR, LSARPC)),
    }
    for name, run in midstream.items():
        if name in wanted:
            write(f'rpc-tcp-{name}.pcap', cut(rewrite(record(run, 4), 4)))
    if 'bind-refused' in wanted:
        # 49671 serves none of Exchange's interfaces (its BIND_ACK refuses them); 49672 NAKs every BIND.
        plain = exchange_service(DYN_OTHER_PORT).answer
        refusing = {DYN_OTHER_PORT: Service({SAMR, LSARPC}, plain, str(DYN_OTHER_PORT)),
                    DYN_NAK_PORT: Service(set(), plain, str(DYN_NAK_PORT), nak_reason=REASON_NOT_SPECIFIED)}
        write('rpc-tcp-bind-refused.pcap', rewrite(record(bind_refused, 4, services=refusing), 4))
    if 'port-reuse-late' in wanted:
        write('rpc-tcp-port-reuse-late.pcap',
              reuse_client_port(rewrite(record(port_reuse_late, 4), 4), FIRST_CLIENT_PORT + 1, FIRST_CLIENT_PORT))


if __name__ == '__main__':
    main(sys.argv[1:])
