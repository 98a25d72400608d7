"""aitrader: a self-hosted crypto trading system with one engine for backtest, paper and live."""

from aitrader import native as _native

__version__ = "0.1.0"

# before any engine module is imported: use the compiled core only when it matches its sources
_native.guard()
