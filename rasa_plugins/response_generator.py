"""Fills in every response inside the Rasa server (endpoints.yml names this class as `nlg`).

- Clinic details: {clinic_name}, {clinic_phone}, {emergency_number}, ... from
  clinic/details.yml (see ``Clinic.placeholders``), in domain responses and FAQ answers.
- Red-flag replies: {red_flag_matched} (the person's own words) and {red_flag_reason} (why it
  needs care now, from red_flags/categories.yml) of the latest message, or of the sign the
  person just said is happening now (``confirmed_sign``), and a `custom` payload
  {"red_flag": {"level", "category", "matched"}} for widgets and monitoring.
- A FAQ answer to a message that asked two things carries a button for the other question's
  topic (``also_asked``, rasa_plugins/topic_retrieval.py).
- The follow-up question about serious signs (one weak sign) comes after the answer to what
  the message asked, when its topic is known (``asked_topic``): the person gets their answer
  and the safety question, not the question instead of the answer.
- Payload shape per channel: socket.io emits a custom payload's `data` as the `bot_uttered`
  event's body, so there the payload is wrapped in `data` (the action server's replies do the
  same, actions/forms.py ``utter_with_payload``); responses in domain.yml stay channel-free.

Running in the Rasa server, not the action server, means these replies never wait for, or
fail with, the action server.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from clinic.details import load_clinic
from knowledge import topics_by_id
from rasa_plugins import unavailable
from rasa_plugins.topic_confidence import asked_but_not_understood, asked_topic
from red_flags.categories import explain
from red_flags.contract import PENDING_SLOT, RED_FLAG, confirmed_sign, finding_in


def _quoted(words) -> str:
    quoted = [f'"{word}"' for word in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


SOCKETIO = "socketio"
WEAK_SIGN_QUESTION = "utter_red_flag_check"
QUESTION_NOT_UNDERSTOOD = "utter_red_flag_check_question_not_understood"
FAQ_ANSWER = "utter_faq/"
ALSO_ASKED = "also_asked"  # rasa_plugins/topic_retrieval.py


def _other_question_button(utter_action: str, tracker: DialogueStateTracker) -> Optional[Dict[str, str]]:
    if not (utter_action.startswith(FAQ_ANSWER) and tracker.latest_message):
        return None
    key = str(tracker.latest_message.parse_data.get(ALSO_ASKED) or "")
    topic = topics_by_id().get(key.split("/", 1)[-1])
    if not topic:
        return None
    return {"title": f"You also asked: {topic.title}", "payload": topic.canonical_question}


class ClinicResponseGenerator(TemplatedNaturalLanguageGenerator):
    def __init__(
        self,
        endpoint_config: Optional[EndpointConfig] = None,
        domain: Optional[Domain] = None,
    ) -> None:
        # Rasa replaces `responses` with the loaded model's once the model is ready.
        super().__init__(domain.responses if domain else {})
        self._clinic_values = load_clinic().placeholders()
        unavailable.install()  # the Rasa server always loads this class: every process gets it

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> Optional[Dict[str, Any]]:
        finding = self._red_flag(tracker)
        if finding:
            kwargs = {
                "red_flag_matched": _quoted(finding["matched"]),
                "red_flag_reason": explain(finding["level"], finding["category"]),
                **kwargs,
            }
        message = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if message and utter_action == WEAK_SIGN_QUESTION:
            message = await self._after_the_answer(message, tracker, output_channel)
        button = _other_question_button(utter_action, tracker)
        if message and button:
            message["buttons"] = [*(message.get("buttons") or []), button]
        custom = message.get("custom") if message else None
        if message and isinstance(custom, dict):
            if finding and RED_FLAG in custom:
                custom = {**custom, RED_FLAG: dict(finding)}
            message["custom"] = {"data": custom} if output_channel == SOCKETIO else custom
        return message

    async def _after_the_answer(
        self, question: Dict[str, Any], tracker: DialogueStateTracker, output_channel: str
    ) -> Dict[str, Any]:
        """The follow-up question after the answer to what the message asked, or after saying
        honestly that it is not understood (with the clinic's contact)."""
        parse_data = tracker.latest_message.parse_data if tracker.latest_message else {}
        topic = asked_topic(parse_data)
        if topic:
            answer = await super().generate(f"{FAQ_ANSWER}{topic}", tracker, output_channel)
        elif asked_but_not_understood(parse_data):
            answer = await super().generate(QUESTION_NOT_UNDERSTOOD, tracker, output_channel)
        else:
            answer = None
        if not (answer and answer.get("text")):
            return question
        return {**question, "text": f"{answer['text']}\n\n{question['text']}"}

    @staticmethod
    def _red_flag(tracker: DialogueStateTracker) -> Optional[Dict[str, Any]]:
        if not tracker.latest_message:
            return None
        user_parses = [event.parse_data for event in tracker.events if isinstance(event, UserUttered)]
        return finding_in(tracker.latest_message.parse_data) or confirmed_sign(
            user_parses, tracker.get_slot(PENDING_SLOT)
        )

    def generate_from_slots(
        self,
        utter_action: str,
        filled_slots: Dict[str, Any],
        output_channel: str,
        **kwargs: Any,
    ) -> Optional[Dict[str, Any]]:
        # Values passed by a custom action win over the clinic's defaults.
        values = {**self._clinic_values, **kwargs}
        return super().generate_from_slots(utter_action, filled_slots, output_channel, **values)
