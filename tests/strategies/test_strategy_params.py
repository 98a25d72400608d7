from __future__ import annotations

import pytest

from aitrader.core.errors import StrategyError
from aitrader.strategies.builtin.ema_cross import EmaCross
from aitrader.strategies.builtin.mean_reversion import MeanReversion
from aitrader.strategies.params import Param


def test_defaults_and_overrides_are_typed() -> None:
    s = EmaCross(fast=5.0)
    assert s.p.int("fast") == 5 and isinstance(s.p["fast"], int)
    assert s.p["slow"] == 26
    assert MeanReversion(bb_k=3).p["bb_k"] == 3.0 and isinstance(MeanReversion(bb_k=3).p["bb_k"], float)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"fast": 1}, r"parameter fast: 1 is outside \[2, 100\]"),
        ({"fast": 2.5}, "expected an integer"),
        ({"fast": "12"}, "expected a number"),
        ({"fast": True}, "expected a number"),
        ({"fats": 3}, "unknown parameter"),
        ({"slow": float("nan")}, "finite"),
    ],
)
def test_bad_overrides_name_the_parameter(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(StrategyError, match=message):
        EmaCross(**overrides)


def test_choice_and_bool_kinds() -> None:
    p = Param("mode", "choice", "a", choices=("a", "b"))
    assert p.coerce("b") == "b"
    with pytest.raises(StrategyError, match="one of a, b"):
        p.coerce("c")
    flag = Param("on", "bool", True)
    with pytest.raises(StrategyError, match="true/false"):
        flag.coerce(1)


def test_declaration_with_default_outside_range_is_rejected() -> None:
    with pytest.raises(StrategyError, match="outside"):
        Param("x", "int", 50, low=1, high=10)
