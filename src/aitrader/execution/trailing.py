"""Engine-side stop-loss, take-profit and trailing-stop triggers, persisted on every change.

Why engine-side: exchanges differ in which stop types they offer (and our Kraken simulator offers
none), and a resting exchange stop reserves the position, so the documented design is that a stop
is a *trigger* we watch and that closes with a market order. The trigger keeps the client id of the
protective order, so the market order it sends carries that id and its fills land on the same order
in the OrderManager.

Why persisted: a trailing stop's level is state the exchange never sees; after a restart we must
continue from the ratcheted level, not from the initial one (users of other bots lost exactly this).
Every change (arm, ratchet, fire, disarm) is written through a `StateStore` before it is acted on.

Semantics match the simulated venue: a sell stop triggers when a price at or below its level is
seen (a buy stop at or above); a trailing stop ratchets to the new high (sell) / low (buy) only after
the trigger check of the same candle, so within one candle the worst case is assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Engine

from aitrader.core.errors import OrderError
from aitrader.core.orders import OrderPurpose, OrderRequest, OrderType, Side
from aitrader.storage.repository import tenant_scope

_ONE = Decimal(1)


class StateStore(Protocol):
    """Where trigger state lives between restarts (JSON-serialisable dicts by key)."""

    def save(self, key: str, value: dict[str, Any]) -> None: ...

    def delete(self, key: str) -> None: ...

    def load_all(self) -> dict[str, dict[str, Any]]: ...


class MemoryStateStore:
    """In-process store: for paper runs that need no restart and for the default."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def save(self, key: str, value: dict[str, Any]) -> None:
        self.data[key] = dict(value)

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def load_all(self) -> dict[str, dict[str, Any]]:
        return {k: dict(v) for k, v in self.data.items()}


class KvStateStore:
    """Storage kv (`save_state`/`load_namespace`) of one tenant; one committed write per change."""

    def __init__(self, engine: Engine, tenant_id: str, namespace: str = "execution.triggers") -> None:
        self._engine = engine
        self._tenant = tenant_id
        self.namespace = namespace

    def save(self, key: str, value: dict[str, Any]) -> None:
        with tenant_scope(self._engine, self._tenant, write=True) as ts:
            ts.save_state(self.namespace, key, value)

    def delete(self, key: str) -> None:
        with tenant_scope(self._engine, self._tenant, write=True) as ts:
            ts.delete_state(self.namespace, key)

    def load_all(self) -> dict[str, dict[str, Any]]:
        with tenant_scope(self._engine, self._tenant) as ts:
            return {k: v for k, v in ts.load_namespace(self.namespace).items() if isinstance(v, dict)}


@dataclass(slots=True)
class Trigger:
    """One armed protective order: closes `amount` of `symbol` by `side` when the price crosses `level`."""

    client_id: str
    symbol: str
    side: Side  # side of the closing market order
    amount: Decimal
    kind: str  # "stop" (stop-loss / trailing) | "take" (take-profit)
    level: Decimal | None
    trail: Decimal | None = None
    purpose: OrderPurpose = OrderPurpose.STOP_LOSS
    strategy: str = ""
    armed_ms: int = 0
    fired_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "amount": str(self.amount),
            "kind": self.kind,
            "level": None if self.level is None else str(self.level),
            "trail": None if self.trail is None else str(self.trail),
            "purpose": self.purpose.value,
            "strategy": self.strategy,
            "armed_ms": self.armed_ms,
            "fired_ms": self.fired_ms,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Trigger:
        return cls(
            client_id=str(d["client_id"]),
            symbol=str(d["symbol"]),
            side=Side(d["side"]),
            amount=Decimal(d["amount"]),
            kind=str(d["kind"]),
            level=None if d.get("level") is None else Decimal(d["level"]),
            trail=None if d.get("trail") is None else Decimal(d["trail"]),
            purpose=OrderPurpose(d.get("purpose", OrderPurpose.STOP_LOSS.value)),
            strategy=str(d.get("strategy", "")),
            armed_ms=int(d.get("armed_ms", 0)),
            fired_ms=None if d.get("fired_ms") is None else int(d["fired_ms"]),
        )

    def market_request(self, ts: int) -> OrderRequest:
        """The closing market order, under the trigger's own client id."""
        return OrderRequest(
            client_id=self.client_id,
            symbol=self.symbol,
            side=self.side,
            type=OrderType.MARKET,
            amount=self.amount,
            purpose=self.purpose,
            created_ms=ts,
            strategy=self.strategy,
            reduce_only=True,
        )

    def crossed(self, high: Decimal, low: Decimal) -> bool:
        if self.level is None:
            return False
        sells = self.side is Side.SELL
        if self.kind == "stop":
            return low <= self.level if sells else high >= self.level
        return high >= self.level if sells else low <= self.level

    def ratchet(self, high: Decimal, low: Decimal, close: Decimal) -> bool:
        """Move a trailing level with the price (never back); True when it changed."""
        if self.trail is None:
            return False
        sells = self.side is Side.SELL
        if self.level is None:
            self.level = close * (_ONE - self.trail) if sells else close * (_ONE + self.trail)
            return True
        new = (
            max(self.level, high * (_ONE - self.trail))
            if sells
            else min(self.level, low * (_ONE + self.trail))
        )
        if new == self.level:
            return False
        self.level = new
        return True


def trigger_for(request: OrderRequest, ts: int) -> Trigger:
    """Turn a protective STOP_MARKET (or market-closed take-profit LIMIT) request into a trigger."""
    if request.type is OrderType.STOP_MARKET:
        if request.stop_price is None and request.trail is None:
            raise OrderError(f"{request.client_id}: stop_market order needs a stop_price or a trail")
        if request.trail is not None and not Decimal(0) < request.trail < _ONE:
            raise OrderError(f"{request.client_id}: trail must be a fraction in (0, 1)")
        return Trigger(
            request.client_id,
            request.symbol,
            request.side,
            request.amount,
            "stop",
            request.stop_price,
            request.trail,
            request.purpose,
            request.strategy,
            ts,
        )
    if request.type is OrderType.LIMIT and request.price is not None:
        return Trigger(
            request.client_id,
            request.symbol,
            request.side,
            request.amount,
            "take",
            request.price,
            None,
            request.purpose,
            request.strategy,
            ts,
        )
    raise OrderError(f"{request.client_id}: {request.type.value} order cannot be a trigger")


class TriggerBook:
    """Armed triggers by client id; every change is saved before it takes effect."""

    def __init__(self, store: StateStore | None = None) -> None:
        self.store: StateStore = store or MemoryStateStore()
        self._armed: dict[str, Trigger] = {}
        for key, raw in self.store.load_all().items():
            t = Trigger.from_json(raw)
            if t.fired_ms is None:
                self._armed[key] = t

    def arm(self, request: OrderRequest, ts: int) -> Trigger:
        known = self._armed.get(request.client_id)
        if known is not None:
            return known
        t = trigger_for(request, ts)
        self.store.save(t.client_id, t.to_json())
        self._armed[t.client_id] = t
        return t

    def disarm(self, client_id: str) -> bool:
        t = self._armed.pop(client_id, None)
        if t is None:
            return False
        self.store.delete(client_id)
        return True

    def get(self, client_id: str) -> Trigger | None:
        return self._armed.get(client_id)

    def armed(self, symbol: str | None = None) -> list[Trigger]:
        return [t for t in self._armed.values() if symbol is None or t.symbol == symbol]

    def on_price(self, symbol: str, high: Decimal, low: Decimal, close: Decimal, ts: int) -> list[Trigger]:
        """Check this candle (or tick: high == low == close) against the armed triggers of `symbol`.

        Returns the triggers that fired (now marked fired and persisted as such, so a restart does
        not fire them again); the rest ratchet after the check.
        """
        fired: list[Trigger] = []
        for t in list(self._armed.values()):
            if t.symbol != symbol:
                continue
            if t.crossed(high, low):
                t.fired_ms = ts
                self.store.save(t.client_id, t.to_json())
                del self._armed[t.client_id]
                fired.append(t)
            elif t.ratchet(high, low, close):
                self.store.save(t.client_id, t.to_json())
        return fired

    def resize(self, client_id: str, amount: Decimal) -> None:
        """A partially closed position keeps its stop for the remainder only."""
        t = self._armed.get(client_id)
        if t is not None and t.amount != amount:
            t.amount = amount
            self.store.save(client_id, t.to_json())
