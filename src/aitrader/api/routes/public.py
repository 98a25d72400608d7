"""The only routes open without credentials: health check and the dashboard shell (login page).

The shell is static HTML; it shows the login form until `/api/v1/auth/me` answers, and holds no data.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    """Liveness for load balancers and the CLI; says nothing about any tenant."""
    return {"status": "ok"}


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")
