import pytest

from aitrader.core.errors import AitraderError
from aitrader.core.time import floor_ms, ms_to_iso, parse_time, parse_timerange, timeframe_to_ms


def test_timeframes() -> None:
    assert timeframe_to_ms("1m") == 60_000
    assert timeframe_to_ms("4h") == 4 * 3_600_000
    assert timeframe_to_ms("1d") == 86_400_000
    with pytest.raises(AitraderError):
        timeframe_to_ms("5x")
    with pytest.raises(AitraderError):
        timeframe_to_ms("0m")


def test_parse_and_format_round_trip() -> None:
    assert parse_time("2024-01-01") == 1_704_067_200_000
    assert parse_time("20240101") == 1_704_067_200_000
    assert parse_time("1704067200000") == 1_704_067_200_000
    assert ms_to_iso(1_704_067_200_000) == "2024-01-01T00:00:00Z"
    assert ms_to_iso(1_637_193_600_017) == "2021-11-18T00:00:00.017Z"
    with pytest.raises(AitraderError):
        parse_time("yesterday")


def test_timerange() -> None:
    assert parse_timerange("20240101-20240301") == (1_704_067_200_000, 1_709_251_200_000)
    assert parse_timerange("20240101-") == (1_704_067_200_000, None)
    with pytest.raises(AitraderError):
        parse_timerange("20240301-20240101")


def test_floor_aligns_to_epoch() -> None:
    assert floor_ms(1_704_067_500_000 + 1, 300_000) == 1_704_067_500_000
