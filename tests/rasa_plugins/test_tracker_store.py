"""The tracker store the Rasa server writes conversations with (endpoints.yml), on a real
SQLite file: what it stores is what Rasa's own SQL tracker store, and the staff console, read."""

import asyncio
import sqlite3

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_plugins.tracker_store import ClinicSQLTrackerStore
from settings import PROJECT_DIR

DOMAIN = Domain.load(PROJECT_DIR / "domain.yml")


def a_turn(tracker: DialogueStateTracker, text: str) -> None:
    tracker.update(UserUttered(text, {"name": "faq", "confidence": 0.97}))
    tracker.update(ActionExecuted("utter_faq"))
    tracker.update(BotUttered(f"an answer to {text}"))
    tracker.update(ActionExecuted("action_listen"))


def test_every_turn_is_stored_and_read_back_by_rasas_own_store(tmp_path):
    database = tmp_path / "conversations.db"
    store = ClinicSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(database))
    tracker = DialogueStateTracker("patient-1", DOMAIN.slots)
    for text in ("what is deep tissue massage", "does it hurt", "how long is a session"):
        a_turn(tracker, text)
        asyncio.run(store.save(tracker))
        tracker = asyncio.run(store.retrieve("patient-1"))

    reader = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(database))
    stored = asyncio.run(reader.retrieve("patient-1"))
    assert [event.text for event in stored.events if isinstance(event, BotUttered)] == [
        "an answer to what is deep tissue massage",
        "an answer to does it hurt",
        "an answer to how long is a session",
    ]
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT intent_name FROM events WHERE type_name = 'user'").fetchall()
        # Written to the write-ahead log: no disk flush on every message.
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert rows == [("faq",)] * 3
