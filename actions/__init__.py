"""Custom actions, one module per feature. `rasa run actions --actions actions` loads them all."""

from actions import booking, fallback, privacy, red_flags, referrals  # noqa: F401  (registers the actions with rasa_sdk)
