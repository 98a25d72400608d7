"""Kraken's names for the pairs we replay (pair id, altname, wsname, asset ids, decimals).

Kraken names assets with legacy X/Z prefixes (XXBT, ZUSD) and BTC as XBT, and clients such as ccxt
map them back; a simulator that spells them differently would not exercise that mapping. The table
holds real Kraken listings (values as in ccxt's recorded Kraken markets, where those list the pair);
pairs Kraken never listed (NXT, POWR...) get a synthetic listing in the same style.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aitrader.core.symbols import split_symbol

# unified code -> (Kraken asset id, altname, decimals, display_decimals)
_ASSETS: dict[str, tuple[str, str, int, int]] = {
    "BTC": ("XXBT", "XBT", 10, 5),
    "ETH": ("XETH", "ETH", 10, 5),
    "ETC": ("XETC", "ETC", 10, 5),
    "XLM": ("XXLM", "XLM", 8, 5),
    "XRP": ("XXRP", "XRP", 8, 5),
    "LTC": ("XLTC", "LTC", 10, 5),
    "ADA": ("ADA", "ADA", 8, 6),
    "DOGE": ("XXDG", "XDG", 8, 2),
    "USDT": ("USDT", "USDT", 8, 4),
    "USD": ("ZUSD", "USD", 4, 2),
    "EUR": ("ZEUR", "EUR", 4, 2),
}

# unified symbol -> (pair id, altname, pair_decimals, lot_decimals, cost_decimals, ordermin, costmin, tick)
_PAIRS: dict[str, tuple[str, str, int, int, int, str, str, str]] = {
    "BTC/USDT": ("XBTUSDT", "XBTUSDT", 1, 8, 5, "0.0001", "0.5", "0.1"),
    "BTC/USD": ("XXBTZUSD", "XBTUSD", 1, 8, 5, "0.0001", "0.5", "0.1"),
    "ETH/USDT": ("ETHUSDT", "ETHUSDT", 2, 8, 5, "0.002", "0.5", "0.01"),
    "XRP/USDT": ("XRPUSDT", "XRPUSDT", 5, 8, 5, "10", "0.5", "0.00001"),
    "ETH/BTC": ("XETHXXBT", "ETHXBT", 5, 8, 10, "0.002", "0.00002", "0.00001"),
    "ETC/BTC": ("XETCXXBT", "ETCXBT", 6, 8, 10, "0.3", "0.00002", "0.000001"),
    "XLM/BTC": ("XXLMXXBT", "XLMXBT", 8, 8, 10, "30", "0.00002", "0.00000001"),
    "ADA/BTC": ("ADAXBT", "ADAXBT", 8, 8, 10, "10", "0.00002", "0.00000001"),
}

_TAKER = [
    [0, 0.26],
    [50000, 0.24],
    [100000, 0.22],
    [250000, 0.2],
    [500000, 0.18],
    [1000000, 0.16],
    [2500000, 0.14],
    [5000000, 0.12],
    [10000000, 0.1],
]
_MAKER = [
    [0, 0.16],
    [50000, 0.14],
    [100000, 0.12],
    [250000, 0.1],
    [500000, 0.08],
    [1000000, 0.06],
    [2500000, 0.04],
    [5000000, 0.02],
    [10000000, 0],
]


@dataclass(frozen=True, slots=True)
class KrakenAsset:
    code: str  # unified (BTC)
    id: str  # Kraken (XXBT)
    altname: str  # XBT
    decimals: int
    display_decimals: int

    def info(self) -> dict[str, Any]:
        """The `/0/public/Assets` entry."""
        return {
            "aclass": "currency",
            "altname": self.altname,
            "decimals": self.decimals,
            "display_decimals": self.display_decimals,
            "status": "enabled",
        }


@dataclass(frozen=True, slots=True)
class KrakenPair:
    symbol: str  # unified (ETH/BTC); also the WebSocket v2 symbol
    id: str  # XETHXXBT
    altname: str  # ETHXBT
    base: KrakenAsset
    quote: KrakenAsset
    pair_decimals: int
    lot_decimals: int
    cost_decimals: int
    ordermin: str
    costmin: str
    tick_size: str

    @property
    def wsname(self) -> str:
        """Kraken's v1 WebSocket name (ETH/XBT)."""
        return f"{self.base.altname}/{self.quote.altname}"

    def info(self) -> dict[str, Any]:
        """The `/0/public/AssetPairs` entry, field for field as Kraken sends it."""
        return {
            "altname": self.altname,
            "wsname": self.wsname,
            "aclass_base": "currency",
            "base": self.base.id,
            "aclass_quote": "currency",
            "quote": self.quote.id,
            "lot": "unit",
            "cost_decimals": self.cost_decimals,
            "pair_decimals": self.pair_decimals,
            "lot_decimals": self.lot_decimals,
            "lot_multiplier": 1,
            "leverage_buy": [],
            "leverage_sell": [],
            "fees": _TAKER,
            "fees_maker": _MAKER,
            "fee_volume_currency": "ZUSD",
            "margin_call": 80,
            "margin_stop": 40,
            "ordermin": self.ordermin,
            "costmin": self.costmin,
            "tick_size": self.tick_size,
            "status": "online",
        }


def kraken_asset(code: str) -> KrakenAsset:
    """Kraken's listing of a currency; unknown ones are listed under their own code, 8 decimals."""
    kid, alt, dec, disp = _ASSETS.get(code, (code, code, 8, 5))
    return KrakenAsset(code, kid, alt, dec, disp)


def kraken_pair(symbol: str, price_decimals: int = 0) -> KrakenPair:
    """Kraken's listing of a spot pair (a synthetic one in Kraken's style if Kraken never had it).

    `price_decimals`: the replayed data's own precision; when finer than Kraken's tick the listing
    is widened to it, or replayed prices would be off-tick (Bittrex 2018 data has 8 decimals).
    """
    base_code, quote_code, _ = split_symbol(symbol)
    base, quote = kraken_asset(base_code), kraken_asset(quote_code)
    unified = f"{base_code}/{quote_code}"
    if unified in _PAIRS:
        pid, alt, pdec, ldec, cdec, omin, cmin, tick = _PAIRS[unified]
    else:
        pid = alt = base.altname + quote.altname
        pdec, ldec, cdec, omin, cmin, tick = 8, 8, 10, "0.0001", "0", "0.00000001"
    if price_decimals > pdec:
        pdec = price_decimals
        tick = f"{Decimal(1).scaleb(-pdec):f}"
    return KrakenPair(unified, pid, alt, base, quote, pdec, ldec, cdec, omin, cmin, tick)
