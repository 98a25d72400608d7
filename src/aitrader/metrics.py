"""Prometheus metrics shared by every part of aitrader, defined once here.

One module owns the names so the engine, data feed, storage writer and API cannot define the same
series twice (prometheus_client raises on a duplicate) or drift apart in naming. Everything lives
in `REGISTRY`, a registry of our own rather than the process-global default, so the `/metrics`
endpoint exposes exactly these series and tests can build many apps in one process.

Producers import the metric they feed, e.g. `from aitrader.metrics import SCAN_LOOP_SECONDS`, and
call `.observe()` / `.inc()` / `.set()`; they never create metrics of their own.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)

# Latency buckets in seconds: sub-millisecond up to tens of seconds (a scan loop or an order
# round trip over a slow exchange link).
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

# --- engine --------------------------------------------------------------------------------------
SCAN_LOOP_SECONDS = Histogram(
    "aitrader_scan_loop_seconds",
    "Wall time from one closed candle of one pair to its decision (strategies + confluence).",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
STRATEGY_RUNTIME_SECONDS = Histogram(
    "aitrader_strategy_runtime_seconds",
    "Wall time of one strategy evaluation on one pair.",
    ["strategy"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
STRATEGY_TIMEOUTS = Counter(
    "aitrader_strategy_timeouts",
    "Strategy evaluations abandoned because they exceeded their time budget.",
    ["strategy"],
    registry=REGISTRY,
)
ORDER_ROUNDTRIP_SECONDS = Histogram(
    "aitrader_order_roundtrip_seconds",
    "Submit-to-acknowledgement latency of our orders at the venue.",
    ["venue"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)

# --- data feed -----------------------------------------------------------------------------------
WS_RECONNECTS = Counter(
    "aitrader_ws_reconnects",
    "Exchange WebSocket reconnections, per channel (ohlcv, orderbook, trades, orders...).",
    ["channel"],
    registry=REGISTRY,
)
WS_SUBSCRIPTIONS = Gauge(
    "aitrader_ws_subscriptions",
    "Live exchange WebSocket subscriptions, per channel.",
    ["channel"],
    registry=REGISTRY,
)
WS_DUPLICATES_DROPPED = Counter(
    "aitrader_ws_duplicates_dropped",
    "Exchange stream messages already processed (resent after a reconnect, duplicated), per channel.",
    ["channel"],
    registry=REGISTRY,
)
DATA_OUTLIERS_REJECTED = Counter(
    "aitrader_data_outliers_rejected",
    "Live candle updates rejected by the outlier filter (close-to-close jump too large), per pair.",
    ["symbol"],
    registry=REGISTRY,
)
DATA_STALE_EPISODES = Counter(
    "aitrader_data_stale_episodes",
    "Times a pair's market data went stale (entries blocked until it is fresh again), per pair.",
    ["symbol"],
    registry=REGISTRY,
)
INDICATOR_CACHE_HITS = Counter(
    "aitrader_indicator_cache_hits",
    "Indicator lookups answered from the cache (hit rate = hits / (hits + misses)); vectorised "
    "evaluations only (backtests, windowed live strategies): built-in live streamers keep O(1) "
    "indicator state and look nothing up.",
    registry=REGISTRY,
)
INDICATOR_CACHE_MISSES = Counter(
    "aitrader_indicator_cache_misses",
    "Indicator lookups that had to compute.",
    registry=REGISTRY,
)

# --- storage -------------------------------------------------------------------------------------
DB_WRITE_QUEUE_DEPTH = Gauge(
    "aitrader_db_write_queue_depth",
    "Events waiting in the storage writer's queue.",
    registry=REGISTRY,
)

# --- control plane (API, dashboard, Telegram) ----------------------------------------------------
API_REQUESTS = Counter(
    "aitrader_api_requests",
    "HTTP requests answered by the API, by route template and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
API_REQUEST_SECONDS = Histogram(
    "aitrader_api_request_seconds",
    "HTTP request latency inside the API process.",
    ["route"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
API_WS_CLIENTS = Gauge(
    "aitrader_api_ws_clients",
    "Dashboard WebSocket clients connected to /ws/live.",
    registry=REGISTRY,
)
API_WS_DROPPED = Counter(
    "aitrader_api_ws_dropped",
    "Live updates not delivered because a dashboard client could not keep up.",
    registry=REGISTRY,
)
API_RATE_LIMITED = Counter(
    "aitrader_api_rate_limited",
    "Requests refused with 429, by what was limited (key or ip).",
    ["by"],
    registry=REGISTRY,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST


def render() -> bytes:
    """The Prometheus text exposition of every aitrader metric."""
    return generate_latest(REGISTRY)
