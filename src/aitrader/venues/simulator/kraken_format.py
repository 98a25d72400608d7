"""Kraken's REST spelling of our orders, trades, candles and tickers.

Field names, string formats (fixed decimals, seconds with six decimals) and nesting follow recorded
Kraken responses (ccxt's static fixtures), so ccxt parses our replies exactly as it parses Kraken's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aitrader.core.time import DAY_MS
from aitrader.venues.simulator.book import fmt
from aitrader.venues.simulator.engine import SimOrder, SimTrade
from aitrader.venues.simulator.market_data import Series


def secs(ms: int) -> str:
    return f"{ms / 1000:.6f}"


def order_descr(o: SimOrder) -> dict[str, Any]:
    pair = o.pair
    vol = fmt(o.volume, pair.lot_decimals)
    price = fmt(o.price, pair.pair_decimals) if o.price is not None else "0"
    text = f"{o.side} {vol} {pair.altname} @ " + (f"limit {price}" if o.price is not None else "market")
    return {
        "pair": pair.altname,
        "type": o.side,
        "ordertype": o.ordertype,
        "price": price,
        "price2": "0",
        "leverage": "none",
        "order": text,
        "close": "",
    }


def order_info(o: SimOrder, with_trades: bool = False) -> dict[str, Any]:
    pair = o.pair
    cd = pair.cost_decimals
    info: dict[str, Any] = {
        "refid": None,
        "userref": str(o.userref),
        "status": o.status,
        "opentm": secs(o.opened_ms),
        "starttm": "0",
        "expiretm": secs(o.expire_ms) if o.expire_ms is not None else "0",
        "descr": order_descr(o),
        "vol": fmt(o.volume, pair.lot_decimals),
        "vol_exec": fmt(o.vol_exec, pair.lot_decimals),
        "cost": fmt(o.cost, cd),
        "fee": fmt(o.fee, cd),
        "price": fmt(o.avg_price, max(cd, pair.pair_decimals)),
        "stopprice": fmt(Decimal(0), cd),
        "limitprice": fmt(Decimal(0), cd),
        "misc": "",
        "oflags": o.oflags,
        "reason": o.reason,
    }
    if o.cl_ord_id:
        info["cl_ord_id"] = o.cl_ord_id
    if o.closed_ms is not None:
        info["closetm"] = secs(o.closed_ms)
    if with_trades and o.trade_ids:
        info["trades"] = list(o.trade_ids)
    return info


def trade_info(t: SimTrade) -> dict[str, Any]:
    pair = t.pair
    cd = pair.cost_decimals
    return {
        "ordertxid": t.order_id,
        "postxid": t.pos_id,
        "pair": pair.id,
        "time": t.ts_ms / 1000,
        "type": t.side,
        "ordertype": t.ordertype,
        "price": fmt(t.price, pair.pair_decimals),
        "cost": fmt(t.cost, cd),
        "fee": fmt(t.fee, cd),
        "vol": fmt(t.vol, pair.lot_decimals),
        "margin": fmt(Decimal(0), cd),
        "leverage": "0",
        "misc": "",
        "maker": t.maker,
    }


def forming_row(series: Series, i: int, now_ms: int) -> tuple[str, str, str, str, str]:
    """(open, high, low, close, volume) of candle i as known at now: the forming one is its open only."""
    r = series.rows[i]
    if r.ts + series.tf_ms <= now_ms:
        return r.open, r.high, r.low, r.close, r.volume
    share = Decimal(now_ms - r.ts) / Decimal(series.tf_ms)
    vol = (Decimal(r.volume) * share).quantize(Decimal("1E-8"))
    return r.open, r.open, r.open, r.open, str(vol)


def ohlc_entry(series: Series, i: int, now_ms: int, pair_decimals: int | None = None) -> list[Any]:
    """[time s (int), open, high, low, close, vwap, volume (str), count (int)] as Kraken's OHLC.

    As recorded from Kraken: prices and vwap are strings with the pair's decimals ("43437.5"), the
    volume a string, time and trade count JSON integers. `pair_decimals` (never below the replayed
    data's own precision, so this is lossless) fixes the price format; None keeps the source text.
    The volume keeps the source text: Kraken prints 8 decimals, but rounding would alter the replay.
    """
    o, h, lo, c, v = forming_row(series, i, now_ms)
    vwap = (Decimal(o) + Decimal(h) + Decimal(lo) + Decimal(c)) / 4
    if pair_decimals is None:
        return [series.rows[i].ts // 1000, o, h, lo, c, f"{vwap:.10f}", v, 4]
    o, h, lo, c = (fmt(Decimal(x), pair_decimals) for x in (o, h, lo, c))
    return [series.rows[i].ts // 1000, o, h, lo, c, fmt(vwap, pair_decimals), v, 4]


def ticker(series: Series, now_ms: int, bid: Decimal, ask: Decimal, pair_decimals: int) -> dict[str, Any]:
    """Kraken `Ticker` entry: today's (UTC) and the last 24 hours' stats from the replayed candles."""
    end = series.started(now_ms)
    day_start = now_ms - now_ms % DAY_MS
    lo24 = series.first_after(now_ms - DAY_MS - 1)
    lo_day = series.first_after(day_start - 1)

    def stats(a: int) -> tuple[Decimal, Decimal, Decimal, Decimal, int]:
        vol, pv = Decimal(0), Decimal(0)
        hi, low = Decimal(0), Decimal(0)
        for i in range(a, end):
            _o, h, lw, c, v = (Decimal(x) for x in forming_row(series, i, now_ms))
            vol += v
            pv += v * (h + lw + c) / 3
            hi = max(hi, h)
            low = lw if low == 0 else min(low, lw)
        vwap = pv / vol if vol else Decimal(0)
        return vol, vwap, hi, low, 4 * (end - a)

    v_d, p_d, h_d, l_d, t_d = stats(lo_day)
    v_24, p_24, h_24, l_24, t_24 = stats(lo24)
    last = series.price_at(now_ms) or Decimal(0)
    opened = series.rows[lo_day].open if lo_day < end else fmt(last, pair_decimals)
    pd = pair_decimals
    return {
        "a": [fmt(ask, pd), "1", "1.000"],
        "b": [fmt(bid, pd), "1", "1.000"],
        "c": [fmt(last, pd), "0.00000000"],
        "v": [f"{v_d:.8f}", f"{v_24:.8f}"],
        "p": [fmt(p_d, pd), fmt(p_24, pd)],
        "t": [t_d, t_24],
        "l": [fmt(l_d, pd), fmt(l_24, pd)],
        "h": [fmt(h_d, pd), fmt(h_24, pd)],
        "o": opened,
    }


def public_trades(series: Series, since_s: int | None, count: int, now_ms: int) -> list[list[Any]]:
    """Synthetic public trades from closed candles: open, high, low, close, a quarter of the volume each.

    [price, volume, time s, side b/s, type m/l, misc, trade_id] as Kraken's `Trades`.
    """
    out: list[list[Any]] = []
    start = 0 if since_s is None else max(0, series.first_after(since_s * 1000 - series.tf_ms) - 1)
    end = series.closed(now_ms)
    prev_close = Decimal(series.rows[start - 1].close) if start > 0 else None
    for i in range(start, end):
        r = series.rows[i]
        q = f"{Decimal(r.volume) / 4:.8f}"
        rising = Decimal(r.close) >= Decimal(r.open)
        steps = (r.open, r.low, r.high, r.close) if rising else (r.open, r.high, r.low, r.close)
        for k, px in enumerate(steps):
            ts_ms = r.ts + k * series.tf_ms // 4
            if since_s is not None and ts_ms < since_s * 1000:
                continue
            side = "b" if prev_close is None or Decimal(px) >= prev_close else "s"
            prev_close = Decimal(px)
            out.append([px, q, ts_ms / 1000, side, "m", "", i * 4 + k + 1])
            if len(out) >= count:
                return out
        prev_close = Decimal(r.close)
    return out


def iso(ms: int) -> str:
    """`2023-10-04T16:25:00.000000Z` as Kraken's v2 messages print times."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
