"""Venues: where orders go (simulated matching engine, exchanges through ccxt) and market rules."""
