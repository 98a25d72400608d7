"""`aitrader simulator` as a process: it serves Kraken's API on the port it prints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request


def test_simulator_command_serves_kraken_time() -> None:
    cmd = [sys.executable, "-m", "aitrader.cli.main", "simulator", "--port", "0", "--speed", "0",
           "--start", "2018-01-11", "--key", "k1", "--balance", "BTC=1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"REST (http://127\.0\.0\.1:\d+)", line)
        assert m, line
        with urllib.request.urlopen(m.group(1) + "/0/public/Time", timeout=5) as r:
            body = json.loads(r.read())
        assert body["error"] == [] and body["result"]["unixtime"] == 1515628800  # the replay clock
    finally:
        proc.terminate()
        proc.wait(10)


def test_bad_fault_spec_is_one_clear_error() -> None:
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "aitrader.cli.main", "simulator", "--faults", "http_429=3"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2 and "probability must be in [0, 1]" in r.stderr
    assert "Traceback" not in r.stderr and time.monotonic() - t0 < 60
