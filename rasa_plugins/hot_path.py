"""Work Rasa 3.6 repeats on every message for no gain, done once per process instead.

- **Checking a custom action's answer.** ``RemoteAction._validate_action_result`` calls
  ``jsonschema.validate``, which first checks Rasa's schema itself against JSON Schema's
  meta-schema, on every action call: 17.7 ms of the event loop per call on our 2-core machine,
  against 0.5 ms for the same check of the answer with a validator built once. Every answer is
  still checked; one that fails goes through Rasa's own check, so it raises the same error with
  the same message.
- **Finding an event's class by its name.** ``Event.resolve_by_type`` walks every subclass of
  ``Event`` (``all_subclasses``, recursive, with an abstract-class test for each) for every
  event read from the tracker store or an action's answer: hundreds per message. The classes
  are looked up once and kept by name, in the same order, so the same class wins; a name not
  kept yet (a subclass imported later) is looked up afresh.

Measured with `make profile` before and after (docs/benchmarks.md).
"""

from __future__ import annotations

import functools
from typing import Any, Dict, Optional, Type

import rasa.shared.utils.common
from jsonschema import ValidationError, validators
from jsonschema.protocols import Validator
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event

_rasas_answer_check = RemoteAction._validate_action_result
_rasas_event_lookup = Event.resolve_by_type
_event_classes: Dict[str, Type[Event]] = {}


@functools.cache
def answer_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result(action: RemoteAction, result: Dict[str, Any]) -> bool:
    try:
        answer_validator().validate(result)
    except ValidationError:
        return _rasas_answer_check(action, result)
    return True


def _resolve_event_by_type(type_name: str, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    if type_name not in _event_classes:
        for event_class in rasa.shared.utils.common.all_subclasses(Event):
            _event_classes.setdefault(event_class.type_name, event_class)
    found = _event_classes.get(type_name)
    return found if found is not None else _rasas_event_lookup(type_name, default)


def install() -> None:
    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_event_by_type)
