"""Records each red-flag escalation and tells staff. The reply itself was already sent by the
Rasa server (domain.yml utter_red_flag_*), so nothing here can delay or block it."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import notify, store

logger = logging.getLogger(__name__)
LEVELS_BY_CONCERN = ("urgent", "emergency")


def highest_level(tracker: Tracker) -> str | None:
    """The most serious escalation in the conversation so far."""
    levels = [
        ((event.get("parse_data") or {}).get("red_flag") or {}).get("level")
        for event in tracker.events
        if event.get("event") == "user"
    ]
    seen = [level for level in levels if level in LEVELS_BY_CONCERN]
    return max(seen, key=LEVELS_BY_CONCERN.index) if seen else None


class ActionRecordEscalation(Action):
    def name(self) -> Text:
        return "action_record_escalation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        finding = tracker.latest_message.get("red_flag")
        if not finding:
            return []
        text = tracker.latest_message.get("text") or ""
        channel = tracker.get_latest_input_channel() or "unknown"
        try:
            escalation_id = store.record_escalation(
                conversation_id=tracker.sender_id,
                channel=channel,
                level=finding["level"],
                category=finding["category"],
                matched=finding.get("matched") or [],
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
                "matched": finding.get("matched") or [],
                "message": text,
            }
        )
        # The slot takes the latest message's level; an URGENT sign after an EMERGENCY one
        # must not soften the booking gate.
        highest = highest_level(tracker)
        if highest and highest != tracker.get_slot("red_flag_level"):
            return [SlotSet("red_flag_level", highest)]
        return []
