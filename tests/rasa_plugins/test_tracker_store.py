"""The tracker store the Rasa server uses (endpoints.yml): what it stores is what Rasa's own SQL
tracker store, and the staff console, read; a conversation whose person confirmed "delete my
data" is deleted instead of saved, in SQLite and PostgreSQL."""

import asyncio
import sqlite3

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic.privacy import DATA_DELETED_SLOT
from rasa_plugins.tracker_store import ClinicSQLTrackerStore
from settings import PROJECT_DIR

PROJECT_DOMAIN = Domain.load(PROJECT_DIR / "domain.yml")
DOMAIN = Domain.from_dict({"slots": {DATA_DELETED_SLOT: {"type": "bool", "mappings": [{"type": "custom"}]}}})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def store(request, tmp_path):
    if request.param == "sqlite":
        made = ClinicSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "conversations.db"))
    else:
        made = ClinicSQLTrackerStore(DOMAIN, host=request.getfixturevalue("postgres").new_database())
    yield made
    made.engine.dispose()


def test_the_deleting_turn_removes_every_stored_event_of_that_conversation_only(store):
    mine = DialogueStateTracker.from_events(
        "me", [UserUttered("I'm Maria Quill, +1 415 555 2671"), BotUttered("Thanks")], DOMAIN.slots
    )
    theirs = DialogueStateTracker.from_events("them", [UserUttered("opening hours?")], DOMAIN.slots)
    asyncio.run(store.save(mine))
    asyncio.run(store.save(theirs))

    for event in (UserUttered("/affirm"), SlotSet(DATA_DELETED_SLOT, True), BotUttered("Done: I deleted ...")):
        mine.update(event)
    asyncio.run(store.save(mine))

    assert asyncio.run(store.retrieve("me")) is None
    assert asyncio.run(store.retrieve_full_tracker("me")) is None
    assert asyncio.run(store.retrieve("them")) is not None


def test_an_ordinary_turn_is_saved_as_rasa_saves_it(store):
    tracker = DialogueStateTracker.from_events("me", [UserUttered("hello")], DOMAIN.slots)
    asyncio.run(store.save(tracker))
    tracker.update(BotUttered("Hi!"))
    asyncio.run(store.save(tracker))
    assert [event.type_name for event in asyncio.run(store.retrieve("me")).events] == ["user", "bot"]


def a_turn(tracker: DialogueStateTracker, text: str) -> None:
    tracker.update(UserUttered(text, {"name": "faq", "confidence": 0.97}))
    tracker.update(ActionExecuted("utter_faq"))
    tracker.update(BotUttered(f"an answer to {text}"))
    tracker.update(ActionExecuted("action_listen"))


def test_every_turn_is_stored_and_read_back_by_rasas_own_store(tmp_path):
    database = tmp_path / "conversations.db"
    store = ClinicSQLTrackerStore(PROJECT_DOMAIN, dialect="sqlite", db=str(database))
    tracker = DialogueStateTracker("patient-1", PROJECT_DOMAIN.slots)
    for text in ("what is deep tissue massage", "does it hurt", "how long is a session"):
        a_turn(tracker, text)
        asyncio.run(store.save(tracker))
        tracker = asyncio.run(store.retrieve("patient-1"))

    reader = SQLTrackerStore(PROJECT_DOMAIN, dialect="sqlite", db=str(database))
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


def test_the_latest_messages_channel_is_read_without_the_whole_conversation(store):
    tracker = DialogueStateTracker.from_events(
        "chat-1",
        [UserUttered("hi", input_channel="rest"), BotUttered("Hello"), UserUttered("/start", input_channel="telegram")],
        DOMAIN.slots,
    )
    asyncio.run(store.save(tracker))
    assert store.latest_input_channel("chat-1") == asyncio.run(store.retrieve("chat-1")).get_latest_input_channel()
    assert store.latest_input_channel("chat-1") == "telegram"
    assert store.latest_input_channel("nobody") is None


def test_a_conversation_of_two_sessions_reads_back_as_rasas_own_store_reads_it(tmp_path):
    database = tmp_path / "conversations.db"
    store = ClinicSQLTrackerStore(PROJECT_DOMAIN, dialect="sqlite", db=str(database))
    tracker = DialogueStateTracker("patient-2", PROJECT_DOMAIN.slots)
    a_turn(tracker, "what is deep tissue massage")
    tracker.update(SlotSet("patient_name", "Maria Quill"))
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    a_turn(tracker, "does it hurt")
    asyncio.run(store.save(tracker))

    rasas = SQLTrackerStore(PROJECT_DOMAIN, dialect="sqlite", db=str(database))
    for read in ("retrieve", "retrieve_full_tracker"):
        ours, theirs = (asyncio.run(getattr(s, read)("patient-2")) for s in (store, rasas))
        assert ours.current_state() == theirs.current_state()
    latest = asyncio.run(store.retrieve("patient-2"))
    assert [e.text for e in latest.events if isinstance(e, UserUttered)] == ["does it hurt"]
    whole = asyncio.run(store.retrieve_full_tracker("patient-2"))
    assert [e.text for e in whole.events if isinstance(e, UserUttered)] == [
        "what is deep tissue massage",
        "does it hurt",
    ]
    assert asyncio.run(store.retrieve("nobody")) is None
