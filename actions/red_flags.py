"""Records each red-flag escalation and tells staff. The reply itself was already sent by the
Rasa server (domain.yml utter_red_flag_*), so nothing here can delay or block it."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from clinic import notify, records
from red_flags.contract import (
    EMERGENCY,
    LEVEL_SLOT,
    PENDING_SLOT,
    RED_FLAG,
    RED_FLAG_CHECK,
    UNSPECIFIED,
    URGENT,
    confirmed_sign,
    escalation_in,
    most_serious,
)

logger = logging.getLogger(__name__)


def highest_level(tracker: Tracker) -> str | None:
    """The most serious escalation in the conversation so far."""
    findings = (
        escalation_in(event.get("parse_data") or {}) for event in tracker.events if event.get("event") == "user"
    )
    return most_serious(finding["level"] for finding in findings if finding)


def record_and_notify(tracker: Tracker, finding: Dict[str, Any], text: str) -> None:
    """Stores the escalation and tells staff; neither failing reaches the person."""
    channel = tracker.get_latest_input_channel() or "unknown"
    matched = list(finding.get("matched") or [])
    try:
        escalation_id = records.record_escalation(
            conversation_id=tracker.sender_id,
            channel=channel,
            level=finding["level"],
            category=finding["category"],
            matched=matched,
            message=text,
        )
    except Exception:  # the database being down must not stop staff hearing about it
        logger.exception("Could not store the escalation for %s", tracker.sender_id)
        escalation_id = None
    notify.send_in_background(
        {
            "event": "red_flag_escalation",
            "escalation_id": escalation_id,
            "conversation_id": tracker.sender_id,
            "channel": channel,
            "level": finding["level"],
            "category": finding["category"],
            "matched": matched,
            "message": text,
        }
    )


class ActionRecordEscalation(Action):
    def name(self) -> str:
        return "action_record_escalation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        # The latest message's escalation, or the sign the person just said is happening now.
        user_parses = [event.get("parse_data") or {} for event in tracker.events if event.get("event") == "user"]
        finding = tracker.latest_message.get(RED_FLAG) or confirmed_sign(user_parses, tracker.get_slot(PENDING_SLOT))
        if not finding:
            return []
        record_and_notify(tracker, finding, tracker.latest_message.get("text") or "")
        # The slot takes the latest message's level; an URGENT sign after an EMERGENCY one
        # must not soften the booking gate.
        highest = most_serious([highest_level(tracker), finding["level"]])
        if highest and highest != tracker.get_slot(LEVEL_SLOT):
            return [SlotSet(LEVEL_SLOT, highest)]
        return []


class ActionHoldAsUrgent(Action):
    """After "yes" to the follow-up question about serious signs (utter_red_flag_check): the
    person has one of them but has not said which. The Rasa server has already asked which
    (utter_red_flag_check_yes); until they say, the conversation counts as URGENT: massage
    booking is declined, and staff hear of it like of any escalation."""

    def name(self) -> str:
        return "action_hold_as_urgent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        weak_sign = _latest_weak_sign(tracker) or {}
        finding = {
            "level": URGENT,
            "category": UNSPECIFIED,
            "matched": [*weak_sign.get("matched", []), "yes to the serious signs"],
        }
        record_and_notify(tracker, finding, tracker.latest_message.get("text") or "")
        if tracker.get_slot(LEVEL_SLOT) == EMERGENCY:
            return []
        return [SlotSet(LEVEL_SLOT, URGENT)]


def _latest_weak_sign(tracker: Tracker) -> Dict[str, Any] | None:
    """The weak sign the follow-up question was about, from the message that raised it."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            found = (event.get("parse_data") or {}).get(RED_FLAG_CHECK)
            if found:
                return found
    return None
