"""Typed domain errors.

Every error a user can cause derives from `AitraderError`; the CLI, API and Telegram edges turn
them into one clear line (never a traceback) so bad input is reported, not crashed on.
"""

from __future__ import annotations


class AitraderError(Exception):
    """Base of every error we raise on purpose; `str(err)` is the one-line message for users."""


class ConfigError(AitraderError):
    """The configuration file or environment overrides are invalid."""


class DataError(AitraderError):
    """Market data is missing, malformed or inconsistent."""


class StrategyError(AitraderError):
    """A strategy could not be loaded, configured or run."""


class ExchangeError(AitraderError):
    """An exchange (or our simulator of one) refused or failed a request."""


class OrderError(AitraderError):
    """An order request is invalid (size, price, precision, state transition)."""


class RiskRejection(AitraderError):
    """The risk manager refused an intent; `reason` says why in words an operator understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
