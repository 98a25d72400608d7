"""The `execution` config section's limit-entry settings become the engine's LimitEntryPolicy."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from aitrader.config import ExecutionConfig
from aitrader.execution.entry_timeout import limit_entry_policy


def test_market_entries_have_no_policy() -> None:
    assert limit_entry_policy(ExecutionConfig()) is None


def test_venue_expiry_is_counted_from_the_timeout() -> None:
    cfg = ExecutionConfig(
        entry_order="limit", limit_entry_timeout_ms=60_000, limit_entry_venue_expiry_ms=30_000,
        entry_limit_offset_bps=Decimal(5), limit_entry_max_replaces=3,
    )  # fmt: skip
    policy = limit_entry_policy(cfg)
    assert policy is not None and (policy.offset_bps, policy.max_replaces) == (Decimal(5), 3)
    assert policy.expire_ms(1_000) == 91_000
    off = limit_entry_policy(ExecutionConfig(entry_order="limit"))
    assert off is not None and off.expire_ms(1_000) is None  # default: good till cancelled


def test_a_venue_expiry_under_a_second_is_refused() -> None:
    with pytest.raises(ValidationError, match="limit_entry_venue_expiry_ms"):
        ExecutionConfig(entry_order="limit", limit_entry_venue_expiry_ms=10)
