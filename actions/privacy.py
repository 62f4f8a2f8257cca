""" "Delete my data", once the person confirmed (data/privacy/rules.yml): the requests made in
this conversation are anonymised here, and the reply says what was deleted and what was kept
and why. Setting the `data_deleted` slot makes the Rasa server's tracker store delete the
conversation instead of saving it (rasa_plugins/tracker_store.py); the next message starts a
new one."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet

from actions.forms import STORE_ERRORS, utter_with_payload
from clinic import privacy
from clinic.details import load_clinic

logger = logging.getLogger(__name__)


def deletion_reply(erasure: privacy.Erasure, clinic_name: str) -> str:
    """What the person is told: what was deleted, and exactly what was kept and why."""
    parts = ["Done: I deleted this conversation."]
    if erasure.anonymised:
        parts.append(
            "Your name and contact details were removed from your request " + ", ".join(erasure.anonymised) + "."
        )
    for reference, why in erasure.kept.items():
        parts.append(f"Kept: {reference}, because {why}.")
    if erasure.escalations_kept:
        parts.append(
            f"Kept: the record that I advised you to get medical care, which {clinic_name} keeps for patient safety."
        )
    parts.append("Anything you write now starts a new conversation.")
    return " ".join(parts)


class ActionDeleteMyData(Action):
    def name(self) -> str:
        return "action_delete_my_data"

    async def run(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        clinic = load_clinic()
        try:
            erasure = privacy.erase_conversation_requests(tracker.sender_id)
        except STORE_ERRORS:
            logger.exception("Could not anonymise the requests of a conversation")
            dispatcher.utter_message(
                text=f"Sorry, I couldn't delete your data just now, so nothing was deleted. Please try again "
                f"in a minute, or ask {clinic.name} on {clinic.phone} or {clinic.email}.",
                buttons=[{"title": "Try again", "payload": "/delete_my_data"}],
            )
            return []
        utter_with_payload(dispatcher, tracker, deletion_reply(erasure, clinic.name), {privacy.DATA_DELETED_SLOT: True})
        return [SlotSet(privacy.DATA_DELETED_SLOT, True)]
