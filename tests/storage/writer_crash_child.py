"""Child process for the kill -9 test: writes metrics forever and prints each ts once it is committed.

Usage: python writer_crash_child.py URL TENANT. A line on stdout means "acknowledged" (awaited write).
"""

from __future__ import annotations

import asyncio
import sys

from aitrader.storage.db import make_engine
from aitrader.storage.records import MetricSample
from aitrader.storage.repository import TenantSession
from aitrader.storage.writer import StorageWriter


def _op(ts: int):  # type: ignore[no-untyped-def]
    def fn(s: TenantSession) -> None:
        s.add_metric(MetricSample("crash", ts, float(ts)))

    return fn


async def main(url: str, tenant: str) -> None:
    writer = StorageWriter(make_engine(url), max_batch=50, max_delay_s=0.005)
    writer.start()

    async def producer(p: int) -> None:
        for i in range(10**6):
            ts = p * 10**7 + i
            await writer.write(tenant, _op(ts), label=str(ts))
            sys.stdout.write(f"{ts}\n")
            sys.stdout.flush()

    await asyncio.gather(*(producer(p) for p in range(8)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
