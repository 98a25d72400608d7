"""Strategy parameters: declared once with their type and range, validated on construction.

The declaration doubles as the search space for optimisation (`low`/`high`/`step`/`choices`), so a
strategy never needs a second description of what may be tuned.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aitrader.core.errors import StrategyError

ParamKind = Literal["int", "float", "bool", "choice"]
ParamValue = int | float | bool | str


@dataclass(frozen=True, slots=True)
class Param:
    """One tunable parameter. `low`/`high` are inclusive bounds (int and float kinds)."""

    name: str
    kind: ParamKind
    default: ParamValue
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise StrategyError(f"parameter name {self.name!r} is not an identifier")
        if self.kind not in ("int", "float", "bool", "choice"):
            raise StrategyError(f"parameter {self.name}: unknown kind {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise StrategyError(f"parameter {self.name}: kind 'choice' needs choices")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise StrategyError(f"parameter {self.name}: low {self.low} > high {self.high}")
        self.coerce(self.default)  # a default outside its own range is a bug in the declaration

    def coerce(self, value: Any) -> ParamValue:
        """`value` as this parameter's type, or StrategyError saying what was expected."""
        where = f"parameter {self.name}"
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise StrategyError(f"{where}: expected true/false, got {value!r}")
        if self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            raise StrategyError(f"{where}: expected one of {', '.join(self.choices)}, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise StrategyError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise StrategyError(f"{where}: expected a finite number, got {value!r}")
        out: int | float
        if self.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise StrategyError(f"{where}: expected an integer, got {value!r}")
            out = int(value)
        else:
            out = float(value)
        if (self.low is not None and out < self.low) or (self.high is not None and out > self.high):
            raise StrategyError(f"{where}: {out} is outside [{_fmt(self.low)}, {_fmt(self.high)}]")
        return out

    def describe(self) -> str:
        """`fast=12 [2..100]` for listings."""
        if self.kind == "choice":
            rng = "{" + "|".join(self.choices) + "}"
        elif self.kind == "bool":
            rng = ""
        else:
            rng = f"[{_fmt(self.low)}..{_fmt(self.high)}]"
        return f"{self.name}={self.default}{' ' + rng if rng else ''}"


def _fmt(x: float | None) -> str:
    if x is None:
        return "-inf"
    return str(int(x)) if float(x).is_integer() else str(x)


class ResolvedParams(Mapping[str, ParamValue]):
    """Defaults merged with overrides, validated; typed accessors keep strategy code mypy-clean."""

    def __init__(self, declared: tuple[Param, ...], overrides: Mapping[str, Any], owner: str) -> None:
        by_name = {p.name: p for p in declared}
        unknown = sorted(set(overrides) - set(by_name))
        if unknown:
            known = ", ".join(by_name) or "none"
            raise StrategyError(f"{owner}: unknown parameter(s) {', '.join(unknown)} (known: {known})")
        values: dict[str, ParamValue] = {}
        for p in declared:
            try:
                values[p.name] = p.coerce(overrides[p.name]) if p.name in overrides else p.default
            except StrategyError as e:
                raise StrategyError(f"{owner}: {e}") from None
        self._values = values

    def __getitem__(self, key: str) -> ParamValue:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self._values.items())

    def int(self, key: builtins.str) -> builtins.int:
        v = self._values[key]
        assert isinstance(v, int) and not isinstance(v, bool), key
        return v

    def float(self, key: builtins.str) -> builtins.float:
        v = self._values[key]
        assert isinstance(v, int | float) and not isinstance(v, bool), key
        return float(v)

    def bool(self, key: builtins.str) -> builtins.bool:
        v = self._values[key]
        assert isinstance(v, bool), key
        return v

    def str(self, key: builtins.str) -> builtins.str:
        v = self._values[key]
        assert isinstance(v, str), key
        return v
