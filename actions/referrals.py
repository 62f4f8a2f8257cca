"""Referral requests: after an URGENT red flag, massage is declined and the person can ask
the clinic for a doctor's or physiotherapist's referral instead (data/booking/rules.yml).
The clinic gets the request with the escalation that led to it."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet

from actions.forms import (
    STORE_ERRORS,
    answer_to,
    request_key,
    utter_store_failure,
    utter_with_payload,
    validate_contact,
    validate_name,
)
from clinic import notify, records
from clinic.details import load_clinic
from red_flags.contract import escalation_in

logger = logging.getLogger(__name__)
FORM = "referral_form"


def _latest_red_flag(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The last escalation in the conversation, with the words the person used."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        finding = escalation_in(event.get("parse_data") or {})
        if finding:
            return {**finding, "text": event.get("text") or ""}
    return None


class ValidateReferralForm(FormValidationAction):
    def name(self) -> str:
        return "validate_referral_form"

    async def extract_patient_name(self, dispatcher, tracker: Tracker, domain) -> Dict[str, Any]:
        return answer_to(tracker, "patient_name")

    async def extract_contact(self, dispatcher, tracker: Tracker, domain) -> Dict[str, Any]:
        return answer_to(tracker, "contact")

    def validate_patient_name(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        return validate_name(value, dispatcher)

    def validate_contact(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        return validate_contact("contact", value, dispatcher)


class ActionSubmitReferral(Action):
    def name(self) -> str:
        return "action_submit_referral"

    async def run(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        clinic = load_clinic()
        finding = _latest_red_flag(tracker) or {"level": "none", "category": "none", "text": ""}
        try:
            referral = records.create_referral(
                request_key=request_key(tracker, FORM) or f"{tracker.sender_id}:{FORM}",
                conversation_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel() or "unknown",
                level=finding["level"],
                category=finding["category"],
                symptoms=finding["text"],
                name=tracker.get_slot("patient_name"),
                contact=tracker.get_slot("contact"),
            )
        except STORE_ERRORS:
            logger.exception("Could not store the referral for %s", tracker.sender_id)
            utter_store_failure(dispatcher, "referral request", "/request_referral")
            return []
        utter_with_payload(
            dispatcher,
            tracker,
            f"Thank you, {referral['name']}. Your referral request is with {clinic.name}; its "
            f"reference is {referral['reference']}. A physiotherapist will contact you at "
            f"{tracker.get_slot('contact')} within one working day to arrange an assessment or a "
            f"referral to a doctor. Until then, please see {clinic.urgent_care_line} if you can, "
            f"and if things get worse, call {clinic.emergency_number}.",
            {"referral": {"reference": referral["reference"], "status": referral["status"]}},
        )
        notify.send_in_background(
            {"event": "referral_requested", **records.as_plain(referral), "conversation_id": tracker.sender_id}
        )
        return [SlotSet("referral_reference", referral["reference"])]
