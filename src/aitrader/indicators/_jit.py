"""The one place that applies numba to the indicator kernels: lazily, typed, cache-safe.

Why a wrapper:
- Typing: numba ships no type information, so a bare `@numba.njit` would make every kernel `Any`
  (and strict mypy rejects untyped decorators). `kernel` returns the function's own type, so the
  kernels stay type-checked as ordinary numpy code and callers see their real signatures.
- Cheap import: `import aitrader.indicators` must not pay for numba (~0.3-1 s to import, plus
  creating ~30 dispatchers). `kernel` only records the function; the first call of any kernel of
  a module imports numba and replaces *all* of that module's kernels by numba dispatchers in the
  module's globals (so kernels calling each other, and later calls through the module, use the
  compiled versions). Each kernel is then compiled on its first call for the types it sees.
- Disk cache: `cache=True` stores machine code next to the source (`_kernels/__pycache__`); if that
  directory is not writable numba uses the user cache (`~/.cache/numba`, or `$NUMBA_CACHE_DIR`
  when set). If no location is writable numba raises at decoration; we then compile without a
  cache rather than fail (every process then pays the compile on first use). Both verified with
  a read-only copy of the package run as an unprivileged user.
`nogil=True` lets callers compute indicators for several pairs in threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()


class _Pending:
    """Placeholder for a kernel whose module has not been compiled-in yet."""

    __slots__ = ("_jitted", "fn")

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self._jitted: Any = None

    def __call__(self, *args: Any) -> Any:
        # a caller that imported the kernel by name keeps this placeholder: after the first call it
        # goes straight to the dispatcher (materializing again on every call took a lock and walked
        # the module's globals: ~4 % of a full-stack backtest, whose feed scans levels this way)
        jitted = self._jitted
        if jitted is None:
            jitted = self._jitted = _materialize(self.fn)
        return jitted(*args)

    def __repr__(self) -> str:
        return f"<pending kernel {self.fn.__module__}.{self.fn.__qualname__}>"


def _njit(fn: Callable[..., Any]) -> Any:
    import numba

    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(nogil=True)(fn)


def _materialize(fn: Callable[..., Any]) -> Any:
    """Swap every pending kernel of fn's module for its numba dispatcher; return fn's."""
    g = fn.__globals__
    with _lock:
        for name, obj in list(g.items()):
            if isinstance(obj, _Pending):
                g[name] = _njit(obj.fn)
    return g[fn.__name__]


def kernel(fn: F) -> F:
    """Mark `fn` as a numba kernel (njit, cache, nogil), compiled lazily; see the module docstring."""
    return cast(F, _Pending(fn))
