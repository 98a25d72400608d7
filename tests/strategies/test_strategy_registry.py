"""Discovery of built-ins, user files (AITRADER_STRATEGY_PATH / ./user_strategies) and clashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from aitrader.core.errors import StrategyError
from aitrader.strategies import registry
from aitrader.strategies.base import Strategy

BUILTINS = {
    "ema_cross",
    "trend_adx",
    "mean_reversion",
    "macd_momentum",
    "donchian_breakout",
    "vwap_reversion",
    "squeeze",
}

USER_FILE = '''
from aitrader.strategies import Param, Signals, Strategy
from aitrader.strategies.events import crossed_above, crossed_below


class CloseOverOpen(Strategy):
    """Toy user strategy for the registry tests."""

    name = "{name}"
    description = "close crosses the open"
    params = (Param("lag", "int", 1, low=1, high=5),)

    @property
    def warmup(self) -> int:
        return 1

    def compute(self, candles, informative=None):
        return Signals.from_events(
            crossed_above(candles.close, candles.open), crossed_below(candles.close, candles.open)
        )
'''


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(registry.ENV_PATH, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./user_strategies unless a test makes one


def test_builtins_are_available() -> None:
    found = registry.discover()
    assert set(found) >= BUILTINS
    assert all(found[n].source == "builtin" for n in BUILTINS)
    assert all(issubclass(c, Strategy) for c in registry.available().values())


def test_create_validates_params() -> None:
    s = registry.create("ema_cross", {"fast": 9, "slow": 21})
    assert s.p["fast"] == 9
    with pytest.raises(StrategyError, match="slow"):
        registry.create("ema_cross", {"slow": 1000})
    with pytest.raises(StrategyError, match=r"unknown strategy 'nope'.*ema_cross"):
        registry.get("nope")


def test_user_dir_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    d = tmp_path / "mine"
    d.mkdir()
    (d / "close_open.py").write_text(USER_FILE.format(name="close_open"))
    monkeypatch.setenv(registry.ENV_PATH, str(d))
    entry = registry.discover()["close_open"]
    assert entry.source == str(d / "close_open.py")
    assert registry.create("close_open", {"lag": 2}).p["lag"] == 2


def test_local_user_strategies_folder(tmp_path: Path) -> None:
    d = tmp_path / "user_strategies"
    d.mkdir()
    (d / "x.py").write_text(USER_FILE.format(name="local_one"))
    assert "local_one" in registry.available()


def test_name_clash_names_both_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    d = tmp_path / "clash"
    d.mkdir()
    (d / "dupe.py").write_text(USER_FILE.format(name="ema_cross"))
    monkeypatch.setenv(registry.ENV_PATH, str(d))
    with pytest.raises(StrategyError, match=r"'ema_cross' is defined twice: in builtin and in .*dupe\.py"):
        registry.available()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("def broken(:\n", r"broken\.py \(line 1\) failed to load: SyntaxError"),
        ("raise RuntimeError('boom')\n", r"broken\.py failed to load: RuntimeError: boom"),
        (USER_FILE.format(name="has space"), r"broken\.py: strategy name 'has space' must be an identifier"),
    ],
)
def test_bad_user_file_names_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, body: str, message: str
) -> None:
    d = tmp_path / "bad"
    d.mkdir()
    (d / "broken.py").write_text(body)
    monkeypatch.setenv(registry.ENV_PATH, str(d))
    with pytest.raises(StrategyError, match=message):
        registry.available()


def test_missing_env_dir_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(registry.ENV_PATH, str(tmp_path / "absent"))
    with pytest.raises(StrategyError, match="not a directory"):
        registry.available()


def _install_plugin(root: Path, target: str, name: str = "plugin_one") -> None:
    """A real installed distribution (a .dist-info with entry_points.txt) on sys.path: what `pip
    install` of a package declaring `[project.entry-points."aitrader.strategies"]` leaves behind."""
    pkg = root / "aitrader_plugin_pkg"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(USER_FILE.format(name=name) + "\nNOT_A_STRATEGY = 42\n")
    info = root / "aitrader_plugin_pkg-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: aitrader-plugin-pkg\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{name} = {target}\n")


def test_entry_point_plugins_are_discovered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _install_plugin(tmp_path / "site", "aitrader_plugin_pkg:CloseOverOpen")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    entry = registry.discover()["plugin_one"]
    assert entry.source == "entry point plugin_one (aitrader_plugin_pkg:CloseOverOpen)"
    assert registry.create("plugin_one", {"lag": 3}).p["lag"] == 3


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("aitrader_plugin_pkg:NOT_A_STRATEGY", "is not a Strategy subclass"),
        ("aitrader_plugin_pkg:Missing", "failed to load: AttributeError"),
        ("no_such_module_xyz:Thing", "failed to load: ModuleNotFoundError"),
    ],
)
def test_broken_entry_point_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, target: str, problem: str
) -> None:
    _install_plugin(tmp_path / "site", target, name="broken_one")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(StrategyError, match=rf"entry point broken_one \({target}\) {problem}"):
        registry.discover()
