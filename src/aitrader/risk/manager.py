"""The risk manager: turns a Decision into a sized entry order, or a Rejection that says why not.

Order of checks (the first that fails decides, and is recorded in `rejections`):
kill switch -> paused -> direction (spot: long entries only) -> stop sanity -> equity -> one
position per pair -> max open positions -> daily loss limit -> size.

Size: fixed-fractional from the stop distance, `qty = risk_per_trade * equity / (entry - stop)`, so
a stop-out loses about `risk_per_trade` of equity. Then capped, in this order, by half-Kelly
(`kelly_cap` and at least `kelly_min_trades` recorded trades: notional <= kelly/2 * equity; a
Kelly <= 0 means no measured edge: the notional is capped at `kelly_floor * equity`, a probe size that
keeps the trade statistics alive so they can recover, or the entry is rejected when `kelly_floor`
is 0), by `max_exposure_per_pair * equity`, and by what is left of
`max_total_exposure * equity` after the open positions. Finally rounded down to the market's step
and checked against its minimum amount and order value.

Prices from the Decision (floats) become Decimal via `core.prices.dec` (`Decimal(repr(x))`).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from pydantic import ValidationError

from aitrader.config import RiskConfig, format_validation_error
from aitrader.core.decisions import Decision
from aitrader.core.errors import ConfigError, OrderError
from aitrader.core.ids import ClientIdGenerator
from aitrader.core.orders import OrderRequest
from aitrader.core.prices import dec
from aitrader.risk.equity_guard import EquityGuard
from aitrader.risk.kelly import TradeStats
from aitrader.risk.orders import GateOrders
from aitrader.risk.rejection import Rejection
from aitrader.venues.markets import MarketRules

log = logging.getLogger(__name__)

ZERO: Final = Decimal(0)
MAX_REJECTIONS: Final = 10_000


class _Reject:
    """Why `_size` refused, returned rather than raised (a backtest refuses tens of thousands of entries,
    mostly at the position limit, and raising cost more than the checks)."""

    __slots__ = ("code", "details", "reason")

    def __init__(self, code: str, reason: str, **details: object) -> None:
        self.code = code
        self.reason = reason
        self.details = {k: str(v) for k, v in details.items()}


class RiskManager(GateOrders):
    """Sizes and gates entries; the orders themselves (entry, protective exits) come from `GateOrders`."""

    def __init__(
        self, cfg: RiskConfig, ids: ClientIdGenerator | None = None, kelly_window: int = 200
    ) -> None:
        self.cfg = cfg
        self.ids = ids or ClientIdGenerator()
        self.stats = TradeStats(kelly_window)
        self.guard = EquityGuard(cfg.daily_loss_limit, cfg.max_drawdown)
        # the newest MAX_REJECTIONS (a deque drops the oldest in O(1); trimming a full list moved all)
        self.rejections: deque[Rejection] = deque(maxlen=MAX_REJECTIONS)
        self._paused = False
        self._pause_reason = ""

    # ----- state -------------------------------------------------------------------------------
    @property
    def killed(self) -> bool:
        return self.guard.killed

    @property
    def kill_reason(self) -> str:
        return self.guard.kill_reason

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self, reason: str = "paused by operator") -> None:
        """Stop new entries (exits and open orders are not affected)."""
        self._paused, self._pause_reason = True, reason

    def resume(self) -> None:
        self._paused, self._pause_reason = False, ""

    def kill(self, reason: str) -> None:
        """Trip the kill switch by hand; the engine should flatten."""
        self.guard.kill(reason)

    def reset_kill(self) -> None:
        self.guard.reset()

    def on_equity(self, ts: int, equity: Decimal) -> None:
        """Feed an equity snapshot: updates the UTC-day start, the peak, and may trip the switch."""
        was = self.guard.killed
        self.guard.update(ts, equity)
        if self.guard.killed and not was:
            log.warning("kill switch tripped: %s", self.guard.kill_reason)

    def record_trade(self, pnl_fraction: Decimal) -> None:
        """A closed trade's PnL as a fraction of its entry notional (feeds the Kelly cap)."""
        self.stats.record(pnl_fraction)

    def update_limits(self, **changes: Any) -> RiskConfig:
        """Change limits at runtime (control plane); validated like the config file, all or nothing."""
        try:
            cfg = RiskConfig.model_validate({**self.cfg.model_dump(), **changes})
        except ValidationError as e:
            raise ConfigError("invalid risk limits: " + "; ".join(format_validation_error(e))) from None
        self.cfg = cfg
        self.guard.daily_loss_limit = cfg.daily_loss_limit
        self.guard.max_drawdown = cfg.max_drawdown
        return cfg

    # ----- sizing ------------------------------------------------------------------------------
    def size_entry(
        self,
        decision: Decision,
        equity: Decimal,
        open_positions: Mapping[str, Decimal],
        rules: MarketRules,
        now_ms: int,
    ) -> OrderRequest | Rejection:
        """`open_positions`: symbol -> open notional in the quote currency (zeros are ignored)."""
        amount = self._size(decision, equity, open_positions, rules, now_ms)
        if isinstance(amount, _Reject):
            rej = Rejection(now_ms, decision.symbol, amount.reason, amount.details, amount.code)
            self.rejections.append(rej)
            log.info("entry %s rejected: %s", decision.symbol, amount.reason)
            return rej
        return self.entry_order(decision.symbol, amount, now_ms, strategy="confluence")

    def _size(
        self,
        d: Decision,
        equity: Decimal,
        open_positions: Mapping[str, Decimal],
        rules: MarketRules,
        now_ms: int,
    ) -> Decimal | _Reject:
        cfg = self.cfg
        if self.guard.killed:
            return _Reject("killed", f"kill switch is on: {self.guard.kill_reason}")
        if self._paused:
            return _Reject("paused", f"new entries are paused: {self._pause_reason}")
        if d.direction == 0:
            return _Reject("no_direction", "decision has no direction")
        if d.direction < 0:
            return _Reject("short_unsupported", "short entries are not supported (spot, long-only)")
        if d.stop is None:
            return _Reject("no_stop", "decision has no stop price, so the risk cannot be sized")
        if not 0.0 < d.stop < d.price:  # as Decimal below: repr keeps the order of floats
            entry, stop = dec(d.price), dec(d.stop)
            return _Reject(
                "bad_stop", f"stop {stop} must be above 0 and below the entry {entry}", entry=entry
            )
        if equity <= 0:
            return _Reject("no_equity", f"equity is {equity}", equity=equity)
        self.on_equity(now_ms, equity)
        if self.guard.killed:
            return _Reject("killed", f"kill switch is on: {self.guard.kill_reason}")
        open_now = {s: abs(n) for s, n in open_positions.items() if n}
        if d.symbol in open_now:
            return _Reject(
                "position_open", f"already holding a position in {d.symbol}", notional=open_now[d.symbol]
            )
        if len(open_now) >= cfg.max_open_positions:
            return _Reject(
                "max_positions",
                f"{len(open_now)} positions open, the maximum is {cfg.max_open_positions}",
                open=len(open_now),
            )
        if self.guard.daily_limit_hit():
            loss = self.guard.daily_loss()
            return _Reject(
                "daily_loss",
                f"daily loss {loss:.2%} reached the limit {cfg.daily_loss_limit:.2%}; no new entries until "
                "the next UTC day",
                day_start=self.guard.day_start,
                equity=equity,
            )

        entry, stop = dec(d.price), dec(d.stop)
        qty = cfg.risk_per_trade * equity / (entry - stop)
        notional = qty * entry
        caps: dict[str, Decimal] = {"per_pair": cfg.max_exposure_per_pair * equity}
        if cfg.kelly_cap and len(self.stats) >= cfg.kelly_min_trades:
            half = self.stats.half_kelly()
            assert half is not None
            if half <= 0 and cfg.kelly_floor > 0:
                caps["kelly_floor"] = cfg.kelly_floor * equity
            elif half <= 0:
                return _Reject(
                    "negative_edge",
                    f"Kelly fraction {half * 2:.4f} over the last {len(self.stats)} trades shows no edge",
                    kelly=half * 2,
                )
            else:
                caps["half_kelly"] = half * equity
        room = cfg.max_total_exposure * equity - sum(open_now.values(), ZERO)
        if room <= 0:
            return _Reject(
                "exposure_full",
                f"total exposure {sum(open_now.values(), ZERO)} already at the limit "
                f"{cfg.max_total_exposure:.0%} of equity {equity}",
            )
        caps["total"] = room
        notional = min(notional, *caps.values())
        amount = rules.round_amount(notional / entry)
        try:
            rules.check_amount(amount)
            rules.check_cost(amount, entry)
        except OrderError as e:
            return _Reject(
                "below_minimum",
                f"sized amount is too small for the market: {e}",
                amount=amount,
                notional=notional,
            )
        return amount
