"""`create_app`: the control-plane FastAPI application (REST, WebSocket, dashboard, metrics).

Wiring only: routes live in `api/routes/`, policy in `auth.py` and the middlewares. The app never
builds engine state itself: it is handed a `ControlFactory` (tenant -> EngineControl) and the storage
ports for keys, audit and tenants, so `aitrader api` (reading a database the engine writes) and
`aitrader run` (engine in the same process) build the same app with different factories.

Middleware order, outermost first: request metrics, security headers, per-IP rate limit, body size
limit, CORS (only when origins are configured), the snapshot fast path for polled reads
(`fast_reads.py`), then FastAPI. So a 429 or 413 still carries the
security headers and is counted.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

from aitrader.api.auth import Authenticator, KeyVerifier, SessionStore
from aitrader.api.body_limit import BodyLimitMiddleware
from aitrader.api.control import ControlFactory, NotFound
from aitrader.api.fast_reads import FastReadMiddleware
from aitrader.api.headers import SecurityHeadersMiddleware
from aitrader.api.hub import LiveHub
from aitrader.api.ports import AuditLog, TenantDirectory
from aitrader.api.ratelimit import IpRateLimitMiddleware, RateLimiter
from aitrader.api.request_metrics import RequestMetricsMiddleware
from aitrader.api.routes import actions, admin, live, metrics, public, read, session
from aitrader.api.routes.deps import ReadPrincipal
from aitrader.api.routes.public import STATIC_DIR
from aitrader.api.snapshots import DEFAULT_TTL_S, snapshot_controls
from aitrader.config import Settings
from aitrader.core.errors import AitraderError
from aitrader.heap import freeze_long_lived

log = logging.getLogger(__name__)

OPENAPI_PATH = "/api/v1/openapi.json"
# Everything else requires credentials (the auth-matrix test holds the app to this list).
OPEN_PATHS = frozenset({"/healthz", "/", "/static", "/api/v1/auth/login"})
# FastAPI answers 400 with this text when a JSON body cannot even be decoded (e.g. invalid UTF-8)
_UNPARSABLE_BODY = "There was an error parsing the body"


class Service(Protocol):
    """Something that runs as long as the server does (started and stopped by the lifespan)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def create_app(
    settings: Settings,
    control_factory: ControlFactory,
    *,
    keys: KeyVerifier,
    audit: AuditLog,
    tenants: TenantDirectory,
    live_interval_s: float = 1.0,
    rate_limit_per_minute: int | None = None,
    ip_rate_limit_per_minute: int | None = None,
    services: Sequence[Service] = (),
    snapshot_ttl_s: float = DEFAULT_TTL_S,
) -> FastAPI:
    """The app. Rate limits default to `api.rate_limit_per_minute` per key, and 4x that per IP (a
    dashboard and a script behind one address must not lock each other out). `services` (the
    Telegram bot) start with the server, in order, and stop in reverse when it shuts down.

    Every read goes through per-tenant snapshots (`api/snapshots.py`, fresh within
    `2 * snapshot_ttl_s`, dropped when a control action completes)."""
    api = settings.api
    control_factory = snapshot_controls(control_factory, snapshot_ttl_s)
    per_key = rate_limit_per_minute or api.rate_limit_per_minute
    per_ip = ip_rate_limit_per_minute or 4 * per_key
    hub = LiveHub(control_factory, interval_s=live_interval_s)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        freeze_long_lived(once=True)  # short GC pauses from here on (aitrader.heap)
        started: list[Service] = []
        try:
            for service in services:
                await service.start()
                started.append(service)
            yield
        finally:
            for service in reversed(started):
                try:
                    await service.stop()
                except Exception:  # one failing stop must not keep the others running
                    log.exception("stopping %r failed", service)
            await hub.close()

    app = FastAPI(
        title="aitrader control plane",
        version="1",
        docs_url=None,  # the interactive docs load scripts from a CDN and inline; our CSP forbids both
        redoc_url=None,
        openapi_url=None,  # served below, behind a key
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.control_factory = control_factory
    app.state.audit = audit
    app.state.tenants = tenants
    app.state.hub = hub
    app.state.services = list(services)
    app.state.authenticator = Authenticator(
        keys, SessionStore(api.token_ttl_s), RateLimiter(per_key, burst=max(10, per_key // 6))
    )

    # routes are matched in order: the polled reads first (the hot path), then the rest
    for module in (read, session, public, actions, admin, live, metrics):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get(OPENAPI_PATH, include_in_schema=False)
    async def openapi(p: ReadPrincipal) -> dict[str, Any]:
        return app.openapi()

    _install_error_handlers(app)

    # innermost: only answers what the FastAPI route would answer 200 to (see fast_reads.py)
    app.add_middleware(FastReadMiddleware, authenticator=app.state.authenticator, controls=control_factory)
    if api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=api.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Aitrader-Csrf"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=api.max_body_bytes)
    app.add_middleware(
        IpRateLimitMiddleware,
        limiter=RateLimiter(per_ip, burst=max(20, per_ip // 6)),
        exempt_paths=frozenset({"/healthz"}),
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=api.tls_certfile is not None)
    app.add_middleware(RequestMetricsMiddleware)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AitraderError)
    async def domain_error(_request: Request, exc: AitraderError) -> JSONResponse:
        # a domain error is the caller's problem stated in one line, never a traceback; an object this
        # tenant does not have is a 404 (as another tenant's object is)
        return JSONResponse({"detail": str(exc)}, status_code=404 if isinstance(exc, NotFound) else 400)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(x) for x in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # every malformed body is a 422 with the same shape, whether it is bad JSON or bad bytes
        if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
            detail = [{"loc": ["body"], "msg": "body is not decodable JSON", "type": "json_invalid"}]
            return JSONResponse({"detail": detail}, status_code=422)
        return await http_exception_handler(request, exc)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error in the API", exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)
