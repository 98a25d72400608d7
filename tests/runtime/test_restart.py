"""SIGKILL mid-session: a paper `aitrader run` in a subprocess against the simulator is killed with -9 while
it holds a position with a trailing stop; the restarted run loses no acknowledged (committed) fill, restores
the open positions and re-places the trailing stop at its stored level, then trades on and stops cleanly
on SIGTERM with its books matching storage."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from runtime_helpers import FIVE_MIN, series

from aitrader.core import engine_state as es
from aitrader.runtime.persist import CURSOR_KEY, RESTORED_KEY, RUNTIME_NS
from aitrader.storage.db import make_engine
from aitrader.storage.repository import MAX_PAGE, tenant_scope
from aitrader.venues.simulator import KrakenSimulator

pytestmark = pytest.mark.slow
TENANT = "t1"


def _start(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "aitrader.cli.main",
        "run",
        "--mode",
        "paper",
        "--config",
        str(cfg),
        "--no-api",
    ]
    with log.open("ab") as fh:
        return subprocess.Popen(
            cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )


def _read(db: Any) -> dict[str, Any]:
    with tenant_scope(db, TENANT) as ts:
        return {
            "runtime": ts.load_namespace(RUNTIME_NS),
            "engine": ts.load_namespace(es.ENGINE_NS),
            "fills": {f.fill_id: (f.client_id, f.amount, f.price) for f in ts.list_fills(limit=MAX_PAGE)},
            "orders": {o.client_id: o for o in ts.list_orders(limit=MAX_PAGE)},
            "open": {p.symbol: p for p in ts.list_positions(status="open", limit=MAX_PAGE)},
            "ledger": ts.list_ledger(limit=MAX_PAGE),
        }


async def _until(
    db: Any, cond: Any, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90.0
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        try:
            state = _read(db)
            if cond(state):
                return state
        except Exception:  # the session has not created its tables yet
            pass
        if proc.poll() is not None:
            raise AssertionError(f"session exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if loop.time() > end:
            raise AssertionError(f"timed out; session log:\n{log.read_text()[-3000:]}")
        await asyncio.sleep(0.02)


def _handled(symbols: list[str], ts: int) -> Any:
    return lambda st: all(int(st["runtime"].get(CURSOR_KEY, {}).get(s, -1)) >= ts for s in symbols)


async def test_sigkill_then_restart_restores_fills_positions_and_trailing_stops(tmp_path: Path) -> None:
    feeds = [series("ETH_BTC", 900), series("XLM_BTC", 900)]
    symbols = [s.symbol for s in feeds]
    warm = 300
    sim = KrakenSimulator(feeds, start_ms=feeds[0].ts[warm])
    await sim.start()
    url = f"sqlite:///{tmp_path / 'run.db'}"
    cfg = tmp_path / "paper.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "tenant": TENANT,
                "exchange": {
                    "name": "kraken",
                    "pairs": symbols,
                    "api_url": sim.base_url,
                    "ws_url": sim.ws_url,
                },
                "data": {"timeframe": "5m"},
                "backtest": {"starting_balance": "1", "trailing_stop": "0.01"},
                "risk": {"max_exposure_per_pair": "0.5"},
                "storage": {"url": url},
            }
        )
    )
    db = make_engine(url)
    log = tmp_path / "session.log"
    proc = _start(cfg, log)
    k = warm  # index of the forming candle; candles < k are closed
    try:
        await _until(db, lambda st: RESTORED_KEY in st["runtime"], proc, log)  # warmed up, streaming
        trailing: Any = None
        seen_at = None
        while k < 880:
            sim.advance(FIVE_MIN)
            k += 1
            st = await _until(db, _handled(symbols, feeds[0].ts[k - 1]), proc, log)
            with_trail = [p for p in st["open"].values() if p.trailing_state and p.trailing_level]
            if with_trail and seen_at is None:
                seen_at = k
            if seen_at is not None and k >= seen_at + 3 and with_trail:
                trailing = with_trail[0]
                break
        assert trailing is not None, "no position with a trailing stop opened"
        before = _read(db)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

        assert before["fills"] and before["open"]
        cid = trailing.trailing_state["client_id"]
        level = Decimal(trailing.trailing_state["level"])
        assert before["orders"][cid].status == "open"
        sim.advance(FIVE_MIN)  # a candle closes while the session is down: handled after the restart
        k += 1

        proc = _start(cfg, log)
        st = await _until(
            db, lambda st: (st["runtime"].get(RESTORED_KEY) or {}).get("orders", 0) > 0, proc, log
        )
        note = st["runtime"][RESTORED_KEY]
        assert note["fills"] == len(before["fills"])  # every committed fill came back
        assert note["positions"] == sorted(before["open"])
        assert cid in note["replaced"]
        assert Decimal(note["stop_levels"][cid]) == level  # the ratcheted level, not the entry's stop
        assert set(before["fills"]) <= set(st["fills"])
        await _until(db, _handled(symbols, feeds[0].ts[k - 1]), proc, log)  # the downtime candle

        for _ in range(25):
            sim.advance(FIVE_MIN)
            k += 1
            await _until(db, _handled(symbols, feeds[0].ts[k - 1]), proc, log)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        await sim.stop()

    after = _read(db)
    for fid, got in before["fills"].items():
        assert after["fills"][fid] == got  # acknowledged fills are never lost nor rewritten
    assert all(c in after["orders"] for c, _a, _p in after["fills"].values())
    if trailing.symbol in after["open"]:
        assert Decimal(after["open"][trailing.symbol].trailing_level) >= level  # the ratchet continued
    # the books in storage match what the engine published as its (venue) balances at the clean stop
    sums: dict[str, Decimal] = {}
    for e in after["ledger"]:
        sums[e.currency] = sums.get(e.currency, Decimal(0)) + e.amount
    balances = after["engine"][es.BALANCES_KEY]
    assert set(sums) == set(balances)
    for ccy, b in balances.items():
        assert abs(sums[ccy] - Decimal(b["total"])) <= Decimal("1e-15"), (ccy, sums[ccy], b)
    assert "restored" in log.read_text()
