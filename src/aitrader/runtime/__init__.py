"""Runtime: paper and live sessions assembled from the same Engine backtests use, kept alive by a supervisor.

Modules (one job each):

- `supervisor` named tasks started exactly once, restarted with backoff, health, signals
- `clock`      `MarketClock`: the venue's time, advanced by the feed (see its docstring for why)
- `feed`       `LiveFeed`: ccxt.pro candles -> `data.cache.CandleCache` -> ordered `CandleClosed`
- `decisions`  `StreamingDecisions`: a `Confluence.streamer` per pair, O(1) per candle (live decisions)
- `venue`      `EventInbox`: events the live reconciler adopts reach the engine like any venue event
- `persist`    `Persister`: engine state after each step -> one atomic write on the `StorageWriter`
- `restore`    rebuild orders, positions, ledgers and trailing stops from storage after a restart
- `state`      `StatePublisher`: `core.engine_state` values (status/heartbeat, balances, marks...)
- `commands`   `CommandHandler`: control commands from the API/Telegram applied to risk and engine
- `keys`       the tenant's admin key, created and printed once on first start
- `session`    `Session`: assembly of one paper/live session and its supervised tasks
"""
