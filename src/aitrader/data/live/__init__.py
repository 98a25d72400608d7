"""Live market data: exchange streams into the candle cache, with a supervised WebSocket lifecycle.

Modules (one job each):

- `ring`       `CandleRing`: fixed-capacity numpy ring of closed candles, O(1) append
- `rollup`     `Rollup`: closed base candles -> closed higher-timeframe candles, incrementally
- `staleness`  `StalenessTracker`: last update per (pair, stream), stale episodes and their alert
- `outliers`   `OutlierFilter`: per-pair jump threshold or k robust sigmas, with counters
- `state`      `ConnectionState` and the transitions a WebSocket connection may make
- `backoff`    exponential backoff with jitter
- `dedupe`     bounded "seen" sets and message keys, so a resent message is processed once
- `supervisor` `StreamSupervisor`: one connection's state machine driving ccxt.pro watch loops
- `client`     `MarketDataClient`: REST warm-up + streams -> `data.cache.CandleCache`, async DataFeed

The cache itself lives in `aitrader.data.cache` (backtests and tools can use it without ccxt).
"""
