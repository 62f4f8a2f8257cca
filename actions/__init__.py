"""Custom actions, one module per feature. The action server (`python -m actions.server`) loads them all."""

from clinic import log_privacy

log_privacy.install()  # before the actions log anything: no personal data in the logs

from actions import booking, fallback, privacy, red_flags, referrals  # noqa: E402, F401  (registers the actions with rasa_sdk)
