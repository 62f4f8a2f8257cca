"""The turns of a recorded conversation before a corrected message, as story steps.

"Save as test" checks the corrected message in the conversation it came in, and "Save as story"
teaches the assistant that path: what the person wrote before it, how the assistant read each
message, and what it did, as it happened (staff corrected only the one message). The steps are
written by Rasa's own story writer, from the events in Rasa's tracker store, as `rasa
interactive` exports a conversation.

Tests and training data are kept in the project's files, so earlier turns that tell who the
person is (a phone number or e-mail address in a message, or a booking or referral request,
which holds a name) are not written, and the console says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Sequence

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from red_flags.contract import finding_in
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


def red_flag_refusal(message: Dict[str, Any]) -> str:
    """Why a recorded message cannot be taught as an ordinary question, or "" when it can."""
    finding = finding_in(message.get("parse_data") or {})
    if not finding:
        return ""
    # The red-flag layer answers it whatever the model reads: a test would fail every version
    # (and the gate refuse them all), a story would teach a path the layer never lets it take.
    return (
        f"The red-flag layer answered “{message.get('text')}” ({finding.get('level')}), and it always "
        "will, whatever the assistant learns: it cannot be taught as an ordinary question."
    )


def earlier_steps(events: Sequence[Dict[str, Any]], domain_file: Path, with_text: bool) -> List[Dict[str, Any]]:
    """The story steps of ``events`` (a conversation's stored events, in order, up to the
    corrected message); ``with_text``: each user step with the text the person wrote, as a
    conversation test has it (a training story has only the intent)."""
    # Rasa, loaded when a test is first saved: the console's pages do not need it.
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.core.training_data.story_writer.yaml_story_writer import YAMLStoryWriter

    slots = Domain.load(str(domain_file)).slots
    tracker = DialogueStateTracker.from_dict("recorded", list(events), slots)
    written = YAMLStoryWriter().stories_to_yaml(tracker.as_story().story_steps, is_test_story=with_text)
    steps = [_plain(step) for story in written.get("stories", []) for step in story["steps"]]
    if not with_text:
        # A training story names a FAQ question by its retrieval intent alone, as the FAQ rule
        # does (data/faq/rules.yml); the topic is the response selector's to learn.
        for step in steps:
            if "intent" in step:
                step["intent"] = str(step["intent"]).split("/", 1)[0]
    return steps


def _plain(value: Any) -> Any:
    """The writer's OrderedDicts (entities, slots) as plain mappings: dumped as they are, they
    would be tagged `!!omap` in the project's files."""
    if isinstance(value, dict):
        return CommentedMap((key, _plain(item)) for key, item in value.items())
    if isinstance(value, list):
        return CommentedSeq(_plain(item) for item in value)
    return value
