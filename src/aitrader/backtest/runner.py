"""Assembling and running a backtest: reference mode (vectorised) or the full stack (the Engine).

Modes (the CLI picks by flags; docs/architecture.md has the rules):
- reference: `stake` given and `no_stops`: each listed strategy's signals on their own, fixed stake,
  next-open fills, no slippage (backtest.reference), fee `fee` or else `backtest.taker_fee` per side.
  Fast enough for hyperopt and the benchmark.
- full stack (default): configured strategies -> confluence -> risk (or a fixed stake when `stake` is
  given) -> SimulatedVenue with stops/takes (unless `no_stops`), fees and slippage -> ledger, through
  the same Engine class paper and live use, plugged with a SimulatedClock and a HistoricalFeed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from aitrader.backtest.data import common_quote, load_candles
from aitrader.backtest.reference import reference_trades
from aitrader.backtest.report import BacktestReport, build_report
from aitrader.backtest.sizing import FixedStake
from aitrader.backtest.trades import TradeTable
from aitrader.config import Settings, StrategyRef
from aitrader.core.candles import OHLCV
from aitrader.core.clock import SimulatedClock
from aitrader.core.errors import DataError
from aitrader.data.resample import resample
from aitrader.engine.decisions import DecisionArrays, PrecomputedDecisions
from aitrader.engine.engine import Engine, EngineStats
from aitrader.engine.feed import HistoricalFeed
from aitrader.engine.ports import EntryGate
from aitrader.execution.entry_timeout import limit_entry_policy
from aitrader.heap import young_collections_only
from aitrader.strategies import registry
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.sim_models import FeeSchedule, SlippageModel
from aitrader.venues.simulated import SimulatedVenue

Progress = Callable[[str, float], None]  # (stage, fraction done in [0, 1])
# (pair, its candles, its confluence decisions) -> the decisions the engine trades on; e.g. the ML gate
# masking entries it rejects. Full stack only: reference runs trade raw strategy signals.
DecisionFilter = Callable[[str, OHLCV, DecisionArrays], DecisionArrays]


@dataclass(frozen=True, slots=True)
class BacktestSpec:
    exchange: str
    pairs: list[str]
    timeframe: str
    start_ms: int | None = None
    end_ms: int | None = None
    strategies: list[StrategyRef] = field(default_factory=list)
    stake: Decimal | None = None
    fee: Decimal | None = None
    no_stops: bool = False
    fill_gaps: bool = False
    # pair -> public trades CSV (timestamp,id,side,price,amount): its per-bar trade-flow imbalance is
    # the confluence microstructure factor of that pair (full stack only)
    trades: dict[str, Path] = field(default_factory=dict)

    @property
    def reference(self) -> bool:
        return self.stake is not None and self.no_stops


@dataclass(frozen=True, slots=True)
class BacktestResult:
    report: BacktestReport
    mode: str
    stats: EngineStats | None = None


def _noop(stage: str, frac: float) -> None:
    pass


def run_backtest(
    settings: Settings,
    spec: BacktestSpec,
    datadir: Path,
    progress: Progress = _noop,
    candles: dict[str, OHLCV] | None = None,
    decision_filter: DecisionFilter | None = None,
) -> BacktestResult:
    """Load candles (unless given), run the mode `spec` asks for, build the report.

    `decision_filter` replaces each pair's decisions before the engine sees them (see `DecisionFilter`);
    the feed skips by the filtered directions, so masked entries cost nothing."""
    if not spec.pairs:
        raise DataError("no pairs to backtest (give --pairs or set exchange.pairs)")
    if decision_filter is not None and spec.reference:
        raise DataError("a decision filter needs a full-stack run: drop --no-stops or --stake-amount")
    unknown = sorted(set(spec.trades) - set(spec.pairs))
    if unknown:
        raise DataError(f"trades given for {', '.join(unknown)}, which is not among the pairs backtested")
    if spec.trades and spec.reference:
        raise DataError("trade flow feeds the confluence: drop --no-stops or --stake-amount to use --trades")
    if candles is None:
        candles = load_candles(
            datadir, spec.exchange, spec.pairs, spec.timeframe, spec.start_ms, spec.end_ms, spec.fill_gaps
        )
    refs = spec.strategies or list(settings.strategies)
    quote = settings.backtest.quote_currency or common_quote(spec.pairs)
    start_balance = settings.backtest.starting_balance
    stats: EngineStats | None = None
    flow: dict[str, int] = {}
    # one fee for the run: --fee, else the configured taker fee (what the summary reports is charged)
    fee = spec.fee if spec.fee is not None else settings.backtest.taker_fee
    if spec.reference:
        trades = _run_reference(spec, refs, candles, progress, fee)
        mode = "reference"
    else:
        trades, stats = _run_full(settings, spec, refs, candles, quote, progress, decision_filter, flow)
        mode = "full"
    report = build_report(
        trades,
        candles,
        spec.timeframe,
        float(start_balance),
        settings={
            **_settings_summary(settings, spec, refs, mode, quote, fee),
            **({"trade_flow_bars": flow} if flow else {}),
        },
        rejections=stats.rejections if stats is not None else {},
        venue_rejections=stats.venue_rejections if stats is not None else 0,
    )
    return BacktestResult(report, mode, stats)


def _settings_summary(
    settings: Settings, spec: BacktestSpec, refs: list[StrategyRef], mode: str, quote: str, fee: Decimal
) -> dict[str, Any]:
    # reference mode has no limit orders; in the full stack resting limits (take-profits) fill as makers
    maker = None if mode == "reference" else spec.fee if spec.fee is not None else settings.backtest.maker_fee
    return {
        "mode": mode,
        "exchange": spec.exchange,
        "pairs": ", ".join(spec.pairs),
        "timeframe": spec.timeframe,
        "strategies": ", ".join(r.name for r in refs),
        "quote": quote,
        "starting_balance": str(settings.backtest.starting_balance),
        "stake": None if spec.stake is None else str(spec.stake),
        "fee": str(fee),  # per side: every reference fill; full stack: taker (market, stop) fills
        "maker_fee": None if maker is None else str(maker),
        "slippage_bps": "0" if spec.reference else str(settings.backtest.slippage_bps),
        "stops": not spec.no_stops,
        "fill_gaps": spec.fill_gaps,
        "trades": ", ".join(f"{p}={path.name}" for p, path in sorted(spec.trades.items())) or None,
    }


def _run_reference(
    spec: BacktestSpec, refs: list[StrategyRef], candles: dict[str, OHLCV], progress: Progress,
    fee_rate: Decimal,
) -> TradeTable:
    """Every signal of each strategy at a fixed stake; `fee_rate` per side (--fee, else backtest.taker_fee:
    reference fills are market orders at the open, i.e. taker fills)."""
    assert spec.stake is not None
    fee = float(fee_rate)
    tables = []
    total = len(refs) * len(candles)
    done = 0
    for ref in refs:
        strategy = registry.create(ref.name, ref.params)
        for pair, c in candles.items():
            sig = strategy.compute(c)
            tables.append(reference_trades(c, sig.direction, float(spec.stake), fee, pair, strategy.name))
            done += 1
            progress("signals", done / total)
    return TradeTable.concat(tables)


def _decisions(
    settings: Settings, spec: BacktestSpec, refs: list[StrategyRef], candles: dict[str, OHLCV],
    progress: Progress,
    decision_filter: DecisionFilter | None = None,
    flow_bars: dict[str, int] | None = None,
) -> PrecomputedDecisions:
    """Confluence decisions per pair; `flow_bars` receives, per pair with trades, how many of its
    bars had trade flow (the bars whose confidence the flow factor could adjust)."""
    from aitrader.confluence import Confluence, Microstructure, load_trades_csv

    strategies = [(registry.create(r.name, r.params), r.weight) for r in refs]
    conf = Confluence(settings.confluence, strategies)
    htf = settings.confluence.higher_timeframe
    frames: dict[str, DecisionArrays] = {}
    for k, (pair, c) in enumerate(candles.items()):
        higher = None
        if htf is not None and htf != spec.timeframe:
            higher = resample(c, spec.timeframe, htf)
        micro = None
        if pair in spec.trades:
            micro = Microstructure.from_trades(load_trades_csv(spec.trades[pair]), c.ts, spec.timeframe)
            if flow_bars is not None:
                flow_bars[pair] = int(np.count_nonzero(~np.isnan(micro.flow_imbalance)))
        frame: DecisionArrays = conf.evaluate(
            pair, c, higher, htf if higher is not None else None, micro, timeframe=spec.timeframe
        )
        frames[pair] = frame if decision_filter is None else decision_filter(pair, c, frame)
        progress("signals", (k + 1) / len(candles))
    return PrecomputedDecisions(frames, {p: c.ts for p, c in candles.items()}, with_reasons=False)


def _risk(settings: Settings, spec: BacktestSpec) -> EntryGate:
    if spec.stake is not None:
        return FixedStake(spec.stake)
    from aitrader.risk.manager import RiskManager

    gate: EntryGate = RiskManager(settings.risk)
    return gate


def _run_full(
    settings: Settings,
    spec: BacktestSpec,
    refs: list[StrategyRef],
    candles: dict[str, OHLCV],
    quote: str,
    progress: Progress,
    decision_filter: DecisionFilter | None = None,
    flow_bars: dict[str, int] | None = None,
) -> tuple[TradeTable, EngineStats]:
    bt = settings.backtest
    decisions = _decisions(settings, spec, refs, candles, progress, decision_filter, flow_bars)
    first = min(int(c.ts[0]) for c in candles.values())
    last = max(int(c.ts[-1]) for c in candles.values())
    clock = SimulatedClock(first)
    feed = HistoricalFeed(candles, spec.timeframe, clock, decisions.directions())
    try:
        markets = MarketRegistry.load(spec.exchange)
    except DataError:
        markets = MarketRegistry.empty(spec.exchange)
    maker = spec.fee if spec.fee is not None else bt.maker_fee
    taker = spec.fee if spec.fee is not None else bt.taker_fee
    balances = {quote: bt.starting_balance}
    venue = SimulatedVenue(
        clock,
        markets,
        balances,
        fees=FeeSchedule(maker, taker),
        slippage=SlippageModel(bt.slippage_bps, bt.slippage_volume_impact),
        max_volume_share=bt.max_volume_share,
    )
    engine = Engine(
        clock=clock,
        feed=feed,
        venue=venue,
        decisions=decisions,
        risk=_risk(settings, spec),
        markets=markets,
        # the simulated venue's account is our book: every fill the engine books is one the venue booked
        # just before, in the same order, so one ledger serves both (the engine's booking of a fill id
        # already booked changes nothing) instead of booking each fill twice into two equal ledgers
        ledger=venue.ledger,
        quote=quote,
        protect=not spec.no_stops,
        trailing_stop=None if spec.no_stops else bt.trailing_stop,
        end_fee_rate=taker,
        # reference runs buy at the next open by definition; everything else as configured
        limit_entries=None if spec.reference else limit_entry_policy(settings.execution),
    )
    span = max(1, last - first)
    with young_collections_only():  # a backtest keeps all it books alive (aitrader.heap)
        result = engine.run(lambda now: progress("backtest", min(1.0, (now - first) / span)))
    return result.trades, result.stats

