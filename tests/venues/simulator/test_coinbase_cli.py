"""`aitrader simulator --exchange coinbase` as a process, driven by a real ccxt client."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from typing import Any

from coinbase_sim_helpers import ec_key_pair

from aitrader.venues.ccxt_factory import make_exchange

KEY = "organizations/1a2b3c4d-0000-4000-8000-000000000001/apiKeys/1a2b3c4d-0000-4000-8000-000000000002"


async def _watch_ticker(api_url: str, ws_url: str) -> dict[str, Any]:
    ex = make_exchange("coinbase", api_url, ws_url, pro=True, options={"timeout": 5000})
    try:
        ticker: dict[str, Any] = await asyncio.wait_for(ex.watch_ticker("ETH/BTC"), 10)
        return ticker
    finally:
        await ex.close()


def test_simulator_command_serves_coinbase() -> None:
    pem, _ = ec_key_pair()
    cmd = [sys.executable, "-m", "aitrader.cli.main", "simulator", "--exchange", "coinbase", "--port", "0",
           "--speed", "0", "--start", "2018-01-11", "--key", KEY, "--balance", "BTC=1.25"]  # fmt: skip
    env = {**os.environ, "AITRADER_SIM_SECRET": pem, "COLUMNS": "500"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"coinbase simulator: REST (http://127\.0\.0\.1:\d+)", line)
        assert m, line + (proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        ex = make_exchange("coinbase", m.group(1), api_key=KEY, secret=pem, options={"timeout": 5000})
        assert ex.fetch_time() == 1515628800000  # the replay clock
        assert ex.load_markets()["ETH/BTC"]["id"] == "ETH-BTC"
        assert ex.fetch_balance({"v3": True})["BTC"]["total"] == 1.25
        # the printed market-feed URL is where a ccxt.pro client streams from
        ws = re.search(r"WebSocket (ws://127\.0\.0\.1:\d+)/ws \(market\), \1/ws-user \(user\)", line)
        assert ws, line
        ticker = asyncio.run(_watch_ticker(m.group(1), ws.group(1)))
        assert ticker["symbol"] == "ETH/BTC" and ticker["last"] > 0
    finally:
        proc.terminate()
        proc.wait(10)
