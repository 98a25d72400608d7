"""Read-only state of the caller's tenant: any key (scope read and up) may call these."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from aitrader.api import views
from aitrader.api.routes.deps import (
    SYMBOL_PATTERN,
    TIMEFRAME_PATTERN,
    JsonBytes,
    ReadPrincipal,
    control_for,
    json_view,
)
from aitrader.core.errors import AitraderError
from aitrader.core.symbols import split_symbol
from aitrader.core.time import timeframe_to_ms

router = APIRouter(prefix="/api/v1", tags=["state"])


@router.get("/status", response_model=views.Status)
async def status(request: Request, p: ReadPrincipal) -> JsonBytes:
    return await json_view(request, p, "status")


@router.get("/balances", response_model=list[views.Balance])
async def balances(request: Request, p: ReadPrincipal) -> JsonBytes:
    return await json_view(request, p, "balances")


@router.get("/positions", response_model=list[views.Position])
async def positions(request: Request, p: ReadPrincipal) -> JsonBytes:
    return await json_view(request, p, "positions")


@router.get("/orders", response_model=list[views.OrderView])
async def orders(request: Request, p: ReadPrincipal, open_only: Annotated[bool, Query()] = True) -> JsonBytes:
    return await json_view(request, p, "orders", open_only)


@router.get("/trades", response_model=list[views.Trade])
async def trades(
    request: Request, p: ReadPrincipal, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> JsonBytes:
    return await json_view(request, p, "trades", limit)


@router.get("/equity", response_model=list[views.EquityPoint])
async def equity(
    request: Request, p: ReadPrincipal, since_ms: Annotated[int | None, Query(ge=0, le=2**53)] = None
) -> JsonBytes:
    return await json_view(request, p, "equity_curve", since_ms)


@router.get("/decisions", response_model=views.DecisionPage)
async def decisions(
    request: Request,
    p: ReadPrincipal,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JsonBytes:
    """The decisions feed ("thoughts"), newest first, with the reasons behind each."""
    return await json_view(request, p, "decisions", page, page_size)


@router.get("/strategies", response_model=list[views.StrategyMetric])
async def strategies(request: Request, p: ReadPrincipal) -> JsonBytes:
    return await json_view(request, p, "strategy_metrics")


@router.get("/risk", response_model=views.RiskStatus)
async def risk(request: Request, p: ReadPrincipal) -> JsonBytes:
    return await json_view(request, p, "risk_status")


@router.get("/config")
async def config(request: Request, p: ReadPrincipal) -> dict[str, Any]:
    """The effective configuration, secrets masked."""
    return await control_for(request, p).config_redacted()


@router.get("/candles", response_model=list[views.Candle])
async def candles(
    request: Request,
    p: ReadPrincipal,
    symbol: Annotated[str, Query(min_length=3, max_length=64, pattern=SYMBOL_PATTERN, examples=["BTC/USDT"])],
    timeframe: Annotated[str | None, Query(max_length=8, pattern=TIMEFRAME_PATTERN, examples=["5m"])] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 300,
) -> JsonBytes:
    """Candles of one traded pair (for the chart); a pair this tenant does not trade answers 404."""
    try:
        split_symbol(symbol)
        if timeframe is not None:
            timeframe_to_ms(timeframe)
    except AitraderError as e:
        raise HTTPException(422, str(e)) from None
    tf = timeframe or request.app.state.settings.data.timeframe
    return await json_view(request, p, "candles", symbol, tf, limit)
