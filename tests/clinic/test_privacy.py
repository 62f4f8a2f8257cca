"""Personal data kept only as long as needed: retention, access and erasure, against SQLite
and a real PostgreSQL server, with conversations stored by Rasa's own SQL tracker store."""

import asyncio
import datetime as dt
import time

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic import privacy, records

DAY = 24 * 3600
PHONE = "+14155552671"


class Stores:
    """The clinic database and the tracker store, as the servers use them."""

    def __init__(self, clinic_url: str, tracker_store: SQLTrackerStore) -> None:
        self.db = records.engine(clinic_url)
        self.tracker_store = tracker_store
        self.tracker_db = tracker_store.engine

    def conversation(self, sender_id: str, *days_ago: float, text: str = "my lower back hurts") -> None:
        """One exchange per day given, oldest first."""
        events = []
        for days in days_ago:
            at = time.time() - days * DAY
            events += [UserUttered(text, timestamp=at), BotUttered("I'm sorry to hear that.", timestamp=at + 1)]
        asyncio.run(self.tracker_store.save(DialogueStateTracker.from_events(sender_id, events)))

    def conversation_ids(self):
        return set(asyncio.run(self.tracker_store.keys()))

    def book(self, conversation_id: str, key: str, contact: str = PHONE, name: str = "Maria O'Neill"):
        return records.create_booking(
            request_key=key,
            conversation_id=conversation_id,
            channel="rest",
            treatment="deep tissue massage",
            preferred_day=dt.date(2026, 11, 24),
            preferred_time="afternoon",
            name=name,
            contact=contact,
            reason="stiff lower back",
            db=self.db,
        )

    def booking(self, reference: str):
        return next(row for row in records.list_records("bookings", db=self.db) if row["reference"] == reference)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def stores(request, tmp_path):
    if request.param == "sqlite":
        clinic_url = f"sqlite:///{tmp_path / 'clinic.db'}"
        tracker_store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "conversations.db"))
    else:
        clinic_url = request.getfixturevalue("postgres").new_database()
        tracker_store = SQLTrackerStore(Domain.empty(), host=clinic_url)
    yield Stores(clinic_url, tracker_store)
    tracker_store.engine.dispose()
    records.engine(clinic_url).dispose()
    records.engine.cache_clear()


def test_retention_deletes_conversations_whose_last_message_is_older_than_retention_days(stores):
    stores.conversation("quiet-for-100-days", 100)
    stores.conversation("active-10-days-ago", 10)
    stores.conversation("began-long-ago-but-active", 200, 1)

    done = privacy.apply_retention(90, 2555, db=stores.db, tracker_db=stores.tracker_db)

    assert done.conversations_deleted == 1
    assert stores.conversation_ids() == {"active-10-days-ago", "began-long-ago-but-active"}


def test_retention_anonymises_requests_and_escalations_past_the_record_period(stores):
    booking = stores.book("conversation-1", "conversation-1:booking_form:1")
    records.record_escalation("conversation-1", "rest", "urgent", "infection", ["chills"], "I have chills", stores.db)
    ten_years_on = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3650)

    not_yet = privacy.apply_retention(90, 2555, db=stores.db, tracker_db=stores.tracker_db)
    done = privacy.apply_retention(90, 2555, now=ten_years_on, db=stores.db, tracker_db=stores.tracker_db)

    assert (not_yet.requests_anonymised, not_yet.escalations_anonymised) == (0, 0)
    assert (done.requests_anonymised, done.escalations_anonymised) == (1, 1)
    stored = stores.booking(booking["reference"])
    assert (stored["name"], stored["phone"], stored["email"], stored["reason"]) == (privacy.ERASED, None, None, None)
    assert stored["treatment"] == "deep tissue massage"  # what the clinic counts stays
    escalation = records.list_records("escalations", db=stores.db)[0]
    assert (escalation["message"], escalation["matched"], escalation["level"]) == ("", [], "urgent")


def test_delete_my_data_keeps_a_booking_the_clinic_confirmed_and_says_why(stores):
    confirmed = stores.book("chat-1", "chat-1:booking_form:1")
    records.set_status(confirmed["reference"], "confirmed", db=stores.db)
    requested = stores.book("chat-1", "chat-1:booking_form:2")
    someone_else = stores.book("chat-2", "chat-2:booking_form:1", name="Ann Other")

    erasure = privacy.erase_conversation_requests("chat-1", db=stores.db)

    assert erasure.anonymised == [requested["reference"]]
    assert list(erasure.kept) == [confirmed["reference"]]
    assert "confirmed" in erasure.kept[confirmed["reference"]]
    assert stores.booking(requested["reference"])["name"] == privacy.ERASED
    assert stores.booking(confirmed["reference"])["name"] == "Maria O'Neill"
    assert stores.booking(someone_else["reference"])["name"] == "Ann Other"


def test_staff_export_then_erase_a_person_found_by_phone(stores):
    booking = stores.book("chat-1", "chat-1:booking_form:1")
    stores.conversation("chat-1", 1, text="book me a deep tissue massage")
    stores.conversation("chat-2", 1, text="someone else's question")
    records.record_escalation("chat-1", "rest", "urgent", "infection", ["chills"], "I have chills", stores.db)

    held = privacy.export_person(phone=PHONE, db=stores.db, tracker_db=stores.tracker_db)
    assert [row["reference"] for row in held["bookings"]] == [booking["reference"]]
    assert held["bookings"][0]["name"] == "Maria O'Neill"
    assert [turn["text"] for turn in held["conversations"]["chat-1"]][0] == "book me a deep tissue massage"
    assert "chat-2" not in held["conversations"]
    assert held["escalations"][0]["message"] == "I have chills"

    erasure = privacy.erase_person(phone=PHONE, db=stores.db, tracker_db=stores.tracker_db)

    assert (erasure.anonymised, erasure.conversations_deleted, erasure.escalations_kept) == (
        [booking["reference"]],
        1,
        1,
    )
    assert stores.conversation_ids() == {"chat-2"}
    assert privacy.export_person(phone=PHONE, db=stores.db, tracker_db=stores.tracker_db) == {
        "bookings": [],
        "referrals": [],
        "escalations": [],
        "conversations": {},
    }
