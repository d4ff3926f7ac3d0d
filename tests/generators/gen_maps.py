#!/usr/bin/python3
"""Write the process maps in maps/: what admins save on an Outlook client (tasklist, netstat -ano,
PowerShell Get-Process / Get-NetTCPConnection, tasklist /FO CSV, ss -tnp), laid out as those tools
print them, in the encodings they are saved in (CRLF, UTF-16LE with BOM from PowerShell's `>`), plus
broken files. See test-captures/README.md for what each holds and which capture it goes with.

    /usr/bin/python3 tests/generators/gen_maps.py
"""
import os
import random

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test-captures', 'maps')

def tasklist(rows, hdr=('Image Name', 'PID', 'Session Name', 'Session#', 'Mem Usage'), memw=12):
    out = ['', f'{hdr[0]:<25} {hdr[1]:>8} {hdr[2]:<16} {hdr[3]:>11} {hdr[4]:>{memw}}',
           f'{"="*25} {"="*8} {"="*16} {"="*11} {"="*memw}']
    for name, pid, sess, sno, mem in rows:
        out.append(f'{name:<25} {pid:>8} {sess:<16} {sno:>11} {mem:>{memw}}')
    return out

def netstat(rows, title='Active Connections', hdr=('Proto', 'Local Address', 'Foreign Address', 'State', 'PID')):
    out = ['', title, '', f'  {hdr[0]:<5}  {hdr[1]:<22} {hdr[2]:<22} {hdr[3]:<16}{hdr[4]}']
    for proto, l, r, st, pid in rows:
        out.append(f'  {proto:<5}  {l:<22} {r:<22} {st:<15} {pid}')
    return out

TASKS_EN = [
    ('System Idle Process', 0, 'Services', 0, '8 K'),
    ('System', 4, 'Services', 0, '1,216 K'),
    ('Registry', 100, 'Services', 0, '71,384 K'),
    ('smss.exe', 388, 'Services', 0, '1,040 K'),
    ('csrss.exe', 564, 'Services', 0, '5,164 K'),
    ('wininit.exe', 660, 'Services', 0, '6,420 K'),
    ('services.exe', 732, 'Services', 0, '10,324 K'),
    ('lsass.exe', 752, 'Services', 0, '19,876 K'),
    ('svchost.exe', 884, 'Services', 0, '28,544 K'),
    ('svchost.exe', 1234, 'Services', 0, '14,212 K'),
    ('csrss.exe', 3512, 'Console', 1, '5,876 K'),
    ('explorer.exe', 3880, 'Console', 1, '112,804 K'),
    ('OUTLOOK.EXE', 4028, 'Console', 1, '312,456 K'),
    ('chrome.exe', 7312, 'Console', 1, '184,220 K'),
    ('cmd.exe', 7904, 'Console', 1, '4,916 K'),
    ('conhost.exe', 7920, 'Console', 1, '19,432 K'),
    ('tasklist.exe', 8120, 'Console', 1, '9,384 K'),
]

def de_mem(m):
    return m.replace(',', '.')

NET_TCP_EN = [
    ('TCP', '0.0.0.0:135', '0.0.0.0:0', 'LISTENING', 1234),
    ('TCP', '0.0.0.0:445', '0.0.0.0:0', 'LISTENING', 4),
    ('TCP', '0.0.0.0:5040', '0.0.0.0:0', 'LISTENING', 884),
    ('TCP', '0.0.0.0:49664', '0.0.0.0:0', 'LISTENING', 752),
    ('TCP', '0.0.0.0:49665', '0.0.0.0:0', 'LISTENING', 660),
    ('TCP', '192.168.2.56:139', '0.0.0.0:0', 'LISTENING', 4),
    ('TCP', '192.168.2.56:50688', '192.168.2.50:443', 'TIME_WAIT', 0),
    ('TCP', '192.168.2.56:50701', '192.168.2.50:443', 'ESTABLISHED', 4028),
    ('TCP', '192.168.2.56:50702', '192.168.2.50:443', 'ESTABLISHED', 4028),
    ('TCP', '192.168.2.56:50710', '142.250.1.1:443', 'ESTABLISHED', 7312),
    ('TCP', '192.168.2.56:50711', '142.250.1.1:443', 'CLOSE_WAIT', 7312),
]
STATE_DE = {'LISTENING': 'ABHÖREN', 'ESTABLISHED': 'HERGESTELLT', 'TIME_WAIT': 'WARTEND',
            'CLOSE_WAIT': 'SCHLIESSEN_WARTEN', '': ''}
NET_V6_UDP = [
    ('TCP', '[::]:135', '[::]:0', 'LISTENING', 1234),
    ('TCP', '[::]:445', '[::]:0', 'LISTENING', 4),
    ('TCP', '[2001:db8:2::56]:50701', '[2001:db8:2::50]:135', 'ESTABLISHED', 4028),
    ('TCP', '[2001:db8:2::56]:50702', '[2001:db8:2::50]:59532', 'ESTABLISHED', 4028),
    ('TCP', '[2001:db8:2::56]:50705', '[2001:db8:2::50]:59531', 'ESTABLISHED', 4028),
    ('TCP', '[fe80::5d2c:1b3a:9e4f:7a21%12]:49730', '[fe80::1%12]:445', 'ESTABLISHED', 4),
    ('UDP', '0.0.0.0:123', '*:*', '', 1396),
    ('UDP', '0.0.0.0:5353', '*:*', '', 7312),
    ('UDP', '192.168.2.56:137', '*:*', '', 4),
    ('UDP', '[::]:123', '*:*', '', 1396),
]

def write(name, lines, nl='\r\n', enc='utf-8', bom=False):
    text = nl.join(lines) + nl
    data = text.encode(enc)
    if bom:
        data = b'\xef\xbb\xbf' + data
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)

# 1. English tasklist > file, netstat -ano -p TCP >> file (cmd.exe, CRLF)
en = tasklist(TASKS_EN) + netstat(NET_TCP_EN)
write('outlook-tasklist-netstat.txt', en)

# 2. German: tasklist + full netstat -ano (TCP, TCP over IPv6, UDP), UTF-8, CRLF
tasks_de = [(n, p, s, sn, de_mem(m)) for n, p, s, sn, m in TASKS_EN]
tasks_de[0] = ('System Idle Process', 0, 'Services', 0, '8 K')
de = (tasklist(tasks_de, ('Abbildname', 'PID', 'Sitzungsname', 'Sitz.-Nr.', 'Speichernutzung'), 15)
      + netstat([(p, l, r, STATE_DE[s], pid) for p, l, r, s, pid in NET_TCP_EN + NET_V6_UDP],
                'Aktive Verbindungen', ('Proto', 'Lokale Adresse', 'Remoteadresse', 'Status', 'PID')))
write('outlook-de.txt', de)

# 3. PowerShell 5.1: Get-Process > file; Get-NetTCPConnection >> file (UTF-16LE + BOM, CRLF)
procs = [  # Handles, NPM(K), PM(K), WS(K), CPU(s), Id, SI, ProcessName
    (0, 0, 60, 8, '', 0, 0, 'Idle'),
    (5210, 0, 196, 1216, '', 4, 0, 'System'),
    (0, 16, 6120, 71384, '', 100, 0, 'Registry'),
    (1404, 27, 7324, 19876, '', 752, 0, 'lsass'),
    (1512, 38, 14288, 28544, '', 884, 0, 'svchost'),
    (702, 18, 8712, 14212, '', 1234, 0, 'svchost'),
    (2861, 121, 88212, 112804, '45.28', 3880, 1, 'explorer'),
    (5123, 210, 312456, 402112, '123.45', 4028, 1, 'OUTLOOK'),
    (412, 24, 142612, 184220, '88.02', 7312, 1, 'chrome'),
    (996, 58, 104332, 121604, '3.91', 8240, 1, 'powershell'),
]
ps = ['', f'{"Handles":>7} {"NPM(K)":>7} {"PM(K)":>8} {"WS(K)":>10} {"CPU(s)":>10} {"Id":>6} {"SI":>3} ProcessName',
      f'{"-------":>7} {"------":>7} {"-----":>8} {"-----":>10} {"------":>10} {"--":>6} {"--":>3} -----------']
for h, npm, pm, ws, cpu, pid, si, name in procs:
    ps.append(f'{h:>7} {npm:>7} {pm:>8} {ws:>10} {cpu:>10} {pid:>6} {si:>3} {name}')
ps += ['', '']
conns = [  # LocalAddress, LocalPort, RemoteAddress, RemotePort, State, AppliedSetting, OwningProcess
    ('2001:db8:2::56', 50705, '2001:db8:2::50', 59531, 'Established', 'Internet', 4028),
    ('2001:db8:2::56', 50702, '2001:db8:2::50', 59532, 'Established', 'Internet', 4028),
    ('2001:db8:2::56', 50701, '2001:db8:2::50', 135, 'Established', 'Internet', 4028),
    ('::', 49665, '::', 0, 'Listen', '', 660),
    ('::', 445, '::', 0, 'Listen', '', 4),
    ('::', 135, '::', 0, 'Listen', '', 1234),
    ('192.168.2.56', 50711, '142.250.1.1', 443, 'CloseWait', 'Internet', 7312),
    ('192.168.2.56', 50710, '142.250.1.1', 443, 'Established', 'Internet', 7312),
    ('192.168.2.56', 50702, '192.168.2.50', 443, 'Established', 'Internet', 4028),
    ('192.168.2.56', 50701, '192.168.2.50', 443, 'Established', 'Internet', 4028),
    ('192.168.2.56', 50688, '192.168.2.50', 443, 'TimeWait', 'Internet', 0),
    ('192.168.2.56', 139, '0.0.0.0', 0, 'Listen', '', 4),
    ('0.0.0.0', 50710, '0.0.0.0', 0, 'Bound', '', 7312),
    ('0.0.0.0', 49665, '0.0.0.0', 0, 'Listen', '', 660),
    ('0.0.0.0', 5040, '0.0.0.0', 0, 'Listen', '', 884),
    ('0.0.0.0', 445, '0.0.0.0', 0, 'Listen', '', 4),
    ('0.0.0.0', 135, '0.0.0.0', 0, 'Listen', '', 1234),
]
def tcprow(la, lp, ra, rp, st, ap, pid):
    return f'{la:<35} {lp!s:<9} {ra:<35} {rp!s:<10} {st:<11} {ap:<14} {pid}'.rstrip()
ps += ['', tcprow('LocalAddress', 'LocalPort', 'RemoteAddress', 'RemotePort', 'State', 'AppliedSetting', 'OwningProcess'),
       tcprow('------------', '---------', '-------------', '----------', '-----', '--------------', '-------------')]
ps += [tcprow(*c) for c in conns] + ['', '']
# Out-File pads every table line to the console width (120 columns) with blanks
width = 120
ps = [l.ljust(width) if l and len(l) < width else l for l in ps]
with open(os.path.join(OUT, 'outlook-powershell-utf16.txt'), 'wb') as f:
    f.write(('\r\n'.join(ps) + '\r\n').encode('utf-16'))

# 4. tasklist /FO CSV > file; Get-NetTCPConnection | Export-Csv (PS 5.1, #TYPE line) appended
csv = ['"Image Name","PID","Session Name","Session#","Mem Usage"']
csv += [f'"{n}","{p}","{s}","{sn}","{m}"' for n, p, s, sn, m in TASKS_EN]
cols = ['State', 'AppliedSetting', 'OwningProcess', 'CreationTime', 'OffloadState', 'Caption', 'Description',
        'ElementName', 'InstanceID', 'CommunicationStatus', 'DetailedStatus', 'HealthState', 'InstallDate', 'Name',
        'OperatingStatus', 'OperationalStatus', 'PrimaryStatus', 'Status', 'StatusDescriptions',
        'AggregationBehavior', 'AvailableRequestedStates', 'Directionality', 'EnabledDefault', 'EnabledState',
        'LocalAddress', 'LocalPort', 'OtherEnabledState', 'RemoteAddress', 'RemotePort', 'RequestedState',
        'TimeOfLastStateChange', 'TransitioningToState', 'PSComputerName', 'CimClass', 'CimInstanceProperties',
        'CimSystemProperties']
csv += ['#TYPE Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_NetTCPConnection',
        ','.join(f'"{c}"' for c in cols)]
for i, (la, lp, ra, rp, st, ap, pid) in enumerate(conns):
    v = dict(State=st, AppliedSetting=ap, OwningProcess=pid, CreationTime=f'3/14/2024 9:{10 + i % 3}:{12 + i} AM',
             OffloadState='InHost', InstanceID=f'{la}++{lp}++{ra}++{rp}', EnabledDefault=2, RequestedState=5,
             TransitioningToState=12, LocalAddress=la, LocalPort=lp, RemoteAddress=ra, RemotePort=rp,
             CimClass='ROOT/StandardCimv2:MSFT_NetTCPConnection',
             CimInstanceProperties='Microsoft.Management.Infrastructure.Internal.Data.CimPropertiesCollection',
             CimSystemProperties='Microsoft.Management.Infrastructure.CimSystemProperties')
    csv.append(','.join(f'"{v.get(c, "")}"' for c in cols))
write('outlook-csv.txt', csv)

# 5. Linux: ss -tnp, then ss -tanp (prompts echoed, LF)
def ssrow(st, rq, sq, l, r, proc=''):
    return f'{st:<10}{rq:<8}{sq:<8}{l:>40}   {r:<40}{proc}'.rstrip()
sshead = ssrow('State', 'Recv-Q', 'Send-Q', 'Local Address:Port', 'Peer Address:Port', 'Process')
est = [
    ssrow('ESTAB', 0, 0, '192.168.2.56:50701', '192.168.2.50:443', 'users:(("evolution",pid=2201,fd=31))'),
    ssrow('ESTAB', 0, 0, '192.168.2.56:50702', '192.168.2.50:443',
          'users:(("evolution",pid=2201,fd=33),("evolution",pid=2201,fd=35))'),
    ssrow('ESTAB', 0, 0, '192.168.2.56:50710', '142.250.1.1:443', 'users:(("Web Content",pid=2612,fd=45))'),
    ssrow('ESTAB', 0, 0, '192.168.2.56:22', '192.168.2.10:61234'),
    ssrow('ESTAB', 0, 0, '[::ffff:192.168.2.56]:50720', '[::ffff:192.168.2.60]:8080',
          'users:(("java",pid=3300,fd=88))'),
    ssrow('ESTAB', 0, 36, '[2001:db8::56]:50730', '[2001:db8::50]:443', 'users:(("evolution",pid=2201,fd=40))'),
]
ss = ['$ ss -tnp', sshead] + est + ['$ ss -tanp', sshead,
      ssrow('LISTEN', 0, 4096, '127.0.0.53%lo:53', '0.0.0.0:*', 'users:(("systemd-resolve",pid=612,fd=14))'),
      ssrow('LISTEN', 0, 128, '0.0.0.0:22', '0.0.0.0:*', 'users:(("sshd",pid=901,fd=3))'),
      ssrow('LISTEN', 0, 4096, '127.0.0.1:631', '0.0.0.0:*', 'users:(("cupsd",pid=955,fd=7))'),
      ssrow('TIME-WAIT', 0, 0, '192.168.2.56:50690', '192.168.2.50:443')] + est + [
      ssrow('LISTEN', 0, 128, '[::]:22', '[::]:*', 'users:(("sshd",pid=901,fd=4))'),
      ssrow('LISTEN', 0, 50, '*:8080', '*:*', 'users:(("java",pid=3300,fd=61))')]
write('linux-ss.txt', ss, nl='\n')

# 6. two hosts, each section: tasklist + netstat -ano -p TCP, copied from the console with prompts
TASKS_B = [t for t in TASKS_EN if t[0] not in ('OUTLOOK.EXE', 'chrome.exe')]
TASKS_B.insert(12, ('WINWORD.EXE', 4028, 'Console', 1, '201,332 K'))
TASKS_B.insert(13, ('OUTLOOK.EXE', 5120, 'Console', 1, '298,120 K'))
NET_B = [
    ('TCP', '0.0.0.0:135', '0.0.0.0:0', 'LISTENING', 1234),
    ('TCP', '0.0.0.0:445', '0.0.0.0:0', 'LISTENING', 4),
    ('TCP', '192.168.2.57:139', '0.0.0.0:0', 'LISTENING', 4),
    ('TCP', '192.168.2.57:51001', '192.168.2.50:443', 'ESTABLISHED', 5120),
    ('TCP', '192.168.2.57:51010', '52.109.8.19:443', 'ESTABLISHED', 4028),
]
two = (['# process map for the multi-client capture, saved 2024-03-14 09:14', '#host CLIENT-A']
       + tasklist(TASKS_EN) + netstat(NET_TCP_EN) + ['', '#host CLIENT-B', r'C:\Users\bob>tasklist']
       + tasklist(TASKS_B) + ['', r'C:\Users\bob>netstat -ano -p TCP'] + netstat(NET_B) + ['', r'C:\Users\bob>'])
write('two-hosts.txt', two)

# bad ones
open(os.path.join(OUT, 'bad-empty.txt'), 'wb').close()
rnd = random.Random(20240314)
blob = bytes(rnd.randrange(256) if i % 7 else 0 for i in range(320))
with open(os.path.join(OUT, 'bad-binary.bin'), 'wb') as f:
    f.write(b'\x1f\x8b\x08\x00' + blob)
write('bad-nothing.txt', [
    'Process map for the Exchange plugin', '',
    'Save the output of tasklist and netstat -ano on the client machine into one',
    'text file and point the exchange.process_map preference at it. Wireshark then',
    'names the process that owns each Outlook connection.', '',
    'Notes:', '- run the commands while Outlook is connected, right after the capture,',
    '  since ports are reused quickly;', '- PowerShell output works as well.',
], nl='\n')
partly = list(en)
i = partly.index(next(l for l in partly if '50701' in l))
partly.insert(i, 'TCP    192.168.2.56:5')
partly.insert(i + 2, '~~ clipboard: <Ctrl-V> 0x0F 0x4A ~~')
partly.insert(i + 4, 'ESTABLISHED')
write('bad-partly.txt', partly)


# ---- maps for the RPC/HTTP, RPC/TCP, multi-client and extra-mailbox captures

def tcp(rows):
    """netstat rows from (local, remote, state, pid): the maps below list TCP only."""
    return [('TCP', local, remote, state, pid) for local, remote, state, pid in rows]


TL = [("System Idle Process", 0, "Services", 0, "8 K"), ("System", 4, "Services", 0, "2,368 K"),
      ("svchost.exe", 1234, "Services", 0, "21,204 K"), ("explorer.exe", 6120, "Console", 1, "98,412 K"),
      ("OUTLOOK.EXE", 4028, "Console", 1, "312,456 K"), ("chrome.exe", 7312, "Console", 1, "184,220 K")]
BASE_NET = [("0.0.0.0:135", "0.0.0.0:0", "LISTENING", 1234), ("0.0.0.0:445", "0.0.0.0:0", "LISTENING", 4)]
PROMPT = "C:\\Users\\alice>"

write('rpc-http-outlook.txt',
           [PROMPT + "tasklist"] + tasklist(TL) + ["", PROMPT + "netstat -ano -p TCP"] +
           netstat(tcp(BASE_NET + [(f"192.168.2.56:{p}", "192.168.2.50:443", "ESTABLISHED", 4028)
                                for p in range(50701, 50705)]
                    + [("192.168.2.56:50710", "142.250.1.1:443", "ESTABLISHED", 7312)])))

RPC_TCP = [("192.168.2.56:50701", "192.168.2.50:135", "TIME_WAIT", 0),
           ("192.168.2.56:50702", "192.168.2.50:59532", "ESTABLISHED", 4028),
           ("192.168.2.56:50703", "192.168.2.50:59532", "ESTABLISHED", 4028),
           ("192.168.2.56:50704", "192.168.2.50:59531", "ESTABLISHED", 4028),
           ("192.168.2.56:50705", "192.168.2.50:59531", "ESTABLISHED", 4028)]
write('rpc-tcp-outlook.txt',
           [PROMPT + "tasklist"] + tasklist(TL) + ["", PROMPT + "netstat -ano"] + netstat(tcp(BASE_NET + RPC_TCP)))

write('extra-mailbox.txt',
           [PROMPT + "tasklist /FI \"IMAGENAME eq OUTLOOK.EXE\""] + tasklist([TL[4]]) +
           ["", PROMPT + "netstat -ano -p TCP"] +
           netstat(tcp([(f"192.168.2.56:{p}", "192.168.2.50:80", "ESTABLISHED", 4028) for p in range(50701, 50705)])))

TL_A = TL + [("ms-teams.exe", 9100, "Console", 1, "402,112 K")]
NET_A = BASE_NET + [("192.168.2.56:50701", "192.168.2.50:80", "ESTABLISHED", 4028),
                    ("192.168.2.56:50702", "192.168.2.50:80", "ESTABLISHED", 4028)] + \
    [(f"192.168.2.56:{p}", "192.168.2.50:443", "ESTABLISHED", 9100) for p in (50801, 50802, 50803)]
TL_B = [("System", 4, "Services", 0, "2,368 K"), ("svchost.exe", 1100, "Services", 0, "19,876 K"),
        ("WINWORD.EXE", 4028, "Console", 1, "150,004 K"), ("OUTLOOK.EXE", 5120, "Console", 1, "298,760 K")]
NET_B = [("0.0.0.0:135", "0.0.0.0:0", "LISTENING", 1100), ("192.168.2.57:51001", "192.168.2.50:135", "TIME_WAIT", 0)] + \
    [(f"192.168.2.57:{p}", f"192.168.2.50:{port}", "ESTABLISHED", 5120)
     for p, port in ((51002, 59532), (51003, 59532), (51004, 59531), (51005, 59531))]
write('multi-client.txt',
           ["#host PC-ALICE", "C:\\Users\\alice>tasklist"] + tasklist(TL_A) +
           ["", "C:\\Users\\alice>netstat -ano -p TCP"] + netstat(tcp(NET_A)) +
           ["", "#host PC-BOB", "C:\\Users\\bob>tasklist"] + tasklist(TL_B) +
           ["", "C:\\Users\\bob>netstat -ano -p TCP"] + netstat(tcp(NET_B)))

# netstat -anob from an elevated prompt (-b needs it): each row is followed by the service names it
# hosts ("  RpcSs") and its image (" [OUTLOOK.EXE]"), or by " Can not obtain ownership information"
# (System and protected processes); TIME_WAIT rows (PID 0) by nothing.  No tasklist: names come from -b.
NET_B_ROWS = [  # (proto, local, remote, state, pid, lines after the row)
    ("TCP", "0.0.0.0:135", "0.0.0.0:0", "LISTENING", 1234, ["  RpcSs", " [svchost.exe]"]),
    ("TCP", "0.0.0.0:445", "0.0.0.0:0", "LISTENING", 4, [" Can not obtain ownership information"]),
    ("TCP", "0.0.0.0:5040", "0.0.0.0:0", "LISTENING", 884, ["  CDPSvc", " [svchost.exe]"]),
    ("TCP", "0.0.0.0:49664", "0.0.0.0:0", "LISTENING", 752, [" [lsass.exe]"]),
    ("TCP", "0.0.0.0:49665", "0.0.0.0:0", "LISTENING", 660, [" Can not obtain ownership information"]),
    ("TCP", "192.168.2.56:139", "0.0.0.0:0", "LISTENING", 4, [" Can not obtain ownership information"]),
    ("TCP", "192.168.2.56:50688", "192.168.2.50:443", "TIME_WAIT", 0, []),
    ("TCP", "192.168.2.56:50701", "192.168.2.50:443", "ESTABLISHED", 4028, [" [OUTLOOK.EXE]"]),
    ("TCP", "192.168.2.56:50702", "192.168.2.50:443", "ESTABLISHED", 4028, [" [OUTLOOK.EXE]"]),
    ("TCP", "192.168.2.56:50703", "192.168.2.50:443", "ESTABLISHED", 4028, [" [OUTLOOK.EXE]"]),
    ("TCP", "192.168.2.56:50704", "192.168.2.50:443", "ESTABLISHED", 4028, [" [OUTLOOK.EXE]"]),
    ("TCP", "192.168.2.56:50710", "142.250.1.1:443", "ESTABLISHED", 7312, [" [chrome.exe]"]),
    ("TCP", "192.168.2.56:50712", "20.190.151.68:443", "ESTABLISHED", 3456, [" Can not obtain ownership information"]),
    ("TCP", "[::]:135", "[::]:0", "LISTENING", 1234, ["  RpcSs", " [svchost.exe]"]),
    ("TCP", "[::]:445", "[::]:0", "LISTENING", 4, [" Can not obtain ownership information"]),
    ("UDP", "0.0.0.0:123", "*:*", "", 1396, ["  W32Time", " [svchost.exe]"]),
    ("UDP", "0.0.0.0:5353", "*:*", "", 7312, [" [chrome.exe]"]),
]
anob = ["C:\\WINDOWS\\system32>netstat -anob"] + netstat([])
for proto, local, remote, state, pid, after in NET_B_ROWS:
    anob += netstat([(proto, local, remote, state, pid)])[4:] + after
write('outlook-netstat-b.txt', anob + ["", "C:\\WINDOWS\\system32>"])


# ---- maps that do not fit mapi-http-outlook.pcapng (the plugin says so, once)

# Outlook with a second mailbox on another server: 50701 is the capture's connection, but 50702 goes
# to 192.168.2.60 in the map and to 192.168.2.50 in the capture: the map contradicts it.
write('misfit-other-server.txt',
      [PROMPT + "tasklist"] + tasklist(TL) + ["", PROMPT + "netstat -ano -p TCP"] +
      netstat(tcp(BASE_NET + [("192.168.2.56:50701", "192.168.2.50:443", "ESTABLISHED", 4028),
                              ("192.168.2.56:50702", "192.168.2.60:443", "ESTABLISHED", 4028),
                              ("192.168.2.56:50710", "142.250.1.1:443", "ESTABLISHED", 7312)])))

# Saved on another day: Outlook's connections to the same server on other client ports, one of
# which (50701) happens to be a port of the capture; 3 of the 4 connections to 192.168.2.50 are not
# in the capture.  The TIME_WAIT row and chrome's server do not count.
write('misfit-stale.txt',
      [PROMPT + "tasklist"] + tasklist(TL) + ["", PROMPT + "netstat -ano -p TCP"] +
      netstat(tcp(BASE_NET + [("192.168.2.56:50699", "192.168.2.50:443", "TIME_WAIT", 0)]
                  + [(f"192.168.2.56:{p}", "192.168.2.50:443", "ESTABLISHED", 4028) for p in (50701, 50705, 50706, 50707)]
                  + [("192.168.2.56:50710", "142.250.1.1:443", "ESTABLISHED", 7312)])))
