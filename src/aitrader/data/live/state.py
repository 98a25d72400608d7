"""The lifecycle of one exchange WebSocket connection, as an explicit state machine.

Why explicit: reconnect logic written as nested try/except loops hides its own bugs (a second
subscription after a reconnect, a retry without backoff). Here every move is a named transition,
an illegal one raises, and the history is kept, so tests (and operators) can see that a drop went
streaming -> backoff -> resubscribe -> subscribed -> streaming and nothing else.

    idle -> connecting -> subscribed -> streaming
                 |            |            |
                 +------------+------------+--> backoff -> resubscribe -> subscribed ...
                                                  ^             |
                                                  +-------------+   (error while resubscribing)
    any state -> closed (stop)
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from aitrader.core.errors import AitraderError


class ConnectionState(StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"  # REST warm-up, dialling, subscribe requests going out
    SUBSCRIBED = "subscribed"  # every channel confirmed (its snapshot arrived)
    STREAMING = "streaming"  # live updates flowing
    BACKOFF = "backoff"  # the connection failed; waiting before trying again
    RESUBSCRIBE = "resubscribe"  # REST backfill, redial, subscribe again
    CLOSED = "closed"


S = ConnectionState
ALLOWED: dict[ConnectionState, frozenset[ConnectionState]] = {
    S.IDLE: frozenset({S.CONNECTING, S.CLOSED}),
    S.CONNECTING: frozenset({S.SUBSCRIBED, S.BACKOFF, S.CLOSED}),
    S.SUBSCRIBED: frozenset({S.STREAMING, S.BACKOFF, S.CLOSED}),
    S.STREAMING: frozenset({S.BACKOFF, S.CLOSED}),
    S.BACKOFF: frozenset({S.RESUBSCRIBE, S.CLOSED}),
    S.RESUBSCRIBE: frozenset({S.SUBSCRIBED, S.BACKOFF, S.CLOSED}),
    S.CLOSED: frozenset(),
}


class IllegalTransition(AitraderError):
    """A connection tried a move its lifecycle does not allow (a bug, never an exchange fault)."""


@dataclass(frozen=True, slots=True)
class Transition:
    at: float  # time.monotonic() seconds
    source: ConnectionState
    target: ConnectionState
    reason: str


class ConnectionStateMachine:
    def __init__(self, name: str, history: int = 1000) -> None:
        self.name = name
        self.state = S.IDLE
        self.history: deque[Transition] = deque(maxlen=history)
        self._listeners: list[Callable[[Transition], None]] = []

    def add_listener(self, cb: Callable[[Transition], None]) -> None:
        """Called after every transition; adding the same callable twice is a no-op."""
        if cb not in self._listeners:
            self._listeners.append(cb)

    def to(self, target: ConnectionState, reason: str = "") -> Transition:
        if target not in ALLOWED[self.state]:
            raise IllegalTransition(f"{self.name}: {self.state} -> {target} is not allowed")
        t = Transition(time.monotonic(), self.state, target, reason)
        self.state = target
        self.history.append(t)
        for cb in list(self._listeners):
            cb(t)
        return t

    def reopen(self, reason: str = "reopened") -> Transition:
        """A closed connection begins a new lifecycle (idle again); history and listeners stay."""
        if self.state is not S.CLOSED:
            raise IllegalTransition(f"{self.name}: only a closed connection reopens, not {self.state}")
        t = Transition(time.monotonic(), self.state, S.IDLE, reason)
        self.state = S.IDLE
        self.history.append(t)
        for cb in list(self._listeners):
            cb(t)
        return t

    def path(self) -> list[ConnectionState]:
        """States visited, in order, starting with the one before the first kept transition."""
        if not self.history:
            return [self.state]
        return [self.history[0].source, *(t.target for t in self.history)]
