"""O(1)-per-candle streamers of the built-in strategies, one module per built-in.

Each `XStream` mirrors `X.compute` bar by bar from the streaming indicators
(`aitrader.indicators.streaming`) and the one-bar event helpers of `aitrader.strategies.streaming`;
`X.streamer()` returns one. Kept apart from the vectorised modules so either side can be read alone,
and proven equal to them by tests/strategies/test_streaming*.py.
"""
