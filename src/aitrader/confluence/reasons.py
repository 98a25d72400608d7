"""The words of a Decision's `reasons`, one function per line kind, shared by both confluence paths.

Why a module of its own: the vectorised `DecisionFrame` and the streaming `ConfluenceStream` must say
exactly the same thing about the same bar (tests compare the text). Both call these scalar
formatters, so the wording lives in one place.
"""

from __future__ import annotations

import math

from aitrader.strategies.base import Strategy

NO_SIGNAL = "no strategy signalled on this bar"


def vote_reason(strategy: Strategy, direction: int, strength: float, weight: float) -> str:
    return f"{strategy.name}: {strategy.explain(direction)} (strength {strength:.2f}, weight {weight:.2f})"


def timed_out_reason(strategy: Strategy) -> str:
    return f"{strategy.name}: timed out, signals dropped"


def mtf_reason(higher_tf: str, trend: int, net: int, factor: float) -> str:
    """The higher timeframe's verdict on the net vote direction."""
    if trend == 0:
        return f"{higher_tf} trend unknown (too few closed {higher_tf} candles yet)"
    verdict = "confirms" if trend == net else "disagrees"
    way = "up" if trend > 0 else "down"
    return f"{higher_tf} trend {way} {verdict} (x{factor:.2f})"


def micro_reasons(flow: float, book: float, spread: float, method: str, factor: float) -> list[str]:
    """What the order flow / book said on the bar; nothing when it said nothing."""
    out = []
    if not math.isnan(flow):
        out.append(f"trade flow {flow:+.2f} by {method}")
    if not math.isnan(book):
        out.append(f"order book imbalance {book:+.2f}")
    if not math.isnan(spread):
        out.append(f"spread {spread:.1f} bps")
    if out:
        out.append(f"microstructure factor x{factor:.2f}")
    return out


def verdict_reason(
    direction: int,
    confidence: float,
    min_confidence: float,
    atr: float,
    net: int,
    stop: float,
    take: float,
    stop_source: str,
    take_source: str,
) -> str:
    """The closing line: the decision with its levels, or why there is none."""
    if direction == 0:
        if math.isnan(atr):
            return "no decision: ATR not defined yet (warm-up)"
        if net == 0:
            return "no decision: strategies cancel out"
        return f"no decision: confidence {confidence:.2f} below {min_confidence:.2f}"
    side = "long" if direction > 0 else "short/exit"
    return (
        f"{side} with confidence {confidence:.2f} >= {min_confidence:.2f}; "
        f"stop {stop:.6g} ({stop_source}), take {take:.6g} ({take_source})"
    )


def level_source(strategies: list[Strategy] | tuple[Strategy, ...], k: int) -> str:
    """Where a stop/take came from: -1 = the ATR level, k = the hint of strategy k."""
    return "ATR" if k < 0 else f"tighter hint of {strategies[k].name}"
