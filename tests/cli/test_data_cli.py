"""`aitrader data ...` end to end on the real shared files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from aitrader.cli.main import app
from aitrader.core.candles import OHLCV
from aitrader.core.errors import DataError
from aitrader.core.time import ms_to_iso, parse_time
from aitrader.data.csv_io import read_ohlcv_csv
from aitrader.data.store import HistoryStore
from shared_data import SHARED as SHARED_ROOT

SHARED = SHARED_ROOT / "data" / "ohlcv"
OHLCV_DIR = (
    SHARED if SHARED.is_dir() else Path(__file__).resolve().parents[2] / "src/aitrader/sample_data/ohlcv"
)
README_ROWS = {  # file -> (exchange, pair, timeframe, kind, rows) from /work/shared/data/README.md
    "binance_BTC_USDT_USDT-5m-futures.csv": ("binance", "BTC/USDT:USDT", "5m", "futures", 10999),
    "binance_XRP_USDT_USDT-5m-futures.csv": ("binance", "XRP/USDT:USDT", "5m", "futures", 1999),
    "binance_XRP_USDT_USDT-8h-futures.csv": ("binance", "XRP/USDT:USDT", "8h", "futures", 91),
    "bittrex_ADA_BTC-5m.csv": ("bittrex", "ADA/BTC", "5m", "spot", 5720),
    "bittrex_ETC_BTC-5m.csv": ("bittrex", "ETC/BTC", "5m", "spot", 5759),
    "bittrex_ETH_BTC-5m.csv": ("bittrex", "ETH/BTC", "5m", "spot", 5760),
    "bittrex_NXT_BTC-5m.csv": ("bittrex", "NXT/BTC", "5m", "spot", 5760),
    "bittrex_POWR_BTC-5m.csv": ("bittrex", "POWR/BTC", "5m", "spot", 5754),
    "bittrex_UNITTEST_BTC-1m.csv": ("bittrex", "UNITTEST/BTC", "1m", "spot", 13681),
    "bittrex_UNITTEST_BTC-30m.csv": ("bittrex", "UNITTEST/BTC", "30m", "spot", 1920),
    "bittrex_XLM_BTC-5m.csv": ("bittrex", "XLM/BTC", "5m", "spot", 5760),
    "unknown_XRP_USDT_USDT-1h-futures.csv": ("unknown", "XRP/USDT:USDT", "1h", "futures", 100),
    "unknown_XRP_USDT_USDT-1h-mark.csv": ("unknown", "XRP/USDT:USDT", "1h", "mark", 100),
}

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "220")  # rich reads it on every print; keeps table cells on one line


def run(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=True)


@pytest.fixture(scope="module")
def full_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("store")
    files = [str(OHLCV_DIR / f) for f in README_ROWS]
    r = run("data", "import", *files, "--datadir", str(d))
    assert r.exit_code == 0, r.output
    return d


def test_import_all_then_list_json_has_readme_rows(full_store: Path) -> None:
    r = run("data", "list", "--json", "--datadir", str(full_store))
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert len(rows) == len(README_ROWS)
    for row in rows:
        assert set(row) == {"exchange", "pair", "timeframe", "kind", "first", "last", "rows"}
    got = {(x["exchange"], x["pair"], x["timeframe"], x["kind"], x["rows"]) for x in rows}
    assert got == set(README_ROWS.values())
    ada = next(x for x in rows if x["pair"] == "ADA/BTC")
    assert ada["first"] == parse_time("2018-01-10T04:55:00Z")
    assert ada["last"] == parse_time("2018-01-30T04:50:00Z")


def test_list_table(full_store: Path) -> None:
    r = run("data", "list", "--datadir", str(full_store))
    assert r.exit_code == 0
    assert "UNITTEST/BTC" in r.output and "13,681" in r.output and "2017-11-04T23:02:00Z" in r.output


def test_reimport_adds_nothing(tmp_path: Path) -> None:
    f = OHLCV_DIR / "bittrex_ETH_BTC-5m.csv"
    first = run("data", "import", str(f), "--datadir", str(tmp_path))
    again = run("data", "import", str(f), "--datadir", str(tmp_path))
    assert first.exit_code == again.exit_code == 0

    def cells(out: str) -> list[str]:
        row = next(line for line in out.splitlines() if "bittrex_ETH_BTC-5m.csv" in line)
        return [c.strip() for c in row.strip("│ ").split("│")]

    # rows read, duplicates dropped, new, rows in store
    assert cells(first.output)[2:] == ["5760", "0", "5760", "5760"]
    assert cells(again.output)[2:] == ["5760", "0", "0", "5760"]


def test_import_says_how_many_exact_duplicates_it_dropped(tmp_path: Path) -> None:
    lines = (OHLCV_DIR / "bittrex_ETH_BTC-5m.csv").read_text().splitlines()
    doubled = tmp_path / "bittrex_ETH_BTC-5m.csv"
    doubled.write_text("\n".join([*lines, *lines[1:4]]) + "\n")  # three candles recorded twice
    r = run("data", "import", str(doubled), "--datadir", str(tmp_path / "store"))
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if "bittrex_ETH_BTC-5m.csv" in line)
    assert [c.strip() for c in row.strip("│ ").split("│")][2:] == ["5763", "3", "5760", "5760"]


def test_check_json_reports_readme_gaps_and_exit_0(full_store: Path) -> None:
    r = run("data", "check", "--json", "--datadir", str(full_store))
    assert r.exit_code == 0, r.output
    reports = {(x["exchange"], x["pair"], x["timeframe"], x["kind"]): x for x in json.loads(r.output)}
    assert len(reports) == 13
    assert all(x["errors"] == 0 for x in reports.values())
    ada = reports[("bittrex", "ADA/BTC", "5m", "spot")]["gaps"]
    assert (ada["missing"], ada["count"], ada["largest"]) == (40, 5, 33)
    powr = reports[("bittrex", "POWR/BTC", "5m", "spot")]["gaps"]
    assert (powr["missing"], powr["count"], powr["largest"]) == (6, 6, 1)
    m1 = reports[("bittrex", "UNITTEST/BTC", "1m", "spot")]
    assert (m1["gaps"]["missing"], m1["gaps"]["count"], m1["gaps"]["largest"]) == (717, 538, 7)
    gap_msgs = [i["message"] for i in m1["issues"] if i["kind"] == "gap"]
    assert gap_msgs == ["717 missing in 538 gap(s); largest 7 after 2017-11-05T03:12:00Z"]


def test_check_filters_and_outlier_config(full_store: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text('data:\n  outlier_jump:\n    "XRP/USDT:USDT": 0.15\n')
    r = run(
        "data",
        "check",
        "--json",
        "--pairs",
        "XRP/USDT:USDT",
        "--exchange",
        "binance",
        "--datadir",
        str(full_store),
        "--config",
        str(cfg),
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert [(x["pair"], x["timeframe"]) for x in out] == [("XRP/USDT:USDT", "5m"), ("XRP/USDT:USDT", "8h")]
    h8 = out[1]
    assert h8["jump_threshold"] == 0.15
    assert [i["ts"] for i in h8["issues"] if i["kind"] == "outlier"] == [parse_time("2021-12-04")]
    assert [i for i in out[0]["issues"] if i["kind"] == "outlier"] == []  # no 5m move over 15 %
    # the volatility rule at 8 sigmas finds the same crash without a per-pair threshold
    r = run(
        "data",
        "check",
        "--json",
        "-p",
        "XRP/USDT:USDT",
        "-t",
        "8h",
        "--sigmas",
        "8",
        "--datadir",
        str(full_store),
    )
    assert [i["ts"] for i in json.loads(r.output)[0]["issues"]] == [parse_time("2021-12-04")]


def test_check_exits_1_on_errors(full_store: Path, tmp_path: Path) -> None:
    eth = read_ohlcv_csv(OHLCV_DIR / "bittrex_ETH_BTC-5m.csv")
    high = eth.high.copy()
    high[100] = eth.low[100] * 0.5  # high below low
    store = HistoryStore(tmp_path)
    store.write("bittrex", "ETH/BTC", "5m", OHLCV(eth.ts, eth.open, high, eth.low, eth.close, eth.volume))
    r = run("data", "check", "--datadir", str(tmp_path))
    assert r.exit_code == 1
    assert "high_below_body" in r.output and "high_below_low" in r.output
    r = run("data", "check", "--datadir", str(tmp_path), "--pairs", "BTC/USDT")
    assert isinstance(r.exception, DataError) and "match the filters" in str(r.exception)


def test_malformed_file_is_one_line_and_store_keeps_its_data(tmp_path: Path) -> None:
    good = OHLCV_DIR / "bittrex_ETH_BTC-5m.csv"
    store_dir = tmp_path / "store"
    assert run("data", "import", str(good), "--datadir", str(store_dir)).exit_code == 0
    before = HistoryStore(store_dir).read("bittrex", "ETH/BTC", "5m")
    lines = good.read_text().splitlines()
    lines[1234] = lines[1234].replace(",", ",x", 1)
    bad = tmp_path / "bad" / "bittrex_ETH_BTC-5m.csv"
    bad.parent.mkdir()
    bad.write_text("\n".join(lines) + "\n")
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "aitrader.cli.main",
            "data",
            "import",
            str(good),
            str(bad),
            "--datadir",
            str(store_dir),
        ],
        capture_output=True,
        text=True,
    )
    assert p.returncode != 0
    err = p.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(bad) in err.replace("\n", "") and "line 1235" in err and "open 'x" in err
    after = HistoryStore(store_dir).read("bittrex", "ETH/BTC", "5m")
    assert np.array_equal(before.ts, after.ts) and np.array_equal(before.close, after.close)


def test_unparseable_file_name_is_rejected_before_writing(tmp_path: Path) -> None:
    odd = tmp_path / "ethbtc.csv"
    odd.write_bytes((OHLCV_DIR / "bittrex_ETH_BTC-5m.csv").read_bytes())
    r = run("data", "import", str(OHLCV_DIR / "bittrex_ADA_BTC-5m.csv"), str(odd), "--datadir", str(tmp_path))
    assert isinstance(r.exception, DataError) and "ethbtc.csv: file name not understood" in str(r.exception)
    assert HistoryStore(tmp_path).datasets() == []


def test_exchange_override(tmp_path: Path) -> None:
    f = OHLCV_DIR / "unknown_XRP_USDT_USDT-1h-mark.csv"
    assert run("data", "import", str(f), "--exchange", "bybit", "--datadir", str(tmp_path)).exit_code == 0
    info = HistoryStore(tmp_path).info("bybit", "XRP/USDT:USDT", "1h", kind="mark")
    assert info is not None and info.rows == 100


def test_download_through_the_kraken_simulator(tmp_path: Path) -> None:
    # the real downloader (aitrader.data.download) against our Kraken simulator replaying real candles;
    # exchange name, API URL and rate limit come from the config file, pair/timeframe/range from options
    from aitrader.venues.simulator import KrakenSimulator, load_series

    series = load_series(OHLCV_DIR / "bittrex_ETH_BTC-5m.csv")
    sim = KrakenSimulator([series], start_ms=series.ts[-1] + series.tf_ms)
    since, until = parse_time("2018-01-20"), parse_time("2018-01-22")
    datadir = tmp_path / "d"
    with sim.running():
        cfg = tmp_path / "c.yaml"
        cfg.write_text(f"exchange:\n  name: kraken\n  api_url: {sim.base_url}\n  rate_limit_ms: 5\n")
        args = ["data", "download", "-p", "ETH/BTC", "-t", "5m", "--since", "2018-01-20"]
        r = run(*args, "--until", "2018-01-22", "--datadir", str(datadir), "--config", str(cfg))
        assert r.exit_code == 0, r.output
        row = next(line for line in r.output.splitlines() if "ETH/BTC" in line)
        assert [c.strip() for c in row.strip("│ ").split("│")][3:5] == ["576", "576"]  # two days of 5m
        # resumable: a second run over the same range adds nothing
        r = run(*args, "--until", "2018-01-22", "--datadir", str(datadir), "--config", str(cfg))
        row = next(line for line in r.output.splitlines() if "ETH/BTC" in line)
        assert [c.strip() for c in row.strip("│ ").split("│")][3:5] == ["0", "576"]
        # and says why, with the requested range and the last stored candle
        (note,) = [line for line in r.output.splitlines() if line.startswith("note:")]
        assert "ETH/BTC 5m: 0 candles added for 2018-01-20T00:00:00Z .. 2018-01-22T00:00:00Z" in note
        assert "already up to date (last stored candle 2018-01-21T23:55:00Z)" in note
    got = HistoryStore(datadir).read("kraken", "ETH/BTC", "5m")
    want = read_ohlcv_csv(OHLCV_DIR / "bittrex_ETH_BTC-5m.csv").between(since, until)
    assert np.array_equal(got.ts, want.ts) and np.array_equal(got.close, want.close)
    listed = json.loads(run("data", "list", "--json", "--datadir", str(datadir)).output)
    assert listed == [
        {
            "exchange": "kraken",
            "pair": "ETH/BTC",
            "timeframe": "5m",
            "kind": "spot",
            "first": since,
            "last": until - 300_000,
            "rows": 576,
        }
    ]


def test_download_notes_a_range_without_candles(tmp_path: Path) -> None:
    from aitrader.venues.simulator import KrakenSimulator, load_series

    series = load_series(OHLCV_DIR / "bittrex_ETH_BTC-5m.csv")
    sim = KrakenSimulator([series], start_ms=series.ts[-1] + series.tf_ms)
    with sim.running():
        cfg = tmp_path / "c.yaml"
        cfg.write_text(f"exchange:\n  name: kraken\n  api_url: {sim.base_url}\n  rate_limit_ms: 5\n")
        args = ["data", "download", "-p", "ETH/BTC", "-t", "5m", "--datadir", str(tmp_path / "d")]
        # a day before the series starts: the exchange has nothing there, the store nothing at all
        r = run(*args, "--since", "2017-06-01", "--until", "2017-06-02", "--config", str(cfg))
        assert r.exit_code == 0, r.output
        (note,) = [line for line in r.output.splitlines() if line.startswith("note:")]
        assert "ETH/BTC 5m: 0 candles added for 2017-06-01T00:00:00Z .. 2017-06-02T00:00:00Z" in note
        assert "no closed candles in that range (nothing stored yet)" in note
        # one day stored, then a range after the series ended: the note names the last stored candle
        r = run(*args, "--since", "2018-01-20", "--until", "2018-01-21", "--config", str(cfg))
        assert r.exit_code == 0, r.output
        r = run(*args, "--since", "2019-01-01", "--config", str(cfg))
        assert r.exit_code == 0, r.output
        (note,) = [line for line in r.output.splitlines() if line.startswith("note:")]
        assert "0 candles added for 2019-01-01T00:00:00Z .. now" in note
        assert "(last stored candle 2018-01-20T23:55:00Z, before it)" in note
        # a download that adds rows has no note
        r = run(*args, "--since", "2018-01-21", "--until", "2018-01-22", "--config", str(cfg))
        assert r.exit_code == 0 and "note:" not in r.output, r.output


def test_download_summary_counts_a_perpetual_stored_as_futures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the simulator replays the perp's candles as spot BTC/USDT; the real ccxt client is told the
    # perpetual BTC/USDT:USDT is that market (as in tests/data/test_download.py), so the whole CLI
    # path runs over real HTTP and stores the candles as kind futures
    from aitrader.venues.ccxt_factory import make_exchange
    from aitrader.venues.simulator import KrakenSimulator, load_series

    perp_market = {"symbol": "BTC/USDT:USDT", "settle": "USDT", "settleId": "USDT", "type": "swap",
                   "spot": False, "swap": True, "contract": True}  # fmt: skip

    def with_perp_alias(*a: Any, **k: Any) -> Any:
        ex = make_exchange(*a, **k)
        load = ex.load_markets

        def load_markets(*la: Any, **lk: Any) -> Any:
            load(*la, **lk)
            ex.set_markets([*ex.markets.values(), {**ex.markets["BTC/USDT"], **perp_market}])
            return ex.markets

        ex.load_markets = load_markets
        return ex

    monkeypatch.setattr("aitrader.data.download.make_exchange", with_perp_alias)
    perp = load_series(OHLCV_DIR / "binance_BTC_USDT_USDT-5m-futures.csv")
    sim = KrakenSimulator([perp], start_ms=perp.ts[-1] + perp.tf_ms)
    datadir = tmp_path / "d"
    since, until = int(perp.ts[0]), int(perp.ts[0]) + 100 * 300_000
    with sim.running():
        cfg = tmp_path / "c.yaml"
        cfg.write_text(f"exchange:\n  name: kraken\n  api_url: {sim.base_url}\n  rate_limit_ms: 5\n")
        r = run("data", "download", "-p", "BTC/USDT:USDT", "-t", "5m", "--since", str(since),
                "--until", str(until), "--datadir", str(datadir), "--config", str(cfg))  # fmt: skip
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if "BTC/USDT:USDT" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[3:6] == ["100", "100", ms_to_iso(until - 300_000)]
    info = HistoryStore(datadir).info("kraken", "BTC/USDT:USDT", "5m", kind="futures")
    assert info is not None and info.rows == 100


def test_download_rejects_bad_ranges(tmp_path: Path) -> None:
    r = run("data", "download", "--since", "2018-01-21", "--until", "2018-01-20", "--datadir", str(tmp_path))
    assert r.exception is not None and "is not after" in str(r.exception)
    r = run("data", "download", "--since", "yesterday-ish", "--datadir", str(tmp_path))
    assert r.exception is not None and "invalid date" in str(r.exception)
