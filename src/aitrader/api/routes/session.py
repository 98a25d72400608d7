"""Browser login: exchange an API key once for a short-lived HttpOnly session cookie.

The key is typed into the login form, sent once over this request, and never stored by the browser;
the dashboard then runs on the session cookie (SameSite=Strict, HttpOnly, Secure under TLS), which
JavaScript cannot read. Logout revokes the session server-side, not just the cookie.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from aitrader.api.auth import SESSION_COOKIE, SESSION_PREFIX, Authenticator, Principal
from aitrader.api.routes.deps import ReadPrincipal

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    tenant_id: str
    key_id: int | None
    scope: str
    via: str
    expires_ms: int | None = None


@router.post("/login")
async def login(body: LoginRequest, request: Request, response: Response) -> Me:
    authn: Authenticator = request.app.state.authenticator
    if body.key.startswith(SESSION_PREFIX):
        raise HTTPException(401, "log in with an API key")
    principal = await authn.resolve(body.key)
    if principal is None:
        raise HTTPException(401, "invalid or revoked API key")
    authn.check_rate(principal)
    token, expires_ms = authn.sessions.issue(principal)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=authn.sessions.ttl_s,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return _me(principal, "session", expires_ms)


@router.post("/logout")
async def logout(request: Request, response: Response, principal: ReadPrincipal) -> dict[str, bool]:
    authn: Authenticator = request.app.state.authenticator
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        authn.sessions.revoke(token)
    response.delete_cookie(SESSION_COOKIE, path="/", samesite="strict", httponly=True)
    return {"ok": True}


@router.get("/me")
async def me(principal: ReadPrincipal) -> Me:
    """Who the dashboard is logged in as; it hides controls the scope does not allow."""
    return _me(principal, principal.via, None)


def _me(p: Principal, via: str, expires_ms: int | None) -> Me:
    return Me(tenant_id=p.tenant_id, key_id=p.key_id, scope=p.scope, via=via, expires_ms=expires_ms)
