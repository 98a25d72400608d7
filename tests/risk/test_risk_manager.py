import random
from decimal import Decimal as D
from decimal import localcontext
from fractions import Fraction

import pytest

from aitrader.config import RiskConfig
from aitrader.core.decisions import Decision
from aitrader.core.errors import ConfigError
from aitrader.core.ids import ClientIdGenerator
from aitrader.core.orders import OrderPurpose, OrderRequest, OrderType, Side
from aitrader.core.time import DAY_MS
from aitrader.risk.kelly import TradeStats
from aitrader.risk.manager import RiskManager
from aitrader.risk.rejection import Rejection
from aitrader.venues.markets import MarketRegistry

ETH = MarketRegistry.load("kraken").rules_for("ETH/USDT")  # step 1e-8, tick 0.01, min 0.01 ETH
T0 = 1_704_067_200_000  # 2024-01-01T00:00Z
EQ = D("10000")


def decision(
    stop: float | None = 1900.0, direction: int = 1, price: float = 2000.0, sym: str = "ETH/USDT"
) -> Decision:
    return Decision(
        ts=T0, symbol=sym, direction=direction, confidence=0.7, price=price, stop=stop, take=2200.0
    )


def rm(**cfg: object) -> RiskManager:
    return RiskManager(RiskConfig(**cfg))  # type: ignore[arg-type]


def sized(r: RiskManager, d: Decision, equity: D = EQ, open_pos: dict[str, D] | None = None) -> OrderRequest:
    out = r.size_entry(d, equity, open_pos or {}, ETH, T0)
    assert isinstance(out, OrderRequest), out
    return out


def rejected(
    r: RiskManager, d: Decision, equity: D = EQ, open_pos: dict[str, D] | None = None, ts: int = T0
) -> str:
    out = r.size_entry(d, equity, open_pos or {}, ETH, ts)
    assert isinstance(out, Rejection), out
    assert r.rejections[-1] is out and out.symbol == d.symbol and out.ts == ts and out.reason
    return out.code


def test_fixed_fractional_size_from_stop_distance() -> None:
    o = sized(rm(), decision(stop=1900.0))  # 1 % of 10000 over a 100 stop distance
    assert (o.side, o.type, o.purpose, o.amount) == (Side.BUY, OrderType.MARKET, OrderPurpose.ENTRY, D("1"))
    assert o.client_id == f"at-ETH_USDT-{T0}-1" and o.created_ms == T0
    o = sized(
        rm(risk_per_trade=D("0.005"), max_exposure_per_pair=D("0.5")), decision(stop=1970.0)
    )  # 50 / 30 = 1.666.. -> step down
    assert o.amount == D("1.66666666")


def test_per_pair_exposure_cap() -> None:
    o = sized(rm(), decision(stop=1990.0))  # wants 10 ETH = 20000, capped at 25 % of equity
    assert o.amount == D("1.25")


def test_total_exposure_cap_and_full() -> None:
    r = rm(max_open_positions=5)
    o = sized(r, decision(stop=1990.0), open_pos={"BTC/USDT": D("9000")})
    assert o.amount == D("0.5")  # 1000 of room left
    assert rejected(r, decision(), open_pos={"BTC/USDT": D("6000"), "XRP/USDT": D("4000")}) == "exposure_full"


def test_one_position_per_pair_and_max_open_positions() -> None:
    r = rm(max_open_positions=2)
    assert rejected(r, decision(), open_pos={"ETH/USDT": D("100")}) == "position_open"
    assert rejected(r, decision(), open_pos={"BTC/USDT": D("100"), "XRP/USDT": D("100")}) == "max_positions"
    sized(r, decision(), open_pos={"BTC/USDT": D("100"), "XRP/USDT": D("0")})  # zero notional is no position


def test_kelly_cap_after_min_trades_and_negative_edge() -> None:
    r = rm(kelly_min_trades=10)
    for p in ["0.02"] * 6 + ["-0.01"] * 3:
        r.record_trade(D(p))
    assert sized(r, decision(stop=1990.0)).amount == D("1.25")  # 9 trades: no Kelly yet
    r.record_trade(D("-0.01"))  # W 0.6, R 2 -> Kelly 0.4, half 0.2 -> notional <= 2000
    assert sized(r, decision(stop=1990.0)).amount == D("1")
    assert sized(rm(kelly_min_trades=10, kelly_cap=False), decision(stop=1990.0)).amount == D("1.25")
    bad = rm(kelly_min_trades=5, kelly_floor=D("0"))
    for _ in range(5):
        bad.record_trade(D("-0.01"))
    assert rejected(bad, decision()) == "negative_edge"


def test_no_edge_caps_at_the_probe_floor_instead_of_locking_out() -> None:
    r = rm(kelly_min_trades=5, kelly_floor=D("0.02"))
    for _ in range(5):
        r.record_trade(D("-0.01"))
    # equity 10000 -> notional <= 200 at entry 2000 -> 0.1
    assert sized(r, decision(stop=1990.0)).amount == D("0.1")
    for _ in range(10):
        r.record_trade(D("0.03"))  # the edge comes back: the floor no longer applies
    assert sized(r, decision(stop=1990.0)).amount > D("0.1")


def test_daily_loss_limit_blocks_until_next_utc_day() -> None:
    r = rm(daily_loss_limit=D("0.05"))
    r.on_equity(T0 + 1000, D("10000"))
    assert rejected(r, decision(), equity=D("9400"), ts=T0 + 3_600_000) == "daily_loss"
    assert not r.killed
    o = r.size_entry(decision(), D("9400"), {}, ETH, T0 + DAY_MS)  # new UTC day, new start
    assert isinstance(o, OrderRequest)


def test_drawdown_kill_switch_latches_until_reset() -> None:
    r = rm(max_drawdown=D("0.2"), daily_loss_limit=D("0.5"))
    r.on_equity(T0, D("10000"))
    r.on_equity(T0 + 1, D("12000"))
    r.on_equity(T0 + 2, D("9700"))  # 19.2 % below the 12000 peak
    assert not r.killed
    r.on_equity(T0 + 3, D("9600"))  # 20 %
    assert r.killed and "max drawdown" in r.kill_reason and "12000" in r.kill_reason
    r.on_equity(T0 + 4, D("12500"))  # recovering does not re-arm
    assert r.killed
    assert rejected(r, decision(), equity=D("12500")) == "killed"
    r.reset_kill()
    assert not r.killed
    sized(r, decision(), equity=D("12500"))
    r.kill("operator pressed the red button")
    assert rejected(r, decision()) == "killed" and "red button" in r.rejections[-1].reason


def test_size_entry_equity_can_trip_the_switch() -> None:
    r = rm(max_drawdown=D("0.1"), daily_loss_limit=D("0.5"))
    r.on_equity(T0, D("10000"))
    assert rejected(r, decision(), equity=D("8000")) == "killed"
    assert r.killed


def test_pause_and_resume() -> None:
    r = rm()
    r.pause("maintenance")
    assert r.paused and rejected(r, decision()) == "paused"
    assert "maintenance" in r.rejections[-1].reason
    r.resume()
    sized(r, decision())


def test_decision_sanity_rejections() -> None:
    r = rm()
    assert rejected(r, decision(direction=0)) == "no_direction"
    assert rejected(r, decision(direction=-1)) == "short_unsupported"
    assert rejected(r, decision(stop=None)) == "no_stop"
    assert rejected(r, decision(stop=2100.0)) == "bad_stop"
    assert rejected(r, decision(stop=float("nan"))) == "bad_stop"  # refused, not an InvalidOperation
    assert rejected(r, decision(), equity=D("0")) == "no_equity"
    assert rejected(r, decision(), equity=D("10")) == "below_minimum"  # 0.001 ETH < 0.01 minimum
    assert "below the minimum 0.01 ETH" in r.rejections[-1].reason
    assert [x.code for x in r.rejections] == [
        "no_direction",
        "short_unsupported",
        "no_stop",
        "bad_stop",
        "bad_stop",
        "no_equity",
        "below_minimum",
    ]


def test_update_limits_validated_all_or_nothing() -> None:
    r = rm()
    cfg = r.update_limits(max_open_positions=1, max_drawdown=D("0.1"))
    assert cfg.max_open_positions == 1 and r.guard.max_drawdown == D("0.1")
    assert rejected(r, decision(), open_pos={"BTC/USDT": D("1")}) == "max_positions"
    with pytest.raises(ConfigError, match="max_open_positions"):
        r.update_limits(max_open_positions=0, risk_per_trade=D("0.02"))
    with pytest.raises(ConfigError, match="bogus"):
        r.update_limits(bogus=1)
    assert r.cfg.max_open_positions == 1 and r.cfg.risk_per_trade == D("0.01")


def test_protective_orders_round_conservatively() -> None:
    r = RiskManager(RiskConfig(), ids=ClientIdGenerator("bt"))
    sl, tp = r.protective_orders("ETH/USDT", D("1"), D("1899.994"), D("2200.006"), ETH, T0)
    assert (sl.type, sl.side, sl.stop_price, sl.reduce_only, sl.purpose) == (
        OrderType.STOP_MARKET,
        Side.SELL,
        D("1900.00"),
        True,
        OrderPurpose.STOP_LOSS,
    )
    assert (tp.type, tp.price, tp.purpose) == (OrderType.LIMIT, D("2200.01"), OrderPurpose.TAKE_PROFIT)
    assert sl.client_id != tp.client_id and sl.client_id.startswith("bt-ETH_USDT-")
    (tr,) = r.protective_orders("ETH/USDT", D("1"), D("1900"), None, ETH, T0, trail=D("0.03"))
    assert tr.trail == D("0.03") and tr.purpose is OrderPurpose.TRAILING_STOP


def test_trade_stats_kelly() -> None:
    s = TradeStats(window=4)
    assert s.kelly() is None
    for p in ["0.1", "0.1"]:
        s.record(D(p))
    assert s.kelly() == 1  # no losses: Kelly = win rate
    for p in ["-0.05", "-0.05", "-0.05"]:
        s.record(D(p))
    assert len(s) == 4  # rolling window
    assert s.kelly() == D("0.25") - D("0.75") / 2  # W 1/4, R 2
    assert s.half_kelly() == s.kelly() / 2  # type: ignore[operator]


def test_trade_stats_kelly_matches_exact_sums_of_the_window() -> None:
    """The running side sums are the exact sums of the window's wins and losses (28-digit fractions,
    whose rounded sums would drift), while trades leave the window and ask or not in between: the
    Kelly fraction is what exact fractions of the window give, rounded once at the division."""
    rng = random.Random(7)
    s = TradeStats(window=9)
    window: list[D] = []
    for i in range(400):
        p = D(rng.randint(-500, 500)) / D(rng.randint(700, 9_000)) if i % 13 else D(0)
        s.record(p)
        window = [*window, p][-9:]
        if rng.random() < 0.6:
            continue  # not asked after every trade: sums go stale across several records
        wins = [Fraction(x) for x in window if x > 0]
        losses = [-Fraction(x) for x in window if x < 0]
        w = D(len(wins)) / len(window)
        if not wins:
            want = D(-1)
        elif not losses:
            want = w
        else:
            win_sum, loss_sum = sum(wins), sum(losses)
            with localcontext(prec=200):  # the sums as exact Decimals (terminating decimal fractions)
                ws = D(win_sum.numerator) / win_sum.denominator
                ls = D(loss_sum.numerator) / loss_sum.denominator
            assert Fraction(ws) == win_sum and Fraction(ls) == loss_sum
            assert Fraction(s._win_sum) == win_sum and Fraction(s._loss_sum) == loss_sum  # type: ignore[arg-type]
            want = w - (1 - w) / ((ws / len(wins)) / (ls / len(losses)))
        got = s.kelly()
        assert got == want and str(got) == str(want)


def test_trade_stats_sums_fractions_longer_than_the_context_exactly() -> None:
    """A PnL fraction with more digits than the default context (Decimal() keeps them all) is added and
    removed without rounding, the negation of a loss included: the sums stay the window's exact sums."""
    long_loss = D("-0.0123456789012345678901234567890123456789")
    s = TradeStats(window=2)
    for p in [long_loss, D("0.01"), D("0.02")]:  # the long loss enters, then leaves the window
        s.record(p)
    assert s._loss_sum == 0 and s._win_sum == D("0.03")
    s.record(long_loss)
    assert Fraction(s._loss_sum) == -Fraction(long_loss)  # type: ignore[arg-type]


def test_trade_stats_sums_again_when_a_sum_would_round() -> None:
    """Fractions whose sum needs more than the exact context's digits: the side is summed again from
    the window (rounding, as any Decimal sum) and the Kelly fraction still comes out."""
    s = TradeStats(window=3)
    for p in [D("1E+80"), D("1E-80"), D("-0.5")]:
        s.record(p)
    assert s._win_sum is None  # 1E+80 + 1E-80 does not fit 120 digits
    assert s.kelly() == D(2) / 3 - (1 - D(2) / 3) / ((sum([D("1E+80"), D("1E-80")], D(0)) / 2) / D("0.5"))
    assert s._win_sum is None  # the rounded fresh sum is not kept: later adds to it would not be exact
    s.record(D("0.25"))  # 1E+80 leaves: the side is known again from the fresh sum
    assert s.kelly() is not None
    assert Fraction(s._win_sum) == Fraction(D("1E-80")) + Fraction(D("0.25"))  # type: ignore[arg-type]  # exact


def test_client_ids_deterministic_and_unique() -> None:
    a, b = ClientIdGenerator("x"), ClientIdGenerator("x")
    ids = [a.next("BTC/USDT:USDT", 5) for _ in range(3)]
    assert ids == [b.next("BTC/USDT:USDT", 5) for _ in range(3)]
    assert len(set(ids)) == 3 and ids[0] == "x-BTC_USDT_USDT-5-1"
    assert ClientIdGenerator("x", start=a.seq).next("BTC/USDT", 5) == "x-BTC_USDT-5-4"
    with pytest.raises(ValueError):
        ClientIdGenerator("bad-prefix")
