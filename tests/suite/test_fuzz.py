"""A short run of fuzz.py in the suite: the plugin built with AddressSanitizer and
UndefinedBehaviorSanitizer, a few hundred mutated captures and maps, nothing found."""
import re
import subprocess
import sys

from conftest import REPO, TESTS

CASES = 240


def test_short_fuzz_run_under_sanitizers(tmp_path):
    build = tmp_path / 'build-asan'
    keep = tmp_path / 'failures'
    proc = subprocess.run([sys.executable, str(TESTS / 'fuzz' / 'fuzz.py'), '--cases', str(CASES), '--build', str(build),
                           '--keep', str(keep)], cwd=REPO, capture_output=True, text=True, timeout=2000)
    symbols = subprocess.run(['nm', '-D', str(build / 'plugin' / 'exchange.so')], capture_output=True,
                             text=True).stdout
    assert '__asan_' in symbols and '__ubsan_' in symbols, 'the fuzzed module is not instrumented'
    # The instrumented module is the one tshark loaded, and it tagged an unmutated capture.
    assert re.search(r'^fuzz: tshark loads \S+/exchange\.so \(ASan\+UBSan\) and it tags ', proc.stdout, re.M), \
        proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert re.match(rf'fuzz: {CASES} cases, 0 crashes, 0 sanitizer reports, 0 hangs, 0 Exchange dissector bugs, '
                    r'0 inputs only the module refused, \d+ inputs stock tshark refuses too',
                    summary), proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode == 0 and not keep.exists()
