"""Report metrics on hand-made trades and candles, every expected number worked out by hand here.

The arithmetic below is independent of backtest.equity / backtest.metrics: the equity curve is
written down bar by bar from the trades (mark at each close, entry fee charged while held), and the
statistics use `statistics` / `math` on those plain numbers.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import numpy as np
import pytest

from aitrader.backtest.report import BacktestReport, build_report
from aitrader.backtest.trades import TradeTable
from aitrader.core.candles import OHLCV

DAY = 86_400_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
START = 1000.0
REL = 1e-12


def _candles(closes: list[float]) -> OHLCV:
    n = len(closes)
    ts = T0 + DAY * np.arange(n)
    c = np.array(closes, dtype=float)
    return OHLCV.from_arrays(ts, c, c * 1.1, c * 0.9, c, np.full(n, 1e6))


def _trade(pair: str, strategy: str, e: int, x: int, ep: float, xp: float, amount: float, rate: float,
           reason: str = "exit_signal") -> dict[str, object]:
    fee = rate * amount * ep + rate * amount * xp
    return {
        "pair": pair, "strategy": strategy, "entry_time": T0 + e * DAY, "exit_time": T0 + x * DAY,
        "entry_price": ep, "exit_price": xp, "amount": amount, "fee": fee,
        "pnl": amount * (xp - ep) - fee, "exit_reason": reason,
    }


# ---- scenario 1: two pairs, three trades, a drawdown that recovers --------------------------------
#   bar            0     1     2     3     4     5
#   A/USD close   10    11    12     9    10    13
#   B/USD close   50    50    48    45    47    52
# t1 A  s1: buy 10 @ 10 at open of bar 1, sell @ 12 at open of bar 3; fee 0.1 + 0.12 = 0.22, pnl 19.78
# t2 B  s1: buy 2 @ 50 at open of bar 2, sell @ 45 at open of bar 4;  fee 0.1 + 0.09 = 0.19, pnl -10.19
# t3 A  s2: buy 10 @ 9 at open of bar 4, end of data at bar 5's close 13; fee 0.09 + 0.13, pnl 39.78
A_CLOSE = [10.0, 11.0, 12.0, 9.0, 10.0, 13.0]
B_CLOSE = [50.0, 50.0, 48.0, 45.0, 47.0, 52.0]
TRADES_1 = [
    _trade("A/USD", "s1", 1, 3, 10.0, 12.0, 10.0, 0.001),
    _trade("B/USD", "s1", 2, 4, 50.0, 45.0, 2.0, 0.001),
    _trade("A/USD", "s2", 4, 5, 9.0, 13.0, 10.0, 0.001, "end_of_data"),
]
# equity at each close: held positions at close - (cost + entry fee), closed trades at their pnl
EQUITY_1 = [
    1000.0,
    1000.0 + (10 * 11 - 100.1),  # t1 open
    1000.0 + (10 * 12 - 100.1) + (2 * 48 - 100.1),  # t1, t2 open
    1000.0 + 19.78 + (2 * 45 - 100.1),  # t1 closed at bar 3's open, t2 open
    1000.0 + 19.78 - 10.19 + (10 * 10 - 90.09),  # t2 closed, t3 open
    1000.0 + 19.78 - 10.19 + 39.78,  # all closed
]


@pytest.fixture(scope="module")
def report1() -> BacktestReport:
    candles = {"A/USD": _candles(A_CLOSE), "B/USD": _candles(B_CLOSE)}
    return build_report(TradeTable.from_rows(TRADES_1), candles, "1d", START)


def test_hand_trades_are_what_the_comments_say() -> None:
    assert [t["fee"] for t in TRADES_1] == pytest.approx([0.22, 0.19, 0.22], rel=REL)
    assert [t["pnl"] for t in TRADES_1] == pytest.approx([19.78, -10.19, 39.78], rel=REL)


def test_equity_curve_by_hand(report1: BacktestReport) -> None:
    cv = report1.curve
    assert cv.ts.tolist() == [T0 + i * DAY for i in range(6)]
    np.testing.assert_allclose(cv.equity, EQUITY_1, rtol=REL)
    assert cv.equity.tolist()[-1] == pytest.approx(1049.37, rel=REL)
    # quote value held at each close
    np.testing.assert_allclose(cv.exposure, [0, 110, 120 + 96, 90, 100, 0], rtol=REL, atol=1e-12)


def test_summary_by_hand(report1: BacktestReport) -> None:
    s = report1.summary
    final = 1049.37
    assert s["starting_balance"] == START
    assert s["final_equity"] == pytest.approx(final, rel=REL)
    assert s["total_return"] == pytest.approx(0.04937, rel=1e-9)
    # 6 daily candles: first open to last close is 6 days
    assert s["start"] == T0 and s["end"] == T0 + 6 * DAY and s["candles"] == 6
    cagr = (final / 1000.0) ** (365 / 6) - 1
    assert s["cagr"] == pytest.approx(cagr, rel=1e-9)
    assert s["periods_per_year"] == 365

    # per-candle returns, the first one from the starting balance
    eq = [1000.0, *EQUITY_1]
    rets = [eq[i + 1] / eq[i] - 1 for i in range(6)]
    assert rets[0] == 0.0 and rets[3] == pytest.approx(-6.12 / 1015.8, rel=1e-9)
    sharpe = statistics.mean(rets) / statistics.stdev(rets) * math.sqrt(365)
    assert s["sharpe"] == pytest.approx(sharpe, rel=1e-9)
    downside = math.sqrt(rets[3] ** 2 / 6)  # one negative return; zeros count in the mean
    assert s["sortino"] == pytest.approx(statistics.mean(rets) / downside * math.sqrt(365), rel=1e-9)

    # peak 1015.8 at bar 2's close, trough 1009.68 at bar 3's close, recovered at bar 4's close
    dd = 1 - 1009.68 / 1015.8
    assert s["max_drawdown"] == pytest.approx(dd, rel=1e-9)
    assert s["max_drawdown_start"] == T0 + 3 * DAY  # close of bar 2
    assert s["max_drawdown_trough"] == T0 + 4 * DAY
    assert s["max_drawdown_end"] == T0 + 5 * DAY  # close of bar 4
    assert s["max_drawdown_duration_ms"] == 2 * DAY
    assert s["calmar"] == pytest.approx(cagr / dd, rel=1e-9)

    assert s["trades"] == 3 and s["wins"] == 2 and s["losses"] == 1
    assert s["win_rate"] == pytest.approx(2 / 3, rel=REL)
    assert s["profit"] == pytest.approx(49.37, rel=1e-9)
    assert s["profit_factor"] == pytest.approx((19.78 + 39.78) / 10.19, rel=1e-9)
    assert s["expectancy"] == pytest.approx(49.37 / 3, rel=1e-9)
    assert s["avg_win"] == pytest.approx((19.78 + 39.78) / 2, rel=1e-9)
    assert s["avg_loss"] == pytest.approx(-10.19, rel=1e-9)
    assert s["avg_duration_ms"] == pytest.approx((2 + 2 + 1) * DAY / 3, rel=REL)
    assert s["exposure"] == pytest.approx(4 / 6, rel=REL)  # bars 1-4 hold something
    assert s["trades_per_day"] == pytest.approx(3 / 6, rel=REL)
    assert s["fees_paid"] == pytest.approx(0.63, rel=1e-9)
    assert s["fees"] == pytest.approx(0.63, rel=1e-9)


def test_per_pair_and_per_strategy_tables_by_hand(report1: BacktestReport) -> None:
    pp = report1.per_pair
    assert list(pp) == ["A/USD", "B/USD"]
    a, b = pp["A/USD"], pp["B/USD"]
    assert (a["trades"], a["wins"], a["losses"]) == (2, 2, 0)
    assert a["win_rate"] == 1.0
    assert a["profit"] == pytest.approx(19.78 + 39.78, rel=1e-9)
    assert a["profit_factor"] is None  # nothing lost: undefined
    assert a["expectancy"] == pytest.approx((19.78 + 39.78) / 2, rel=1e-9)
    assert a["avg_loss"] is None
    assert a["fees"] == pytest.approx(0.44, rel=1e-9)
    assert (b["trades"], b["wins"], b["losses"]) == (1, 0, 1)
    assert b["win_rate"] == 0.0 and b["profit_factor"] == 0.0
    assert b["profit"] == pytest.approx(-10.19, rel=1e-9) and b["fees"] == pytest.approx(0.19, rel=1e-9)
    assert b["avg_win"] is None

    ps = report1.per_strategy
    assert list(ps) == ["s1", "s2"]
    assert ps["s1"]["trades"] == 2 and ps["s1"]["win_rate"] == 0.5
    assert ps["s1"]["profit"] == pytest.approx(19.78 - 10.19, rel=1e-9)
    assert ps["s1"]["profit_factor"] == pytest.approx(19.78 / 10.19, rel=1e-9)
    assert ps["s1"]["fees"] == pytest.approx(0.41, rel=1e-9)
    assert ps["s2"]["trades"] == 1 and ps["s2"]["profit"] == pytest.approx(39.78, rel=1e-9)
    assert ps["s2"]["avg_duration_ms"] == DAY


def test_json_holds_the_same_numbers(report1: BacktestReport, tmp_path: Path) -> None:
    doc = json.loads(report1.write_json(tmp_path / "r.json").read_text())
    assert doc["summary"]["max_drawdown_duration_ms"] == 2 * DAY
    assert doc["summary"]["profit_factor"] == pytest.approx((19.78 + 39.78) / 10.19, rel=1e-9)
    assert doc["per_pair"]["A/USD"]["profit_factor"] is None
    assert doc["per_strategy"]["s2"]["trades"] == 1
    assert doc["summary"]["rejections"] == {} and doc["summary"]["venue_rejections"] == 0
    assert [t["pnl"] for t in doc["trades"]] == pytest.approx([19.78, -10.19, 39.78], rel=REL)


# ---- scenario 2: one losing trade from the start, the drawdown never recovers ----------------------
#   bar        0    1    2    3
#   close     95   90   92   93
# buy 1 @ 100 at bar 0's open (no fee), sell @ 93 at bar 3's open: pnl -7
def test_unrecovered_drawdown_from_the_starting_balance() -> None:
    candles = {"X/USD": _candles([95.0, 90.0, 92.0, 93.0])}
    trades = TradeTable.from_rows([_trade("X/USD", "s", 0, 3, 100.0, 93.0, 1.0, 0.0)])
    rep = build_report(trades, candles, "1d", START)
    s = rep.summary
    np.testing.assert_allclose(rep.curve.equity, [995.0, 990.0, 992.0, 993.0], rtol=REL)
    assert s["total_return"] == pytest.approx(-0.007, rel=1e-9)
    assert s["cagr"] == pytest.approx(0.993 ** (365 / 4) - 1, rel=1e-9)
    # the starting balance is the peak: the drawdown starts at the first open and lasts to the end
    assert s["max_drawdown"] == pytest.approx(0.01, rel=1e-9)
    assert s["max_drawdown_start"] == T0
    assert s["max_drawdown_trough"] == T0 + 2 * DAY
    assert s["max_drawdown_end"] is None
    assert s["max_drawdown_duration_ms"] == 4 * DAY
    assert s["calmar"] == pytest.approx((0.993 ** (365 / 4) - 1) / 0.01, rel=1e-9)
    rets = [-5 / 1000, -5 / 995, 2 / 990, 1 / 992]
    assert s["sharpe"] == pytest.approx(statistics.mean(rets) / statistics.stdev(rets) * math.sqrt(365),
                                        rel=1e-9)
    downside = math.sqrt(((5 / 1000) ** 2 + (5 / 995) ** 2) / 4)
    assert s["sortino"] == pytest.approx(statistics.mean(rets) / downside * math.sqrt(365), rel=1e-9)
    assert s["win_rate"] == 0.0 and s["profit_factor"] == 0.0
    assert s["expectancy"] == pytest.approx(-7.0, rel=REL)
    assert s["exposure"] == pytest.approx(3 / 4, rel=REL)
    assert s["trades_per_day"] == pytest.approx(1 / 4, rel=REL)
    assert s["fees_paid"] == 0.0


def test_no_trades() -> None:
    rep = build_report(TradeTable.empty(), {"X/USD": _candles([1.0, 2.0, 3.0])}, "1d", START)
    s = rep.summary
    assert s["trades"] == 0 and s["total_return"] == 0.0 and s["cagr"] == 0.0
    assert s["max_drawdown"] == 0.0 and s["max_drawdown_duration_ms"] == 0
    assert s["sharpe"] is None and s["sortino"] is None and s["calmar"] is None
    assert s["win_rate"] is None and s["profit_factor"] is None and s["expectancy"] is None
    assert s["exposure"] == 0.0 and s["trades_per_day"] == 0.0 and s["fees_paid"] == 0.0
    assert rep.per_pair == {} and rep.per_strategy == {}


def test_a_pair_without_a_candle_is_marked_at_its_last_close() -> None:
    # Y/USD printed no candle at bar 1 (a gap): the grid is the union of both pairs' candles, and the
    # open position in Y is valued at its last close (bar 0's 20) there
    x = _candles([5.0, 5.0, 5.0, 5.0])
    y_all = _candles([20.0, 99.0, 22.0, 24.0])
    keep = np.array([0, 2, 3])
    y = OHLCV(y_all.ts[keep], y_all.open[keep], y_all.high[keep], y_all.low[keep], y_all.close[keep],
              y_all.volume[keep])
    # buy 5 Y @ 20 at bar 0's open, sell @ 24 at bar 3's open, no fee: pnl 20
    trades = TradeTable.from_rows([_trade("Y/USD", "s", 0, 3, 20.0, 24.0, 5.0, 0.0)])
    rep = build_report(trades, {"X/USD": x, "Y/USD": y}, "1d", START)
    assert rep.curve.ts.tolist() == [T0 + i * DAY for i in range(4)]
    np.testing.assert_allclose(rep.curve.equity, [1000.0, 1000.0, 1010.0, 1020.0], rtol=REL)
    assert rep.summary["exposure"] == pytest.approx(3 / 4, rel=REL)
    assert rep.summary["max_drawdown"] == 0.0 and rep.summary["max_drawdown_duration_ms"] == 0
    assert rep.summary["sortino"] is None  # no negative return
    assert rep.per_pair["Y/USD"]["profit_factor"] is None and list(rep.per_pair) == ["Y/USD"]
