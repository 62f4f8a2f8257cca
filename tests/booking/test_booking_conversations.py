"""Booking, referral and cancellation conversations over the REST webhook of the running
assistant (both servers started as `make run` starts them), checked in the clinic database."""

import uuid
from typing import Dict, List

import pytest
import sqlalchemy as sa

from booking.when import parse_when
from clinic import records
from clinic.details import load_clinic
from tests.support.assistant import Assistant, chat_over_socketio, new_sender, reply_text, started_assistant

EMERGENCY_MESSAGE = "since this morning i've lost control of my bladder and my back is agony"
URGENT_MESSAGE = "I slipped on the ice last week and my back has hurt ever since"


def payloads(replies: List[Dict]) -> List[Dict]:
    return [reply["custom"] for reply in replies if "custom" in reply]


def stored(assistant: Assistant, kind: str, sender: str) -> List[Dict]:
    db = records.engine(assistant.clinic_database_url)
    return [row for row in records.list_records(kind, db=db) if row["conversation_id"] == sender]


def book_deep_tissue(assistant: Assistant, sender: str) -> List[Dict]:
    """A whole booking, as a patient would type it; returns the read-back."""
    first = reply_text(assistant.send(sender, "I'd like to book a deep tissue massage next Tuesday afternoon"))
    assert "What name" in first  # treatment, day and time were all taken from that message
    assert "How can the clinic reach you" in reply_text(assistant.send(sender, "Maria O'Neill"))
    assert "Anything you'd like the therapist to know" in reply_text(assistant.send(sender, "(415) 555-2671"))
    return assistant.send(sender, "skip")


def test_a_complete_booking_is_stored_then_confirmed_with_a_reference(assistant):
    sender = new_sender("bk")
    read_back = book_deep_tissue(assistant, sender)
    summary = reply_text(read_back)
    tuesday = parse_when("next tuesday", load_clinic().now()).day
    for detail in ("deep tissue massage", f"Tuesday {tuesday.day}", "afternoon", "Maria O'Neill", "+14155552671"):
        assert detail in summary
    buttons = [button["payload"] for reply in read_back for button in reply.get("buttons", [])]
    assert "/confirm_booking" in buttons and "/stop" in buttons
    assert stored(assistant, "bookings", sender) == []  # nothing is stored before confirming

    confirmation = assistant.send(sender, "/confirm_booking")
    [payload] = payloads(confirmation)
    [row] = stored(assistant, "bookings", sender)
    assert payload == {"booking": {"reference": row["reference"], "status": "requested"}}
    assert row["reference"] in reply_text(confirmation) and "within one working day" in reply_text(confirmation)
    assert (row["treatment"], row["preferred_day"], row["preferred_time"]) == (
        "deep tissue massage",
        tuesday,
        "afternoon",
    )
    assert (row["name"], row["phone"], row["email"], row["reason"]) == ("Maria O'Neill", "+14155552671", None, None)
    [notice] = assistant.webhook.wait_for(
        lambda p: p.get("event") == "booking_requested" and p.get("reference") == row["reference"]
    )
    assert notice["treatment"] == "deep tissue massage" and notice["phone"] == "+14155552671"

    # A double click: the second confirm repeats the reference and stores nothing.
    again = assistant.send(sender, "/confirm_booking")
    assert payloads(again) == [payload] and "already with the clinic" in reply_text(again)
    assert len(stored(assistant, "bookings", sender)) == 1


def test_bad_answers_are_asked_again_and_nothing_wrong_is_stored(assistant):
    sender = new_sender("bk")
    steps = [
        ("book a massage", "Which treatment"),
        ("hot stones please", "isn't one of our treatments"),
        ("sports massage", "Which day"),
        ("yesterday", "already passed"),
        ("sunday", "closed on Sundays"),
        ("sometime next week", "Which day exactly"),
        ("next wednesday", "What time"),
        ("at 11pm", "outside our hours"),
        ("10am", "What name"),
        ("A" * 5000, "longer than a name"),
        ("Robert'); DROP TABLE bookings;--", "made of letters"),
        ("<b>Bob</b>", "made of letters"),
        ("Bob Stone", "How can the clinic reach you"),
        ("12345", "phone number or an e-mail"),
        ("bob@@example.com", "e-mail address doesn't look right"),
        ("bob@example.com", "Anything you'd like"),
        ("<script>alert('x')</script>", "plain words"),
        ("my neck is stiff", "Shall I send it"),
        ('/change_booking{"booking_field": "contact"}', "How can the clinic reach you"),
        ("+1 202 456 1111", "Shall I send it"),
    ]
    for message, expected in steps:
        reply = reply_text(assistant.send(sender, message))
        assert expected in reply, (message, reply)
    assert "+12024561111" in reply and "bob@example.com" not in reply
    assistant.send(sender, "/confirm_booking")
    [row] = stored(assistant, "bookings", sender)
    assert (row["treatment"], row["preferred_time"], row["name"]) == ("sports massage", "10:00", "Bob Stone")
    assert (row["phone"], row["email"], row["reason"]) == ("+12024561111", None, "my neck is stiff")


def test_questions_mid_form_are_answered_and_stop_leaves_without_booking(assistant):
    sender = new_sender("bk")
    assert "Which day" in reply_text(assistant.send(sender, "can I book a relaxation massage"))
    hours = reply_text(assistant.send(sender, "what are your opening hours?"))
    assert "Saturday: 10:00-14:00" in hours and "Which day" in hours
    answer = assistant.send(sender, "how often should I get a massage?")
    assert "Source:" in reply_text(answer) and "Which day" in reply_text(answer)
    assert "Which time" not in reply_text(answer)
    assert "What time" in reply_text(assistant.send(sender, "friday"))
    stopped = reply_text(assistant.send(sender, "never mind"))
    assert "nothing was sent" in stopped
    after = reply_text(assistant.send(sender, "what is deep tissue massage"))
    assert "Source:" in after and "What time" not in after
    assert stored(assistant, "bookings", sender) == []


def test_a_red_flag_mid_form_escalates_and_ends_the_form(assistant):
    sender = new_sender("bk")
    assert "What name" in reply_text(assistant.send(sender, "book a sports massage for friday morning"))
    escalation = assistant.send(sender, EMERGENCY_MESSAGE)
    assert payloads(escalation)[0]["red_flag"]["level"] == "emergency"
    assert "call " + load_clinic().emergency_number in reply_text(escalation)
    after = reply_text(assistant.send(sender, "Ana Lima"))
    assert "How can the clinic reach you" not in after  # the form is over
    declined = reply_text(assistant.send(sender, "book a massage"))
    assert "can't book a massage" in declined
    assert stored(assistant, "bookings", sender) == []
    assert [row["level"] for row in stored(assistant, "escalations", sender)] == ["emergency"]


def test_a_weak_sign_in_the_note_is_followed_up_before_the_read_back(assistant):
    sender = new_sender("bk")
    assert "What name" in reply_text(assistant.send(sender, "book a sports massage for friday morning"))
    assistant.send(sender, "Ana Lima")
    assistant.send(sender, "ana@example.com")
    replies = reply_text(assistant.send(sender, "my back aches more at night"))
    assert 'I\'ve added "at night" to the note' in replies and "numbness or tingling" in replies
    assert "Reason: my back aches more at night" in replies and "Shall I send it" in replies


def test_after_an_urgent_sign_a_referral_request_is_stored_instead(assistant):
    sender = new_sender("bk")
    assistant.send(sender, URGENT_MESSAGE)
    declined = assistant.send(sender, "i want to book a massage")
    assert "can't book a massage yet" in reply_text(declined)
    offered = [button["payload"] for reply in declined for button in reply.get("buttons", [])]
    assert "/request_referral" in offered
    assert "What name" in reply_text(assistant.send(sender, "/request_referral"))
    assert "How can the clinic reach you" in reply_text(assistant.send(sender, "Cy Diaz"))
    done = assistant.send(sender, "cy.diaz@example.com")
    [row] = stored(assistant, "referrals", sender)
    assert payloads(done) == [{"referral": {"reference": row["reference"], "status": "requested"}}]
    assert row["reference"].startswith("RF-") and row["reference"] in reply_text(done)
    assert (row["level"], row["category"], row["symptoms"]) == ("urgent", "injury_onset", URGENT_MESSAGE)
    assert (row["name"], row["email"]) == ("Cy Diaz", "cy.diaz@example.com")
    assert assistant.webhook.wait_for(lambda p: p.get("reference") == row["reference"])
    assert stored(assistant, "bookings", sender) == []


def test_after_an_emergency_there_is_no_booking_and_no_referral(assistant):
    sender = new_sender("bk")
    assistant.send(sender, EMERGENCY_MESSAGE)
    assert "can't book a massage" in reply_text(assistant.send(sender, "book a deep tissue massage"))
    assert "emergency care now" in reply_text(assistant.send(sender, "/request_referral"))
    assert stored(assistant, "referrals", sender) == [] and stored(assistant, "bookings", sender) == []


def test_a_booking_is_cancelled_by_reference_only_with_its_contact(assistant):
    db = records.engine(assistant.clinic_database_url)
    day = parse_when("next thursday", load_clinic().now()).day
    booking = records.create_booking(
        f"cancel-test-{uuid.uuid4()}",
        "someone",
        "rest",
        "sports massage",
        day,
        "15:00",
        "Ana Lima",
        "ana@example.com",
        db=db,
    )
    reference = booking["reference"]

    sender = new_sender("bk")
    assert "what phone number or e-mail" in reply_text(
        assistant.send(sender, f"please cancel my booking {reference.lower()}")
    )
    refused = reply_text(assistant.send(sender, "someone.else@example.com"))
    assert "couldn't find a booking" in refused
    assert records.list_records("bookings", db=db)[-1]["status"] == "requested"

    assert "what phone number or e-mail" in reply_text(assistant.send(sender, f"cancel {reference}"))
    done = assistant.send(sender, "ana@example.com")
    assert payloads(done) == [{"booking": {"reference": reference, "status": "cancelled"}}]
    assert [row["status"] for row in records.list_records("bookings", db=db) if row["reference"] == reference] == [
        "cancelled"
    ]
    assert assistant.webhook.wait_for(
        lambda p: p.get("event") == "booking_cancelled" and p.get("reference") == reference
    )


@pytest.fixture(scope="module")
def assistant_on_postgres(tmp_path_factory, postgres):
    yield from started_assistant(tmp_path_factory, database_url=postgres.new_database())


def test_a_booking_on_postgresql(assistant_on_postgres):
    """DATABASE_URL moves both the conversations and the clinic's records to PostgreSQL."""
    sender = new_sender("bk")
    book_deep_tissue(assistant_on_postgres, sender)
    confirmation = assistant_on_postgres.send(sender, "/confirm_booking")
    [row] = stored(assistant_on_postgres, "bookings", sender)
    assert payloads(confirmation) == [{"booking": {"reference": row["reference"], "status": "requested"}}]
    events = sa.create_engine(assistant_on_postgres.database_url)
    with events.connect() as connection:
        events_stored = connection.execute(
            sa.text("SELECT count(*) FROM events WHERE sender_id = :sender"), {"sender": sender}
        ).scalar()
    assert events_stored > 10  # the whole conversation is in PostgreSQL's tracker store


def test_the_web_widget_gets_the_booking_payload_over_socketio(assistant):
    messages = [
        "book a therapeutic massage next tuesday at 10am",
        "Ana Lima",
        "ana@example.com",
        "skip",
        "/confirm_booking",
    ]
    session_id, replies = chat_over_socketio(assistant.url, messages, lambda data: "booking" in data)
    [booking] = [reply["booking"] for reply in replies if "booking" in reply]
    [row] = stored(assistant, "bookings", session_id)
    assert booking == {"reference": row["reference"], "status": "requested"}
    assert row["channel"] == "socketio" and row["preferred_time"] == "10:00"
    assert any(row["reference"] in reply.get("text", "") for reply in replies)
