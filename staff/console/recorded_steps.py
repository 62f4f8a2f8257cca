"""The turns of a recorded conversation before a corrected message, as conversation-test steps.

"Save as test" checks the corrected message in the conversation it came in: what the person
wrote before it, how the assistant read each message, and what it did, as it happened (staff
corrected only the one message). The steps are written by Rasa's own story writer, from the
events in Rasa's tracker store, as `rasa interactive` exports a conversation.

Tests are kept in the project's files, so earlier turns that tell who the person is (a phone
number or e-mail address in a message, or a booking or referral request, which holds a name)
are not written: the test then starts at the corrected message, and the console says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Sequence

from staff.console.masking import personal_details_in

# Slots every conversation may set that say nothing about who the person is: the red-flag
# layer's findings (domain.yml). Any other slot is set by a form from what the person told it.
CONVERSATION_SLOTS = frozenset({"red_flag_level", "red_flag_pending"})


def why_not_written(events: Sequence[Dict[str, Any]], region: str) -> str:
    """Why the earlier turns cannot go into a test, or "" when they can."""
    for event in events:
        kind = event.get("event")
        if kind == "active_loop" and event.get("name"):
            return "the messages before it hold a booking or referral request"
        if kind == "slot" and event.get("name") not in CONVERSATION_SLOTS and event.get("value") is not None:
            return "the messages before it hold details the person gave"
        if kind == "user" and personal_details_in(event.get("text") or "", region):
            return "a message before it holds a phone number, an e-mail address or a name"
    return ""


def earlier_steps(events: Sequence[Dict[str, Any]], domain_file: Path) -> List[Dict[str, Any]]:
    """The story steps of ``events`` (a conversation's stored events, in order, up to the
    corrected message), each user step with the text the person wrote."""
    # Rasa, loaded when a test is first saved: the console's pages do not need it.
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import YAMLStoryWriter

    slots = Domain.load(str(domain_file)).slots
    tracker = DialogueStateTracker.from_dict("recorded", list(events), slots)
    written = YAMLStoryWriter().stories_to_yaml(tracker.as_story().story_steps, is_test_story=True)
    return [step for story in written.get("stories", []) for step in story["steps"]]
