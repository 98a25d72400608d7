"""Root of the test tree. Its presence puts tests/ on sys.path (pytest's prepend import mode), so test
modules can import shared helpers such as `shared_data`."""

from __future__ import annotations

import os

import pytest

from aitrader import native

# CI sets these: there a skipped PostgreSQL or browser test is a failure, not a quiet green (a
# developer machine without PostgreSQL or chromium still skips them, with the reason).
_REQUIRED = {
    "postgres": "AITRADER_REQUIRE_PG",
    "browser": "AITRADER_REQUIRE_BROWSER",
}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if not report.skipped:
        return
    for marker, env in _REQUIRED.items():
        if os.environ.get(env) == "1" and item.get_closest_marker(marker) is not None:
            report.outcome = "failed"
            report.longrepr = f"{item.nodeid}: skipped, but {env}=1 requires it to run ({report.longrepr})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `interpreted` patch methods of engine classes, which compiled classes refuse: with the
    compiled core active they are skipped here, and `tests/test_native.py` runs them interpreted."""
    if not native.STATE.active:
        return
    skip = pytest.mark.skip(reason="patches engine code: run interpreted by tests/test_native.py")
    for item in items:
        if item.get_closest_marker("interpreted") is not None:
            item.add_marker(skip)
