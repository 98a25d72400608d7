"""The ML entry gate: P(win) of a long entry from candle features, trained walk-forward, served live.

One feature function (`features.compute`) feeds training, backtests and live gating, so the model
sees the same numbers in all three. Training runs in a subprocess (`worker`), models live in a
versioned registry (`registry`), and the gate (`gate`) degrades to closed or bypassed on failure
instead of crashing the engine.
"""
