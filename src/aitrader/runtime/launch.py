"""Starting a session from the command line: database, the printed-once key, the session itself.

Shared by `aitrader run` and `aitrader demo`, so both print the same lines: the dashboard URL when it
serves, the tenant's admin key on its first start only (only a hash is stored; it cannot be shown
again), and a one-line summary when the session ends.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console

from aitrader.config import Settings
from aitrader.runtime.keys import first_admin_key
from aitrader.runtime.session import Session, SessionOptions, SessionResult
from aitrader.storage.db import make_engine
from aitrader.storage.migrate import upgrade


def announce_key(console: Console, settings: Settings, key: str | None) -> None:
    if key is not None:
        console.print(
            f"admin key for tenant [bold]{settings.tenant}[/] (shown once, store it now):", highlight=False
        )
        console.print(key, soft_wrap=True, highlight=False, markup=False)
    else:
        console.print(
            f"tenant [bold]{settings.tenant}[/] already has an admin key (make another with "
            "`aitrader keys create`)",
            highlight=False,
        )


async def run_session(
    settings: Settings,
    options: SessionOptions,
    console: Console,
    on_start: Callable[[Session], None] | None = None,
) -> SessionResult:
    db = make_engine(settings.storage.url)
    try:
        upgrade(db)
        if options.api:
            announce_key(console, settings, first_admin_key(db, settings.tenant))
            if options.api_ready is None:
                options.api_ready = lambda url: console.print(f"dashboard: [bold]{url}[/]", highlight=False)
        session = Session(settings, db, options)
        if on_start is not None:
            on_start(session)
        result = await session.run()
    finally:
        db.dispose()
    restored = result.restored
    if restored.orders:
        console.print(
            f"restored {restored.orders} orders, {restored.fills} fills, open positions: "
            f"{', '.join(restored.positions) or 'none'}",
            highlight=False,
        )
    console.print(
        f"session stopped ({result.stop_reason}): {result.candles} candles, {result.orders} orders, "
        f"{result.fills} fills, open positions: {', '.join(result.open_positions) or 'none'}",
        highlight=False,
    )
    return result
