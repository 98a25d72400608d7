"""Compiled (numba) loops behind `aitrader.indicators` — private; use the public functions.

Why loops: the indicators are recursive (EMA, Wilder) or sliding-window computations that numpy
can only express with several full-length temporaries (or not at all); one compiled pass per
indicator is 3-30x faster and allocates only the outputs.

Conventions shared by every kernel:
- Inputs are float64 C-contiguous arrays as produced by `_util.as_float` (read-only views, so
  each kernel is compiled once, whatever the caller's array flags), plus `s`, the first index
  where every input is valid. Outputs are allocated here with TA-Lib's NaN warm-up already set.
- Running window sums are re-summed from scratch every `max(256, 8*period)` windows and whenever
  they turned NaN, so rounding error does not grow with the series length and a NaN inside the
  series only spoils the windows that contain it.
- No kernel module calls a jitted function of another one (each has its own tiny helpers): numba's
  disk cache keys on the calling file only, so it would keep a stale copy of an edited callee
  (numba#1833) — e.g. after a `git pull` that changes one file. A test enforces this.
- Compilation and caching: see `aitrader.indicators._jit`. First use in a fresh environment
  compiles every kernel it touches (about 10-15 s of CPU for the whole set); later processes load
  the cache (~1 s for the whole set, most of it numba's one-off start-up).
"""
