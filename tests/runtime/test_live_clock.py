"""LiveClock: the market's time between candle closes, never past a close not yet delivered."""

from __future__ import annotations

import pytest

from aitrader.runtime.clock import LiveClock

MIN = 60_000


class Wall:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_runs_on_between_closes_and_stops_short_of_the_next() -> None:
    wall = Wall()
    clock = LiveClock(10 * MIN, MIN, wall=wall)
    assert clock.now() == 10 * MIN
    wall.t += 20.5
    assert clock.now() == 10 * MIN + 20_500
    wall.t += 120  # the next close is late: time waits just before it
    assert clock.now() == 11 * MIN - 1
    clock.advance_to(11 * MIN)
    assert clock.now() == 11 * MIN
    wall.t += 1
    assert clock.now() == 11 * MIN + 1000


def test_never_goes_backwards() -> None:
    wall = Wall()
    clock = LiveClock(10 * MIN, MIN, wall=wall)
    wall.t += 50
    seen = clock.now()
    clock.advance_to(10 * MIN)  # a late event of the same close
    assert clock.now() == seen
    clock.advance_to(5 * MIN)  # an old one
    assert clock.now() == seen
    clock.advance_to(11 * MIN)  # the next close arrives 10 s "early" by our count: no jump back
    assert clock.now() == 11 * MIN
    wall.t += 30
    clock.advance_to(11 * MIN + 10)  # a close slightly later than the interpolated time
    assert clock.now() == 11 * MIN + 30_000


def test_needs_a_horizon() -> None:
    with pytest.raises(ValueError, match="horizon"):
        LiveClock(0, 0)
