"""Execution: turning sized order requests into venue orders and tracking what comes back."""
