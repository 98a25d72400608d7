"""download_ohlcv against the Kraken simulator replaying real candles, into the real HistoryStore."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from aitrader.core.errors import DataError, ExchangeError
from aitrader.core.symbols import parse_dataset_name
from aitrader.data.csv_io import read_ohlcv_csv
from aitrader.data.download import Retrier, download_ohlcv, download_symbol, kind_of
from aitrader.data.store import HistoryStore
from aitrader.venues.ccxt_factory import make_exchange
from aitrader.venues.simulator import KrakenSimulator, Series, load_series

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "aitrader" / "sample_data" / "ohlcv"
CSV = SAMPLES / "bittrex_ETH_BTC-5m.csv"
PERP_CSV = SAMPLES / "binance_BTC_USDT_USDT-5m-futures.csv"
FAST = {"rate_limit_ms": 5, "backoff_base_s": 0.01, "backoff_max_s": 0.05}


@pytest.fixture(scope="module")
def series() -> Series:
    return load_series(CSV)


@pytest.fixture
def sim(series: Series) -> Iterator[KrakenSimulator]:
    s = KrakenSimulator([series], start_ms=series.ts[-1] + series.tf_ms)  # every candle closed
    with s.running():
        yield s


def _assert_equals_source(store: HistoryStore, series: Series, n: int) -> None:
    got = store.read("kraken", "ETH/BTC", "5m")
    rows = series.rows[:n]
    assert len(got) == n
    assert np.array_equal(got.ts, np.array([r.ts for r in rows], dtype=np.int64))
    for name in ("open", "high", "low", "close", "volume"):
        want = np.array([float(getattr(r, name)) for r in rows])
        assert np.array_equal(getattr(got, name), want), name


def _ohlc_calls(sim: KrakenSimulator) -> list[dict[str, str]]:
    return [q for _, api, method, q in sim.requests if method == "OHLC"]


def test_full_download_equals_the_source_rows(sim: KrakenSimulator, series: Series, tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    seen: list[tuple[str, int, int]] = []
    added = download_ohlcv(
        "kraken", ["ETH/BTC"], "5m", series.ts[0], None, store, sim.base_url,
        lambda *a: seen.append(a), **FAST,
    )  # fmt: skip
    assert added == {"ETH/BTC": len(series)}
    _assert_equals_source(store, series, len(series))
    calls = _ohlc_calls(sim)
    assert len(calls) >= len(series) // 720  # paginated: Kraken gives at most 720 a call
    sinces = [int(q["since"]) for q in calls]
    assert sinces == sorted(sinces) and len(set(sinces)) == len(sinces)  # `since` always advanced
    assert seen[-1] == ("ETH/BTC", len(series), len(series))


def test_drops_the_forming_candle_and_resumes_with_new_rows_only(series: Series, tmp_path: Path) -> None:
    fresh = KrakenSimulator([series], start_ms=series.ts[1000] + 60_000)  # candle 1000 is forming
    with fresh.running():
        store = HistoryStore(tmp_path)
        first = download_ohlcv("kraken", ["ETH/BTC"], "5m", series.ts[0], None, store, fresh.base_url, **FAST)
        assert first == {"ETH/BTC": 1000}
        assert store.last_ts("kraken", "ETH/BTC", "5m") == series.ts[999]
        _assert_equals_source(store, series, 1000)
        fresh.advance_to(series.ts[-1] + series.tf_ms)
        fresh.requests.clear()
        second = download_ohlcv(
            "kraken", ["ETH/BTC"], "5m", series.ts[0], None, store, fresh.base_url, **FAST
        )
        assert second == {"ETH/BTC": len(series) - 1000}
        first_since = int(_ohlc_calls(fresh)[0]["since"]) * 1000
        assert first_since >= series.ts[999] - series.tf_ms  # resumed, did not start over
        _assert_equals_source(store, series, len(series))
        # nothing new: a third run fetches nothing and adds nothing
        assert download_ohlcv(
            "kraken", ["ETH/BTC"], "5m", series.ts[0], None, store, fresh.base_url, **FAST
        ) == {"ETH/BTC": 0}


def test_until_bounds_the_download(sim: KrakenSimulator, series: Series, tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    got = download_ohlcv(
        "kraken", ["ETH/BTC"], "5m", series.ts[10], series.ts[1500], store, sim.base_url, **FAST
    )
    assert got == {"ETH/BTC": 1490}
    data = store.read("kraken", "ETH/BTC", "5m")
    assert data.ts[0] == series.ts[10] and data.ts[-1] == series.ts[1499]


def test_survives_a_burst_of_429s_and_5xx(sim: KrakenSimulator, series: Series, tmp_path: Path) -> None:
    store = HistoryStore(tmp_path)
    sim.faults.burst("http_429", 4)
    sim.faults.burst("http_5xx", 2)
    added = download_ohlcv("kraken", ["ETH/BTC"], "5m", series.ts[0], None, store, sim.base_url, **FAST)
    assert added == {"ETH/BTC": len(series)}
    assert sim.faults.counts == {"http_429": 4, "http_5xx": 2}
    _assert_equals_source(store, series, len(series))


def test_gives_up_after_bounded_retries(sim: KrakenSimulator, series: Series, tmp_path: Path) -> None:
    sim.faults.burst("http_429", 1000)
    with pytest.raises(ExchangeError, match="giving up after 4 attempts"):
        download_ohlcv("kraken", ["ETH/BTC"], "5m", series.ts[0], None, HistoryStore(tmp_path), sim.base_url,
                       max_retries=3, **{**FAST, "rate_limit_ms": 1})  # fmt: skip
    assert sim.faults.counts["http_429"] == 4


def test_respects_the_rate_limit(sim: KrakenSimulator, series: Series, tmp_path: Path) -> None:
    download_ohlcv("kraken", ["ETH/BTC"], "5m", series.ts[0], series.ts[3000], HistoryStore(tmp_path),
                   sim.base_url, rate_limit_ms=150)  # fmt: skip
    times = [t for t, _, method, _ in sim.requests if method in ("OHLC", "Time", "AssetPairs", "Assets")]
    gaps = np.diff(times)
    assert len(gaps) >= 5
    assert gaps.min() >= 0.15 * 0.9  # ccxt's throttle spaced the calls (OHLC costs 1.2)


def test_kind_of_follows_the_import_rule() -> None:
    assert kind_of("BTC/USDT:USDT") == "futures"
    assert kind_of("ETH/BTC") == "spot"
    # the same kind `data import` gives the perpetual's file
    assert parse_dataset_name(PERP_CSV).kind == kind_of(parse_dataset_name(PERP_CSV).symbol) == "futures"
    with pytest.raises(DataError):
        kind_of("BTCUSDT")


def test_a_perpetual_is_stored_and_resumed_as_futures_like_import(tmp_path: Path) -> None:
    """Half a perp CSV imported as `data import` does, the rest downloaded: one futures dataset.

    The Kraken simulator replays the perp's candles as spot BTC/USDT; the real ccxt client is told
    the perpetual `BTC/USDT:USDT` is that market, so the download path runs over real HTTP.
    """
    perp = load_series(PERP_CSV)
    n = 2000
    name = parse_dataset_name(PERP_CSV)
    store = HistoryStore(tmp_path)
    imported = read_ohlcv_csv(PERP_CSV)
    # the first half as `data import` stores it
    store.write("kraken", name.symbol, name.timeframe, imported.slice(0, n // 2), kind=name.kind)
    sim = KrakenSimulator([perp], start_ms=perp.ts[-1] + perp.tf_ms)
    with sim.running():
        ex = make_exchange("kraken", api_url=sim.base_url, options={"rateLimit": 5})
        ex.load_markets()
        spot = ex.markets["BTC/USDT"]
        alias = {**spot, "symbol": "BTC/USDT:USDT", "settle": "USDT", "settleId": "USDT",
                 "type": "swap", "spot": False, "swap": True, "contract": True}  # fmt: skip
        ex.set_markets([*ex.markets.values(), alias])
        added = download_symbol(ex, "kraken", "BTC/USDT:USDT", "5m", perp.ts[0], perp.ts[n], store,
                                Retrier(base_s=0.01, max_s=0.05))  # fmt: skip
        first_since = int(_ohlc_calls(sim)[0]["since"]) * 1000
    assert added == n - n // 2  # resumed from the imported futures candles, not from `since`
    assert first_since >= perp.ts[n // 2 - 1] - perp.tf_ms
    (only,) = store.datasets()  # one dataset: nothing landed as spot beside the imported futures
    assert (only.symbol, only.kind, only.rows) == ("BTC/USDT:USDT", "futures", n)
    assert not store.has("kraken", "BTC/USDT:USDT", "5m")  # spot
    got = store.read("kraken", "BTC/USDT:USDT", "5m", kind="futures")
    assert np.array_equal(got.ts, imported.ts[:n])
    assert np.array_equal(got.close, imported.close[:n])
