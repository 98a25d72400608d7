"""CDP API-key auth of the Coinbase simulator: JWTs from real ccxt verified with the public key only."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import ccxt
import pytest
from coinbase_sim_helpers import coinbase_client, ec_key_pair
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from aitrader.venues.simulator import CoinbaseSimulator, Series
from aitrader.venues.simulator.coinbase_auth import make_jwt

KEY = "organizations/0f6e1b1e-4c59-4c2b-9d0f-3a7c8f9e1a2b/apiKeys/5d1c7a9e-2b3f-4e8d-a6c1-9f0e2d3b4c5a"
PATH = "/api/v3/brokerage/accounts"


@pytest.fixture
async def sim(eth_btc: Series) -> AsyncIterator[CoinbaseSimulator]:
    s = CoinbaseSimulator([eth_btc], start_ms=eth_btc.ts[12])
    await s.start()
    yield s
    await s.stop()


async def _get(sim: CoinbaseSimulator, token: str | None, path: str = PATH) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as s, s.get(sim.base_url + path, headers=headers) as r:
        return r.status, await r.text()


async def test_ccxt_es256_jwt_is_verified_with_the_public_key(sim: CoinbaseSimulator) -> None:
    pem, public = ec_key_pair()
    sim.add_account({"BTC": "1.5"}, api_key=KEY, public_key=public)  # the server never sees `pem`
    ex = coinbase_client(sim, KEY, pem)
    try:
        assert (await ex.fetch_balance({"v3": True}))["BTC"]["total"] == 1.5
        assert sim.auth_failures == []
        other_pem, _ = ec_key_pair()
        forged = coinbase_client(sim, KEY, other_pem)  # right key name, wrong private key
        try:
            with pytest.raises(ccxt.AuthenticationError):
                await forged.fetch_balance({"v3": True})
        finally:
            await forged.close()
        assert sim.auth_failures == ["bad signature"]
    finally:
        await ex.close()


async def test_tokens_are_checked_for_expiry_uri_and_key(sim: CoinbaseSimulator) -> None:
    pem, public = ec_key_pair()
    sim.add_account({"BTC": "1"}, api_key=KEY, public_key=public)
    host = sim.base_url.removeprefix("http://")
    good = make_jwt(KEY, pem, f"GET {host}{PATH}")
    status, body = await _get(sim, good)
    assert status == 200 and [a["currency"] for a in json.loads(body)["accounts"]] == ["BTC", "ETH"]
    refusals = {
        "expired": make_jwt(KEY, pem, f"GET {host}{PATH}", now_s=int(time.time()) - 600),
        "too long-lived": make_jwt(KEY, pem, f"GET {host}{PATH}", ttl_s=3600),
        "another path": make_jwt(KEY, pem, f"GET {host}/api/v3/brokerage/orders/historical/batch"),
        "another method": make_jwt(KEY, pem, f"POST {host}{PATH}"),
        "unknown key": make_jwt(KEY + "x", pem, f"GET {host}{PATH}"),
        "no uri": make_jwt(KEY, pem, None),
        "tampered": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
    }
    for why, token in refusals.items():
        assert await _get(sim, token) == (401, "Unauthorized\n"), why  # Coinbase's own 401 body
    assert await _get(sim, None) == (401, "Unauthorized\n")
    assert len(sim.auth_failures) == len(refusals) + 1
    # public market data needs no token
    assert (await _get(sim, None, "/api/v3/brokerage/market/products"))[0] == 200


async def test_ed25519_cdp_keys_sign_with_eddsa(sim: CoinbaseSimulator) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    secret = base64.b64encode(seed + pub).decode()  # 88 characters: ccxt switches to EdDSA
    sim.add_account({"ETH": "3"}, api_key="5d1c7a9e-2b3f-4e8d-a6c1-9f0e2d3b4c5a", public_key=key.public_key())
    ex = coinbase_client(sim, "5d1c7a9e-2b3f-4e8d-a6c1-9f0e2d3b4c5a", secret)
    try:
        assert (await ex.fetch_balance({"v3": True}))["ETH"]["total"] == 3.0
    finally:
        await ex.close()
    assert sim.auth_failures == []
