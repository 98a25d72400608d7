"""A synthetic order book around the replayed price, and Kraken's CRC32 book checksum.

Candles carry no book, so levels are generated: spread of about 2 bps (at least one tick), sizes
drawn from an RNG seeded by pair and candle index, so the book is the same on every run and changes
when a new candle opens. The checksum is Kraken's WebSocket v2 one: top 10 asks (ascending) then top
10 bids (descending), each price and quantity printed with the pair's decimals, the dot and leading
zeros removed, concatenated, CRC32 as an unsigned integer.
"""

from __future__ import annotations

import random
import zlib
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from aitrader.venues.simulator.kraken_pairs import KrakenPair

Level = tuple[Decimal, Decimal]


def synthetic_book(
    pair: KrakenPair, mid: Decimal, seed: int, depth: int = 25
) -> tuple[list[Level], list[Level]]:
    """(asks ascending, bids descending) around `mid`, `depth` levels a side."""
    tick = Decimal(1).scaleb(-pair.pair_decimals)
    half = max(tick, (mid * Decimal("0.0001")).quantize(tick, rounding=ROUND_CEILING))
    best_ask = (mid + half).quantize(tick, rounding=ROUND_CEILING)
    best_bid = (mid - half).quantize(tick, rounding=ROUND_FLOOR)
    step = max(tick, (mid * Decimal("0.00005")).quantize(tick, rounding=ROUND_CEILING))
    rng = random.Random(f"{pair.symbol}:{seed}")
    lot = Decimal(1).scaleb(-pair.lot_decimals)
    unit = Decimal(pair.ordermin) * 10

    def qty() -> Decimal:
        return (unit * Decimal(str(round(rng.uniform(0.5, 20.0), 4)))).quantize(lot)

    asks = [(best_ask + step * i, qty()) for i in range(depth)]
    bids = [(best_bid - step * i, qty()) for i in range(depth) if best_bid - step * i > 0]
    return asks, bids


def fmt(value: Decimal, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _checksum_part(value: Decimal, decimals: int) -> str:
    return fmt(value, decimals).replace(".", "").lstrip("0")


def book_checksum(pair: KrakenPair, asks: list[Level], bids: list[Level]) -> int:
    """Kraken v2 `checksum` of a book (asks ascending, bids descending)."""
    parts = [
        _checksum_part(p, pair.pair_decimals) + _checksum_part(q, pair.lot_decimals)
        for p, q in [*asks[:10], *bids[:10]]
    ]
    return zlib.crc32("".join(parts).encode()) & 0xFFFFFFFF
