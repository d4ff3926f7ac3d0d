"""Failures at every layer the capture shows: which answers failed, where, and that each counts once.

-z exchange,conns counts a failed answer once, at the innermost layer that says it failed, and its
Failed at column lists those layers ("-" for none); the failing answer's frame carries
exchange.failure (layer, call and code) and one exchange.failure.layer per layer.

rpc-tcp-nspi-logon-failed.pcap (gen_rpc_tcp.py nspi-logon-failed): NspiBind answered MAPI_E_LOGON_FAILED
(frame 23) and retried (answered 0, frame 25); EcDoConnectEx answered 0, EcDoRpcExt2 answered ecRpcFormat
(frame 39), EcDoDisconnect answered 0.  Stock decodes both interfaces there (their BINDs are in the
capture); 4.0 decodes no EcDoConnectEx or EcDoRpcExt2 and shows their stub, whose last 4 bytes are
the return code.  rpc-tcp-nspi-logon-ok.pcap is its negative twin: every call answered 0.
mapi-http-error-code.pcap (gen_http.py mapi-http-error-code): an Execute answered HTTP 500 carrying
X-ResponseCode 1 (frame 15): one failed request.
"""
import pytest

from tables import FAILED_AT, FAILURES, REQUESTS, STREAM, conns_table

LOGON_FAILED = 'rpc-tcp-nspi-logon-failed.pcap'
LOGON_OK = 'rpc-tcp-nspi-logon-ok.pcap'
ERROR_CODE = 'mapi-http-error-code.pcap'
TWO_PASS = pytest.mark.parametrize('passes', [(), ('-2',)], ids=['single-pass', 'two-pass'])


def rows(tshark, capture, *extra):
    """{stream: (requests, failures, failed at)}"""
    return {int(r[STREAM]): (int(r[REQUESTS]), int(r[FAILURES]), r[FAILED_AT])
            for r in conns_table(tshark, capture, *extra)}


def failure_fields(tshark, capture, *extra):
    """{frame: (exchange.failure, exchange.failure.layer values)}"""
    return {int(n): (text, layers) for n, text, layers in tshark.fields(
        capture, ['frame.number', 'exchange.failure', 'exchange.failure.layer'], '-Y', 'exchange.failure', *extra)}


@TWO_PASS
def test_return_codes_of_nspi_and_emsmdb_calls_are_failures(tshark, passes):
    # EPM: two ept_map; NSPI: two NspiBind, the first failed; EMSMDB: EcDoConnectEx, EcDoRpcExt2 (failed),
    # EcDoDisconnect.
    assert rows(tshark, LOGON_FAILED, *passes) == {0: (2, 0, '-'), 1: (2, 1, 'nspi'), 2: (3, 1, 'emsmdb')}


@TWO_PASS
def test_the_failing_answer_says_what_failed(tshark, passes):
    assert failure_fields(tshark, LOGON_FAILED, *passes) == {
        23: ('nspi NspiBind MAPI_E_LOGON_FAILED (0x80040111)', 'nspi'),
        39: ('emsmdb EcDoRpcExt2 ecRpcFormat (0x000004b6)', 'emsmdb'),
    }
    assert tshark.frames(LOGON_FAILED, 'exchange.failure.layer == "nspi"', *passes) == [23]
    # What stock shows in the NSPI answer: the code the plugin read.
    assert tshark.frames(LOGON_FAILED, 'nspi.MAPISTATUS_status == 0x80040111') == [23]


def test_the_retry_and_the_other_calls_are_not_failures(tshark):
    """The retried NspiBind (frame 25), EcDoConnectEx (37) and EcDoDisconnect (41) returned 0."""
    answers = tshark.frames(LOGON_FAILED, 'dcerpc.pkt_type == 2 && tcp.stream >= 1')
    assert answers == [23, 25, 37, 39, 41]
    assert sorted(failure_fields(tshark, LOGON_FAILED, '-2')) == [23, 39]


def test_negative_twin_has_no_failure(tshark):
    assert rows(tshark, LOGON_OK, '-2') == {0: (2, 0, '-'), 1: (2, 0, '-'), 2: (3, 0, '-')}
    assert failure_fields(tshark, LOGON_OK, '-2') == {}
    # The same calls, answered: the twin differs only in the codes.
    assert tshark.frames(LOGON_OK, 'dcerpc.pkt_type == 2 && tcp.stream >= 1') == [23, 25, 37, 39, 41]


@TWO_PASS
def test_an_http_error_carrying_x_response_code_counts_once(tshark, passes):
    assert tshark.frames(ERROR_CODE, 'http.response.code == 500 && http.response.line contains "X-ResponseCode: 1"') \
        == [15]
    assert rows(tshark, ERROR_CODE, *passes) == {0: (3, 1, 'mapi-http')}
    assert failure_fields(tshark, ERROR_CODE, *passes) == {15: ('mapi-http X-ResponseCode 1 in HTTP 500', 'mapi-http')}


@pytest.mark.parametrize('capture,expected', [
    ('rpc-tcp-faults.pcap', {0: '-', 1: 'dcerpc', 2: 'dcerpc'}),
    ('http-server-errors.pcap', {0: 'http', 1: 'http'}),
    ('mapi-http-cleartext.pcap', {0: 'mapi-http', 1: '-'}),
])
def test_failed_at_names_the_layer(tshark, capture, expected):
    assert {s: r[2] for s, r in rows(tshark, capture, '-2').items()} == expected


def test_a_fault_names_its_status(tshark):
    assert failure_fields(tshark, 'rpc-tcp-faults.pcap', '-2') == {
        25: ('dcerpc FAULT rpc_s_access_denied (0x00000005)', 'dcerpc'),
        39: ('dcerpc FAULT nca_s_op_rng_error (0x1c010002)', 'dcerpc'),
        41: ('dcerpc FAULT rpc_s_access_denied (0x00000005)', 'dcerpc'),
    }
    assert failure_fields(tshark, 'http-server-errors.pcap', '-2') == {15: ('http 503', 'http'), 37: ('http 500', 'http')}
