"""The lookahead guard for the whole confluence: decisions on past bars must not change with the future.

Same method as `aitrader.strategies.lookahead` (recompute on truncated prefixes and compare), applied
to direction, confidence, stop and take, with the higher-timeframe candles and microstructure cut
to what was known at each prefix's last close.
"""

from __future__ import annotations

from aitrader.confluence.engine import Confluence
from aitrader.confluence.microstructure import Microstructure
from aitrader.core.candles import OHLCV
from aitrader.strategies.base import Signals
from aitrader.strategies.lookahead import LookaheadReport, check_series, truncate_informative
from aitrader.strategies.timeframes import infer_timeframe_ms


def check_confluence_lookahead(
    confluence: Confluence,
    candles: OHLCV,
    higher: OHLCV | None = None,
    higher_tf: str | None = None,
    micro: Microstructure | None = None,
    samples: int = 30,
) -> LookaheadReport:
    base_ms = infer_timeframe_ms(candles.ts)
    warmup = max(s.warmup for s, _ in confluence.strategies)

    def compute(k: int) -> Signals:
        h = None
        if higher is not None and higher_tf is not None:
            h = truncate_informative({higher_tf: higher}, int(candles.ts[k - 1]) + base_ms)[higher_tf]
        m = None
        if micro is not None:
            m = micro.align(candles.ts[:k])
        f = confluence.evaluate("check", candles.slice(0, k), h, higher_tf, m, timeframe=base_ms)
        return Signals(f.direction, f.confidence, f.stop, f.take)

    return check_series("confluence", compute, len(candles), warmup, samples)
