"""Low-confidence messages: first ask which topic was meant, then offer the clinic's contact."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from knowledge import Topic, topics_by_id

FALLBACK_INTENT = "nlu_fallback"
MAX_SUGGESTIONS = 3


def _previous_user_intent(tracker: Tracker) -> Optional[str]:
    """The intent of the user message before the latest one, if any."""
    user_events = [event for event in tracker.events if event.get("event") == "user"]
    if len(user_events) < 2:
        return None
    return ((user_events[-2].get("parse_data") or {}).get("intent") or {}).get("name")


def likely_topics(parse_data: Dict[str, Any], limit: int = MAX_SUGGESTIONS) -> List[Topic]:
    """FAQ topics the response selector ranked highest for the message, best first."""
    ranking = (parse_data.get("response_selector") or {}).get("faq", {}).get("ranking") or []
    known = topics_by_id()
    topics: List[Topic] = []
    for candidate in ranking:
        key = str(candidate.get("intent_response_key") or "")
        topic = known.get(key.split("/", 1)[-1])
        if topic and topic not in topics:
            topics.append(topic)
        if len(topics) == limit:
            break
    return topics


class ActionClarifyTopic(Action):
    def name(self) -> str:
        return "action_clarify_topic"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        if _previous_user_intent(tracker) == FALLBACK_INTENT:
            dispatcher.utter_message(response="utter_contact_after_fallback")
            return []
        topics = likely_topics(tracker.latest_message)
        if not topics:
            dispatcher.utter_message(response="utter_default")
            return []
        buttons = [{"title": topic.title, "payload": topic.canonical_question} for topic in topics]
        buttons.append({"title": "None of these", "payload": "/human_handoff"})
        dispatcher.utter_message(text="I'm not sure I understood. Did you mean one of these?", buttons=buttons)
        return []
