"""The Kraken simulator's public REST replies have the shape of recorded Kraken replies.

Compared against ccxt's static fixtures in `shared/data/exchange-fixtures/` (HTTP responses
recorded from api.kraken.com): the same keys at every level and the same JSON type of every field
(a price is a string, a time an integer, `last` of OHLC a string...), not the same values. A
simulator that drifts from Kraken's spelling fails here before it misleads a client.

Not compared, for want of a recorded response: `Time`. `AssetPairs` is checked in
`simulator/test_kraken_public.py` against ccxt's recorded markets (whose `info` has been through ccxt).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from aitrader.venues.simulator import KrakenSimulator, Series, load_series
from shared_data import SHARED

FIXTURES = SHARED / "data" / "exchange-fixtures"
# 1h candles (the interval the recorded OHLC call asks for), listed as Kraken's BTC/USDT (XBTUSDT)
CANDLES = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "aitrader"
    / "sample_data"
    / "ohlcv"
    / "unknown_XRP_USDT_USDT-1h-futures.csv"
)
PAIR = "XBTUSDT"


def shape(value: Any) -> Any:
    """The JSON structure of `value`: dicts keep their keys, lists their length, scalars become types."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__  # bool, int, float, str, NoneType (bool is not folded into int)


def _recorded(kind: str, method: str) -> list[dict[str, Any]]:
    path = FIXTURES / kind / "kraken.json"
    if not path.exists():
        pytest.skip(f"{path} not available")
    cases: list[dict[str, Any]] = json.loads(path.read_text())["methods"][method]
    return cases


def _get(sim: KrakenSimulator, path_and_query: str) -> Any:
    with urllib.request.urlopen(sim.base_url.rstrip("/") + path_and_query, timeout=10) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def series() -> Series:
    return load_series(CANDLES, symbol="BTC/USDT")


@pytest.fixture
def sim(series: Series) -> Iterator[KrakenSimulator]:
    """30 candles closed, the 31st half formed."""
    s = KrakenSimulator([series], start_ms=series.ts[30] + series.tf_ms // 2)
    with s.running():
        yield s


def test_ohlc_has_krakens_shape(sim: KrakenSimulator, series: Series) -> None:
    (case,) = _recorded("response", "fetchOHLCV")
    want = case["httpResponse"]
    got = _get(sim, f"/0/public/OHLC?pair={PAIR}&interval=60&since={series.ts[0] // 1000 - 1}")
    assert got["error"] == want["error"] == []
    # keyed by the pair id plus `last`, nothing else
    assert set(got) == set(want) and set(got["result"]) == set(want["result"]) == {PAIR, "last"}
    assert shape(got["result"]["last"]) == shape(want["result"]["last"])
    (row_shape,) = {json.dumps(shape(r)) for r in want["result"][PAIR]}  # every recorded row alike
    rows = got["result"][PAIR]
    assert len(rows) == 31  # closed ones and the forming one
    for row in rows:
        assert json.dumps(shape(row)) == row_shape, row


def test_ticker_has_krakens_shape(sim: KrakenSimulator) -> None:
    (case,) = _recorded("response", "fetchTicker")
    want = case["httpResponse"]
    got = _get(sim, f"/0/public/Ticker?pair={PAIR}")
    assert got["error"] == want["error"] == []
    assert shape(got) == shape(want)


@pytest.mark.parametrize("method", ["fetchOHLCV", "fetchTicker", "fetchTime"])
def test_the_recorded_requests_are_answered(sim: KrakenSimulator, method: str) -> None:
    """ccxt's recorded request URLs (pair ids, parameter names) work against the simulator unchanged.

    The replay serves candles at their own timeframe only, so OHLC calls for another one are left out.
    """
    for case in _recorded("request", method):
        url = urlsplit(case["url"])
        if method == "fetchOHLCV" and "interval=60" not in url.query:
            continue
        got = _get(sim, f"{url.path}?{url.query}" if url.query else url.path)
        assert got["error"] == [], case["url"]
        assert isinstance(got["result"], dict) and got["result"], case["url"]
