"""The engine: one event loop for backtest, paper and live; modes differ only in the plugs."""
