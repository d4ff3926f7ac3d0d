"""Frames onto a network interface, for test_live.py (run as root inside its network namespace).

  replay.py probe SEND RECV     send a probe frame on SEND until one arrives on RECV: the veth pair carries
  replay.py send IFACE CAPTURE  every frame of a classic pcap, in order, each with a plain PF_PACKET send()

`send` does what tcpreplay does, for a tcpreplay that injects through a PACKET_TX_RING (Debian sid's
4.5.4): that one counts a frame as sent once it is in the ring, and frames the kernel has not taken when
it closes the socket are lost without a word (tcpreplay issue 1078), so a live test would wait forever
for them.
"""
import select
import socket
import struct
import sys

PROBE_TYPE = 0x88B5         # IEEE local experimental EtherType: nothing in the namespace answers it
PROBE = b'\xff' * 6 + b'\x02\x00\x00\x00\x00\x01' + struct.pack('!H', PROBE_TYPE) + b'exchange-live-probe'.ljust(46)


def pcap_frames(path):
    data = open(path, 'rb').read()
    order = {b'\xd4\xc3\xb2\xa1': '<', b'\xa1\xb2\xc3\xd4': '>', b'\x4d\x3c\xb2\xa1': '<', b'\xa1\xb2\x3c\x4d': '>'}
    endian = order.get(data[:4])
    if endian is None:
        sys.exit(f'{path}: not a classic pcap file')
    if struct.unpack(endian + 'I', data[20:24])[0] != 1:
        sys.exit(f'{path}: not Ethernet')
    pos = 24
    while pos < len(data):
        caplen = struct.unpack(endian + 'I', data[pos + 8:pos + 12])[0]
        yield data[pos + 16:pos + 16 + caplen]
        pos += 16 + caplen


def send(iface, path):
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((iface, 0))
        count = 0
        for frame in pcap_frames(path):
            assert s.send(frame) == len(frame)
            count += 1
    print(f'Successful packets: {count}')


def probe(send_iface, recv_iface):
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(PROBE_TYPE)) as rx, \
            socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as tx:
        rx.bind((recv_iface, PROBE_TYPE))
        tx.bind((send_iface, 0))
        while True:
            tx.send(PROBE)
            # Frames sent before the kernel has activated the new link are dropped: send again until
            # one arrives (the wait is only how often to resend, nothing is decided by it).
            while select.select([rx], [], [], 0.05)[0]:
                if rx.recv(2048) == PROBE:
                    return


if __name__ == '__main__':
    {'send': send, 'probe': probe}[sys.argv[1]](*sys.argv[2:])
