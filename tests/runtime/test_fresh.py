"""FreshEntries: entries are withheld while a pair's candle stream is stale; exits never are; the
alert fires once per stale episode; the inner source sees every candle either way."""

from __future__ import annotations

from aitrader.core.candles import Candle
from aitrader.core.decisions import Decision
from aitrader.core.ports import CandleClosed
from aitrader.data.live.staleness import StalenessTracker
from aitrader.runtime.fresh import FreshEntries


class Proposals:
    """A DecisionSource proposing `direction` at every candle, counting what it was asked."""

    def __init__(self) -> None:
        self.direction = 1
        self.asked = 0

    def decision(self, symbol: str, event: CandleClosed) -> Decision | None:
        self.asked += 1
        c = event.candle
        return Decision(ts=c.ts, symbol=symbol, direction=self.direction, confidence=0.9, price=c.close)


def _event(ts: int) -> CandleClosed:
    return CandleClosed("ETH/BTC", "5m", Candle(ts, 1.0, 1.0, 1.0, 1.0, 1.0))


def test_entries_wait_for_fresh_data_and_exits_pass() -> None:
    alerts: list[tuple[str, tuple[str, ...], int]] = []
    tracker = StalenessTracker(1_000, on_alert=lambda *a: alerts.append(a))
    clock = {"now": 10_000}
    inner = Proposals()
    blocked: list[Decision] = []
    fresh = FreshEntries(inner, tracker, on_blocked=blocked.append, now=lambda: clock["now"])

    tracker.touch("ETH/BTC", "ohlcv", 10_000)
    assert fresh.decision("ETH/BTC", _event(0)) is not None  # fresh: the entry goes through

    clock["now"] = 11_500  # 1.5 s of silence > 1 s threshold
    assert fresh.decision("ETH/BTC", _event(300_000)) is None
    assert fresh.decision("ETH/BTC", _event(600_000)) is None
    assert [d.ts for d in blocked] == [300_000, 600_000] and fresh.blocked == 2
    assert alerts == [("ETH/BTC", ("ohlcv",), 11_500)]  # once per episode, not per candle

    inner.direction = -1  # an exit while stale: never withheld
    exit_ = fresh.decision("ETH/BTC", _event(900_000))
    assert exit_ is not None and exit_.direction == -1

    inner.direction = 1
    tracker.touch("ETH/BTC", "ohlcv", 11_600)  # the stream is back
    assert fresh.decision("ETH/BTC", _event(1_200_000)) is not None
    assert inner.asked == 5  # the inner stream saw every candle, blocked or not
