"""The Wireshark release series (major.minor) of the tshark on PATH.

A module loads only from plugins/X.Y/epan of the series it was built for;
every harness stages it there.  EXCHANGE_SERIES (set by ctest from the build)
wins over asking tshark.
"""
import os
import re
import subprocess


def series():
    env = os.environ.get('EXCHANGE_SERIES')
    if env:
        return env
    out = subprocess.run(['tshark', '--version'], capture_output=True, text=True, check=True).stdout
    m = re.search(r'\b(\d+)\.(\d+)\.\d+', out.splitlines()[0] if out else '')
    if not m:
        raise RuntimeError(f'cannot read the Wireshark version from tshark --version: {out[:200]!r}')
    return f'{m.group(1)}.{m.group(2)}'
