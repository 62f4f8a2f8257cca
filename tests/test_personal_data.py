"""Personal data end to end, against both servers started as `make run` starts them: "delete my
data" in chat leaves nothing of the person in either database, and no log the servers write
holds a name, phone number, e-mail address or message text."""

from typing import Dict, List

import pytest
import sqlalchemy as sa

from clinic import privacy, records
from tests.support.assistant import Assistant, chat_over_socketio, new_sender, reply_text

pytestmark = pytest.mark.servers

# Distinctive, so a scan of the logs finds them only if they were logged.
NAME = "Zebedee Quarrington"
PHONE_TYPED, PHONE_STORED = "(415) 555-0187", "+14155550187"
EMAIL = "zebedee.quarrington@example.org"
REASON = "tightness after rowing practice"


def book(assistant: Assistant, sender: str, contact: str) -> List[str]:
    """A whole booking over REST; returns the messages the person typed."""
    typed = ["I'd like to book a deep tissue massage next Tuesday afternoon", NAME, contact, REASON, "/confirm_booking"]
    for message in typed:
        replies = assistant.send(sender, message)
    assert "Your reference is" in reply_text(replies)
    return typed


def stored_events(assistant: Assistant, sender: str) -> int:
    tracker_db = sa.create_engine(f"sqlite:///{assistant.sqlite_file}")
    with tracker_db.connect() as connection:
        count = connection.execute(
            sa.select(sa.func.count()).select_from(privacy.events).where(privacy.events.c.sender_id == sender)
        ).scalar_one()
    tracker_db.dispose()
    return count


def bookings(assistant: Assistant, **where) -> List[Dict]:
    rows = records.list_records("bookings", db=records.engine(assistant.clinic_database_url))
    return [row for row in rows if all(row[key] == value for key, value in where.items())]


def test_delete_my_data_asks_first_and_no_keeps_everything(assistant):
    sender = new_sender("pd")
    book(assistant, sender, PHONE_TYPED)
    question = assistant.send(sender, "please delete my data")
    assert "delete this conversation" in reply_text(question)
    assert [b["payload"] for reply in question for b in reply.get("buttons", [])] == ["/affirm", "/deny"]
    assert "Nothing was deleted" in reply_text(assistant.send(sender, "no"))
    assert stored_events(assistant, sender) > 0
    assert [row["name"] for row in bookings(assistant, conversation_id=sender)] == [NAME]


def test_after_delete_my_data_neither_database_holds_the_person_and_safety_still_works(assistant):
    sender = new_sender("pd")
    book(assistant, sender, EMAIL)
    [reference] = [row["reference"] for row in bookings(assistant, conversation_id=sender)]
    assert "delete this conversation" in reply_text(assistant.send(sender, "forget everything I told you"))

    done = assistant.send(sender, "/affirm")

    assert "I deleted this conversation" in reply_text(done) and reference in reply_text(done)
    assert {"data_deleted": True} in [reply.get("custom") for reply in done]
    assert stored_events(assistant, sender) == 0
    [row] = bookings(assistant, reference=reference)
    assert (row["name"], row["email"], row["phone"], row["reason"], row["conversation_id"]) == (
        privacy.ERASED,
        None,
        None,
        None,
        privacy.ERASED,
    )
    assert bookings(assistant, email=EMAIL) == []
    # The same sender starts afresh, and a red flag is still answered as one.
    emergency = assistant.send(sender, "since this morning i've lost control of my bladder and my back is agony")
    assert any("red_flag" in (reply.get("custom") or {}) for reply in emergency)
    tracker = assistant.tracker(sender)
    assert "Zebedee" not in str(tracker["events"]) and tracker["slots"]["data_deleted"] is None


def test_delete_my_data_in_the_middle_of_a_booking_leaves_the_form_and_deletes(assistant):
    sender = new_sender("pd")
    assert "name" in reply_text(assistant.send(sender, "I'd like to book a deep tissue massage next Tuesday afternoon"))
    question = assistant.send(sender, "/delete_my_data")  # the widget's button, while the form asks a name
    assert "delete this conversation" in reply_text(question)
    assert "I deleted this conversation" in reply_text(assistant.send(sender, "/affirm"))
    assert stored_events(assistant, sender) == 0
    assert bookings(assistant, conversation_id=sender) == []


def test_a_booking_the_clinic_confirmed_is_kept_and_the_reply_says_so(assistant):
    sender = new_sender("pd")
    book(assistant, sender, PHONE_TYPED)
    [reference] = [row["reference"] for row in bookings(assistant, conversation_id=sender)]
    records.set_status(reference, "confirmed", db=records.engine(assistant.clinic_database_url))
    assistant.send(sender, "GDPR: remove my details")

    done = reply_text(assistant.send(sender, "/affirm"))

    assert f"Kept: {reference}, because the clinic has already confirmed this booking" in done
    assert bookings(assistant, reference=reference)[0]["name"] == NAME
    assert stored_events(assistant, sender) == 0


def test_no_log_the_servers_write_holds_names_contacts_or_messages(assistant):
    typed = book(assistant, new_sender("pd"), PHONE_TYPED)
    _, replies = chat_over_socketio(
        assistant.url,
        ["book a sports massage next wednesday at 10am", NAME, EMAIL, REASON, "/confirm_booking"],
        done=lambda reply: "Your reference is" in (reply.get("text") or ""),
    )
    logs = [assistant.log_file, *assistant.log_file.parent.rglob("*.log")]
    written = "\n".join(path.read_text(errors="replace") for path in set(logs))
    assert "Started" in written or "Starting" in written  # the servers did write their log here
    for personal in (NAME, "Quarrington", PHONE_TYPED, PHONE_STORED, "555-0187", EMAIL, REASON, *typed[:1]):
        assert personal not in written, personal
