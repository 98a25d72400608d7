"""The dashboard end to end in headless Chromium: login, a live update arriving, pausing trading,
and a read-only key that cannot trigger a control. The app runs under uvicorn on loopback over a
seeded SQLite database; the engine side of the command queue is `api_engine.CommandConsumer`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_rig import ServedApp, build_rig
from api_seed import ALPHA, add_live_equity

from aitrader.core.commands import PauseEntries
from aitrader.core.time import now_ms

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} absent (apt-get install chromium)"),
]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _login(page: object, url: str, key: str) -> None:
    page.goto(url + "/")  # type: ignore[attr-defined]
    page.fill("#login-key", key)  # type: ignore[attr-defined]
    page.click("#login-submit")  # type: ignore[attr-defined]
    page.wait_for_selector("#dash:not([hidden])", timeout=10_000)  # type: ignore[attr-defined]


def test_login_live_update_and_pause(browser: object, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    rig = build_rig(tmp_path, live_interval_s=0.5)
    with ServedApp(rig) as served:
        ctx = browser.new_context()  # type: ignore[attr-defined]
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, served.url, rig.keys["control"])
        errors.clear()  # the 401 of /auth/me before login is expected
        # the key is gone from the page and not in storage; the session cookie is HttpOnly
        assert page.input_value("#login-key") == ""
        assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
        assert page.evaluate("() => document.cookie") == ""
        expect(page.locator("#positions tbody tr")).to_have_count(2)
        expect(page.locator("#positions")).to_contain_text("63010.1")
        expect(page.locator("#decisions")).to_contain_text("ema 12 crossed above ema 26")
        # a live update arrives: the engine writes new equity, the page shows it without reload
        seq0 = int(page.get_attribute("#live-state", "data-seq") or "0")
        add_live_equity(rig.db, ALPHA, now_ms(), "12345.67")
        expect(page.locator("#kpi-equity")).to_contain_text("12345.67", timeout=10_000)
        assert int(page.get_attribute("#live-state", "data-seq") or "0") > seq0
        # pause trading through the confirmation dialog
        page.click("#btn-pause")
        expect(page.locator("#confirm-dialog")).to_be_visible()
        page.click("#confirm-ok")
        expect(page.locator("#action-result")).to_contain_text("pause_entries: done")
        expect(page.locator("#engine-state")).to_contain_text("entries paused")
        assert served.consumer is not None
        assert [type(c) for c in served.consumer.received] == [PauseEntries]
        assert served.consumer.received[0].tenant_id == ALPHA
        # no CSP violations or script errors on the way
        assert not errors, errors
        ctx.close()


def test_read_only_key_cannot_act(browser: object, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    rig = build_rig(tmp_path)
    with ServedApp(rig) as served:
        ctx = browser.new_context()  # type: ignore[attr-defined]
        page = ctx.new_page()
        _login(page, served.url, rig.keys["read"])
        expect(page.locator("#who")).to_contain_text("read key")
        expect(page.locator("#controls")).to_be_hidden()
        assert page.locator("#btn-kill").is_disabled()
        expect(page.locator("#positions button")).to_have_count(0)
        # forcing the request from the page (session cookie + CSRF header) is refused by the server
        status = page.evaluate(
            """async () => (await fetch('/api/v1/control/kill-switch',
                 {method: 'POST', headers: {'X-Aitrader-Csrf': '1'}})).status"""
        )
        assert status == 403
        assert served.consumer is not None and served.consumer.received == []
        ctx.close()
