"""The simulated venue over real Bittrex ETH/BTC 5m candles: invariants that must hold for every fill."""

import csv
from decimal import Decimal as D
from importlib import resources

from aitrader.core.candles import Candle
from aitrader.core.clock import SimulatedClock
from aitrader.core.orders import Fill, OrderRequest, OrderType, Side
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.sim_models import FeeSchedule, SlippageModel
from aitrader.venues.simulated import SimulatedVenue, dec

SYM = "ETH/BTC"
BPS, IMPACT, SHARE = D("5"), D("0.1"), D("0.1")


def _candles() -> list[Candle]:
    path = resources.files("aitrader").joinpath("sample_data", "ohlcv", "bittrex_ETH_BTC-5m.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        Candle(
            int(r["timestamp"]),
            float(r["open"]),
            float(r["high"]),
            float(r["low"]),
            float(r["close"]),
            float(r["volume"]),
        )
        for r in rows
    ]


def test_fills_on_real_candles_respect_prices_volume_and_books() -> None:
    candles = _candles()
    clock = SimulatedClock(candles[0].ts)
    v = SimulatedVenue(
        clock,
        MarketRegistry.load("bittrex"),  # ETH/BTC is not in the fixture: default rules
        {"BTC": D("1")},
        FeeSchedule(D("0.001"), D("0.0025")),
        SlippageModel(BPS, IMPACT),
        max_volume_share=SHARE,
    )
    max_slip = BPS / 10_000 + IMPACT * SHARE
    n = 0
    n_fills = {True: 0, False: 0}
    for i, c in enumerate(candles):
        clock.advance_to(c.ts)
        pos = v.ledger.position(SYM)
        if i % 40 == 0 and (pos is None or not pos.is_open) and not v.open_orders():
            n += 1
            close = dec(candles[i - 1].close) if i else dec(c.open)
            v.submit(OrderRequest(f"e{n}", SYM, Side.BUY, OrderType.MARKET, D("2")))
            v.submit(
                OrderRequest(
                    f"s{n}",
                    SYM,
                    Side.SELL,
                    OrderType.STOP_MARKET,
                    D("2"),
                    trail=D("0.01"),
                    reduce_only=True,
                    stop_price=(close * D("0.98")).quantize(D("1E-8")),
                )
            )
            v.submit(
                OrderRequest(
                    f"t{n}",
                    SYM,
                    Side.SELL,
                    OrderType.LIMIT,
                    D("2"),
                    price=(close * D("1.01")).quantize(D("1E-8")),
                    reduce_only=True,
                )
            )
        v.on_candle(SYM, c)
        lo, hi, vol = dec(c.low), dec(c.high), dec(c.volume)
        got = [e for e in v.drain_events() if isinstance(e, Fill)]
        assert sum((f.amount for f in got), D(0)) <= vol * SHARE
        for f in got:
            n_fills[f.is_maker] += 1
            assert f.ts == c.ts
            assert f.fee == f.amount * f.price * (D("0.001") if f.is_maker else D("0.0025"))
            if f.is_maker:
                order = v.order(f.client_id)
                assert order is not None and f.price == order.request.price
                assert f.price < hi or dec(c.open) > f.price  # traded through (or gapped through)
            else:
                assert lo * (1 - max_slip) - D("1E-8") <= f.price <= hi * (1 + max_slip) + D("1E-8")
        bal = v.balances()
        assert all(x >= 0 for x in bal.values())
    assert n >= 20 and n_fills[True] >= 5 and n_fills[False] >= 20  # 25 rounds, 9 maker, 41 taker
    led = v.ledger
    sums: dict[str, D] = {}
    for e in led.entries:
        sums[e.currency] = sums.get(e.currency, D(0)) + e.delta
    assert sums == led.balances()
    marks = {SYM: dec(candles[-1].close)}
    assert led.equity(marks, "BTC") == D("1") + led.realized_pnl() - led.fees() + led.unrealized_pnl(marks)
