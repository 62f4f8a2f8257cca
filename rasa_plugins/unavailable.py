"""Every message gets a reply, even when a server the turn needs is down.

- The action server: Rasa logs a failed custom action and goes on without its events, so
  "I want to book a massage" got no reply at all. `install()` wraps Rasa's RemoteAction so that
  a failed call first tells the person that requests can't be taken right now, with the
  clinic's phone (once per message, and only when nothing was answered yet: a red-flag reply,
  rendered in the Rasa server, stays the only reply), then fails as before, so no form starts
  half-way.
- The lock store or the conversations' database: the whole turn fails; the channels
  (channels/rest.py, channels/widget.py) then send the same reply (`unavailable_message`).
  Rasa's own answer to a conversation store that cannot be read is to start the conversation
  afresh in memory: "yes, send it" would then be answered as if no booking had been asked for,
  and the turn kept where no one finds it. `install()` makes such an error fail the turn instead.
"""

from __future__ import annotations

import functools
import logging
import weakref
from typing import Any, Dict, List

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.events import BotUttered, Event, UserUttered

from clinic.details import load_clinic

logger = logging.getLogger(__name__)


@functools.cache
def unavailable_message() -> Dict[str, Any]:
    return {"text": load_clinic().requests_unavailable()}


def _answered_this_turn(tracker: Any) -> bool:
    for event in reversed(tracker.events):
        if isinstance(event, BotUttered):
            return True
        if isinstance(event, UserUttered):
            return False
    return False


@functools.cache
def install() -> None:
    """Changes Rasa's handling of both failures, once per process (called when the Rasa server
    loads our NLG, before any message)."""
    told: weakref.WeakSet[Any] = weakref.WeakSet()  # output channels (one per message) already told
    run_remote_action = RemoteAction.run

    async def run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Event]:
        try:
            return await run_remote_action(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise  # a form's "not this slot": part of the conversation, not a failure
        except Exception:
            if output_channel not in told and not _answered_this_turn(tracker):
                told.add(output_channel)
                await output_channel.send_response(tracker.sender_id, dict(unavailable_message()))
            raise

    RemoteAction.run = run

    def fail_the_turn(self: FailSafeTrackerStore, error: Exception) -> None:
        raise error

    FailSafeTrackerStore.on_tracker_store_error = fail_the_turn
    FailSafeTrackerStore.on_tracker_store_retrieve_error = fail_the_turn
