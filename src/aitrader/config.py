"""Configuration: one pydantic-settings model, loaded from a YAML file plus `AITRADER_*` overrides.

Precedence (highest first): environment (`AITRADER_RISK__MAX_OPEN_POSITIONS=3`, nested with `__`),
the YAML file, the defaults below. Secrets never live in the file: exchange keys and bot tokens come
from the environment (`AITRADER_SECRET_*` / `AITRADER_TELEGRAM_TOKEN`) and, later, the vault.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from aitrader.core.errors import AitraderError, ConfigError
from aitrader.core.time import timeframe_to_ms

_SECRET_KEY_RE = re.compile(r"(^|_)(secret|password|passphrase|token|apikey|api_key|private_key)$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    datadir: Path = Path("var/data")
    timeframe: str = "5m"
    # per-pair close-to-close jump threshold (fraction) that `data check` and the live cache flag;
    # pairs not listed derive theirs from their own volatility (k robust sigmas).
    outlier_jump: dict[str, float] = Field(default_factory=dict)
    outlier_sigmas: float = Field(default=8.0, gt=0)
    stale_after_ms: int = Field(default=0, ge=0, description="0 = three candle intervals")
    # per stream (ohlcv, ticker, book) overrides of stale_after_ms, e.g. {book: 30000}
    stale_after_ms_per_stream: dict[str, int] = Field(default_factory=dict)
    # paper/live sessions also stream each pair's ticker and top-`book_depth` order book; when
    # streamed, a silent ticker or book blocks new entries like silent candles do
    stream_ticker: bool = True
    stream_book: bool = True
    book_depth: int = Field(default=10, ge=1, le=1000)
    # paper/live sessions merge their closed candles into the history store (datadir) this often and
    # at shutdown, so retraining and backtests see them; 0 = never
    record_history_ms: int = Field(default=300_000, ge=0)

    @field_validator("stale_after_ms_per_stream")
    @classmethod
    def _streams(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(v) - {"ohlcv", "ticker", "book"})
        if unknown:
            raise ValueError(f"unknown streams {unknown} (expected ohlcv, ticker, book)")
        bad = sorted(k for k, ms in v.items() if ms <= 0)
        if bad:
            raise ValueError(f"thresholds must be positive milliseconds: {bad}")
        return v

    @field_validator("timeframe")
    @classmethod
    def _tf(cls, v: str) -> str:
        try:
            timeframe_to_ms(v)
        except AitraderError as e:
            raise ValueError(str(e)) from None
        return v


class ExchangeConfig(_Section):
    name: str = "kraken"
    pairs: list[str] = Field(default_factory=lambda: ["ETH/BTC"])
    sandbox: bool = False
    api_url: str | None = Field(default=None, description="override the REST base URL (our simulator)")
    ws_url: str | None = None
    rate_limit_ms: int | None = Field(default=None, ge=0)


class StrategyRef(_Section):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    weight: float = Field(default=1.0, ge=0)
    timeframe: str | None = None


class ConfluenceConfig(_Section):
    min_confidence: float = Field(default=0.35, ge=0, le=1)
    stop_atr: float = Field(default=2.0, gt=0)
    take_atr: float = Field(default=3.0, gt=0)
    atr_period: int = Field(default=14, ge=2)
    higher_timeframe: str | None = "1h"
    use_orderbook: bool = True
    # live path: one strategy's streaming update over this many ms is dropped for that candle (as if
    # it said nothing), counted in aitrader_strategy_timeouts_total and named in the decision's
    # reasons; every update's time goes to aitrader_strategy_runtime_seconds. None: unbounded and
    # untimed. Backtests compute vectorised over the whole history and are not bounded by it.
    strategy_budget_ms: float | None = Field(default=250.0, gt=0)


class RiskConfig(_Section):
    risk_per_trade: Decimal = Field(default=Decimal("0.01"), gt=0, le=Decimal("0.2"))
    kelly_cap: bool = True
    kelly_min_trades: int = Field(default=30, ge=5)
    # with no measured edge (Kelly <= 0) entries are not refused forever (the statistics could then
    # never recover): they are capped at this fraction of equity as notional; 0 refuses them instead.
    kelly_floor: Decimal = Field(default=Decimal("0.02"), ge=0, le=1)
    max_open_positions: int = Field(default=5, ge=1)
    max_exposure_per_pair: Decimal = Field(default=Decimal("0.25"), gt=0, le=1)
    max_total_exposure: Decimal = Field(default=Decimal("1.0"), gt=0, le=5)
    daily_loss_limit: Decimal = Field(default=Decimal("0.05"), gt=0, le=1)
    max_drawdown: Decimal = Field(default=Decimal("0.2"), gt=0, le=1)


class BacktestConfig(_Section):
    starting_balance: Decimal = Field(default=Decimal("10000"), gt=0)
    quote_currency: str | None = None
    maker_fee: Decimal = Field(default=Decimal("0.0016"), ge=0, lt=Decimal("0.1"))
    taker_fee: Decimal = Field(default=Decimal("0.0026"), ge=0, lt=Decimal("0.1"))
    slippage_bps: Decimal = Field(default=Decimal("2"), ge=0)
    slippage_volume_impact: Decimal = Field(default=Decimal("0.1"), ge=0)
    max_volume_share: Decimal = Field(default=Decimal("0.25"), gt=0, le=1)
    trailing_stop: Decimal | None = Field(default=None, gt=0, lt=1)


class ExecutionConfig(_Section):
    # market: entries buy at the next open (the reference behaviour). limit: entries rest as limit buys
    # entry_limit_offset_bps below the decision's close; one not filled within limit_entry_timeout_ms
    # is cancelled and re-priced at the then last close, at most limit_entry_max_replaces times; a
    # partly filled one keeps (and protects) what it bought
    entry_order: Literal["market", "limit"] = "market"
    entry_limit_offset_bps: Decimal = Field(default=Decimal("0"), ge=0, le=1000)
    limit_entry_timeout_ms: int = Field(default=60_000, ge=1000)
    limit_entry_max_replaces: int = Field(default=2, ge=0, le=100)
    # when set, a limit entry also asks the venue to expire it this long after its timeout (Kraken:
    # GTD), so an entry left resting by a stopped process does not fill hours later; None: off
    limit_entry_venue_expiry_ms: int | None = Field(default=None, ge=1000)
    take_profit_with_limit: bool = False
    reconcile_interval_ms: int = Field(default=60_000, ge=1000)


class StorageConfig(_Section):
    url: str = "sqlite:///var/aitrader.db"
    retention_days: int = Field(default=90, ge=1)
    # a paper/live session deletes decisions, metrics and equity snapshots older than retention_days
    # of its market time this often (never orders, fills, ledger, positions or audit)
    retention_interval_ms: int = Field(default=3_600_000, ge=60_000)


class ApiConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    cors_origins: list[str] = Field(default_factory=list)
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    token_ttl_s: int = Field(default=900, ge=60)
    rate_limit_per_minute: int = Field(default=600, ge=1)
    max_body_bytes: int = Field(default=65_536, ge=1024)


class TelegramConfig(_Section):
    enabled: bool = False
    allowed_chat_ids: list[int] = Field(default_factory=list)
    base_url: str | None = None


class MLConfig(_Section):
    """The ML entry gate and how its models are trained; `aitrader ml train` options default to these,
    so a scheduled retrain and a hand-run one train the same way."""

    enabled: bool = False
    threshold: float = Field(default=0.55, ge=0, le=1)
    on_failure: Literal["gate_closed", "gate_bypassed"] = "gate_closed"
    horizon: int = Field(default=12, ge=1)
    registry: Path = Path("var/models")
    label: Literal["forward", "triple_barrier"] = "forward"
    model: Literal["hgb", "lightgbm"] = "hgb"
    folds: int = Field(default=4, ge=1)
    # walk-forward guards in bars: training samples whose label is known within purge_bars of a test
    # fold's start, or decided within embargo_bars of it, are dropped
    purge_bars: int = Field(default=0, ge=0)
    embargo_bars: int = Field(default=12, ge=0)
    max_iter: int = Field(default=200, ge=1)
    retrain_interval_ms: int = Field(default=7 * 24 * 3_600_000, ge=60_000)
    promote: Literal["never", "always", "if_better"] = "never"


class Settings(BaseSettings):
    """Everything aitrader can be told. Unknown keys are errors, so typos never pass silently."""

    model_config = SettingsConfigDict(
        env_prefix="AITRADER_", env_nested_delimiter="__", extra="forbid", validate_assignment=True
    )

    mode: Literal["backtest", "paper", "live"] = "paper"
    tenant: str = "default"
    data: DataConfig = Field(default_factory=DataConfig)
    exchange: ExchangeConfig = Field(default_factory=ExchangeConfig)
    strategies: list[StrategyRef] = Field(
        default_factory=lambda: [
            StrategyRef(name=n)
            for n in ("ema_cross", "trend_adx", "mean_reversion", "macd_momentum", "donchian_breakout")
        ]
    )
    confluence: ConfluenceConfig = Field(default_factory=ConfluenceConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    ml: MLConfig = Field(default_factory=MLConfig)

    @model_validator(mode="before")
    @classmethod
    def _no_secrets_in_file(cls, data: Any) -> Any:
        if isinstance(data, dict):
            found = _find_secret_keys(data)
            if found:
                raise ValueError(
                    "secrets must not be in the config file (use environment variables): " + ", ".join(found)
                )
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # environment beats the file (passed as init kwargs), so operators can override one value
        return (env_settings, init_settings)


def _find_secret_keys(data: dict[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if _SECRET_KEY_RE.search(str(key).lower().replace("-", "_")):
            out.append(path)
        if isinstance(value, dict):
            out.extend(_find_secret_keys(value, path + "."))
    return out


def format_validation_error(err: ValidationError) -> list[str]:
    """One line per problem: `risk.max_open_positions: Input should be greater than or equal to 1`."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(root)"
        lines.append(f"{loc}: {e['msg']}")
    return lines


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping of settings, got {type(raw).__name__}")
    return raw


def _without(data: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """A copy of `data` without the keys at these dotted paths."""
    out = dict(data)
    for path in paths:
        node: Any = out
        *parents, last = path.split(".")
        for key in parents:
            child = node.get(key) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                break
            node[key] = child = dict(child)
            node = child
        else:
            node.pop(last, None)
    return out


def _validate(data: dict[str, Any]) -> tuple[Settings | None, list[str]]:
    """Every problem at once: secret keys in the file are reported by path (not as the first and only
    error), and the rest of the file is still validated without them."""
    secrets = _find_secret_keys(data)
    problems = [
        f"{p}: secrets must not be in the config file (use AITRADER_SECRET_* environment variables)"
        for p in secrets
    ]
    try:
        settings = Settings(**_without(data, secrets))
    except ValidationError as e:
        return None, problems + format_validation_error(e)
    return (None if problems else settings), problems


def check_config(path: Path | None) -> list[str]:
    """All problems of a config file (plus environment overrides); empty when valid."""
    try:
        data = read_yaml(path) if path else {}
    except ConfigError as e:
        return [str(e)]
    return _validate(data)[1]


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Load and validate; raises ConfigError whose message lists every problem with its field path."""
    data = read_yaml(path) if path else {}
    data.update(overrides)
    settings, problems = _validate(data)
    if settings is None:
        where = f"{path}: " if path else ""
        raise ConfigError(f"{where}invalid configuration: " + "; ".join(problems))
    return settings
