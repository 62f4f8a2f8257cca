"""Booking requests: the booking form's checks, the read-back, storing the request and
cancelling it by reference.

The form (domain.yml `booking_form`) asks for what is still missing, in this order:
treatment, day, time, name, phone or e-mail, an optional reason, then a read-back to confirm.
Every answer is read here (slots with `custom` mappings), so a message that fills several
fields ("deep tissue next Tuesday afternoon") fills them all, and a message that is not an
answer (a question, "stop", a red flag) is left to the rules in data/booking/rules.yml.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet

from actions.forms import (
    STORE_ERRORS,
    answer_to,
    is_for_the_rules,
    latest_text,
    request_key,
    requested,
    utter_store_failure,
    utter_with_payload,
    validate_contact,
    validate_name,
)
from booking import details, when
from clinic import notify, records
from clinic.details import load_clinic
from clinic.references import BOOKING, find_reference
from red_flags.contract import RED_FLAG_CHECK

logger = logging.getLogger(__name__)

FORM = "booking_form"
# The fields a person can change from the read-back; "appointment" is the day and the time.
CHANGEABLE = {
    "treatment": ["treatment"],
    "appointment": ["appointment_day", "appointment_time"],
    "patient_name": ["patient_name"],
    "contact": ["contact"],
    "visit_reason": ["visit_reason"],
}
_CHANGE_WORDS = {
    "treatment": ("treatment", "massage", "service", "type"),
    "appointment": ("day", "date", "time", "when", "appointment"),
    "patient_name": ("name",),
    "contact": ("phone", "number", "email", "e-mail", "contact"),
    "visit_reason": ("reason", "note"),
}
# Slots of one booking; cleared when it is sent or abandoned. Name and contact stay for the
# rest of the conversation (a later booking or referral reads them back to be changed).
BOOKING_SLOTS = ("treatment", "appointment_day", "appointment_time", "visit_reason", "booking_confirmed")
# Until the day or time is settled, a message may fill them along with the treatment.
_WHEN_QUESTIONS = (None, "treatment", "appointment_day", "appointment_time")


def _when_from(tracker: Tracker) -> Optional[when.When]:
    if is_for_the_rules(tracker) or tracker.get_slot("requested_slot") not in _WHEN_QUESTIONS:
        return None
    return when.parse_when(latest_text(tracker), load_clinic().now())


class ValidateBookingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_booking_form"

    # --- reading the answers ------------------------------------------------------------

    async def extract_treatment(self, dispatcher, tracker: Tracker, domain) -> Dict[str, Any]:
        if is_for_the_rules(tracker):
            return {}
        found = details.match_treatment(latest_text(tracker), load_clinic().services)
        if found and tracker.get_slot("requested_slot") in _WHEN_QUESTIONS:
            return {"treatment": found}
        said = _when_from(tracker)
        if requested(tracker, "treatment") and not (said and (said.day or said.time)):
            return {"treatment": latest_text(tracker)}  # checked (and refused) by the validator
        return {}

    async def extract_appointment_day(self, dispatcher, tracker: Tracker, domain) -> Dict[str, Any]:
        said = _when_from(tracker)
        if said and said.day:
            return {"appointment_day": said.day.isoformat()}
        if requested(tracker, "appointment_day") and said is not None:
            return {"appointment_day": "vague" if said.vague_day else latest_text(tracker)}
        return {}

    async def extract_appointment_time(self, dispatcher, tracker: Tracker, domain) -> Dict[str, Any]:
        said = _when_from(tracker)
        if said and said.time:
            return {"appointment_time": said.time}
        if requested(tracker, "appointment_time") and said is not None:
            return {"appointment_time": latest_text(tracker)}
        return {}

    async def extract_patient_name(self, dispatcher, tracker: Tracker, domain) -> Dict[str, Any]:
        return answer_to(tracker, "patient_name")

    async def extract_contact(self, dispatcher, tracker: Tracker, domain) -> Dict[str, Any]:
        return answer_to(tracker, "contact")

    async def extract_visit_reason(self, dispatcher, tracker: Tracker, domain) -> Dict[str, Any]:
        if not requested(tracker, "visit_reason") or is_for_the_rules(tracker):
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        return {"visit_reason": "skip" if intent == "deny" else latest_text(tracker)}

    async def extract_booking_confirmed(self, dispatcher, tracker: Tracker, domain) -> Dict[str, Any]:
        if not requested(tracker, "booking_confirmed") or is_for_the_rules(tracker):
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in ("confirm_booking", "affirm"):
            # Checked again: a time picked for later today may have passed at the read-back.
            clinic = load_clinic()
            day = dt.date.fromisoformat(tracker.get_slot("appointment_day"))
            problem = when.problem_with_day(day, clinic, clinic.now()) or when.problem_with_time(
                day, tracker.get_slot("appointment_time"), clinic, clinic.now()
            )
            if problem:
                dispatcher.utter_message(text=f"{problem} Let's pick another day and time.")
                return {"booking_confirmed": None, "appointment_day": None, "appointment_time": None}
            return {"booking_confirmed": True}
        field = self._field_to_change(tracker)
        if field:
            return {"booking_confirmed": None, **{slot: None for slot in CHANGEABLE[field]}}
        if intent not in ("change_booking", "deny"):
            dispatcher.utter_message(
                text="Please confirm the request, change something, or cancel it with the buttons below."
            )
        # The read-back (action_ask_booking_confirmed) comes next, or the choice of field.
        return {"booking_confirmed": None}

    @staticmethod
    def _field_to_change(tracker: Tracker) -> Optional[str]:
        field = next(tracker.get_latest_entity_values("booking_field"), None)
        if field in CHANGEABLE:
            return field
        words = latest_text(tracker).lower()
        # "change the date", or just "the date" after "What would you like to change?"
        asks_for_change = any(word in words for word in ("change", "wrong", "edit", "fix", "different"))
        if not asks_for_change and len(words.split()) > 3:
            return None
        matches = [name for name, keys in _CHANGE_WORDS.items() if any(key in words for key in keys)]
        return matches[0] if len(matches) == 1 else None

    # --- checking them --------------------------------------------------------------------

    def validate_treatment(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        if value is None:
            return {"treatment": None}
        services = load_clinic().services
        treatment, problem = details.check_treatment(str(value), services)
        if problem:
            dispatcher.utter_message(text=problem, buttons=_treatment_buttons())
        return {"treatment": treatment}

    def validate_appointment_day(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        if value is None:
            return {"appointment_day": None}
        clinic = load_clinic()
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            dispatcher.utter_message(
                text='Which day exactly? For example "next Tuesday", "tomorrow" or "3 December".'
                if value == "vague"
                else 'Sorry, I couldn\'t tell which day you mean. Try "next Tuesday", "tomorrow" or "3 December".'
            )
            return {"appointment_day": None}
        problem = when.problem_with_day(day, clinic, clinic.now())
        if problem:
            dispatcher.utter_message(text=problem)
            return {"appointment_day": None}
        time = tracker.get_slot("appointment_time")
        problem = time and when.problem_with_time(day, time, clinic, clinic.now())
        if problem:
            # The time given earlier doesn't fit this day: say why, and ask for it again.
            dispatcher.utter_message(text=problem)
            return {"appointment_day": day.isoformat(), "appointment_time": None}
        return {"appointment_day": day.isoformat()}

    def validate_appointment_time(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        if value is None:
            return {"appointment_time": None}
        value = str(value)
        if value not in when.PARTS_OF_DAY and not _is_clock(value):
            dispatcher.utter_message(text='Sorry, I didn\'t catch a time. Try "3pm", "10:30", "morning" or "any time".')
            return {"appointment_time": None}
        day = tracker.get_slot("appointment_day")
        if not day or not _is_day(day):
            return {"appointment_time": value}  # checked once the day is known
        clinic = load_clinic()
        problem = when.problem_with_time(dt.date.fromisoformat(day), value, clinic, clinic.now())
        if problem:
            dispatcher.utter_message(text=problem)
            return {"appointment_time": None}
        return {"appointment_time": value}

    def validate_patient_name(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        return validate_name(value, dispatcher)

    def validate_contact(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        return validate_contact("contact", value, dispatcher)

    def validate_visit_reason(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        if value is None:
            return {"visit_reason": None}
        reason, problem = details.check_reason(str(value))
        if problem:
            dispatcher.utter_message(text=problem)
        elif tracker.latest_message.get(RED_FLAG_CHECK):
            # A single weak sign in the note: ask about the serious ones before the read-back.
            dispatcher.utter_message(response="utter_red_flag_check_in_booking")
        return {"visit_reason": reason}


def _is_clock(value: str) -> bool:
    try:
        dt.time.fromisoformat(value)
        return True
    except ValueError:
        return False


def _is_day(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
        return True
    except ValueError:
        return False


def _asked_before_latest_message(tracker: Tracker) -> Optional[str]:
    """The form's question the latest message answered."""
    asked = answered = None
    for event in tracker.events:
        if event.get("event") == "user":
            answered = asked
        elif event.get("event") == "slot" and event.get("name") == "requested_slot":
            asked = event.get("value")
    return answered


def _treatment_buttons() -> List[Dict[str, str]]:
    return [{"title": service.capitalize(), "payload": service} for service in load_clinic().services]


def _change_buttons() -> List[Dict[str, str]]:
    titles = {
        "treatment": "Treatment",
        "appointment": "Day or time",
        "patient_name": "Name",
        "contact": "Phone or e-mail",
        "visit_reason": "Reason",
    }
    return [
        {"title": title, "payload": f'/change_booking{{"booking_field": "{field}"}}'} for field, title in titles.items()
    ]


def _summary(tracker: Tracker) -> str:
    day = dt.date.fromisoformat(tracker.get_slot("appointment_day"))
    lines = [
        f"Treatment: {tracker.get_slot('treatment')}",
        f"When: {when.describe(day, tracker.get_slot('appointment_time'))}",
        f"Name: {tracker.get_slot('patient_name')}",
        f"Contact: {tracker.get_slot('contact')}",
        f"Reason: {tracker.get_slot('visit_reason') or '(none given)'}",
    ]
    return "\n".join(lines)


class ActionAskTreatment(Action):
    def name(self) -> str:
        return "action_ask_treatment"

    def run(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        dispatcher.utter_message(text="Which treatment would you like?", buttons=_treatment_buttons())
        return []


class ActionAskBookingConfirmed(Action):
    """The read-back: everything the clinic will get, with confirm / change / cancel."""

    def name(self) -> str:
        return "action_ask_booking_confirmed"

    def run(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in ("change_booking", "deny") and _asked_before_latest_message(tracker) == "booking_confirmed":
            dispatcher.utter_message(text="What would you like to change?", buttons=_change_buttons())
            return []
        buttons = [{"title": "Confirm", "payload": "/confirm_booking"}]
        buttons += [{**button, "title": f"Change {button['title'].lower()}"} for button in _change_buttons()]
        buttons.append({"title": "Cancel", "payload": "/stop"})
        dispatcher.utter_message(
            text=f"Here is your booking request:\n{_summary(tracker)}\n\nShall I send it to the clinic?",
            buttons=buttons,
        )
        return []


def _booking_payload(booking: Dict[str, Any]) -> Dict[str, Any]:
    return {"booking": {"reference": booking["reference"], "status": booking["status"]}}


class ActionSubmitBooking(Action):
    """Stores the confirmed request, then tells the person its reference.

    Also answers a repeated confirm (a double click arrives after the first one was handled):
    nothing new is stored, the person hears the same reference again.
    """

    def name(self) -> str:
        return "action_submit_booking"

    async def run(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        key = request_key(tracker, FORM)
        if not tracker.get_slot("booking_confirmed") or key is None:
            return self._already_sent(dispatcher, tracker)
        clinic = load_clinic()
        try:
            booking = records.create_booking(
                request_key=key,
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel() or "unknown",
                treatment=tracker.get_slot("treatment"),
                preferred_day=dt.date.fromisoformat(tracker.get_slot("appointment_day")),
                preferred_time=tracker.get_slot("appointment_time"),
                name=tracker.get_slot("patient_name"),
                contact=tracker.get_slot("contact"),
                reason=tracker.get_slot("visit_reason") or "",
            )
        except STORE_ERRORS:
            logger.exception("Could not store the booking for %s", tracker.sender_id)
            utter_store_failure(dispatcher, "booking request", "/confirm_booking")
            return []  # the slots stay: confirming again retries with the same key
        described = when.describe(booking["preferred_day"], booking["preferred_time"])
        utter_with_payload(
            dispatcher,
            tracker,
            f"Thank you, {booking['name']}. Your request for {booking['treatment']} on {described} "
            f"is with {clinic.name}. Your reference is {booking['reference']}.\n\n"
            f"What happens next: the team will contact you at {tracker.get_slot('contact')} "
            "within one working day to confirm the exact time. This is a request, not yet a "
            f'confirmed appointment. To cancel, tell me "cancel {booking["reference"]}" or call '
            f"{clinic.phone}.",
            _booking_payload(booking),
        )
        notify.send_in_background(
            {"event": "booking_requested", **records.as_plain(booking), "conversation_id": tracker.sender_id}
        )
        return [SlotSet(slot, None) for slot in BOOKING_SLOTS] + [SlotSet("booking_reference", booking["reference"])]

    @staticmethod
    def _already_sent(dispatcher, tracker: Tracker) -> List[Dict[str, Any]]:
        reference = tracker.get_slot("booking_reference")
        if reference:
            utter_with_payload(
                dispatcher,
                tracker,
                f"Your booking request {reference} is already with the clinic; nothing more to do.",
                {"booking": {"reference": reference, "status": records.REQUESTED}},
            )
        else:
            dispatcher.utter_message(
                text='There\'s no booking request waiting to be sent. Say "book a massage" to start one.'
            )
        return []


class ActionForgetBooking(Action):
    """After "stop": the half-filled booking is dropped, so the next one starts clean."""

    def name(self) -> str:
        return "action_forget_booking"

    def run(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        return [SlotSet(slot, None) for slot in BOOKING_SLOTS + ("cancel_reference", "cancel_contact")]


# --- cancelling a booking by its reference ------------------------------------------------


class ValidateCancelBookingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_cancel_booking_form"

    async def extract_cancel_reference(self, dispatcher, tracker: Tracker, domain) -> Dict[str, Any]:
        if is_for_the_rules(tracker):
            return {}
        reference = find_reference(latest_text(tracker), BOOKING)
        if reference:
            return {"cancel_reference": reference}
        if requested(tracker, "cancel_reference"):
            return {"cancel_reference": latest_text(tracker)}
        return {}

    async def extract_cancel_contact(self, dispatcher, tracker: Tracker, domain) -> Dict[str, Any]:
        return answer_to(tracker, "cancel_contact")

    def validate_cancel_reference(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        if value is None:
            return {"cancel_reference": None}
        reference = find_reference(str(value), BOOKING)
        if not reference:
            dispatcher.utter_message(text="Booking references look like BK-7Q2M.")
        return {"cancel_reference": reference}

    def validate_cancel_contact(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        return validate_contact("cancel_contact", value, dispatcher)


class ActionCancelBooking(Action):
    def name(self) -> str:
        return "action_cancel_booking"

    async def run(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        clinic = load_clinic()
        forget = [SlotSet("cancel_reference", None), SlotSet("cancel_contact", None)]
        try:
            booking = records.cancel_booking(tracker.get_slot("cancel_reference"), tracker.get_slot("cancel_contact"))
        except STORE_ERRORS:
            logger.exception("Could not cancel a booking for %s", tracker.sender_id)
            utter_store_failure(dispatcher, "cancellation")
            return forget
        if booking is None:
            # The same answer whether the reference or the contact was wrong: nobody can find
            # out which references exist by guessing.
            dispatcher.utter_message(
                text="I couldn't find a booking with that reference and that phone number or "
                f"e-mail. Please check both and try again, or call {clinic.name} on {clinic.phone}."
            )
            return forget
        described = when.describe(booking["preferred_day"], booking["preferred_time"])
        utter_with_payload(
            dispatcher,
            tracker,
            f"Done: booking {booking['reference']} ({booking['treatment']}, {described}) is cancelled. "
            "I hope your back feels better soon.",
            _booking_payload(booking),
        )
        notify.send_in_background(
            {"event": "booking_cancelled", **records.as_plain(booking), "conversation_id": tracker.sender_id}
        )
        return forget
