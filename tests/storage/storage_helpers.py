"""Builders for domain objects used across storage tests."""

from __future__ import annotations

from decimal import Decimal

from aitrader.core.decisions import Decision
from aitrader.core.orders import Fill, Order, OrderRequest, OrderStatus, OrderType, Side


def make_order(client_id: str, *, created_ms: int = 1_000, amount: str = "1.5", **kw: object) -> Order:
    req = OrderRequest(
        client_id=client_id,
        symbol="BTC/USDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        amount=Decimal(amount),
        price=Decimal("42000.12345678"),
        created_ms=created_ms,
        strategy="ema_cross",
    )
    order = Order(request=req, updated_ms=created_ms)
    for k, v in kw.items():
        setattr(order, k, v)
    return order


def make_fill(fill_id: str, client_id: str = "c1", *, ts: int = 2_000, amount: str = "0.5") -> Fill:
    return Fill(
        fill_id=fill_id,
        client_id=client_id,
        symbol="BTC/USDT",
        side=Side.BUY,
        amount=Decimal(amount),
        price=Decimal("42000.5"),
        fee=Decimal("0.000021"),
        fee_currency="USDT",
        ts=ts,
    )


def make_decision(ts: int, symbol: str = "BTC/USDT") -> Decision:
    return Decision(
        ts=ts,
        symbol=symbol,
        direction=1,
        confidence=0.7,
        price=100.0,
        stop=95.0,
        take=110.0,
        reasons=("ema 12 crossed above 26", "adx 31 > 25"),
        strategy_votes=(("ema_cross", 1, 0.8),),
    )


__all__ = ["OrderStatus", "make_decision", "make_fill", "make_order"]
