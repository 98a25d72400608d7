"""Properties of the compiled kernels the TA-Lib comparisons do not reach: interior NaN handling,
input flags, the variance re-anchoring on nearly flat prices after a move, and lazy compilation."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import aitrader.indicators as ind
from aitrader.indicators import _kernels

KERNEL_DIR = Path(_kernels.__file__).parent


def test_kernel_modules_do_not_call_each_other() -> None:
    """numba's disk cache misses edits to jitted functions imported from another file (numba#1833)."""
    for f in KERNEL_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("aitrader.indicators._kernels"), f.name


def _walk(n: int, seed: int = 7) -> np.ndarray:
    return 100.0 + np.cumsum(np.random.default_rng(seed).normal(0, 1, n))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: ind.sma(x, 7),
        lambda x: ind.wma(x, 7),
        lambda x: ind.rolling_std(x, 7),
        lambda x: ind.bbands(x, 7)[1],
        lambda x: ind.donchian(x, x - 1, 7)[0],
        lambda x: ind.donchian(x + 1, x, 7)[2],
        lambda x: ind.cci(x + 1, x - 1, x, 7),
    ],
)
def test_interior_nan_spoils_only_its_windows(fn: Callable[[np.ndarray], np.ndarray]) -> None:
    x = _walk(3000)
    y = x.copy()
    k = 1500
    y[k] = np.nan
    clean, spoiled = fn(x), fn(y)
    assert np.isnan(spoiled[k : k + 7]).all()
    ok = np.ones(len(x), dtype=bool)
    ok[k : k + 7] = False
    np.testing.assert_allclose(spoiled[ok], clean[ok], rtol=1e-12, atol=1e-12)


def test_recursive_indicators_carry_nan_forward() -> None:
    x = _walk(500)
    x[300] = np.nan
    for out in (ind.ema(x, 5), ind.rsi(x, 5), ind.atr(x + 1, x - 1, x, 5), ind.obv(x, np.ones(500))):
        assert np.isnan(out[300:]).all() and not np.isnan(out[100:300]).any()


def test_read_only_and_non_float_inputs() -> None:
    x = _walk(200)
    ro = x.copy()
    ro.flags.writeable = False
    strided = np.repeat(x, 2)[::2]
    ints = np.round(x).astype(np.int64)
    np.testing.assert_array_equal(ind.ema(ro, 10), ind.ema(x, 10))
    np.testing.assert_array_equal(ind.bbands(strided, 10)[0], ind.bbands(x, 10)[0])
    np.testing.assert_array_equal(ind.sma(ints, 10), ind.sma(ints.astype(np.float64), 10))
    before = x.copy()
    ind.stoch(x, x, x), ind.macd(x), ind.adx(x + 1, x - 1, x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("level", [3e-5, 1.0, 60_000.0])
def test_std_after_a_move_into_nearly_flat_prices(level: float) -> None:
    """A big move, then closes one tick (1e-7) apart and flat runs: sums anchored during the move
    would cancel to nothing here; the error bound forces a re-anchor, so the std keeps its digits."""
    rng = np.random.default_rng(3)
    tick = level * 1e-7
    move = level * (1 + np.cumsum(rng.normal(0, 0.02, 300)))
    calm = move[-1] + tick * rng.integers(0, 2, 700) * (rng.random(700) < 0.5)
    x = np.concatenate([move, calm])
    for p in (2, 5, 20):
        w = sliding_window_view(x.astype(np.longdouble), p)
        exact = np.sqrt(((w - w.mean(axis=1, keepdims=True)) ** 2).mean(axis=1)).astype(np.float64)
        ours = ind.rolling_std(x, p)[p - 1 :]
        flat = (w == w[:, :1]).all(axis=1)
        assert (ours[flat] == 0.0).all()
        np.testing.assert_allclose(ours[~flat], exact[~flat], rtol=1e-10)


def test_import_is_lazy() -> None:
    """Importing the package neither imports numba nor compiles; a call compiles only its module."""
    code = (
        "import sys\n"
        "import aitrader.indicators as ind\n"
        "assert 'numba' not in sys.modules\n"
        "ind.sma([1.0, 2.0, 3.0], 2)\n"
        "from aitrader.indicators._kernels import flows, windows\n"
        "assert windows.sma.signatures and not windows.wma.signatures\n"
        "assert type(flows.obv).__name__ == '_Pending'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
