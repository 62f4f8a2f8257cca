"""Custom actions, one module per feature. `rasa run actions --actions actions` loads them all."""
from actions import fallback, red_flags  # noqa: F401  (registers the actions with rasa_sdk)
