"""bench/data.py: a figure that misses its target is printed SLOW and makes the exit code non-zero."""

from __future__ import annotations

import sys
import time
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from bench_scripts import load_bench
from shared_data import SHARED

ROWS = ["--rows", "10000", "--runs", "1"]  # small: the figures are not the point here, the verdicts are

needs_generator = pytest.mark.skipif(
    not (SHARED / "bench" / "gen_data.py").is_file(), reason=f"no {SHARED}/bench/gen_data.py"
)


def _bench() -> ModuleType:
    return load_bench("data")


def test_line_says_whether_the_target_was_met(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    assert bench.line("fast", 0.05, 0.1) is True
    assert bench.line("slow", 0.15, 0.1) is False
    assert bench.line("untimed", 9.0) is True
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("OK") and out[1].endswith("SLOW") and "target" not in out[2]


def _with_peak_rss(bench: ModuleType, mb: float) -> ModuleType:
    """The bench as if this process peaked at `mb` (pytest's own footprint is not the bench's)."""
    rusage = SimpleNamespace(ru_maxrss=int(mb * 1024))  # KiB on Linux
    bench.resource = SimpleNamespace(RUSAGE_SELF=0, getrusage=lambda _who: rusage)
    return bench


@pytest.fixture
def small_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AITRADER_SHARED", str(SHARED))
    monkeypatch.setattr(sys, "argv", ["data.py", *ROWS])


@needs_generator
@pytest.mark.usefixtures("small_run")
def test_main_exits_0_when_every_target_is_met(capsys: pytest.CaptureFixture[str]) -> None:
    assert _with_peak_rss(_bench(), 200).main() == 0
    out = capsys.readouterr().out
    assert "SLOW" not in out and "HIGH" not in out and out.count("OK") == 5


@needs_generator
@pytest.mark.usefixtures("small_run")
def test_main_exits_1_when_a_time_target_is_missed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import aitrader.data.csv_io as csv_io

    real = csv_io.read_ohlcv_csv

    def slow_read(*a: Any, **k: Any) -> Any:
        time.sleep(1.05)  # over the 1 s CSV read target
        return real(*a, **k)

    monkeypatch.setattr(csv_io, "read_ohlcv_csv", slow_read)
    assert _with_peak_rss(_bench(), 200).main() == 1
    out = capsys.readouterr().out
    assert "CSV read (best)" in out and "SLOW" in out
    assert "resample 1m -> 5m" in out  # a miss does not cut the run short: every figure is printed


@needs_generator
@pytest.mark.usefixtures("small_run")
def test_main_exits_1_when_peak_rss_is_over_its_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert _with_peak_rss(_bench(), 600).main() == 1
    assert "HIGH" in capsys.readouterr().out
