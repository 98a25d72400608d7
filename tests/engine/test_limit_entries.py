"""Limit entries in the engine (`execution.entry_order: limit`): they rest below the decision's close,
time out, are re-priced a bounded number of times, carry their stop/take to the replacement, and a
partly filled one keeps and protects what it bought. The skipping feed gives the same orders as a
feed delivering every candle (a resting entry is re-evaluated on every candle)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from engine_rig import PAIRS, make_engine, run_engine, sample_candles

from aitrader.core.orders import Order, OrderPurpose, OrderStatus, OrderType
from aitrader.engine.engine import EngineResult
from aitrader.execution.entry_timeout import LimitEntryPolicy

FIVE_MIN = 300_000


def _dirs(candles: dict, seed: int = 3, p: float = 0.03) -> dict:
    rng = np.random.default_rng(seed)
    return {
        s: rng.choice([-1, 0, 1], size=len(c), p=[p, 1 - 2 * p, p]).astype(np.int8)
        for s, c in candles.items()
    }


def _orders(res: EngineResult) -> list[tuple[str, str, str, str | None, str, str]]:
    return [
        (
            o.request.client_id,
            o.request.purpose.value,
            o.request.type.value,
            str(o.request.price),
            o.status.value,
            str(o.filled),
        )
        for o in res.orders
    ]


def _entries(res: EngineResult) -> list[Order]:
    return [o for o in res.orders if o.request.purpose is OrderPurpose.ENTRY]


def test_entries_rest_time_out_and_are_replaced_within_bounds() -> None:
    candles = sample_candles(PAIRS, start=0, length=1500)
    policy = LimitEntryPolicy(timeout_ms=2 * FIVE_MIN, offset_bps=Decimal(30), max_replaces=2)
    engine = make_engine(candles, _dirs(candles), dense=True, limit_entries=policy)
    res = engine.run()
    entries = {o.request.client_id: o for o in _entries(res)}
    assert entries and all(o.request.type is OrderType.LIMIT for o in entries.values())
    for o in entries.values():
        for f in o.fills:
            assert f.price <= o.request.price  # a buy limit never pays more than its limit
    assert engine.replacer is not None
    replaced = engine.replacer.replaced  # old client id -> its replacement
    assert len(replaced) > 5
    for old, new in replaced.items():
        a, b = entries[old], entries[new]
        assert a.status is OrderStatus.CANCELLED and a.filled == 0  # only unfilled entries are replaced
        assert b.request.symbol == a.request.symbol and b.request.amount == a.request.amount
        assert b.request.created_ms == a.updated_ms >= a.request.created_ms + policy.timeout_ms
    # chains are at most max_replaces long; one of them reaches the bound
    originals = set(entries) - set(replaced.values())
    lengths = []
    for cid in originals:
        n = 0
        while cid in replaced:
            cid, n = replaced[cid], n + 1
        lengths.append(n)
    assert max(lengths) == policy.max_replaces
    # every entry that bought something has its stop and take, sized to what it bought
    for o in entries.values():
        if o.filled == 0:
            continue
        guards = [
            g
            for g in res.orders
            if g.request.symbol == o.request.symbol
            and o.updated_ms <= g.request.created_ms <= o.updated_ms + FIVE_MIN  # at the fill's close
            and g.request.purpose in (OrderPurpose.STOP_LOSS, OrderPurpose.TAKE_PROFIT)
        ]
        assert sorted(g.request.purpose.value for g in guards) == ["stop_loss", "take_profit"], o
        assert all(g.request.amount == o.filled for g in guards)


def test_skipping_feed_gives_the_orders_of_the_every_candle_feed() -> None:
    candles = sample_candles(PAIRS, start=200, length=1200)
    policy = LimitEntryPolicy(timeout_ms=3 * FIVE_MIN, offset_bps=Decimal(20), max_replaces=3)
    dirs = _dirs(candles, seed=11)
    dense, n_dense = run_engine(
        candles, dirs, dense=True, limit_entries=policy, max_volume_share=Decimal("0.2")
    )
    sparse, n_sparse = run_engine(
        candles, dirs, dense=False, limit_entries=policy, max_volume_share=Decimal("0.2")
    )
    assert _orders(sparse) == _orders(dense)
    assert sparse.trades.fingerprint() == dense.trades.fingerprint()
    assert n_sparse < n_dense


def test_partly_filled_entry_keeps_and_protects_what_it_bought() -> None:
    candles = sample_candles(("ETH/BTC",), start=0, length=1500)
    policy = LimitEntryPolicy(timeout_ms=FIVE_MIN, offset_bps=Decimal(0), max_replaces=5)
    # a tiny volume share: entries fill partly at the candle that reaches them, then time out
    res, _ = run_engine(
        candles,
        _dirs(candles, seed=5),
        dense=True,
        limit_entries=policy,
        max_volume_share=Decimal("0.002"),
        stake=Decimal("2"),
    )
    partial = [
        o for o in _entries(res) if o.status is OrderStatus.CANCELLED and 0 < o.filled < o.request.amount
    ]
    assert partial, "no partly filled entry timed out"
    by_created = sorted(res.orders, key=lambda o: o.request.created_ms)
    for entry in partial:
        later = [o for o in by_created if o.request.created_ms >= entry.updated_ms and o is not entry]
        nxt = next(o for o in later if o.request.symbol == entry.request.symbol)
        # no replacement entry: the next order protects what was bought (stop first)
        assert nxt.request.purpose is OrderPurpose.STOP_LOSS
        assert nxt.request.amount == entry.filled


def test_exit_signal_cancels_a_resting_entry_without_replacing_it() -> None:
    candles = sample_candles(("ETH/BTC",), start=0, length=200)
    d = np.zeros(len(candles["ETH/BTC"]), dtype=np.int8)
    d[20], d[22] = 1, -1
    policy = LimitEntryPolicy(timeout_ms=12 * FIVE_MIN, offset_bps=Decimal(500), max_replaces=3)
    res, _ = run_engine(candles, {"ETH/BTC": d}, dense=True, limit_entries=policy)
    (entry,) = _entries(res)
    assert entry.status is OrderStatus.CANCELLED and entry.filled == 0
    assert entry.updated_ms == int(candles["ETH/BTC"].ts[22]) + FIVE_MIN  # at the exit signal's close
    assert len(res.orders) == 1 and len(res.trades) == 0


def test_venue_side_expiry_rides_on_every_entry_and_changes_no_result() -> None:
    """With `venue_expiry_ms` each entry (replacements too) asks the venue to expire it that long
    after its timeout; the engine's own timeout cancels first, so the trades are the same as without."""
    candles = sample_candles(PAIRS, start=0, length=1500)
    plain = LimitEntryPolicy(timeout_ms=2 * FIVE_MIN, offset_bps=Decimal(30), max_replaces=2)
    guarded = LimitEntryPolicy(
        timeout_ms=2 * FIVE_MIN, offset_bps=Decimal(30), max_replaces=2, venue_expiry_ms=FIVE_MIN
    )
    base = make_engine(candles, _dirs(candles), dense=True, limit_entries=plain).run()
    engine = make_engine(candles, _dirs(candles), dense=True, limit_entries=guarded)
    res = engine.run()
    entries = _entries(res)
    assert engine.replacer is not None and len(engine.replacer.replaced) > 5
    for o in entries:
        assert o.request.expire_ms == o.request.created_ms + 3 * FIVE_MIN
        assert o.status is not OrderStatus.EXPIRED
    assert all(o.request.expire_ms is None for o in _entries(base))
    assert _orders(res) == _orders(base)
