"""-z exchange,conns: the Requests and Failures columns, against what stock tshark's own fields count.

A failure is a DCE/RPC FAULT PDU, an NSPI or EMSMDB call answered with a return code other than 0, an
HTTP response with status >= 400 other than 401 (the first leg of NTLM/Negotiate, a normal step), or a
MAPI/HTTP answer whose X-ResponseCode is not 0; each failed answer once.
rpc-tcp-faults.pcap (gen_rpc_tcp.py faults), rpc-tcp-nspi-logon-failed.pcap (gen_rpc_tcp.py
nspi-logon-failed) and http-server-errors.pcap (gen_http.py http-server-errors) hold such answers;
test-captures/README.md says which frames.  test_failures_layers.py checks where each failed.
"""
import pytest

from conftest import series
from expectations import HTTP, RPC_TCP
from tables import FAILURES, REQUESTS, STREAM, conns_table

DCERPC_REQUEST, DCERPC_RESPONSE, DCERPC_FAULT = 0, 2, 3
NTLM_LEG = 401
# X-ResponseCode with a value other than 0, in a response's header lines.
MAPI_FAILED = r'http.response.line matches "(?i)^x-responsecode:[ \t]*0*[1-9]"'


def plugin_counts(tshark, capture, *extra):
    """{stream: (requests, failures)} from the connections table."""
    return {int(r[STREAM]): (int(r[REQUESTS]), int(r[FAILURES])) for r in conns_table(tshark, capture, *extra)}


def mapi_return_field():
    """The field stock puts an EMSMDB call's return code in (plugin/exchange_compat.h)."""
    return 'mapi.MAPISTATUS_status' if series() == '4.0' else 'mapi.werror'


def returned(nspi_status, mapi_status, mapi_opnum, stub):
    """An answer's return code from stock fields (one answer per frame in these captures): the last
    status field, else (4.0 decodes no EcDoConnectEx, EcDoRpcExt2) the stub's last 4 bytes."""
    for values in (nspi_status, mapi_status):
        if values:
            return int(values.split(',')[-1], 0)
    if mapi_opnum and len(stub) >= 8:
        return int.from_bytes(bytes.fromhex(stub.split(',')[-1])[-4:], 'little')
    return 0


def stock_counts(tshark, capture, *extra):
    """{stream: (requests, failures)} from stock fields only: HTTP methods and DCE/RPC REQUEST PDUs;
    FAULT PDUs, NSPI and EMSMDB answers returning other than 0, HTTP statuses >= 400 but 401, and
    X-ResponseCode != 0 in a response that has no such status."""
    counts = {}
    # Stock fields as dissected where the plugin works (its learned ports decode as DCE/RPC there): these
    # runs name none of its fields, so the preference makes it work.
    extra = (*extra, '-o', 'exchange.always_analyse:TRUE')

    def add(stream, requests, failures):
        r, f = counts.get(int(stream), (0, 0))
        counts[int(stream)] = (r + requests, f + failures)

    for stream, methods, ptypes, codes, *answer in tshark.fields(
            capture, ['tcp.stream', 'http.request.method', 'dcerpc.pkt_type', 'http.response.code',
                      'nspi.MAPISTATUS_status', mapi_return_field(), 'mapi.opnum', 'dcerpc.stub_data'], *extra):
        ptypes = [int(p) for p in ptypes.split(',') if p]
        codes = [int(c) for c in codes.split(',') if c]
        add(stream, len([m for m in methods.split(',') if m]) + ptypes.count(DCERPC_REQUEST),
            ptypes.count(DCERPC_FAULT) + len([c for c in codes if c >= 400 and c != NTLM_LEG])
            + (DCERPC_RESPONSE in ptypes and returned(*answer) != 0))
    for (stream,) in tshark.fields(capture, ['tcp.stream'], '-Y',
                                   f'{MAPI_FAILED} && !(http.response.code >= 400 && http.response.code != 401)',
                                   *extra):
        add(stream, 0, 1)
    return counts


def streams_with(tshark, capture, display_filter):
    """{stream: frames matching display_filter}"""
    out = {}
    for stream, number in tshark.fields(capture, ['tcp.stream', 'frame.number'], '-Y', display_filter):
        out.setdefault(int(stream), []).append(int(number))
    return out


TWO_PASS = pytest.mark.parametrize('passes', [(), ('-2',)], ids=['single-pass', 'two-pass'])


@TWO_PASS
def test_rpc_faults_are_failures(tshark, passes):
    capture = 'rpc-tcp-faults.pcap'
    got = plugin_counts(tshark, capture, *passes)
    # EPM: two ept_map; NSPI: NspiBind, NspiQueryRows faulted; EMSMDB: EcDoConnectEx, opnum 99 and
    # EcDoRpcExt2 faulted.
    assert got == {0: (2, 0), 1: (2, 1), 2: (3, 2)}
    assert got == {s: c for s, c in stock_counts(tshark, capture).items() if s in got}
    assert streams_with(tshark, capture, 'dcerpc.pkt_type == 3') == {1: [25], 2: [39, 41]}
    assert streams_with(tshark, capture, 'dcerpc.cn_status == 0x1c010002') == {2: [39]}


@TWO_PASS
def test_http_errors_are_failures_but_not_the_ntlm_leg(tshark, passes):
    capture = 'http-server-errors.pcap'
    got = plugin_counts(tshark, capture, *passes)
    # MAPI/HTTP: Connect, Execute answered 503, Execute; EWS: the 401 NTLM leg, a 500, a 200.
    assert got == {0: (3, 1), 1: (3, 1)}
    assert got == {s: c for s, c in stock_counts(tshark, capture).items() if s in got}
    assert streams_with(tshark, capture, 'http.response.code >= 400') == {0: [15], 1: [32, 37]}
    assert streams_with(tshark, capture, 'http.response.code == 401') == {1: [32]}


def test_mapi_response_code_is_a_failure(tshark):
    """X-ResponseCode 10 in a 200 answer (mapi-http-cleartext's second Execute) counts once."""
    capture = 'mapi-http-cleartext.pcap'
    assert streams_with(tshark, capture, MAPI_FAILED) == {0: [21]}
    assert plugin_counts(tshark, capture, '-2') == {0: (4, 1), 1: (4, 0)}


CAPTURES = sorted(set(RPC_TCP) | {capture for capture, _ in HTTP})


@pytest.mark.parametrize('capture', CAPTURES)
def test_counts_agree_with_stock_fields(tshark, capture):
    got = plugin_counts(tshark, capture, '-2')
    stock = stock_counts(tshark, capture)
    assert set(got) <= set(stock)
    assert got == {s: stock[s] for s in got}
