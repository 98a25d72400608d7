"""Which exchange errors are refusals (never retried), rate limits, or unknown outcomes."""

from __future__ import annotations

import ccxt
import pytest

from aitrader.execution.retries import ErrorKind, RetryPolicy, classify


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ccxt.InvalidOrder("kraken EOrder:Order minimum not met"), ErrorKind.REFUSED),
        (ccxt.InsufficientFunds("kraken EOrder:Insufficient funds"), ErrorKind.REFUSED),
        (ccxt.AuthenticationError("kraken EAPI:Invalid key"), ErrorKind.REFUSED),
        # plain ExchangeErrors ccxt's maps do not list, recognised by the exchange's text
        (ccxt.ExchangeError('kraken {"error":["EOrder:Orders limit exceeded"]}'), ErrorKind.REFUSED),
        (ccxt.ExchangeError('kraken {"error":["EOrder:Positions limit exceeded"]}'), ErrorKind.REFUSED),
        (ccxt.ExchangeError('kraken {"error":["EGeneral:Temporary lockout"]}'), ErrorKind.TRANSIENT),
        (ccxt.DDoSProtection("kraken EAPI:Rate limit exceeded"), ErrorKind.RATE_LIMITED),
        (ccxt.RateLimitExceeded("429"), ErrorKind.RATE_LIMITED),
        (ccxt.RequestTimeout("timed out"), ErrorKind.TRANSIENT),
        (ccxt.ExchangeNotAvailable("503"), ErrorKind.TRANSIENT),
        (TimeoutError(), ErrorKind.TRANSIENT),
        (ConnectionResetError(), ErrorKind.TRANSIENT),
        (ValueError("a bug of ours"), ErrorKind.REFUSED),
    ],
)
def test_classify(exc: BaseException, kind: ErrorKind) -> None:
    assert classify(exc) is kind


def test_rate_limited_pauses_start_higher_and_respect_the_exchange_spacing() -> None:
    policy = RetryPolicy(base_ms=100, rate_limited_base_ms=1_000, cap_ms=10_000, seed=1)
    transient = [policy.delay_ms(a, ErrorKind.TRANSIENT) for a in range(1, 6)]
    limited = [policy.delay_ms(a, ErrorKind.RATE_LIMITED, rate_limit_ms=3_000) for a in range(1, 6)]
    assert all(0 <= d <= 100 * 2 ** (a - 1) for a, d in enumerate(transient, 1))
    assert all(d >= 3_000 for d in limited) and all(d <= 10_000 for d in limited)
