"""Coinbase Advanced Trade's listings of the pairs we replay (product ids, increments, size limits).

The table holds real Coinbase listings (as recorded in ccxt's Coinbase markets fixture); pairs
Coinbase does not list (ETH-BTC history from Bittrex, NXT...) get a synthetic listing in the same
style. The matching engine validates orders against the same numbers the products endpoint
advertises, so a client that rounds to `base_increment`/`quote_increment` is never refused, and
one that does not is refused as Coinbase would.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from aitrader.core.symbols import split_symbol
from aitrader.venues.simulator.kraken_pairs import KrakenAsset, KrakenPair, kraken_pair

# unified symbol -> (base_increment, quote_increment, base_min_size, base_max_size, quote_min, quote_max)
_PRODUCTS: dict[str, tuple[str, str, str, str, str, str]] = {
    "BTC/USD": ("0.00000001", "0.01", "0.00000001", "3400", "1", "150000000"),
    "BTC/USDC": ("0.00000001", "0.01", "0.00000001", "3400", "1", "150000000"),
    "BTC/USDT": ("0.00000001", "0.01", "0.00000001", "400", "1", "10000000"),
    "ETH/USDT": ("0.00000001", "0.01", "0.00000001", "6200", "1", "10000000"),
    "ADA/USDT": ("0.01", "0.0001", "0.01", "30224000", "1", "10000000"),
    "XRP/USDT": ("0.000001", "0.0001", "0.000001", "11988060", "1", "10000000"),
    "XRP/USDC": ("0.000001", "0.0001", "0.000001", "11996772", "1", "10000000"),
    "DOGE/USDT": ("0.1", "0.0001", "0.1", "142083900", "1", "10000000"),
    "ETH/BTC": ("0.00000001", "0.00001", "0.00000001", "2600", "0.00001", "3400"),
}

NAMES: dict[str, str] = {
    "BTC": "Bitcoin",
    "ETH": "Ethereum",
    "ETC": "Ethereum Classic",
    "ADA": "Cardano",
    "XRP": "XRP",
    "XLM": "Stellar",
    "LTC": "Litecoin",
    "DOGE": "Dogecoin",
    "USDT": "Tether",
    "USDC": "USDC",
    "USD": "US Dollar",
    "EUR": "Euro",
    "GBP": "British Pound",
}

FIAT = frozenset({"USD", "EUR", "GBP"})


def _decimals(step: str) -> int:
    exp = Decimal(step).normalize().as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0


def coinbase_asset(code: str) -> KrakenAsset:
    """A currency as the engine books it (8 decimals: Coinbase reports balances finer than cents)."""
    return KrakenAsset(code, code, code, 8, 2 if code in FIAT else 8)


@dataclass(frozen=True, slots=True)
class CoinbaseProduct:
    """One spot product: the engine's listing plus the size limits only Coinbase publishes."""

    pair: KrakenPair  # id = product_id ("ETH-BTC"), decimals from the increments
    base_increment: str
    quote_increment: str
    base_min_size: str
    base_max_size: str
    quote_min_size: str
    quote_max_size: str
    book_pair: KrakenPair  # same ticks, Kraken-sized lots: sizes of the synthetic book

    @property
    def product_id(self) -> str:
        return self.pair.id

    @property
    def symbol(self) -> str:
        return self.pair.symbol


def coinbase_product(symbol: str, price_decimals: int = 0) -> CoinbaseProduct:
    """Coinbase's listing of a spot pair; `price_decimals` widens the tick to the replayed data's."""
    base_code, quote_code, _ = split_symbol(symbol)
    unified = f"{base_code}/{quote_code}"
    fiat_quote = quote_code in FIAT or quote_code in ("USDT", "USDC")
    qi0, qmin0, qmax0 = ("0.01", "1", "10000000") if fiat_quote else ("0.00000001", "0.00001", "3400")
    default = ("0.00000001", qi0, "0.00000001", "1000000", qmin0, qmax0)
    bi, qi, bmin, bmax, qmin, qmax = _PRODUCTS.get(unified, default)
    if price_decimals > _decimals(qi):
        qi = f"{Decimal(1).scaleb(-price_decimals):f}"
    pid = f"{base_code}-{quote_code}"
    pair = KrakenPair(
        symbol=unified,
        id=pid,
        altname=pid,
        base=coinbase_asset(base_code),
        quote=coinbase_asset(quote_code),
        pair_decimals=_decimals(qi),
        lot_decimals=_decimals(bi),
        cost_decimals=8,
        ordermin=bmin,
        costmin=qmin,
        tick_size=qi,
    )
    book_lot = max(Decimal(kraken_pair(unified).ordermin), Decimal(bi))
    book = KrakenPair(
        unified, pid, pid, pair.base, pair.quote, pair.pair_decimals, pair.lot_decimals, 8,
        f"{book_lot:f}", qmin, qi,
    )  # fmt: skip
    return CoinbaseProduct(pair, bi, qi, bmin, bmax, qmin, qmax, book)
