import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aitrader import __version__
from aitrader.cli.main import app

runner = CliRunner()


def test_version() -> None:
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0
    assert __version__ in r.output


def test_config_check_exit_codes(tmp_path: Path) -> None:
    good = Path(__file__).resolve().parents[2] / "config.example.yaml"
    assert runner.invoke(app, ["config", "check", str(good)]).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("api:\n  port: 99999\n")
    r = runner.invoke(app, ["config", "check", str(bad)])
    assert r.exit_code == 1
    assert "api.port" in r.output



def test_config_check_validates_strategy_names_and_params_by_path(tmp_path: Path) -> None:
    cfg = tmp_path / "strategies.yaml"
    cfg.write_text(
        "strategies:\n"
        "  - name: nosuch\n"
        "  - name: ema_cross\n"
        "    params: {bogus: 1, fast: 0}\n"
        "  - name: ema_cross\n"
        "    params: {fast: 50, slow: 20}\n"
        "  - name: ema_cross\n"
        "    params: {fast: 5, slow: 30}\n"
    )
    r = runner.invoke(app, ["config", "check", str(cfg)])
    assert r.exit_code == 1, r.output
    lines = [line for line in r.output.splitlines() if line.startswith("✗")]
    assert len(lines) == 4, r.output
    assert "strategies.0.name: unknown strategy 'nosuch'" in lines[0] and "ema_cross" in lines[0]
    assert "strategies.1.params.bogus: unknown parameter" in lines[1] and "fast, slow" in lines[1]
    assert "strategies.1.params.fast: 0 is outside [2, 100]" in lines[2]
    assert "strategies.2.params:" in lines[3] and "below slow" in lines[3]  # Strategy.validate
    assert "strategies.3" not in r.output


def test_config_check_reports_strategy_problems_beside_other_errors(tmp_path: Path) -> None:
    cfg = tmp_path / "both.yaml"
    cfg.write_text("api:\n  port: 99999\nstrategies:\n  - name: nosuch\n  - {name: ema_cross, weight: -1}\n")
    r = runner.invoke(app, ["config", "check", str(cfg)])
    assert r.exit_code == 1
    assert "api.port" in r.output and "strategies.0.name: unknown strategy 'nosuch'" in r.output
    assert "strategies.1.weight" in r.output


def test_config_check_accepts_valid_strategy_params(tmp_path: Path) -> None:
    cfg = tmp_path / "ok.yaml"
    cfg.write_text("strategies:\n  - name: ema_cross\n    params: {fast: 5, slow: 30}\n")
    r = runner.invoke(app, ["config", "check", str(cfg)])
    assert r.exit_code == 0, r.output
    assert "is valid" in r.output

def test_domain_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("risk: [1,\n")
    p = subprocess.run(
        [sys.executable, "-m", "aitrader.cli.main", "config", "show", str(bad)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert p.stderr.strip().startswith("error:")
    assert len(p.stderr.strip().splitlines()) == 1


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aitrader.cli.main", *args], capture_output=True, text=True, env=_env()
    )


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "COLUMNS": "80"}


def test_usage_errors_are_one_line_with_the_command_to_ask_for_help() -> None:
    for args, needle, helps in (
        (("data", "import", "--bogus"), "No such option: --bogus", "aitrader data import --help"),
        (("bogus",), "No such command 'bogus'", "aitrader --help"),
        (("config", "check"), "Missing argument", "aitrader config check --help"),
    ):
        p = _cli(*args)
        assert p.returncode == 2, (args, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), (args, p.stderr)
        assert needle in lines[0] and helps in lines[0]


def test_debug_works_after_the_command_and_shows_the_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("risk: [1,\n")
    quiet = _cli("config", "show", str(bad))
    loud = _cli("config", "show", str(bad), "--debug")
    assert "Traceback" not in quiet.stderr and quiet.returncode == 2
    assert "Traceback" in loud.stderr and "ConfigError" in loud.stderr and loud.returncode != 0


def test_help_lists_every_command() -> None:
    p = _cli("--help")
    assert p.returncode == 0
    for command in ("config", "data", "strategy", "backtest", "hyperopt", "run", "api", "keys", "ml", "demo"):
        assert f" {command} " in p.stdout, command


def test_data_commands_default_to_the_configs_datadir(tmp_path: Path) -> None:
    import json

    from shared_data import SHARED

    ohlcv_dir = SHARED / "data" / "ohlcv"

    store = tmp_path / "from-config"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data:\n  datadir: {store}\n")
    src = ohlcv_dir / "bittrex_ETH_BTC-5m.csv"
    assert runner.invoke(app, ["data", "import", str(src), "--config", str(cfg)]).exit_code == 0
    assert any(store.rglob("*.parquet"))
    r = runner.invoke(app, ["data", "list", "--json", "--config", str(cfg)])
    assert r.exit_code == 0
    assert [(d["pair"], d["timeframe"]) for d in json.loads(r.output)] == [("ETH/BTC", "5m")]
    elsewhere = runner.invoke(app, ["data", "list", "--json", "--datadir", str(tmp_path / "empty")])
    assert "ETH/BTC" not in elsewhere.output  # --datadir beats the config


def test_run_refuses_a_public_api_bind_without_tls(tmp_path: Path) -> None:
    cfg = tmp_path / "public.yaml"
    cfg.write_text("api:\n  host: 0.0.0.0\n")
    p = subprocess.run(
        [sys.executable, "-m", "aitrader.cli.main", "run", "--mode", "paper", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    line = p.stderr.strip()
    assert line.startswith("error:") and "without TLS" in line and "--insecure-public" in line
    assert "session" not in p.stdout  # refused before anything started


def test_an_unexpected_error_is_one_line_and_exits_2_like_every_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aitrader.cli import main as cli_main

    def boom(**_: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cli_main, "app", boom)
    monkeypatch.setattr(sys, "argv", ["aitrader", "data", "list"])
    with pytest.raises(SystemExit) as exited:
        cli_main.run()
    assert exited.value.code == 2  # README: errors are one line, exit code 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "RuntimeError: disk on fire" in err and "--debug" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_import_names_every_file_name_form_it_accepts(tmp_path: Path) -> None:
    odd = tmp_path / "ethbtc.csv"
    odd.write_text("timestamp,open,high,low,close,volume\n")
    p = _cli("data", "import", str(odd), "--datadir", str(tmp_path / "store"))
    assert p.returncode == 2
    line = " ".join(p.stderr.split())  # rich may wrap the one line at the terminal width
    assert "ethbtc.csv: file name not understood" in line
    forms = ("<exchange>_<BASE>_<QUOTE>-<tf>.csv", "_<SETTLE>-<tf>-futures.csv", "-<tf>-mark.csv", ".csv.gz")
    for form in forms:
        assert form in line, form
