"""Records each red-flag escalation and tells staff. The reply itself was already sent by the
Rasa server (domain.yml utter_red_flag_*), so nothing here can delay or block it."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import notify, store

logger = logging.getLogger(__name__)


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
        return []
