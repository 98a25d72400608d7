"""Exchange etiquette: which errors may be retried, and how long to wait before the next try.

Why a module of its own: every request we send to an exchange goes through the same three questions.
1. Did the exchange *refuse* the request (bad order, no funds, bad key)? Then retrying changes nothing.
2. Did the request maybe *not arrive* or the answer get lost (timeout, 5xx, connection reset)? Then an
   idempotent request (read, cancel) may simply be sent again, but a non-idempotent one (create order)
   must first be resolved by looking the order up by our client id: it may exist already.
3. Did the exchange say *slow down* (418/429, `EAPI:Rate limit exceeded`)? Then wait longer, with
   jitter so that several clients do not come back in lockstep, and never less than ccxt's `rateLimit`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import ccxt

T = TypeVar("T")


class ErrorKind(StrEnum):
    REFUSED = "refused"  # the exchange processed the request and said no: never retry
    RATE_LIMITED = "rate_limited"  # 418/429: retry after a longer, jittered pause
    TRANSIENT = "transient"  # timeout, 5xx, network: outcome unknown, retry (after resolving, for writes)


# ExchangeError subclasses that are the exchange's definitive answer (the request was understood).
_REFUSALS: tuple[type[BaseException], ...] = (
    ccxt.InvalidOrder,
    ccxt.InsufficientFunds,
    ccxt.BadRequest,
    ccxt.BadSymbol,
    ccxt.AuthenticationError,
    ccxt.PermissionDenied,
    ccxt.AccountSuspended,
    ccxt.NotSupported,
    ccxt.ArgumentsRequired,
)

# Refusals ccxt leaves as a plain ExchangeError (its error maps do not list them), by the exchange's
# text: an account at its open-orders or positions limit stays there until orders close.
_REFUSAL_TEXTS = (
    "EOrder:Orders limit exceeded",
    "EOrder:Positions limit exceeded",
)


def classify(exc: BaseException) -> ErrorKind:
    """Sort a ccxt (or network) exception into one of the three kinds above.

    A plain `ccxt.ExchangeError` we cannot place (an unknown `E...` string) counts as transient: for
    reads that costs a retry, for writes the caller resolves by client id first, so nothing is doubled.
    """
    if isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        return ErrorKind.RATE_LIMITED
    if isinstance(exc, ccxt.NetworkError | asyncio.TimeoutError | ConnectionError | OSError):
        return ErrorKind.TRANSIENT
    if isinstance(exc, _REFUSALS):
        return ErrorKind.REFUSED
    if isinstance(exc, ccxt.ExchangeError) and any(t in str(exc) for t in _REFUSAL_TEXTS):
        return ErrorKind.REFUSED
    return ErrorKind.TRANSIENT if isinstance(exc, ccxt.ExchangeError) else ErrorKind.REFUSED


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter; rate-limit pauses start higher and are never shorter than
    the exchange's own `rateLimit` (ms between requests, as ccxt spells it)."""

    max_attempts: int = 6
    base_ms: int = 200
    cap_ms: int = 10_000
    rate_limited_base_ms: int = 1_000
    seed: int | None = None

    def delay_ms(self, attempt: int, kind: ErrorKind, rate_limit_ms: float = 0.0) -> float:
        """Pause before retry number `attempt` (1 = first retry)."""
        base = self.rate_limited_base_ms if kind is ErrorKind.RATE_LIMITED else self.base_ms
        ceiling = float(min(self.cap_ms, base * 2 ** max(0, attempt - 1)))
        rng = random.Random(None if self.seed is None else self.seed + attempt)
        jittered = ceiling / 2 + rng.uniform(0, ceiling / 2)
        floor = float(rate_limit_ms) * (2 if kind is ErrorKind.RATE_LIMITED else 1)
        return float(max(jittered, floor))


class RetriesExhausted(Exception):
    """Raised with the last error as `__cause__` when every attempt failed transiently."""


async def retry_idempotent(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    rate_limit_ms: float = 0.0,
    on_retry: Callable[[ErrorKind, BaseException], None] | None = None,
) -> T:
    """Run an idempotent request (read, cancel) until it succeeds, is refused, or attempts run out.

    Refusals are re-raised at once; only idempotent requests may come through here, because a
    transient failure is retried blindly.
    """
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as e:
            kind = classify(e)
            attempt += 1
            if kind is ErrorKind.REFUSED:
                raise
            if attempt >= policy.max_attempts:
                raise RetriesExhausted(f"{type(e).__name__}: {e}") from e
            if on_retry is not None:
                on_retry(kind, e)
            await asyncio.sleep(policy.delay_ms(attempt, kind, rate_limit_ms) / 1000)
