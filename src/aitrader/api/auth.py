"""Who is calling: API keys, short-lived browser sessions, scopes and the per-key rate limit.

Every route except the explicitly open ones (`OPEN_PATHS`) depends on `require(scope)`, so a route
added without thinking is closed, not open. Credentials, in the order tried:

* `Authorization: Bearer <api key | session token>`: scripts, the bench, Telegram-free automation.
* the `aitrader_session` cookie (HttpOnly, SameSite=Strict) set by `POST /api/v1/auth/login`: the
  dashboard. The browser never holds the long-lived key after login, only this token, which expires
  after `api.token_ttl_s` and dies with logout or with its key. Unsafe methods authenticated by cookie
  also need the `X-Aitrader-Csrf` header, which a cross-site form cannot send.

Keys are verified by the `KeyVerifier` (hashes in storage, constant-time compare); a verified key is
cached so a busy client does not cost a database read per request. Revocation bound: a cached answer
is used only until `cache_ttl_s` (2 s) after the storage check that produced it *started*, so a key
revoked at time t is refused from t + 2 s at the latest (sessions die with their key the same way).
A key in use is re-checked in the background once its answer is half that old, so steady traffic
never waits for storage; concurrent requests with one credential share a single check (500 sockets
connecting at once are one read, not 500 racing to update `last_used_ms`). Failed verifications are
not cached.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

from fastapi import HTTPException, Request, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from aitrader.api.ratelimit import RateLimiter, retry_after_header
from aitrader.core.time import now_ms
from aitrader.metrics import API_RATE_LIMITED
from aitrader.security.api_keys import scope_allows

SESSION_COOKIE = "aitrader_session"
CSRF_HEADER = "x-aitrader-csrf"
SESSION_PREFIX = "ats_"
Scope = Literal["read", "control", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "control", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: which key (or the session made from it), whose tenant, which scope."""

    tenant_id: str
    key_id: int | None
    scope: Scope
    via: Literal["key", "session"] = "key"

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}"

    def allows(self, need: Scope) -> bool:
        """read < control < admin (`security.api_keys` owns the ordering)."""
        return scope_allows(self.scope, need)


class KeyVerifier(Protocol):
    """Looks presented API keys up in storage."""

    def verify(self, presented: str) -> Principal | None:
        """The principal of a valid, unrevoked key; None for anything else."""
        ...

    def is_active(self, key_id: int) -> bool:
        """False once the key is revoked or deleted."""
        ...


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(slots=True)
class _Session:
    principal: Principal
    expires_ms: int


class SessionStore:
    """Browser sessions in memory: random tokens, kept only as SHA-256 digests, expiring after `ttl_s`.

    In memory on purpose: a restart logs everyone out, and nothing long-lived is persisted.
    """

    MAX_SESSIONS = 10_000

    def __init__(self, ttl_s: int) -> None:
        self.ttl_s = ttl_s
        self._sessions: dict[str, _Session] = {}

    def issue(self, principal: Principal) -> tuple[str, int]:
        if len(self._sessions) >= self.MAX_SESSIONS:
            self._expire()
        token = SESSION_PREFIX + secrets.token_urlsafe(32)
        expires = now_ms() + self.ttl_s * 1000
        session_principal = Principal(principal.tenant_id, principal.key_id, principal.scope, "session")
        self._sessions[_digest(token)] = _Session(session_principal, expires)
        return token, expires

    def resolve(self, token: str) -> Principal | None:
        s = self._sessions.get(_digest(token))
        if s is None:
            return None
        if s.expires_ms <= now_ms():
            del self._sessions[_digest(token)]
            return None
        return s.principal

    def revoke(self, token: str) -> None:
        self._sessions.pop(_digest(token), None)

    def _expire(self) -> None:
        now = now_ms()
        for k in [k for k, s in self._sessions.items() if s.expires_ms <= now]:
            del self._sessions[k]
        while len(self._sessions) >= self.MAX_SESSIONS:  # still full: drop the oldest
            self._sessions.pop(next(iter(self._sessions)))


@dataclass(frozen=True, slots=True)
class Credential:
    value: str
    source: Literal["header", "cookie"]


def presented_credential(conn: HTTPConnection) -> Credential | None:
    auth = conn.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        value = auth[7:].strip()
        if value:
            return Credential(value, "header")
    cookie = conn.cookies.get(SESSION_COOKIE)
    if cookie:
        return Credential(cookie, "cookie")
    return None


V = TypeVar("V")


@dataclass(slots=True)
class _Checked(Generic[V]):
    value: V
    started: float  # when the storage check began: the answer is no older than this


class _Checks(Generic[V]):
    """Storage checks by key: cached for `ttl_s` from their start, refreshed ahead, one at a time."""

    MAX_ENTRIES = 10_000

    def __init__(self, ttl_s: float, clock: Callable[[], float]) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._done: dict[str, _Checked[V]] = {}
        self._running: dict[str, asyncio.Task[V]] = {}
        self._gen = 0

    async def get(self, key: str, check: Callable[[], V], keep: Callable[[V], bool]) -> V:
        hit = self._done.get(key)
        if hit is not None:
            age = self._clock() - hit.started
            if age < self.ttl_s:
                if age >= self.ttl_s / 2:
                    self._start(key, check, keep)  # re-check in the background; this answer is in bound
                return hit.value
            del self._done[key]
        return await asyncio.shield(self._start(key, check, keep))

    def _start(self, key: str, check: Callable[[], V], keep: Callable[[V], bool]) -> asyncio.Task[V]:
        task = self._running.get(key)
        loop = asyncio.get_running_loop()
        if task is not None and not task.done() and task.get_loop() is loop:
            return task
        task = loop.create_task(self._run(key, check, keep, self._gen))
        self._running[key] = task
        task.add_done_callback(lambda t: self._finished(key, t))
        return task

    async def _run(self, key: str, check: Callable[[], V], keep: Callable[[V], bool], gen: int) -> V:
        started = self._clock()
        value = await run_in_threadpool(check)
        if gen == self._gen:
            if keep(value):
                if len(self._done) >= self.MAX_ENTRIES:
                    self._done.clear()
                self._done[key] = _Checked(value, started)
            else:
                self._done.pop(key, None)
        return value

    def _finished(self, key: str, task: asyncio.Task[V]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # a background re-check's error has no waiter; the next request retries

    def clear(self) -> None:
        self._gen += 1
        self._done.clear()
        self._running.clear()


class Authenticator:
    """Turns a request's credential into a Principal (or None) and applies the per-key rate limit."""

    def __init__(
        self,
        verifier: KeyVerifier,
        sessions: SessionStore,
        key_limiter: RateLimiter,
        *,
        cache_ttl_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.verifier = verifier
        self.sessions = sessions
        self.key_limiter = key_limiter
        self.cache_ttl_s = cache_ttl_s
        self._keys: _Checks[Principal | None] = _Checks(cache_ttl_s, clock)
        self._active: _Checks[bool] = _Checks(cache_ttl_s, clock)

    async def resolve(self, value: str) -> Principal | None:
        if value.startswith(SESSION_PREFIX):
            principal = self.sessions.resolve(value)
            if principal is None or principal.key_id is None:
                return principal
            # the session dies with its key
            return principal if await self._key_active(principal.key_id) else None
        return await self._verify_key(value)

    async def _verify_key(self, value: str) -> Principal | None:
        return await self._keys.get(
            _digest(value), lambda: self.verifier.verify(value), lambda p: p is not None
        )

    async def _key_active(self, key_id: int) -> bool:
        return await self._active.get(str(key_id), lambda: self.verifier.is_active(key_id), bool)

    def forget_cached(self) -> None:
        """Drop cached verifications (after a key is revoked in this process)."""
        self._keys.clear()
        self._active.clear()

    def rate_wait(self, principal: Principal) -> float:
        """Spend one request of this key's budget: 0 when allowed, else seconds until one would pass."""
        return self.key_limiter.hit(f"key:{principal.tenant_id}:{principal.key_id}")

    def check_rate(self, principal: Principal) -> None:
        """Raise 429 when this key is over its budget (sessions share their key's budget)."""
        wait = self.rate_wait(principal)
        if wait > 0:
            API_RATE_LIMITED.labels(by="key").inc()
            raise HTTPException(
                429, "too many requests for this key", headers={"Retry-After": retry_after_header(wait)}
            )

    async def authenticate(self, conn: HTTPConnection) -> Principal | None:
        cred = presented_credential(conn)
        if cred is None:
            return None
        principal = await self.resolve(cred.value)
        if principal is None:
            return None
        if (
            cred.source == "cookie"
            and isinstance(conn, Request)
            and conn.method not in ("GET", "HEAD", "OPTIONS")
            and conn.headers.get(CSRF_HEADER) != "1"
        ):
            raise HTTPException(403, f"cookie-authenticated {conn.method} needs the X-Aitrader-Csrf header")
        return principal


_UNAUTHORIZED = HTTPException(401, "missing or invalid credentials", headers={"WWW-Authenticate": "Bearer"})


def require(need: Scope) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency: the caller's Principal, which must have at least scope `need`."""

    async def dependency(request: Request) -> Principal:
        authn: Authenticator = request.app.state.authenticator
        principal = await authn.authenticate(request)
        if principal is None:
            raise _UNAUTHORIZED
        authn.check_rate(principal)
        if not principal.allows(need):
            raise HTTPException(403, f"this key has scope {principal.scope!r}; {need!r} is needed")
        return principal

    return dependency


async def websocket_principal(ws: WebSocket, need: Scope = "read") -> Principal | None:
    """The principal of a WebSocket handshake, or None (the caller then refuses the connection)."""
    authn: Authenticator = ws.app.state.authenticator
    principal = await authn.authenticate(ws)
    if principal is None or not principal.allows(need):
        return None
    if authn.key_limiter.hit(f"key:{principal.tenant_id}:{principal.key_id}") > 0:
        API_RATE_LIMITED.labels(by="key").inc()
        return None
    return principal
