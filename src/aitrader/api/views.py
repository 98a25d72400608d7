"""What the API answers with: the read models of the control interface.

Pydantic models so FastAPI publishes an exact OpenAPI schema (schemathesis and the dashboard rely on
it). Money is `Decimal` and serialises as a JSON string, never a float; time is int epoch ms and only
the browser renders it as ISO. Candle prices stay floats, as they are everywhere in market data.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Money = Decimal


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Status(_View):
    tenant_id: str
    mode: Literal["backtest", "paper", "live"]
    running: bool = Field(description="the engine has reported within its heartbeat interval")
    entries_paused: bool
    kill_switch: bool
    quote_currency: str
    equity: Money
    realized_pnl: Money
    unrealized_pnl: Money
    pnl_today: Money
    open_positions: int
    open_orders: int
    started_ms: int | None = None
    heartbeat_ms: int | None = None
    ts: int


class Balance(_View):
    currency: str
    total: Money
    free: Money
    used: Money


class Position(_View):
    symbol: str
    side: Literal["long", "short"]
    amount: Money
    entry_price: Money
    mark_price: Money | None = None
    unrealized_pnl: Money | None = None
    stop: Money | None = None
    take: Money | None = None
    strategy: str = ""
    opened_ms: int


class OrderView(_View):
    client_id: str
    symbol: str
    side: Literal["buy", "sell"]
    type: str
    purpose: str
    status: str
    amount: Money
    filled: Money
    price: Money | None = None
    avg_price: Money | None = None
    created_ms: int
    updated_ms: int


class Trade(_View):
    trade_id: str
    symbol: str
    side: Literal["long", "short"]
    amount: Money
    entry_price: Money
    exit_price: Money
    pnl: Money
    fees: Money
    opened_ms: int
    closed_ms: int
    exit_reason: str = ""
    strategy: str = ""


class EquityPoint(_View):
    ts: int
    equity: Money


class Vote(_View):
    strategy: str
    direction: int
    confidence: float


class DecisionView(_View):
    id: str
    ts: int
    symbol: str
    direction: int = Field(ge=-1, le=1)
    confidence: float
    price: float
    stop: float | None = None
    take: float | None = None
    reasons: list[str]
    votes: list[Vote] = Field(default_factory=list)
    outcome: str = Field(default="", description="what became of it: order, rejected by risk, gated...")


class DecisionPage(_View):
    items: list[DecisionView]
    page: int
    page_size: int
    total: int


class StrategyMetric(_View):
    strategy: str
    signals: int
    trades: int
    win_rate: float | None = None
    pnl: Money
    avg_runtime_ms: float | None = None
    timeouts: int = 0


class RiskLimits(_View):
    risk_per_trade: Money
    max_open_positions: int
    max_exposure_per_pair: Money
    max_total_exposure: Money
    daily_loss_limit: Money
    max_drawdown: Money


class RiskStatus(_View):
    limits: RiskLimits
    entries_paused: bool
    kill_switch: bool
    exposure_total: Money = Field(description="open notional / equity")
    exposure_per_pair: dict[str, Money]
    daily_pnl: Money
    drawdown: Money = Field(description="fraction below the equity peak")
    breaches: list[str] = Field(default_factory=list)


class Candle(_View):
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class ConfigView(_View):
    config: dict[str, Any]


class ActionResult(_View):
    ok: bool
    action: str
    message: str


class Tenant(_View):
    tenant_id: str
    name: str
    created_ms: int
    active: bool = True


class AuditEntry(_View):
    id: int
    ts: int
    tenant_id: str
    key_id: str
    action: str
    params: dict[str, Any]
    result: str
