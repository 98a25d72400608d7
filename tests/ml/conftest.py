"""Shared fixtures for the ML tests: the bundled real Bittrex 5m candles and a small trained model.

Training here is deliberately tiny (2 pairs, 30 boosting iterations, 2 folds): a few seconds on
the shared machine. The numbers it produces are not the point; the plumbing around them is.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ml_helpers import PAIRS, SMALL, TF_MS, Env

from aitrader.backtest.data import load_candles
from aitrader.backtest.demo import import_sample_data
from aitrader.ml.card import build_card
from aitrader.ml.registry import ModelRegistry
from aitrader.ml.train import train


@pytest.fixture(scope="session")
def ml_env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    datadir = tmp_path_factory.mktemp("mldata")
    assert set(PAIRS) <= set(import_sample_data(datadir))
    candles = load_candles(datadir, "bittrex", PAIRS, "5m", None, None)
    return Env(datadir, candles, train(candles, TF_MS, SMALL))


@pytest.fixture()
def registry(tmp_path: Path, ml_env: Env) -> ModelRegistry:
    """A registry holding the small model as v0001, promoted."""
    reg = ModelRegistry(tmp_path / "models")
    v = reg.register(ml_env.result.model, build_card(ml_env.result, exchange="bittrex", timeframe="5m"))
    reg.promote(v)
    return reg
