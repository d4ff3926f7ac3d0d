"""The module loads in tshark and registers what users rely on."""
from conftest import project_version, series

FIELDS = [
    ('exchange.role', 'FT_STRING'),
    ('exchange.role_id', 'FT_UINT8'),
    ('exchange.transport', 'FT_STRING'),
    ('exchange.interface', 'FT_STRING'),
    ('exchange.confidence', 'FT_STRING'),
    ('exchange.evidence', 'FT_STRING'),
    ('exchange.decided_in', 'FT_FRAMENUM'),
    ('exchange.learned_from', 'FT_FRAMENUM'),
    ('exchange.server', 'FT_STRING'),
    ('exchange.frontend', 'FT_STRING'),
    ('exchange.backend', 'FT_STRING'),
    ('exchange.backend.later', 'FT_STRING'),
    ('exchange.rpc.server', 'FT_STRING'),
    ('exchange.client', 'FT_STRING'),
    ('exchange.stream', 'FT_UINT32'),
    ('exchange.epm.learned', 'FT_STRING'),
    ('exchange.epm.learned_port', 'FT_UINT16'),
    ('exchange.server.endpoint', 'FT_STRING'),
    ('exchange.services', 'FT_STRING'),
    ('exchange.service', 'FT_STRING'),
    ('exchange.rpc.target', 'FT_STRING'),
    ('exchange.rpc.target_evidence', 'FT_STRING'),
    ('exchange.rpch.cookie', 'FT_GUID'),
    ('exchange.rpch.peer_stream', 'FT_UINT32'),
    ('exchange.failure', 'FT_STRING'),
    ('exchange.failure.layer', 'FT_STRING'),
    ('exchange.mapi.request_type', 'FT_STRING'),
    ('exchange.client.application', 'FT_STRING'),
    ('exchange.mailbox', 'FT_STRING'),
    ('exchange.tls.server_name', 'FT_STRING'),
    ('exchange.client.process', 'FT_STRING'),
    ('exchange.client.pid', 'FT_UINT32'),
    ('exchange.client.host', 'FT_STRING'),
    ('exchange.client.source', 'FT_STRING'),
]

EXPERT = ['exchange.role_decided', 'exchange.role_changed', 'exchange.epm_learned',
          'exchange.learn_limit', 'exchange.bad_bind', 'exchange.process_map_problem', 'exchange.process_map_mismatch',
          'exchange.rpc_tcp_legacy',
          'exchange.rpc_http_deprecated', 'exchange.channel_unpaired', 'exchange.extra_connection',
          'exchange.epm_unused', 'exchange.backend_changed', 'exchange.servers_hint']


def test_plugin_is_listed_with_project_version(tshark):
    rows = [line.split('\t') for line in tshark.out('-G', 'plugins').splitlines()]
    mine = [[c.strip() for c in r] for r in rows if r[0].strip() == 'exchange.so']
    assert len(mine) == 1, rows
    assert mine[0][1:3] == [project_version(), 'dissector']
    assert mine[0][3].endswith(f'/{series()}/epan/exchange.so')


def test_protocol_and_every_field_registered(tshark):
    rows = [line.split('\t') for line in tshark.out('-G', 'fields').splitlines()]
    protocols = [r for r in rows if r[0] == 'P' and r[2] == 'exchange']
    assert protocols == [['P', 'Microsoft Exchange connection roles', 'exchange']]
    fields = [(r[2], r[3]) for r in rows if r[0] == 'F' and r[2].startswith('exchange.')
              and r[3] != 'FT_NONE']
    assert fields == FIELDS


def test_expert_infos_registered(tshark):
    """4.0 lists expert infos among the fields, as FT_NONE."""
    rows = [line.split('\t') for line in tshark.out('-G', 'fields').splitlines()]
    assert sorted(r[2] for r in rows if r[0] == 'F' and r[2].startswith('exchange.') and r[3] == 'FT_NONE') \
        == sorted(EXPERT)


def test_preferences_registered_with_defaults(tshark):
    prefs = tshark.out('-G', 'defaultprefs').splitlines()
    assert '#exchange.decode_learned_ports: TRUE' in prefs
    assert '#exchange.servers: ' in prefs
    assert '#exchange.process_map: ' in prefs


def test_role_values_are_documented_in_role_id(tshark):
    rows = [line.split('\t') for line in tshark.out('-G', 'values').splitlines()]
    vals = sorted((int(r[2]), r[3]) for r in rows if r[0] == 'V' and r[1] == 'exchange.role_id')
    assert vals == [(0, 'none'), (1, 'mailbox'), (2, 'directory'), (3, 'rpc-in'), (4, 'rpc-out'),
                    (5, 'ews'), (6, 'autodiscover'), (7, 'oab'), (8, 'endpoint-mapper'), (9, 'unknown')]


def test_disabled_protocol_adds_nothing(tshark):
    assert tshark.frames('rpc-tcp-outlook-start.pcap', 'exchange', '-2', '--disable-protocol', 'exchange') == []


