"""Properties every built-in must have on real data: events, bounded strength, hints on the right side."""

from __future__ import annotations

import numpy as np
import pytest

from aitrader.core.candles import OHLCV
from aitrader.strategies import registry
from aitrader.strategies.events import run_length

NAMES = sorted(registry.available())


@pytest.mark.parametrize("name", NAMES)
def test_signals_are_sane_events(btc5m: OHLCV, name: str) -> None:
    s = registry.create(name)
    sig = s.compute(btc5m)
    d = sig.direction
    assert len(sig) == len(btc5m)
    assert 10 <= np.count_nonzero(d) < len(d) // 10, "an event strategy fires sometimes, not always"
    assert not d[: s.warmup].any()
    fired = d != 0
    assert np.all((sig.strength[fired] > 0) & (sig.strength[fired] <= 1))
    assert np.all(sig.strength[~fired] == 0)
    assert np.isnan(sig.stop[~fired]).all() and np.isnan(sig.take[~fired]).all()
    # events, not states: never the same direction on two consecutive bars
    assert not np.any((d[1:] != 0) & (d[1:] == d[:-1]))


@pytest.mark.parametrize("name", NAMES)
def test_hints_sit_on_the_protective_side(btc5m: OHLCV, name: str) -> None:
    sig = registry.create(name).compute(btc5m)
    c = btc5m.close
    for direction, worse, better in ((1, np.less, np.greater), (-1, np.greater, np.less)):
        m = sig.direction == direction
        stop, take = sig.stop[m], sig.take[m]
        has_stop, has_take = ~np.isnan(stop), ~np.isnan(take)
        assert np.all(worse(stop[has_stop], c[m][has_stop])), f"{name}: stop on the wrong side"
        assert np.all(better(take[has_take], c[m][has_take])), f"{name}: take on the wrong side"


def test_warmup_is_not_understated(btc5m: OHLCV) -> None:
    """No built-in fires before its declared warm-up, even with extreme parameters."""
    for name, params in [
        ("ema_cross", {"fast": 2, "slow": 3}),
        ("trend_adx", {"slow": 300, "adx_period": 50}),
        ("squeeze", {"min_bars": 1, "bb_period": 5, "kc_period": 5, "kc_atr": 2}),
        ("vwap_reversion", {"dev_period": 10, "k": 1.0}),
    ]:
        s = registry.create(name, params)
        d = s.compute(btc5m).direction
        assert np.count_nonzero(d) > 0
        assert np.flatnonzero(d)[0] >= s.warmup, name


def test_run_length() -> None:
    state = np.array([1, 1, 0, 1, 1, 1, 0, 0, 1], dtype=bool)
    np.testing.assert_array_equal(run_length(state), [1, 2, 0, 1, 2, 3, 0, 0, 1])
