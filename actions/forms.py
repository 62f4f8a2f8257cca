"""What the booking, referral and cancellation conversations share: reading the person's
answers inside a form, sending a reply with a machine-readable payload, and the key that makes
a repeated confirm find the request stored the first time."""

from __future__ import annotations

import re
from typing import Any, Dict, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from booking import details
from clinic.details import load_clinic
from red_flags.contract import ESCALATION_INTENTS

# The clinic database being down or full; the person is told, nothing is half-stored.
STORE_ERRORS = (SQLAlchemyError, OSError, RuntimeError)

# Messages the form leaves to the rules: leaving the form and red flags. Questions about
# the clinic or back pain are answered by a rule, and then the form asks again.
LEAVE_INTENT = "stop"
DELETE_INTENT = "delete_my_data"
QUESTION_INTENTS = {
    "faq",
    "clinic_hours",
    "clinic_location",
    "clinic_contact",
    "clinic_services",
    "bot_challenge",
    "help",
    "human_handoff",
}
_QUESTION_WORDS = {
    "what",
    "why",
    "how",
    "when",
    "where",
    "who",
    "which",
    "can",
    "could",
    "does",
    "do",
    "is",
    "are",
    "should",
    "will",
    "would",
    "whats",
    "what's",
    "hows",
}
# "Stop" must be short and say so to count: "I want the pain to stop" is a reason and
# "Bob Stone" a name, not a way out.
MAX_WORDS_TO_LEAVE = 6
MIN_CONFIDENCE_TO_LEAVE = 0.8
LEAVE_WORDS = {
    "stop",
    "never",
    "nevermind",
    "forget",
    "cancel",
    "quit",
    "exit",
    "changed",
    "later",
    "leave",
    "enough",
    "don't",
    "dont",
    "not",
    "no",
}


def looks_like_question(text: str) -> bool:
    words = re.findall(r"[a-z']+", (text or "").lower())
    return (text or "").strip().endswith("?") or bool(words and words[0] in _QUESTION_WORDS)


def is_for_the_rules(tracker: Tracker) -> bool:
    """True when the latest message is not an answer to the form's question."""
    message = tracker.latest_message or {}
    intent = (message.get("intent") or {}).get("name")
    confidence = (message.get("intent") or {}).get("confidence") or 0
    text = message.get("text") or ""
    if intent in ESCALATION_INTENTS:
        return True
    if intent == DELETE_INTENT and confidence >= MIN_CONFIDENCE_TO_LEAVE:
        # "Delete my data" (or the widget's button) leaves the form: data/privacy/rules.yml.
        return True
    if intent == LEAVE_INTENT:
        words = re.findall(r"[a-z']+", text.lower())
        return text.startswith("/") or (
            confidence >= MIN_CONFIDENCE_TO_LEAVE
            and len(words) <= MAX_WORDS_TO_LEAVE
            and any(word in LEAVE_WORDS for word in words)
        )
    return intent in QUESTION_INTENTS and looks_like_question(text)


def requested(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot("requested_slot") == slot


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def answer_to(tracker: Tracker, slot: str) -> Dict[str, Any]:
    """The person's whole message when the form asked for ``slot`` (checked by the validator)."""
    if requested(tracker, slot) and not is_for_the_rules(tracker):
        return {slot: latest_text(tracker)}
    return {}


def validate_contact(slot: str, value: Any, dispatcher: CollectingDispatcher) -> Dict[str, Any]:
    if value is None:
        return {slot: None}
    contact, problem = details.check_contact(str(value), load_clinic().country)
    if problem:
        dispatcher.utter_message(text=problem)
    return {slot: contact}


def validate_name(value: Any, dispatcher: CollectingDispatcher) -> Dict[str, Any]:
    if value is None:
        return {"patient_name": None}
    name, problem = details.check_name(str(value))
    if problem:
        dispatcher.utter_message(text=problem)
    return {"patient_name": name}


def request_key(tracker: Tracker, form: str) -> Optional[str]:
    """Identifies one run of ``form`` in this conversation: the time it was activated.

    The same for every confirm of that run (a double click, a retried action), different for
    the next booking in the same conversation.
    """
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == form:
            return f"{tracker.sender_id}:{form}:{event.get('timestamp')}"
    return None


def utter_with_payload(dispatcher: CollectingDispatcher, tracker: Tracker, text: str, payload: Dict[str, Any]) -> None:
    """A reply with a machine-readable payload: `custom` on REST, the `bot_uttered` body on
    socket.io (which sends a custom message's `data`). Telegram shows the text; the payload
    stays in the conversation's events for monitoring (Rasa's Telegram output skips it)."""
    if tracker.get_latest_input_channel() == "socketio":
        dispatcher.utter_message(text=text, json_message={"data": payload})
    else:
        dispatcher.utter_message(text=text, json_message=payload)


def utter_store_failure(dispatcher: CollectingDispatcher, what: str, retry_payload: Optional[str] = None) -> None:
    clinic = load_clinic()
    dispatcher.utter_message(
        text=f"Sorry, I couldn't save your {what} just now, so nothing has reached the clinic yet. "
        f"Please try again in a minute, or call {clinic.name} on {clinic.phone}.",
        buttons=[{"title": "Try again", "payload": retry_payload}] if retry_payload else [],
    )
