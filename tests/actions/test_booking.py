"""The booking form's validation action and the actions that store and cancel requests."""

import asyncio
import datetime as dt
import inspect

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.booking import (
    ActionAskBookingConfirmed,
    ActionCancelBooking,
    ActionSubmitBooking,
    ValidateBookingForm,
)
from booking.when import parse_when
from clinic import records
from clinic.details import load_clinic
from settings import PROJECT_DIR, settings
from tests.support.trackers import make_tracker, user_event

DOMAIN = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text())
NEXT_TUESDAY = parse_when("next tuesday", load_clinic().now()).day.isoformat()
NEXT_SATURDAY = parse_when("saturday", load_clinic().now()).day.isoformat()
FILLED = {
    "treatment": "deep tissue massage",
    "appointment_day": NEXT_TUESDAY,
    "appointment_time": "afternoon",
    "patient_name": "Maria O'Neill",
    "contact": "+14155552671",
    "visit_reason": "",
}


def validate(text, intent="faq", requested=None, slots=None, **parse_extra):
    tracker = make_tracker(
        [user_event(text, intent, 0.95, **parse_extra)],
        {**(slots or {}), "requested_slot": requested},
    )
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateBookingForm().run(dispatcher, tracker, DOMAIN))
    return {event["name"]: event["value"] for event in events}, [m.get("text") or "" for m in dispatcher.messages]


def test_one_message_fills_treatment_day_and_time():
    slots, _ = validate("book a deep tissue massage next tuesday afternoon", "book_appointment")
    assert slots == {
        "treatment": "deep tissue massage",
        "appointment_day": NEXT_TUESDAY,
        "appointment_time": "afternoon",
    }


def test_a_closed_day_is_asked_again_with_the_reason():
    slots, messages = validate("sunday", "book_appointment", requested="appointment_day")
    assert slots == {"appointment_day": None}
    assert "closed on Sundays" in messages[0]


def test_a_day_whose_hours_dont_fit_the_time_given_earlier_asks_for_the_time_again():
    slots, _ = validate(
        "saturday", "book_appointment", requested="appointment_day", slots={"appointment_time": "17:30"}
    )
    assert slots == {"appointment_day": NEXT_SATURDAY, "appointment_time": None}


def test_nonsense_for_a_day_is_asked_again():
    slots, messages = validate("purple elephant", "out_of_scope", requested="appointment_day")
    assert slots == {"appointment_day": None}
    assert "couldn't tell which day" in messages[0]


def test_a_huge_name_is_refused():
    slots, messages = validate("A" * 5000, "out_of_scope", requested="patient_name")
    assert slots == {"patient_name": None} and "longer than a name" in messages[0]


def test_sql_in_the_contact_is_refused():
    slots, messages = validate("'; DROP TABLE bookings; --", "out_of_scope", requested="contact")
    assert slots == {"contact": None} and messages


def test_a_question_is_left_to_the_rules_and_fills_nothing():
    slots, messages = validate("what is deep tissue massage?", "faq", requested="patient_name")
    assert slots == {} and messages == []


def test_a_red_flag_is_left_to_the_rules_and_fills_nothing():
    finding = {"level": "emergency", "category": "saddle_numbness", "matched": ["numb"]}
    slots, _ = validate("numb between my legs", "red_flag_emergency", requested="visit_reason", red_flag=finding)
    assert slots == {}


def test_stop_leaves_but_a_reason_mentioning_stop_is_a_reason():
    assert validate("stop", "stop", requested="contact")[0] == {}
    slots, _ = validate("I want the pain in my lower back to finally stop", "stop", requested="visit_reason")
    assert slots == {"visit_reason": "I want the pain in my lower back to finally stop"}


def test_changing_the_day_from_the_read_back_clears_day_and_time():
    slots, _ = validate(
        '/change_booking{"booking_field": "appointment"}',
        "change_booking",
        requested="booking_confirmed",
        slots=FILLED,
        entities=[{"entity": "booking_field", "value": "appointment"}],
    )
    assert slots == {"booking_confirmed": None, "appointment_day": None, "appointment_time": None}


def test_confirming_the_read_back():
    slots, _ = validate("/confirm_booking", "confirm_booking", requested="booking_confirmed", slots=FILLED)
    assert slots == {"booking_confirmed": True}


@pytest.fixture
def clinic_db(tmp_path, monkeypatch):
    monkeypatch.setenv("CLINIC_SQLITE_FILE", str(tmp_path / "clinic.db"))
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("STAFF_WEBHOOK_URL", "")
    settings.cache_clear()
    records.engine.cache_clear()
    yield
    settings.cache_clear()
    records.engine.cache_clear()


def confirmed_tracker(slots):
    events = [
        {"event": "active_loop", "name": "booking_form", "timestamp": 1763700000.5},
        user_event("/confirm_booking", "confirm_booking", 1.0),
    ]
    return make_tracker(events, slots)


def run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, DOMAIN)
    if inspect.isawaitable(events):
        events = asyncio.run(events)
    return events, dispatcher.messages


def test_submit_stores_first_then_replies_with_the_reference(clinic_db):
    events, [message] = run(ActionSubmitBooking(), confirmed_tracker({**FILLED, "booking_confirmed": True}))
    [row] = records.list_records("bookings")
    assert message["custom"] == {"booking": {"reference": row["reference"], "status": "requested"}}
    assert row["reference"] in message["text"]
    assert row["preferred_day"] == dt.date.fromisoformat(NEXT_TUESDAY) and row["name"] == "Maria O'Neill"
    assert {"event": "slot", "name": "booking_reference", "value": row["reference"], "timestamp": None} in events


def test_a_retried_submit_and_a_second_confirm_store_nothing_new(clinic_db):
    tracker = confirmed_tracker({**FILLED, "booking_confirmed": True})
    _, [first] = run(ActionSubmitBooking(), tracker)
    _, [retry] = run(ActionSubmitBooking(), tracker)
    reference = first["custom"]["booking"]["reference"]
    _, [again] = run(ActionSubmitBooking(), confirmed_tracker({"booking_reference": reference}))
    assert retry["custom"] == again["custom"] == first["custom"]
    assert "already with the clinic" in again["text"]
    assert len(records.list_records("bookings")) == 1


def test_cancel_checks_the_contact(clinic_db):
    booking = records.create_booking(
        "k", "c", "rest", "sports massage", dt.date.fromisoformat(NEXT_TUESDAY), "15:00", "Ana", "ana@example.com"
    )
    tracker = make_tracker(
        [user_event("x", "cancel_booking")],
        {"cancel_reference": booking["reference"], "cancel_contact": "+14155552671"},
    )
    _, [refused] = run(ActionCancelBooking(), tracker)
    assert "couldn't find" in refused["text"] and records.list_records("bookings")[0]["status"] == "requested"
    tracker.slots["cancel_contact"] = "ana@example.com"
    _, [done] = run(ActionCancelBooking(), tracker)
    assert done["custom"] == {"booking": {"reference": booking["reference"], "status": "cancelled"}}
    assert records.list_records("bookings")[0]["status"] == "cancelled"


def test_after_what_would_you_like_to_change_a_field_name_is_enough():
    slots, _ = validate("the name", "out_of_scope", requested="booking_confirmed", slots=FILLED)
    assert slots == {"booking_confirmed": None, "patient_name": None}


def test_no_at_the_read_back_asks_what_to_change_instead_of_repeating_it():
    events = [
        {"event": "slot", "name": "requested_slot", "value": "booking_confirmed"},
        user_event("no", "deny"),
        {"event": "slot", "name": "requested_slot", "value": "booking_confirmed"},
    ]
    tracker = make_tracker(events, {**FILLED, "requested_slot": "booking_confirmed"})
    _, [message] = run(ActionAskBookingConfirmed(), tracker)
    assert message["text"] == "What would you like to change?"
    # "no" to the optional note is not "no" to the read-back: the summary is shown.
    events[0]["value"] = "visit_reason"
    _, [message] = run(
        ActionAskBookingConfirmed(), make_tracker(events, {**FILLED, "requested_slot": "booking_confirmed"})
    )
    assert "Here is your booking request" in message["text"] and "Maria O'Neill" in message["text"]


def test_a_name_the_model_mistakes_for_stop_is_still_a_name():
    slots, _ = validate("Bob Stone", "stop", requested="patient_name")
    assert slots == {"patient_name": "Bob Stone"}


def test_a_weak_sign_in_the_note_is_kept_and_followed_up():
    check = {"level": "check", "category": "night_pain", "matched": ["worse at night"]}
    slots, _ = validate("it's worse at night", "red_flag_check", requested="visit_reason", red_flag_check=check)
    assert slots == {"visit_reason": "it's worse at night"}
    tracker = make_tracker(
        [user_event("it's worse at night", "red_flag_check", 1.0, red_flag_check=check)],
        {"requested_slot": "visit_reason"},
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ValidateBookingForm().run(dispatcher, tracker, DOMAIN))
    assert [m["response"] for m in dispatcher.messages] == ["utter_red_flag_check_in_booking"]


def test_a_day_that_passed_while_at_the_read_back_is_asked_again():
    yesterday = (load_clinic().now().date() - dt.timedelta(days=1)).isoformat()
    slots, messages = validate(
        "/confirm_booking",
        "confirm_booking",
        requested="booking_confirmed",
        slots={**FILLED, "appointment_day": yesterday},
    )
    assert slots == {"booking_confirmed": None, "appointment_day": None, "appointment_time": None}
    assert "already passed" in messages[0]


def test_a_database_that_is_down_gets_a_clear_answer_and_a_retry_button(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/clinic")  # nothing listens
    settings.cache_clear()
    records.engine.cache_clear()
    try:
        events, [message] = run(ActionSubmitBooking(), confirmed_tracker({**FILLED, "booking_confirmed": True}))
    finally:
        settings.cache_clear()
        records.engine.cache_clear()
    assert events == []  # the booking stays in the conversation for the retry
    assert "couldn't save your booking request" in message["text"] and load_clinic().phone in message["text"]
    assert message["buttons"] == [{"title": "Try again", "payload": "/confirm_booking"}]
    assert "custom" not in message or not message["custom"]
