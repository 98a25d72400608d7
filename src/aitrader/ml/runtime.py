"""The ML gate of a paper/live session (`ml.enabled`): gate, gated decision source, scheduled retraining.

`runtime.session` builds one `SessionGate` when `ml.enabled` and hands the engine `gated` (a
`live.GatedDecisions` around the session's `StreamingDecisions`) instead of the bare source. The
streaming source stays the one the feed's `on_closed` hook precomputes into, so the eager per-candle
computation is unchanged: the wrapper only asks it for the decision and gates entries with the same
`MLGate` the backtest's `GatedFrame` uses.

- `load()` loads the registry's promoted model (off the event loop: loading compiles the feature and
  tree kernels). No model, or a broken one, is not an error: the gate then acts as `ml.on_failure`
  says (`gate_closed` refuses entries, `gate_bypassed` lets them through) and logs why.
- `seed(feed)` fills each pair's candle window from the REST warm-up, up to the last candle the
  engine will not be handed (no candle it will see later leaks into an earlier feature row).
- `run_retraining(ctx)` is a supervised task: every `poll_s` it starts the training subprocess when
  `ml.retrain_interval_ms` (wall time) has passed since the promoted model was created or the last
  run started (at once when no usable model was loaded: a missing or corrupt CURRENT), picks up a
  promotion by reloading the gate, and kills a run in flight when the task is cancelled (session
  shutdown). A run that dies or loses leaves the gate serving what it had.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aitrader.config import Settings
from aitrader.core.time import now_ms, timeframe_to_ms
from aitrader.engine.decisions import DecisionSource
from aitrader.ml.configured import retrainer, train_spec
from aitrader.ml.features import FeatureSpec
from aitrader.ml.gate import GatedDecision, MLGate
from aitrader.ml.live import GatedDecisions
from aitrader.ml.registry import ModelRegistry
from aitrader.ml.retrain import Retrainer
from aitrader.ml.worker import TrainRequest

log = logging.getLogger(__name__)
POLL_S = 5.0  # how often the retraining task looks at its subprocess and the schedule


class SessionGate:
    def __init__(
        self,
        settings: Settings,
        inner: DecisionSource,
        *,
        on_gated: Callable[[GatedDecision], None] | None = None,
        db: Any = None,
        poll_s: float | None = None,
    ) -> None:
        ml = settings.ml
        self.settings = settings
        self.tf_ms = timeframe_to_ms(settings.data.timeframe)
        self.registry = ModelRegistry(ml.registry, db=db, tenant=settings.tenant)
        self.gate = MLGate(
            self.registry, threshold=ml.threshold, on_failure=ml.on_failure, timeframe_ms=self.tf_ms
        )
        self.gated = GatedDecisions(
            inner, self.gate, window=FeatureSpec().window(self.tf_ms), on_gated=on_gated
        )
        request = TrainRequest(
            datadir=str(settings.data.datadir),
            exchange=settings.exchange.name,
            pairs=list(settings.exchange.pairs),
            timeframe=settings.data.timeframe,
            registry=str(ml.registry),
            spec=train_spec(settings).to_dict(),
            db_url=settings.storage.url if db is not None else None,
            tenant=settings.tenant,
        )
        self.retrainer: Retrainer = retrainer(settings, request, Path(ml.registry) / ".retrain")
        self.poll_s = POLL_S if poll_s is None else poll_s

    async def load(self) -> bool:
        """Serve the promoted model; False (the gate in its failure mode, logged) when there is none."""
        try:
            ok = await asyncio.to_thread(self.gate.load, "current")
        except Exception as e:  # an unreadable registry is a model failure, never a crash
            self.gate.last_error = f"{type(e).__name__}: {e}"
            ok = False
        if ok:
            model = self.gate.model
            if model is not None:  # a model with a longer feature history gets a longer window
                self.gated.window = max(self.gated.window, model.spec.features.window(self.tf_ms))
            log.info("ml gate: serving model %s (threshold %.2f)", self.gate.version, self.gate.threshold)
            self._schedule_from_current()
        else:  # no usable model: retraining is due at once, it is the way out of the failure mode
            log.warning(
                "ml gate: no usable model (%s); entries are %s until one is promoted",
                self.gate.last_error,
                "refused" if self.gate.on_failure == "gate_closed" else "let through ungated",
            )
        return ok

    def _schedule_from_current(self) -> None:
        """The first scheduled run is due `retrain_interval_ms` after the promoted model was made."""
        try:
            cur = self.registry.current()
            created = self.registry.card(cur).get("created_ms") if cur is not None else None
        except Exception:
            created = None
        if isinstance(created, int | float):
            self.retrainer.last_start_ms = int(created)

    def seed(self, feed: Any) -> None:
        """Each pair's gate window from the warm-up history the engine is not handed as events."""
        for symbol in feed.symbols:
            upto = feed.handled_upto(symbol)
            if upto >= 0:
                self.gated.warm_up(symbol, feed.window(symbol, upto))

    async def run_retraining(self, ctx: Any = None, now: Callable[[], int] = now_ms) -> None:
        """Supervised task: scheduled retraining in a subprocess; the gate reloads after a promotion."""
        r = self.retrainer
        try:
            while True:
                outcome = r.poll()
                if outcome is not None:
                    if outcome.promoted:
                        result = outcome.result or {}
                        version = result.get("version")
                        if result.get("current_error"):
                            log.warning(
                                "ml retrain: the current model was unusable (%s); %s replaces it",
                                result["current_error"],
                                version,
                            )
                        loaded = await asyncio.to_thread(self.gate.load, "current")
                        kept = f"kept {self.gate.version} ({self.gate.last_error})"
                        log.info("ml retrain: promoted %s; gate %s", version, "reloaded" if loaded else kept)
                    elif outcome.error:
                        log.warning("ml retrain failed (%s); gate keeps %s", outcome.error, self.gate.version)
                    else:
                        log.info("ml retrain: candidate not better; gate keeps %s", self.gate.version)
                if r.maybe_start(now()):
                    log.info("ml retrain: training started (progress in %s)", r.progress_path)
                if ctx is not None:
                    ctx.beat()
                await asyncio.sleep(self.poll_s)
        finally:
            r.stop()

    def close(self) -> None:
        """Kill a training run still in flight (idempotent)."""
        self.retrainer.stop()
