"""Telegram control and notifications (python-telegram-bot): the operator's pocket dashboard."""
