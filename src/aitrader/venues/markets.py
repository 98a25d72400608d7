"""Exchange market rules (precision, minimums, fees) from ccxt market dicts.

Orders that break a market's rules are rejected by real exchanges, so the simulated venue and risk
apply the same rules. They come from ccxt `load_markets()` results; offline we ship ccxt's recorded
market lists in `aitrader/sample_data/markets/<exchange>.json`.

Precision: ccxt has two modes. TICK_SIZE (all current ccxt exchanges, and every bundled fixture,
Bittrex included: its `precision.price` 0.001 is the tick of `info.precision` "3" decimal places)
gives the step itself, e.g. 0.01. DECIMAL_PLACES (older ccxt) gives a count of decimals, e.g. 2.
The mode is an exchange-level fact, not guessable from one value (coinbase's future has price
precision 5 = a tick of 5 USD), so it is passed explicitly and defaults to TICK_SIZE.

Conversions from ccxt floats go through `Decimal(str(x))`, so 1e-08 becomes exactly 1E-8.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from importlib import resources
from typing import Any, Final, Literal

from aitrader.core.errors import DataError, OrderError
from aitrader.core.symbols import split_symbol

log = logging.getLogger(__name__)

ZERO: Final = Decimal(0)

# Documented defaults for markets we have no metadata for: 8-decimal steps (satoshi), no minimums,
# Kraken's base fee tier (same as the backtest config defaults).
DEFAULT_AMOUNT_STEP: Final = Decimal("1E-8")
DEFAULT_PRICE_TICK: Final = Decimal("1E-8")
DEFAULT_MAKER_FEE: Final = Decimal("0.0016")
DEFAULT_TAKER_FEE: Final = Decimal("0.0026")

RoundMode = Literal["nearest", "down", "up"]
_ROUNDING: Final[dict[str, str]] = {"nearest": ROUND_HALF_EVEN, "down": ROUND_FLOOR, "up": ROUND_CEILING}


class PrecisionMode(StrEnum):
    TICK_SIZE = "tick_size"
    DECIMAL_PLACES = "decimal_places"


def to_decimal(x: Any) -> Decimal | None:
    """ccxt number (float, int, str or None) -> exact Decimal of its shortest text, or None."""
    if x is None or x == "":
        return None
    if isinstance(x, Decimal):
        return x
    return Decimal(str(x))


def _step(x: Any, mode: PrecisionMode, what: str, symbol: str) -> Decimal | None:
    d = to_decimal(x)
    if d is None:
        return None
    if mode is PrecisionMode.DECIMAL_PLACES:
        if d != d.to_integral_value() or d < 0:
            raise DataError(f"{symbol}: {what} precision {x!r} is not a count of decimal places")
        return Decimal(1).scaleb(-int(d))
    if d <= 0:
        raise DataError(f"{symbol}: {what} tick size {x!r} must be positive")
    return d


def _kraken_costmin(market: Mapping[str, Any]) -> Decimal | None:
    """Kraken enforces `info.costmin` (e.g. 0.5 quote) even where ccxt left `limits.cost` empty."""
    info = market.get("info")
    return to_decimal(info.get("costmin")) if isinstance(info, Mapping) else None


@dataclass(frozen=True, slots=True)
class MarketRules:
    """What an exchange accepts for one market. Fees are fractions (0.0026 = 0.26 %)."""

    symbol: str
    base: str
    quote: str
    amount_step: Decimal = DEFAULT_AMOUNT_STEP
    price_tick: Decimal = DEFAULT_PRICE_TICK
    min_amount: Decimal = ZERO
    min_cost: Decimal = ZERO
    maker_fee: Decimal = DEFAULT_MAKER_FEE
    taker_fee: Decimal = DEFAULT_TAKER_FEE
    max_amount: Decimal | None = None
    market_type: str = "spot"
    contract_size: Decimal = Decimal(1)
    is_default: bool = False

    @classmethod
    def from_ccxt(
        cls, market: Mapping[str, Any], precision_mode: PrecisionMode = PrecisionMode.TICK_SIZE
    ) -> MarketRules:
        symbol = str(market["symbol"])
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}
        amount_lim = limits.get("amount") or {}
        cost_lim = limits.get("cost") or {}
        amount_step = _step(precision.get("amount"), precision_mode, "amount", symbol)
        price_tick = _step(precision.get("price"), precision_mode, "price", symbol)
        maker = to_decimal(market.get("maker"))
        taker = to_decimal(market.get("taker"))
        return cls(
            symbol=symbol,
            base=str(market["base"]),
            quote=str(market["quote"]),
            amount_step=amount_step or DEFAULT_AMOUNT_STEP,
            price_tick=price_tick or DEFAULT_PRICE_TICK,
            min_amount=to_decimal(amount_lim.get("min")) or ZERO,
            min_cost=to_decimal(cost_lim.get("min")) or _kraken_costmin(market) or ZERO,
            maker_fee=DEFAULT_MAKER_FEE if maker is None else maker,
            taker_fee=DEFAULT_TAKER_FEE if taker is None else taker,
            max_amount=to_decimal(amount_lim.get("max")),
            market_type=str(market.get("type") or "spot"),
            contract_size=to_decimal(market.get("contractSize")) or Decimal(1),
        )

    @classmethod
    def default(cls, symbol: str) -> MarketRules:
        """Rules for a market we know nothing about (see the module constants)."""
        base, quote, _settle = split_symbol(symbol)
        return cls(symbol=symbol, base=base, quote=quote, is_default=True)

    def round_amount(self, amount: Decimal) -> Decimal:
        """Down to the amount step: never more than asked, never more than the balance allows."""
        return (amount / self.amount_step).to_integral_value(ROUND_FLOOR) * self.amount_step

    def round_price(self, price: Decimal, mode: RoundMode = "nearest") -> Decimal:
        """To the price tick; `down`/`up` for rounding in the conservative direction."""
        return (price / self.price_tick).to_integral_value(_ROUNDING[mode]) * self.price_tick

    def check(self, amount: Decimal, price: Decimal | None) -> None:
        """Raise OrderError saying what is wrong when the exchange would refuse this order.

        `price` None (a market order with no reference price) skips the price and cost checks.
        """
        self.check_amount(amount)
        if price is not None:
            self.check_price(price)
            self.check_cost(amount, price)

    def check_amount(self, amount: Decimal) -> None:
        if amount <= ZERO:
            raise OrderError(f"{self.symbol}: amount {amount} must be positive")
        if amount % self.amount_step:
            raise OrderError(
                f"{self.symbol}: amount {amount} is not a multiple of the amount step {self.amount_step}"
            )
        if amount < self.min_amount:
            raise OrderError(
                f"{self.symbol}: amount {amount} is below the minimum {self.min_amount} {self.base}"
            )
        if self.max_amount is not None and amount > self.max_amount:
            raise OrderError(
                f"{self.symbol}: amount {amount} is above the maximum {self.max_amount} {self.base}"
            )

    def check_price(self, price: Decimal) -> None:
        if price <= ZERO:
            raise OrderError(f"{self.symbol}: price {price} must be positive")
        if price % self.price_tick:
            raise OrderError(
                f"{self.symbol}: price {price} is not a multiple of the price tick {self.price_tick}"
            )

    def check_cost(self, amount: Decimal, price: Decimal) -> None:
        """Minimum order value; for market orders `price` is a reference (e.g. the last close)."""
        cost = amount * price * self.contract_size
        if cost < self.min_cost:
            raise OrderError(
                f"{self.symbol}: order value {cost} {self.quote} is below the minimum "
                f"{self.min_cost} {self.quote}"
            )


# ccxt precision mode of each bundled exchange (all TICK_SIZE, see the module docstring)
_PRECISION_MODES: Final[dict[str, PrecisionMode]] = {
    "kraken": PrecisionMode.TICK_SIZE,
    "coinbase": PrecisionMode.TICK_SIZE,
    "bittrex": PrecisionMode.TICK_SIZE,
}


class MarketRegistry:
    """Rules of every market of one exchange; unknown symbols get defaults and one warning each."""

    def __init__(self, exchange: str, rules: Mapping[str, MarketRules]) -> None:
        self.exchange = exchange
        self._rules = dict(rules)
        self._warned: set[str] = set()

    @classmethod
    def from_ccxt_markets(
        cls,
        exchange: str,
        markets: Mapping[str, Mapping[str, Any]],
        precision_mode: PrecisionMode = PrecisionMode.TICK_SIZE,
    ) -> MarketRegistry:
        """From ccxt's `exchange.markets` (symbol -> market dict), e.g. after a live load_markets()."""
        rules = {}
        for market in markets.values():
            r = MarketRules.from_ccxt(market, precision_mode)
            rules[r.symbol] = r
        return cls(exchange, rules)

    @classmethod
    def load(cls, exchange: str) -> MarketRegistry:
        """From the bundled ccxt market fixture of `exchange` (no network)."""
        folder = resources.files("aitrader").joinpath("sample_data", "markets")
        res = folder.joinpath(f"{exchange}.json")
        if not res.is_file():
            have = sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))
            raise DataError(f"no bundled market list for exchange {exchange!r}; available: {', '.join(have)}")
        markets = json.loads(res.read_text(encoding="utf-8"))
        mode = _PRECISION_MODES.get(exchange, PrecisionMode.TICK_SIZE)
        return cls.from_ccxt_markets(exchange, markets, mode)

    @classmethod
    def empty(cls, exchange: str = "unknown") -> MarketRegistry:
        return cls(exchange, {})

    def symbols(self) -> list[str]:
        return sorted(self._rules)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._rules

    def rules_for(self, symbol: str) -> MarketRules:
        rules = self._rules.get(symbol)
        if rules is not None:
            return rules
        if symbol not in self._warned:
            self._warned.add(symbol)
            log.warning(
                "%s: no market metadata for %s; using defaults (amount step %s, price tick %s, "
                "no minimums, fees maker %s / taker %s)",
                self.exchange,
                symbol,
                DEFAULT_AMOUNT_STEP,
                DEFAULT_PRICE_TICK,
                DEFAULT_MAKER_FEE,
                DEFAULT_TAKER_FEE,
            )
        return MarketRules.default(symbol)
