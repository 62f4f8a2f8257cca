"""What the tests need besides the code under test: real servers on loopback (the assistant,
PostgreSQL, the staff webhook, Telegram's Bot API) and trackers for action tests.

Only tests import from here."""
