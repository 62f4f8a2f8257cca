"""Trackers for action tests: what the Rasa server would send the action server."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker


def user_event(text: str, intent: str, confidence: float = 0.9, **parse_extra: Any) -> Dict:
    parse_data = {"text": text, "intent": {"name": intent, "confidence": confidence}}
    parse_data.update(parse_extra)
    return {"event": "user", "text": text, "parse_data": parse_data}


def make_tracker(events: List[Dict], slots: Optional[Dict[str, Any]] = None) -> Tracker:
    """A tracker whose latest message is the last user event in ``events``."""
    user_events = [event for event in events if event["event"] == "user"]
    latest = user_events[-1]["parse_data"] if user_events else {}
    return Tracker(
        sender_id="test-user",
        slots=slots or {},
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )
