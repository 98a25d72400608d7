"""Shared bits of the Coinbase simulator tests: fixtures' builders and the shape comparison."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from aitrader.venues.ccxt_factory import make_exchange
from aitrader.venues.simulator import CoinbaseSimulator
from shared_data import SHARED

FIXTURES = SHARED / "data/exchange-fixtures"
FIVE_MIN = 300_000


def recorded(kind: str) -> Any:
    """ccxt's recorded Coinbase fixture (`markets`, `request` or `response`)."""
    path = FIXTURES / kind / "coinbase.json"
    if not path.exists():
        pytest.skip(f"{path} not available")
    return json.loads(path.read_text())


def ec_key_pair() -> tuple[str, ec.EllipticCurvePublicKey]:
    """A fresh P-256 key: (SEC1 PEM of the private key as CDP hands it out, public key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def coinbase_client(sim: CoinbaseSimulator, key: str | None, secret: str | None, **options: Any) -> Any:
    """A real async ccxt `coinbase` pointed at the simulator."""
    opts: dict[str, Any] = {"rateLimit": 5, **options}
    return make_exchange("coinbase", sim.base_url, None, key, secret, pro=True, options=opts)


def shape(x: Any) -> Any:
    """Structure of a parsed ccxt object: keys and value kinds (numbers alike), recursively."""
    if isinstance(x, dict):
        return {k: shape(v) for k, v in x.items()}
    if isinstance(x, list):
        return [shape(v) for v in x[:1]]
    if isinstance(x, bool) or x is None:
        return type(x).__name__
    if isinstance(x, int | float):
        return "number"
    return type(x).__name__
