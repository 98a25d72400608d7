from pathlib import Path

import pytest

from aitrader.config import check_config, load_settings
from aitrader.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_example_config_is_valid() -> None:
    assert check_config(ROOT / "config.example.yaml") == []


def test_every_problem_is_reported_with_its_path(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("risk:\n  max_open_positions: 0\n  bogus: 1\ndata:\n  timeframe: 7x\n")
    problems = check_config(f)
    assert any(p.startswith("risk.max_open_positions:") for p in problems)
    assert any(p.startswith("risk.bogus:") for p in problems)
    assert any(p.startswith("data.timeframe:") for p in problems)


def test_secrets_are_refused_in_the_file(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("exchange:\n  name: kraken\n  api_secret: hunter2\n")
    assert any("exchange.api_secret" in p for p in check_config(f))


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("risk:\n  max_open_positions: 2\n")
    assert load_settings(f).risk.max_open_positions == 2
    monkeypatch.setenv("AITRADER_RISK__MAX_OPEN_POSITIONS", "7")
    assert load_settings(f).risk.max_open_positions == 7


def test_malformed_yaml_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("risk: [1,\n")
    with pytest.raises(ConfigError) as e:
        load_settings(f)
    assert "invalid YAML at line" in str(e.value)
    assert "\n" not in str(e.value)


def test_a_secret_does_not_hide_the_other_problems(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(
        "exchange:\n  name: kraken\n  api_key: abc\ntelegram:\n  token: t\n"
        "data:\n  timeframe: 7x\nrisk:\n  max_open_positions: 0\n  bogus: 1\n"
    )
    problems = check_config(f)
    assert any(p.startswith("exchange.api_key: secrets must not be in the config file") for p in problems)
    assert any(p.startswith("telegram.token: secrets must not") for p in problems)
    for path in ("data.timeframe:", "risk.max_open_positions:", "risk.bogus:"):
        assert any(p.startswith(path) for p in problems), (path, problems)
    with pytest.raises(ConfigError) as e:
        load_settings(f)
    assert "exchange.api_key" in str(e.value) and "data.timeframe" in str(e.value)


def test_a_file_whose_only_problem_is_a_secret_does_not_load(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("exchange:\n  name: kraken\n  secret: s\n")
    assert check_config(f) == [
        "exchange.secret: secrets must not be in the config file"
        " (use AITRADER_SECRET_* environment variables)"
    ]
    with pytest.raises(ConfigError, match=r"exchange\.secret"):
        load_settings(f)
