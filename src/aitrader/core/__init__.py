"""Domain types, time, clock and errors. `core` imports nothing else of ours."""
