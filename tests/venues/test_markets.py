import json
import logging
from decimal import Decimal as D
from importlib import resources

import pytest

from aitrader.core.errors import DataError, OrderError
from aitrader.venues.markets import MarketRegistry, MarketRules, PrecisionMode


def test_kraken_rules_from_fixture() -> None:
    reg = MarketRegistry.load("kraken")
    eth = reg.rules_for("ETH/USDT")
    assert (eth.base, eth.quote) == ("ETH", "USDT")
    assert eth.amount_step == D("1E-8") and eth.price_tick == D("0.01")
    assert eth.min_amount == D("0.01")
    assert eth.min_cost == D("0.5")  # info.costmin; ccxt left limits.cost empty here
    assert (eth.maker_fee, eth.taker_fee) == (D("0.0016"), D("0.0026"))
    assert not eth.is_default
    assert reg.rules_for("ADA/USDT").price_tick == D("0.000001")
    assert "XRP/USD" in reg and "ETH/BTC" not in reg


def test_coinbase_steps_contracts_and_fees() -> None:
    reg = MarketRegistry.load("coinbase")
    ada = reg.rules_for("ADA/USDT")
    assert ada.amount_step == D("0.01") and ada.price_tick == D("0.0001") and ada.min_cost == D("1")
    assert ada.max_amount == D("30224000")
    fut = reg.rules_for("BTC/USD:USD-240426")
    assert fut.price_tick == D("5") and fut.amount_step == D("1") and fut.contract_size == D("0.01")
    assert fut.market_type == "future"
    assert fut.round_price(D("64942.4")) == D("64940")


def test_bittrex_price_ticks_agree_with_raw_decimal_places() -> None:
    """The bittrex fixture is older in layout but already tick-size: cross-check with info.precision."""
    raw = json.loads(
        resources.files("aitrader").joinpath("sample_data", "markets", "bittrex.json").read_text()
    )
    reg = MarketRegistry.load("bittrex")
    assert len(raw) == 10
    for sym, m in raw.items():
        assert reg.rules_for(sym).price_tick == D(1).scaleb(-int(m["info"]["precision"]))
        assert reg.rules_for(sym).min_amount == D(m["info"]["minTradeSize"])


def test_decimal_places_mode() -> None:
    m = {"symbol": "ETH/BTC", "base": "ETH", "quote": "BTC", "precision": {"amount": 3, "price": 6}}
    r = MarketRules.from_ccxt(m, PrecisionMode.DECIMAL_PLACES)
    assert r.amount_step == D("0.001") and r.price_tick == D("0.000001")
    with pytest.raises(DataError, match="decimal places"):
        MarketRules.from_ccxt({**m, "precision": {"amount": 0.001}}, PrecisionMode.DECIMAL_PLACES)
    t = MarketRules.from_ccxt({**m, "precision": {"amount": 0.001, "price": 1e-06}})
    assert t.amount_step == D("0.001") and t.price_tick == D("0.000001")


def test_rounding() -> None:
    r = MarketRegistry.load("kraken").rules_for("BTC/USDT")  # tick 0.1
    assert r.round_amount(D("0.123456789")) == D("0.12345678")
    assert r.round_amount(D("0.999999999")) == D("0.99999999")  # down, never up
    assert r.round_price(D("20000.06")) == D("20000.1")
    assert r.round_price(D("20000.06"), "down") == D("20000.0")
    assert r.round_price(D("20000.01"), "up") == D("20000.1")


def test_check_messages() -> None:
    r = MarketRegistry.load("kraken").rules_for("XRP/USDT")  # min 10 XRP, tick 0.00001
    r.check(D("10"), D("0.5"))
    with pytest.raises(OrderError, match="below the minimum 10 XRP"):
        r.check(D("9.99999999"), D("0.5"))
    with pytest.raises(OrderError, match="not a multiple of the price tick"):
        r.check(D("10"), D("0.500001"))
    with pytest.raises(OrderError, match="not a multiple of the amount step"):
        r.check(D("10.000000001"), D("0.5"))
    with pytest.raises(OrderError, match=r"order value 0\.30 USDT is below the minimum 0\.5 USDT"):
        r.check(D("10"), D("0.03"))
    with pytest.raises(OrderError, match="must be positive"):
        r.check(D("0"), None)


def test_unknown_symbol_defaults_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    reg = MarketRegistry.load("bittrex")
    with caplog.at_level(logging.WARNING, logger="aitrader.venues.markets"):
        r1 = reg.rules_for("ETH/BTC")
        r2 = reg.rules_for("ETH/BTC")
        reg.rules_for("XRP/USDT:USDT")
    assert r1 == r2 and r1.is_default and (r1.base, r1.quote) == ("ETH", "BTC")
    assert r1.amount_step == D("1E-8") and r1.min_amount == 0
    msgs = [rec.getMessage() for rec in caplog.records]
    assert sum("ETH/BTC" in m for m in msgs) == 1
    assert sum("XRP/USDT:USDT" in m for m in msgs) == 1


def test_unknown_exchange() -> None:
    with pytest.raises(DataError, match="available: bittrex, coinbase, kraken"):
        MarketRegistry.load("binance")
