"""Schemathesis over our published OpenAPI schema: no generated request may get a 5xx.

The app is the real one (uvicorn on loopback, seeded SQLite, real stored keys, the engine-side
command consumer answering control actions), so generated requests reach storage and the command
bus, not mocks. Each operation is fuzzed with schema-valid ("positive") and schema-violating
("negative") data, with an admin key (every route reachable) and a read key (control and admin
routes must refuse cleanly, never crash). 2xx answers must also match the schema they are declared
with. Examples are bounded and derandomised so the run is fast and reproducible.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from api_rig import Rig, ServedApp, build_rig
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

OPENAPI = "/api/v1/openapi.json"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Rig, ServedApp]]:
    rig = build_rig(tmp_path_factory.mktemp("schemathesis"))
    with ServedApp(rig) as app:
        yield rig, app


def _fuzz(
    url: str, headers: dict[str, str], positive: int, negative: int
) -> tuple[Counter[tuple[str, int]], list[str]]:
    """Status counts per operation, and every problem found (5xx or a 2xx off its schema).

    `positive` / `negative` bound the examples per operation; generating negative cases costs
    schemathesis far more than sending them, so that is the budget that keeps the test fast.
    """
    schema = schemathesis.openapi.from_url(url + OPENAPI, headers=headers)
    seen: Counter[tuple[str, int]] = Counter()
    problems: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()
        for mode, max_examples in ((GenerationMode.POSITIVE, positive), (GenerationMode.NEGATIVE, negative)):

            @settings(
                max_examples=max_examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=op.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                label = case.operation.label
                response = case.call(base_url=url, headers=headers, timeout=10)
                seen[(label, response.status_code)] += 1
                if response.status_code >= 500:
                    problems.append(
                        f"{response.status_code}: {case.as_curl_command()} -> {response.text[:200]}"
                    )
                elif response.status_code < 300:
                    try:
                        case.validate_response(
                            response,
                            checks=[response_schema_conformance, content_type_conformance],
                            headers=headers,
                        )
                    except Exception as e:  # schemathesis raises a failure group describing the mismatch
                        problems.append(f"{label}: 2xx off schema: {str(e)[:400]}")

            try:
                run()
            except Unsatisfiable:
                # nothing to negate: an operation without parameters or body has no invalid input
                assert mode is GenerationMode.NEGATIVE, op.label
    return seen, problems


def test_admin_key_finds_no_server_error(served: tuple[Rig, ServedApp]) -> None:
    rig, app = served
    seen, problems = _fuzz(app.url, {"Authorization": f"Bearer {rig.keys['admin']}"}, positive=12, negative=6)
    assert problems == []
    labels = {label for label, _ in seen}
    assert len(labels) >= 20, labels  # every documented operation was exercised
    codes = {code for _, code in seen}
    assert {200, 422} <= codes
    # the fuzzer reached real behaviour, not just validation: actions ran through the engine queue
    assert seen[("POST /api/v1/control/pause", 200)] >= 1
    assert seen[("GET /api/v1/candles", 404)] + seen[("GET /api/v1/candles", 200)] >= 1
    assert app.consumer is not None
    assert {type(c).__name__ for c in app.consumer.received} >= {"PauseEntries", "KillSwitch"}


def test_read_key_finds_no_server_error_and_cannot_act(served: tuple[Rig, ServedApp]) -> None:
    rig, app = served
    assert app.consumer is not None
    before = len(app.consumer.received)
    seen, problems = _fuzz(app.url, {"Authorization": f"Bearer {rig.keys['read']}"}, positive=3, negative=3)
    assert problems == []
    control = {code for (label, code), n in seen.items() if "/control/" in label or "/audit" in label}
    assert control <= {403, 422}, control  # refused (or the body was invalid), never run
    assert 403 in control
    assert seen[("GET /api/v1/status", 200)] >= 1
    assert len(app.consumer.received) == before  # no command reached the engine
