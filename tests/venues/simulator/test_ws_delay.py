"""The WebSocket latency fault (`ws_delay_ms`, `ws_jitter_ms`): every outgoing message is held back at
least the configured time, and a connection's messages still arrive in the order they were sent."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from typing import Any

import aiohttp
import pytest

from aitrader.core.errors import ConfigError
from aitrader.venues.simulator import FaultInjector, FaultSpec, KrakenSimulator

FIVE_MIN = 300_000


def test_spec_parses_ws_delay_and_jitter() -> None:
    spec = FaultSpec.parse("ws_delay_ms=250,ws_jitter_ms=40,seed=3")
    assert (spec.ws_delay_ms, spec.ws_jitter_ms, spec.seed) == (250, 40, 3)
    for bad in ("ws_delay_ms=-5", "ws_jitter_ms=0.5", "ws_delay_ms=x"):
        with pytest.raises(ConfigError):
            FaultSpec.parse(bad)
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultInjector(spec).burst("ws_delay_ms")
    draws = [FaultInjector(spec).ws_delay_s() for _ in range(3)]
    assert all(0.25 <= d <= 0.29 for d in draws) and len(set(draws)) == 1  # seeded: reproducible
    assert FaultInjector(FaultSpec()).ws_delay_s() == 0.0


async def _receive(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), timeout)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    data: dict[str, Any] = json.loads(msg.data)
    return data


async def test_every_message_is_delayed_at_least_ws_delay_ms(sim: KrakenSimulator) -> None:
    sim.faults.spec.ws_delay_ms = 300
    async with aiohttp.ClientSession() as s:
        t0 = time.monotonic()
        async with s.ws_connect(sim.ws_url + "/ws/v2") as ws:
            status = await _receive(ws)
            assert status["channel"] == "status" and time.monotonic() - t0 >= 0.3
            sub = {"method": "subscribe", "params": {"channel": "ohlc", "symbol": ["ETH/BTC"], "interval": 5}}
            t_sub = time.monotonic()
            await ws.send_str(json.dumps(sub))
            ack = await _receive(ws)
            assert ack["method"] == "subscribe" and ack["success"] and time.monotonic() - t_sub >= 0.3
            snap = await _receive(ws)
            assert snap["type"] == "snapshot"
            t_adv = time.monotonic()
            sim.advance(FIVE_MIN)  # candle 12 closes, candle 13 opens: two updates
            updates = []
            while len(updates) < 2:
                m = await _receive(ws)
                if m.get("channel") == "ohlc":
                    assert time.monotonic() - t_adv >= 0.3
                    updates.append(m["data"][0]["interval_begin"])
            assert updates == sorted(updates)  # the older candle first, as without the delay


async def test_jitter_never_reorders_a_connection(sim: KrakenSimulator) -> None:
    sim.faults.spec.ws_delay_ms = 20
    sim.faults.spec.ws_jitter_ms = 200  # far more than the gap between the pings below
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.ws_url + "/ws/v2") as ws:
        assert (await _receive(ws))["channel"] == "status"
        sent: dict[int, float] = {}
        for i in range(25):
            sent[i] = time.monotonic()
            await ws.send_str(json.dumps({"method": "ping", "req_id": i}))
            await asyncio.sleep(0.005)
        pongs = []
        while len(pongs) < 25:
            m = await _receive(ws)
            if m.get("method") == "pong":
                assert time.monotonic() - sent[m["req_id"]] >= 0.02
                pongs.append(m["req_id"])
        assert pongs == list(range(25))


async def test_turning_the_delay_off_keeps_the_order_of_what_is_in_flight(sim: KrakenSimulator) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.ws_url + "/ws/v2") as ws:
        assert (await _receive(ws))["channel"] == "status"
        sim.faults.spec.ws_delay_ms = 300
        await ws.send_str(json.dumps({"method": "ping", "req_id": 1}))
        await asyncio.sleep(0.05)
        sim.faults.spec.ws_delay_ms = 0  # the next pong must not overtake the held one
        await ws.send_str(json.dumps({"method": "ping", "req_id": 2}))
        got = [(await _receive(ws))["req_id"] for _ in range(2)]
        assert got == [1, 2]


async def test_ccxt_pro_ticker_arrives_late_by_the_delay(client: Any, sim: KrakenSimulator) -> None:
    await client.watch_ticker("ETH/BTC")  # the snapshot
    sim.faults.spec.ws_delay_ms = 400
    task = asyncio.create_task(client.watch_ticker("ETH/BTC"))
    await asyncio.sleep(0.05)
    t0 = time.monotonic()
    sim.advance(FIVE_MIN)
    ticker = await asyncio.wait_for(task, 5)
    assert time.monotonic() - t0 >= 0.4
    assert ticker["last"] == pytest.approx(float(sim.engine.series["ETH/BTC"].rows[13].open))


def test_cli_faults_flag_sets_the_ws_delay() -> None:
    cmd = [sys.executable, "-m", "aitrader.cli.main", "simulator", "--port", "0", "--speed", "0",
           "--key", "k1", "--faults", "ws_delay_ms=300"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"WebSocket (ws://127\.0\.0\.1:\d+)/ws/v2", line)
        assert m, line

        async def first_message_delay() -> float:
            async with aiohttp.ClientSession() as s:
                t0 = time.monotonic()
                async with s.ws_connect(m.group(1) + "/ws/v2") as ws:
                    assert (await _receive(ws))["channel"] == "status"
                    return time.monotonic() - t0

        assert asyncio.run(first_message_delay()) >= 0.3
    finally:
        proc.terminate()
        proc.wait(10)
