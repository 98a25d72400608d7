"""Accounting: the Decimal ledger of every cash and asset movement, positions and PnL."""
