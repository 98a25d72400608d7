"""Risk: position sizing, exposure caps, loss limits and the drawdown kill switch."""
