"""The polled read routes answered straight from the snapshots, without FastAPI's per-request work.

Why: with the views cached (`api/snapshots.py`), what a dashboard poll cost was FastAPI itself -
routing through every route, solving dependencies, building a Request - about two thirds of the CPU
of a `GET /api/v1/status`. This pure ASGI layer answers only the *happy path* of the read routes in
`FAST_READS`: a GET with a credential that authenticates, allows `read`, is within its key's rate
limit, and a query string of known parameters in canonical form and in range. Everything else - no
or bad credentials, over the limit, an unknown or odd parameter, another method - falls through
unchanged to the FastAPI route of the same path, which answers exactly as before (401, 422, 429...),
so error handling and validation live in one place. It sits inside the security-header, per-IP rate
limit, body limit and request-metrics middlewares, so those still apply to every answer.

`FAST_READS` mirrors the parameters the routes in `routes/read.py` declare; a test compares it with
the published OpenAPI schema, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from aitrader.api.auth import Authenticator
from aitrader.api.snapshots import SnapshotControls

_CANONICAL_INT = re.compile(rb"0|[1-9][0-9]{0,15}")


@dataclass(frozen=True, slots=True)
class Param:
    """One query parameter: name, type, default and inclusive bounds (ints)."""

    name: str
    kind: Literal["int", "bool"]
    default: int | bool | None
    lo: int = 0
    hi: int = 0

    def parse(self, raw: bytes) -> int | bool | None:
        """The value, or None for anything but the canonical spelling of an in-range value."""
        if self.kind == "bool":
            return {b"true": True, b"false": False}.get(raw)
        if not _CANONICAL_INT.fullmatch(raw):
            return None
        value = int(raw)
        return value if self.lo <= value <= self.hi else None


@dataclass(frozen=True, slots=True)
class FastRead:
    view: str  # a `snapshots.ADAPTERS` view
    params: tuple[Param, ...] = ()

    def args(self, query: bytes) -> tuple[Hashable, ...] | None:
        """The view's arguments from a query string; None when FastAPI should judge it."""
        values: dict[str, int | bool | None] = {p.name: p.default for p in self.params}
        if query:
            seen: set[str] = set()
            by_name = {p.name: p for p in self.params}
            for part in query.split(b"&"):
                name, eq, raw = part.partition(b"=")
                param = by_name.get(name.decode("latin-1"))
                if not eq or param is None or param.name in seen:
                    return None
                value = param.parse(raw)
                if value is None:
                    return None
                seen.add(param.name)
                values[param.name] = value
        return tuple(values[p.name] for p in self.params)


FAST_READS: dict[str, FastRead] = {
    "/api/v1/status": FastRead("status"),
    "/api/v1/balances": FastRead("balances"),
    "/api/v1/positions": FastRead("positions"),
    "/api/v1/orders": FastRead("orders", (Param("open_only", "bool", True),)),
    "/api/v1/trades": FastRead("trades", (Param("limit", "int", 200, 1, 1000),)),
    "/api/v1/equity": FastRead("equity_curve", (Param("since_ms", "int", None, 0, 2**53),)),
    "/api/v1/decisions": FastRead(
        "decisions", (Param("page", "int", 1, 1, 100_000), Param("page_size", "int", 50, 1, 200))
    ),
    "/api/v1/strategies": FastRead("strategy_metrics"),
    "/api/v1/risk": FastRead("risk_status"),
}


@dataclass(frozen=True, slots=True)
class RouteLabel:
    """Stands in for the matched route in `scope["route"]`, which the request metrics label by."""

    path: str


class FastReadMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        controls: SnapshotControls,
        routes: dict[str, FastRead] = FAST_READS,
    ) -> None:
        self.app = app
        self.authn = authenticator
        self.controls = controls
        self.routes = routes
        self.labels = {path: RouteLabel(path) for path in routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if route is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        args = route.args(scope.get("query_string", b""))
        principal = await self.authn.authenticate(HTTPConnection(scope)) if args is not None else None
        if (
            args is None
            or principal is None
            or not principal.allows("read")
            or self.authn.rate_wait(principal) > 0  # FastAPI's route answers the 429
        ):
            await self.app(scope, receive, send)
            return
        body = await self.controls(principal.tenant_id).json(route.view, *args)
        scope["route"] = self.labels[scope["path"]]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
