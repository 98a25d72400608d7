"""Trade flow from the real trade files (taker side and tick-rule fallback) and its effect on confidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aitrader.config import ConfluenceConfig
from aitrader.confluence import Confluence, Microstructure, load_trades_csv
from aitrader.confluence.microstructure import TAKER_SIDE, TICK_RULE, tick_rule, trade_flow
from aitrader.core.candles import OHLCV
from aitrader.strategies.builtin.ema_cross import EmaCross


def test_taker_flow_matches_a_hand_count(trades_dir: Path) -> None:
    t = load_trades_csv(trades_dir / "binance_ETH_USDT_USDT-trades.csv")
    assert len(t) == 1000 and set(np.unique(t.side).tolist()) == {-1, 1}
    bars = np.arange(1675329600000, 1675329600000 + 4 * 60_000, 60_000, dtype=np.int64)
    flow, method = trade_flow(t, bars, "1m")
    assert method == TAKER_SIDE
    for k, start in enumerate(bars):
        buy = sell = 0.0
        for ts, side, amount in zip(t.ts, t.side, t.amount, strict=True):
            if start <= ts < start + 60_000:
                buy += amount if side == 1 else 0.0
                sell += amount if side == -1 else 0.0
        assert (
            flow[k] == np.float64((buy - sell) / (buy + sell))
            or abs(flow[k] - (buy - sell) / (buy + sell)) < 1e-12
        )


def test_kraken_has_no_side_so_the_tick_rule_is_used_and_said(trades_dir: Path) -> None:
    t = load_trades_csv(trades_dir / "kraken_BCH_EUR-trades.csv")
    assert len(t) == 634 and not t.side.any()
    bars = np.arange(1672531200000, 1672531200000 + 48 * 3_600_000, 3_600_000, dtype=np.int64)
    micro = Microstructure.from_trades(t, bars, "1h")
    assert micro.flow_method == TICK_RULE
    known = ~np.isnan(micro.flow_imbalance)
    assert known.sum() > 20 and np.all(np.abs(micro.flow_imbalance[known]) <= 1)
    sides = tick_rule(t.price)
    assert sides[0] == 0 and np.all(sides[1:][np.diff(t.price) > 0] == 1)
    assert np.all(sides[1:][np.diff(t.price) < 0] == -1)


def test_flow_and_book_scale_confidence(btc5m: OHLCV) -> None:
    conf = Confluence(ConfluenceConfig(min_confidence=0.0), [(EmaCross(), 1.0)])
    plain = conf.evaluate("BTC/USDT:USDT", btc5m)
    n = len(btc5m)
    buying = Microstructure(btc5m.ts, np.full(n, 0.8), np.full(n, np.nan), np.full(n, np.nan), TICK_RULE)
    framed = conf.evaluate("BTC/USDT:USDT", btc5m, micro=buying)
    on = plain.direction != 0
    side = plain.direction[on]
    expected = np.minimum(plain.confidence[on] * (1 + 0.25 * 0.8 * side), 1.0)
    np.testing.assert_allclose(framed.confidence[on], expected, rtol=1e-12)
    i = int(np.flatnonzero(on)[0])
    assert "trade flow +0.80 by tick rule (no taker side in the data)" in framed.decision_at(i).reasons

    last = int(np.flatnonzero(on)[-1])
    book = Microstructure.from_book(int(btc5m.ts[last]), bids=[(100.0, 1.0)], asks=[(100.5, 3.0)])
    both = conf.evaluate("BTC/USDT:USDT", btc5m, micro=buying.with_book(book))
    imbalance = (0.8 + -0.5) / 2
    spread_bps = 0.5 / 100.25 * 1e4  # ~50 bps: wide
    d = plain.direction[last]
    want = min(plain.confidence[last] * (1 + 0.25 * d * imbalance) * 0.8, 1.0)
    assert both.confidence[last] == np.float64(want) or abs(both.confidence[last] - want) < 1e-12
    assert any(f"spread {spread_bps:.1f} bps" == r for r in both.decision_at(last).reasons)

    no_book = Confluence(ConfluenceConfig(min_confidence=0.0, use_orderbook=False), [(EmaCross(), 1.0)])
    ignored = no_book.evaluate("BTC/USDT:USDT", btc5m, micro=buying.with_book(book))
    assert ignored.confidence[last] == framed.confidence[last]
