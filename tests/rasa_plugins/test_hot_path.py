"""What Rasa repeats on every message, done once (rasa_plugins/hot_path.py), answers as Rasa does."""

from __future__ import annotations

import pytest
import rasa.shared.utils.common
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, SlotSet, UserUttered
from rasa.utils.endpoints import EndpointConfig

import rasa_plugins  # noqa: F401 (installs the changes, as the Rasa server's plug-ins do)

ACTION = RemoteAction("validate_booking_form", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_a_valid_action_answer_passes() -> None:
    answer = {
        "events": [{"event": "slot", "name": "treatment", "value": "deep tissue massage"}],
        "responses": [{"text": "Which day suits you?", "buttons": [{"title": "Monday", "payload": "Monday"}]}],
    }
    assert ACTION._validate_action_result(answer) is True


@pytest.mark.parametrize(
    "answer",
    [
        {"events": [{"event": "no_such_event"}], "responses": []},
        {"events": "not a list", "responses": []},
        {"events": [], "responses": ["not an object"]},
    ],
)
def test_a_malformed_action_answer_raises_rasas_error(answer: dict) -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        ACTION._validate_action_result(answer)


def test_every_event_name_finds_the_class_rasas_walk_finds() -> None:
    walked = rasa.shared.utils.common.all_subclasses(Event)
    for event_class in walked:
        first = next(c for c in walked if c.type_name == event_class.type_name)
        assert Event.resolve_by_type(event_class.type_name) is first
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("user") is UserUttered


def test_an_unknown_event_name_is_refused_or_given_the_default() -> None:
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None  # Rasa's old TopicSet events are skipped
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    # Events read back from a stored conversation are the right classes.
    slot = Event.from_parameters({"event": "slot", "name": "treatment", "value": "x"})
    assert isinstance(slot, SlotSet) and slot.key == "treatment"
