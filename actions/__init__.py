"""Custom actions, one module per feature. The action server (`python -m actions.server`) loads them all."""

from actions import booking, fallback, red_flags, referrals  # noqa: F401  (registers the actions with rasa_sdk)
