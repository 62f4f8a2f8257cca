"""The tracker store the Rasa server uses (endpoints.yml): a conversation whose person confirmed
"delete my data" is deleted instead of saved, in SQLite and PostgreSQL."""

import asyncio

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic.privacy import DATA_DELETED_SLOT
from rasa_plugins.tracker_store import ErasableSQLTrackerStore

DOMAIN = Domain.from_dict({"slots": {DATA_DELETED_SLOT: {"type": "bool", "mappings": [{"type": "custom"}]}}})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def store(request, tmp_path):
    if request.param == "sqlite":
        made = ErasableSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "conversations.db"))
    else:
        made = ErasableSQLTrackerStore(DOMAIN, host=request.getfixturevalue("postgres").new_database())
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
