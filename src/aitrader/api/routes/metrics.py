"""`/metrics` for Prometheus, behind a read key like everything else (scrape with a bearer token).

The series are process-wide engine and API health (latencies, queue depths, counters), not tenant
data; see `aitrader.metrics` for the set.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from aitrader.api.routes.deps import ReadPrincipal
from aitrader.metrics import CONTENT_TYPE, render

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(p: ReadPrincipal) -> Response:
    return Response(render(), media_type=CONTENT_TYPE)
