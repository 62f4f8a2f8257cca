"""The REST channel (POST /webhooks/rest/webhook), answering safety replies at once.

Rasa's own REST channel answers when the whole turn is over, so a red-flag reply would wait
for the custom action that records it - up to Rasa's five-minute action timeout if the action
server hangs. This channel returns as soon as a reply carrying a `red_flag` payload is ready;
the rest of the turn (recording, notifying staff) carries on in the background. It also turns
malformed requests into a clear 400 answer instead of a server error, asks for REST_TOKEN
(`Authorization: Bearer`) when it is set, refuses (403) a sender id that is another channel's
conversation (a Telegram chat, a widget session), answers a message that is too long or one too
many with a friendly reply (guard.py), and turns a turn that fails (a database or the lock store
down) into a reply saying requests can't be taken now.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_plugins.channels.guard import MessageGuard, client_address
from rasa_plugins.tracker_store import ClinicSQLTrackerStore
from rasa_plugins.unavailable import unavailable_message
from red_flags.contract import is_escalation_payload
from settings import settings
from web.security import bearer_token_matches

logger = logging.getLogger(__name__)


class SafetyReplyCollector(CollectingOutputChannel):
    """Collects replies and signals when one of them is a red-flag escalation."""

    def __init__(self) -> None:
        super().__init__()
        self.safety_reply_ready = asyncio.Event()

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        # Checked first: Rasa's send_response pops "custom" out of the message.
        is_safety_reply = is_escalation_payload(message.get("custom"))
        await super().send_response(recipient_id, message)
        if is_safety_reply:
            self.safety_reply_ready.set()


class SafetyFirstRestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "rest"  # the URL integrations already use

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("safety_first_rest", __name__)
        config = settings()
        guard = MessageGuard(config)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if config.rest_token and not bearer_token_matches(request, config.rest_token):
                return response.json({"error": "Send the REST token: Authorization: Bearer <REST_TOKEN>."}, status=401)
            body, problem = _parse(request)
            if body is None:
                return response.json({"error": problem}, status=400)
            sender = str(body["sender"])
            try:
                belongs_elsewhere = await _another_channels(request, sender)
            except Exception:  # the conversations' database is down: say so, not a server error
                logger.exception("Reading a conversation's channel failed")
                return response.json([{"recipient_id": sender, **unavailable_message()}])
            if belongs_elsewhere:
                return response.json({"error": "This conversation belongs to another channel."}, status=403)
            refusal = guard.refusal(sender, client_address(request), body["message"])
            if refusal:
                return response.json([{"recipient_id": sender, "text": refusal}])
            collector = SafetyReplyCollector()
            message = UserMessage(
                body["message"],
                collector,
                sender,
                input_channel=self.name(),
                metadata=body.get("metadata") if isinstance(body.get("metadata"), dict) else None,
            )
            turn = asyncio.ensure_future(on_new_message(message))
            turn.add_done_callback(_log_failure)
            safety = asyncio.ensure_future(collector.safety_reply_ready.wait())
            await asyncio.wait({turn, safety}, return_when=asyncio.FIRST_COMPLETED)
            safety.cancel()
            await asyncio.gather(safety, return_exceptions=True)
            if turn.done() and turn.exception() and not collector.messages:
                # The lock store or the conversations' database is down: say so, not a silent 200.
                return response.json([{"recipient_id": message.sender_id, **unavailable_message()}])
            return response.json(collector.messages)

        return webhook


def _parse(request: Request) -> tuple[Optional[Dict[str, Any]], Optional[str]]:
    try:
        body = request.json
    except Exception:  # Sanic raises its own error type for invalid JSON
        return None, "The request body must be JSON."
    if not isinstance(body, dict):
        return None, 'Send a JSON object: {"sender": "...", "message": "..."}.'
    sender = body.get("sender")
    if not isinstance(sender, (str, int)) or not str(sender).strip():
        return None, "`sender` (the conversation id) is required."
    if not isinstance(body.get("message"), str):
        return None, "`message` must be a string."
    return body, None


async def _another_channels(request: Request, sender: str) -> bool:
    """Whether ``sender`` names a conversation of another channel: a Telegram chat's id is a
    number anyone may guess, and REST may neither speak in that conversation nor read its replies."""
    store = request.app.ctx.agent.tracker_store
    store = getattr(store, "tracker_store", store)  # Rasa wraps the configured store in a fail-safe one
    if isinstance(store, ClinicSQLTrackerStore):
        channel = store.latest_input_channel(sender)
    else:
        tracker = await store.retrieve(sender)
        channel = tracker.get_latest_input_channel() if tracker else None
    return channel not in (None, SafetyFirstRestInput.name())


def _log_failure(turn: asyncio.Future[Any]) -> None:
    if not turn.cancelled() and turn.exception():
        logger.error("Processing a REST message failed", exc_info=turn.exception())
