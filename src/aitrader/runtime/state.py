"""StatePublisher: the `core.engine_state` values the API and Telegram read, written through the writer.

Why through the single StorageWriter: the API reads engine state only from storage, and every
write of a session goes through one task (SQLite has one writer). A heartbeat at least every
`interval_ms` (wall time: the API compares it with its own clock) tells the control plane the
engine is alive; balances come from the venue (the paper account in paper mode), marks from the
last candle the engine handled, strategy stats from the decision source and the closed trades.

Recent closed candles per pair (`engine/candles:<symbol>`, for the dashboard's chart) are written
by `run_candles` at most once per `candles_interval_s`, and only for pairs with a newly closed
candle: the market clock cuts them, so a candle that has not closed yet is never published.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aitrader.core import engine_state as es
from aitrader.core.ports import Venue
from aitrader.core.time import now_ms
from aitrader.engine.engine import Engine
from aitrader.runtime.decisions import StreamingDecisions
from aitrader.runtime.supervisor import TaskContext, TaskHealth
from aitrader.storage.repository import TenantSession
from aitrader.storage.writer import StorageWriter

TASKS_KEY = "tasks"  # engine/tasks: the supervisor's per-task health
MARKET_DATA_KEY = "market_data"  # engine/market_data: the stream connection's state and counters
CANDLES_KEEP = 300  # newest closed candles published per pair


class StatePublisher:
    def __init__(
        self,
        tenant_id: str,
        mode: str,
        engine: Engine,
        venue: Venue,
        decisions: StreamingDecisions | None,
        writer: StorageWriter,
        symbols: list[str],
        *,
        health: Callable[[], list[TaskHealth]] | None = None,
        market_data: Callable[[], dict[str, Any]] | None = None,
        interval_ms: int = 2000,
        started_ms: int | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.mode = mode
        self.engine = engine
        self.venue = venue
        self.decisions = decisions
        self.writer = writer
        self.symbols = symbols
        self.health = health
        self.market_data = market_data
        self.interval_ms = interval_ms
        self.started_ms = started_ms if started_ms is not None else now_ms()
        self.published = 0
        self.candles_published: dict[str, int] = {}  # pair -> open time of its newest published candle

    def status(self) -> es.EngineStatusState:
        risk: Any = self.engine.risk
        return {
            "mode": self.mode,
            "entries_paused": bool(getattr(risk, "paused", False)),
            "kill_switch": bool(risk.killed),
            "quote_currency": self.engine.quote,
            "started_ms": self.started_ms,
            "heartbeat_ms": now_ms(),
            "heartbeat_interval_ms": self.interval_ms,
        }

    def balances(self) -> dict[str, es.BalanceState]:
        reserved: dict[str, Decimal] = defaultdict(Decimal)
        for o in self.engine.om.open_orders():
            rules = self.engine.rules(o.request.symbol)
            if o.request.side.value == "sell":
                reserved[rules.base] += o.remaining
        out: dict[str, es.BalanceState] = {}
        for ccy, total in sorted(self.venue.balances().items()):
            used = min(total, reserved.get(ccy, Decimal(0))) if total > 0 else Decimal(0)
            out[ccy] = {"total": str(total), "free": str(total - used), "used": str(used)}
        return out

    def marks(self) -> dict[str, str]:
        out = {}
        for s in self.symbols:
            got = self.engine.feed.last_close(s)
            if got is not None:
                out[s] = repr(got[1])
        return out

    def strategies(self) -> dict[str, es.StrategyState]:
        out: dict[str, es.StrategyState] = {}
        d = self.decisions
        if d is not None:
            for name, n in d.signals.items():
                out[name] = {
                    "signals": n,
                    "trades": 0,
                    "wins": 0,
                    "pnl": "0",
                    "avg_runtime_ms": round(d.avg_runtime_ms, 3),
                }
        for t in self.engine.recorder.table().to_records():
            st = out.setdefault(t["strategy"], {"signals": 0, "trades": 0, "wins": 0, "pnl": "0"})
            st["trades"] = st.get("trades", 0) + 1
            st["wins"] = st.get("wins", 0) + (1 if t["pnl"] > 0 else 0)
            st["pnl"] = str(Decimal(st.get("pnl", "0")) + Decimal(repr(t["pnl"])))
        return out

    async def publish(self) -> None:
        values: dict[str, Any] = {
            es.STATUS_KEY: self.status(),
            es.BALANCES_KEY: self.balances(),
            es.MARKS_KEY: self.marks(),
            es.STRATEGIES_KEY: self.strategies(),
        }
        if self.health is not None:  # supervisor health, for operators (not part of the API contract)
            values[TASKS_KEY] = {
                h.name: {
                    "status": h.status.value,
                    "restarts": h.restarts,
                    "stalled": h.stalled,
                    "since_beat_s": round(h.seconds_since_beat, 1),
                    "error": h.last_error,
                }
                for h in self.health()
            }

        if self.market_data is not None:  # for operators, like the tasks
            values[MARKET_DATA_KEY] = self.market_data()

        def fn(s: TenantSession) -> None:
            for key, value in values.items():
                s.save_state(es.ENGINE_NS, key, value)

        await self.writer.put(self.tenant_id, fn, label="engine_state")
        self.published += 1

    def candles(self, symbol: str) -> es.CandlesState | None:
        """The newest `CANDLES_KEEP` candles of `symbol` closed at the market clock's now, or None
        when nothing new closed since the last publication."""
        feed: Any = self.engine.feed
        got = feed.last_close(symbol)  # the newest candle closed at the clock's now
        if got is None or got[0] == self.candles_published.get(symbol):
            return None
        w = feed.window(symbol, got[0])
        w = w.slice(max(0, len(w) - CANDLES_KEEP))
        cols = (w.ts, w.open, w.high, w.low, w.close, w.volume)  # tolist: python ints and floats
        rows = list(map(list, zip(*(c.tolist() for c in cols), strict=True)))
        return {"timeframe": feed.timeframe, "clock_ms": self.engine.clock.now(), "rows": rows}

    async def publish_candles(self) -> int:
        """Write the pairs with a newly closed candle (one writer item); returns how many."""
        values: dict[str, es.CandlesState] = {}
        for s in self.symbols:
            v = self.candles(s)
            if v is not None and v["rows"]:
                values[s] = v
                await asyncio.sleep(0)  # ~0.1 ms a pair: let the streams' frames in between
        if not values:
            return 0

        def fn(t: TenantSession) -> None:
            for symbol, value in values.items():
                t.save_state(es.ENGINE_NS, es.candles_key(symbol), value)

        await self.writer.put(self.tenant_id, fn, label="engine_candles")
        for symbol, value in values.items():
            self.candles_published[symbol] = int(value["rows"][-1][0])
        return len(values)

    async def run_candles(self, ctx: TaskContext, interval_s: float = 1.0) -> None:
        while True:
            await self.publish_candles()
            ctx.beat()
            await asyncio.sleep(interval_s)

    async def save_risk_limits(self, limits: dict[str, Any]) -> None:
        value = {k: str(v) if isinstance(v, Decimal) else v for k, v in limits.items()}
        await self.writer.put(
            self.tenant_id,
            lambda s: s.save_state(es.ENGINE_NS, es.RISK_LIMITS_KEY, value),
            label="risk_limits",
        )

    async def run(self, ctx: TaskContext) -> None:
        while True:
            await self.publish()
            ctx.beat()
            await asyncio.sleep(self.interval_ms / 1000.0)
