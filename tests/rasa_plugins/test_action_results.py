"""A custom action's answer is still checked against Rasa's schema (rasa_plugins/action_results.py)."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

import rasa_plugins  # noqa: F401 (installs the check, as the Rasa server's plug-ins do)

ACTION = RemoteAction("validate_booking_form", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_a_valid_answer_passes() -> None:
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
def test_a_malformed_answer_raises_rasas_error(answer: dict) -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        ACTION._validate_action_result(answer)
