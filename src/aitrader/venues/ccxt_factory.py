"""Create ccxt / ccxt.pro clients, optionally pointed at another base URL (our simulator).

ccxt keeps its endpoints in `urls['api']` (a dict of named bases, some nested, e.g. ccxt.pro's
`urls['api']['ws']`). Pointing a client at the simulator means rewriting every REST base to
`api_url` and every WebSocket base to `ws_url` while keeping each one's path (Kraken's
`wss://ws.kraken.com/v2` becomes `ws://127.0.0.1:PORT/ws/v2`, Coinbase's
`wss://advanced-trade-ws.coinbase.com` becomes `ws://127.0.0.1:PORT/ws`), so the client code paths
are the real ones and only the host changes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import ccxt
import ccxt.pro

from aitrader.core.errors import ConfigError
from aitrader.venues.ws_client import use_frame_by_frame

# per exchange: path prefix that stands for each WebSocket host (so two hosts do not collide)
_WS_HOST_PATHS: dict[str, dict[str, str]] = {
    "kraken": {
        "ws.kraken.com": "/ws",
        "ws-auth.kraken.com": "/ws-auth",
        "beta-ws.kraken.com": "/ws",
        "beta-ws-auth.kraken.com": "/ws-auth",
    },
    # Advanced Trade: one host for every channel, one for the user channel only (no path on either)
    "coinbase": {
        "advanced-trade-ws.coinbase.com": "/ws",
        "advanced-trade-ws-user.coinbase.com": "/ws-user",
    },
}


def _rewrite_rest(url: str, base: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    return base.rstrip("/") + path


def _rewrite_ws(exchange_id: str, url: str, base: str) -> str:
    parts = urlsplit(url)
    prefix = _WS_HOST_PATHS.get(exchange_id, {}).get(parts.hostname or "", "")
    return base.rstrip("/") + prefix + parts.path.rstrip("/")


def _rewrite(exchange_id: str, node: Any, api_url: str | None, ws_url: str | None) -> Any:
    if isinstance(node, dict):
        return {k: _rewrite(exchange_id, v, api_url, ws_url) for k, v in node.items()}
    if isinstance(node, str):
        scheme = urlsplit(node).scheme
        if scheme in ("ws", "wss"):
            return _rewrite_ws(exchange_id, node, ws_url) if ws_url else node
        if scheme in ("http", "https"):
            return _rewrite_rest(node, api_url) if api_url else node
    return node


def make_exchange(
    exchange_id: str,
    api_url: str | None = None,
    ws_url: str | None = None,
    api_key: str | None = None,
    secret: str | None = None,
    pro: bool = False,
    options: dict[str, Any] | None = None,
) -> Any:
    """A ccxt (sync) or ccxt.pro (async) instance of `exchange_id`, rate limiting on.

    With `api_url`/`ws_url` every REST/WebSocket base in `urls['api']` is rewritten to them.
    `options` is merged into the constructor config (e.g. {"rateLimit": 50, "timeout": 2000}).
    A ccxt.pro instance's WebSocket clients hand over one frame per event-loop turn (`venues.ws_client`).
    """
    module: Any = ccxt.pro if pro else ccxt
    cls = getattr(module, exchange_id, None)
    if cls is None or not isinstance(cls, type):
        where = "ccxt.pro" if pro else "ccxt"
        raise ConfigError(f"unknown exchange {exchange_id!r} for {where}")
    config: dict[str, Any] = {"enableRateLimit": True}
    if api_key is not None:
        config["apiKey"] = api_key
    if secret is not None:
        config["secret"] = secret
    config.update(options or {})
    exchange = cls(config)
    if pro:
        use_frame_by_frame(exchange)  # one WebSocket frame per event-loop turn (venues.ws_client)
    if api_url or ws_url:
        exchange.urls["api"] = _rewrite(exchange_id, exchange.urls["api"], api_url, ws_url)
        if isinstance(exchange.urls.get("test"), dict):
            exchange.urls["test"] = _rewrite(exchange_id, exchange.urls["test"], api_url, ws_url)
    return exchange
