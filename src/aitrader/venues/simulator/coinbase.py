"""`CoinbaseSimulator`: replayed candles behind Coinbase Advanced Trade's REST and WebSocket APIs.

Same core as the Kraken simulator (replay clock, matching engine, faults, serving); what differs is
the listing (Coinbase product ids and increments), the fee schedule (Advanced 1: 0.6 % taker,
0.4 % maker, as ccxt assumes), CDP API keys checked by JWT, and the wire format. Point ccxt's
`coinbase` class at it with `make_exchange("coinbase", sim.base_url, sim.ws_url, ...)`: REST under
`/api/v3/brokerage` and `/v2` (coinbase_rest), the WebSocket on `/ws` and `/ws-user` (coinbase_ws:
ticker, ticker_batch, level2, market_trades, candles, heartbeats and the authenticated user channel).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aiohttp import web

from aitrader.venues.simulator.coinbase_auth import JwtVerifier, PublicKey, new_ec_secret, public_key_of
from aitrader.venues.simulator.coinbase_format import OrderMeta, uid
from aitrader.venues.simulator.coinbase_products import CoinbaseProduct, coinbase_product
from aitrader.venues.simulator.engine import Account
from aitrader.venues.simulator.market_data import Series
from aitrader.venues.simulator.server import ReplaySimulator

TAKER_FEE = Decimal("0.006")
MAKER_FEE = Decimal("0.004")


class CoinbaseSimulator(ReplaySimulator):
    def _engine_options(self, series: dict[str, Series]) -> dict[str, Any]:
        self.products: dict[str, CoinbaseProduct] = {
            sym: coinbase_product(sym, s.price_decimals) for sym, s in series.items()
        }
        self.products_by_id = {p.product_id: p for p in self.products.values()}
        pairs = {sym: p.pair for sym, p in self.products.items()}
        return {"pairs": pairs, "taker_fee": TAKER_FEE, "maker_fee": MAKER_FEE}

    def _setup_venue(self) -> None:
        self.auth = JwtVerifier()
        self.auth_failures: list[str] = []  # why requests got 401 (for tests and debugging)
        self.order_meta: dict[str, OrderMeta] = {}  # engine txid -> the request as placed
        self.order_ids: dict[str, str] = {}  # Coinbase order_id (UUID) -> engine txid
        from aitrader.venues.simulator.coinbase_ws import CoinbaseWs

        self.ws = CoinbaseWs(self)

    def routes(self) -> list[web.RouteDef]:
        from aitrader.venues.simulator.coinbase_rest import CoinbaseRest

        return [*CoinbaseRest(self).routes(), *self.ws.routes()]

    async def _close_streams(self) -> None:
        await self.ws.close_all()

    def user_id(self, api_key: str) -> str:
        return uid("user", api_key)

    def add_account(
        self,
        balances: Mapping[str, Decimal | str | int],
        api_key: str | None = None,
        secret: str | None = None,
        public_key: PublicKey | None = None,
    ) -> Account:
        """Register a CDP API key with starting balances in unified codes.

        `api_key` is the key name (`organizations/.../apiKeys/...`, random if omitted). Give the
        `public_key` to verify with (the private half never needs to reach the server), or the
        `secret` (PEM EC private key, or base64 Ed25519 key as ccxt takes it); with neither, a
        P-256 key is generated and its PEM is the returned account's `secret`.
        """
        key = api_key or f"organizations/{uuid.uuid4()}/apiKeys/{uuid.uuid4()}"
        if public_key is None:
            secret = secret or new_ec_secret()
            public_key = public_key_of(secret)
        self.auth.add(key, public_key)
        return self.engine.add_account(key, secret or "", {k: Decimal(str(v)) for k, v in balances.items()})
