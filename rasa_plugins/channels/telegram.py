"""Telegram (POST /webhooks/telegram/webhook): Rasa's Telegram channel, made safe to run.

Changes from Rasa's own:
- Telegram's request is answered at once and the message is handled in the background.
  Telegram sends an update again when its webhook call is not answered in time, so a slow or
  hanging action server would otherwise make the person get every reply twice. Replies go out
  as each action finishes, so a red-flag reply never waits for the action that records it.
- The bot's username is checked against `verify` once, at start-up, not on every message.
- `secret_token` (recommended): Telegram sends it with every update, and updates without it
  are refused, so nobody else can post messages into the webhook.
- A body that is not a Telegram update gets a 400 answer instead of a server error.
- `api_url` (optional) points at a self-hosted Telegram Bot API server instead of
  api.telegram.org.
- A message that is too long, or one too many in a minute in its chat, gets a friendly reply
  (guard.py). Updates all come from Telegram's servers, so there is no per-address limit here:
  the secret token already keeps everyone else out.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Set

from aiogram.bot.api import TelegramAPIServer
from aiogram.types import Update
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_plugins.channels.guard import MessageGuard
from rasa_plugins.unavailable import unavailable_message
from settings import settings

logger = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class ClinicTelegramOutput(TelegramOutput):
    def __init__(self, access_token: str, api_url: Optional[str] = None) -> None:
        # TelegramOutput's own __init__ cannot pass a server; Bot's can.
        server = TelegramAPIServer.from_base(api_url) if api_url else None
        super(TelegramOutput, self).__init__(access_token, **({"server": server} if server else {}))


class SafetyFirstTelegramInput(TelegramInput):
    def __init__(
        self,
        access_token: Optional[str],
        verify: Optional[str],
        webhook_url: Optional[str],
        api_url: Optional[str] = None,
        secret_token: Optional[str] = None,
    ) -> None:
        super().__init__(access_token, verify, webhook_url)
        self.api_url = api_url
        self.secret_token = secret_token

    @classmethod
    def name(cls) -> str:
        return "telegram"  # the URL and the channel name conversations are stored under

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        assert credentials is not None  # the call above raises
        return cls(
            credentials.get("access_token"),
            credentials.get("verify"),
            credentials.get("webhook_url"),
            api_url=credentials.get("api_url"),
            secret_token=credentials.get("secret_token"),
        )

    def get_output_channel(self) -> TelegramOutput:
        return ClinicTelegramOutput(self.access_token, self.api_url)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("safety_first_telegram", __name__)
        out_channel = self.get_output_channel()
        turns: Set[asyncio.Task[Any]] = set()  # kept referenced until they finish
        guard = MessageGuard(settings())

        @webhook.listener("after_server_start")
        async def register(*_: Any) -> None:
            # A Telegram problem must not take the website chat and REST down with it: log it.
            try:
                me = await out_channel.get_me()
                if me.username != self.verify:
                    logger.error("The Telegram token is @%s's, not @%s's (`verify`)", me.username, self.verify)
                    return
                settings = {"url": self.webhook_url}
                if self.secret_token:
                    settings["secret_token"] = self.secret_token
                await out_channel.request("setWebhook", settings)
            except Exception:
                logger.exception("Could not register the Telegram webhook")

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if self.secret_token and request.headers.get(SECRET_HEADER) != self.secret_token:
                return response.json({"error": "Unknown sender."}, status=403)
            message = _user_message(request, out_channel, self.name())
            if message is None:
                return response.json({"error": "The body must be a Telegram update."}, status=400)
            if message.text is not None:
                refusal = guard.refusal(message.sender_id, None, message.text)
                answer = out_channel.send_text_message(message.sender_id, refusal) if refusal else None
                turn: asyncio.Task[Any] = asyncio.ensure_future(answer or _answered(on_new_message, message))
                turns.add(turn)
                turn.add_done_callback(_finished(turns))
            return response.text("success")

        return webhook


def _user_message(request: Request, out_channel: TelegramOutput, channel: str) -> Optional[UserMessage]:
    """The person's message in a Telegram update (text None for updates with no text, such
    as stickers, which are acknowledged and ignored), or None for a malformed body."""
    try:
        body = request.json
        update = Update(**body)
        if update.callback_query:  # a button: its payload is what the person "said"
            chat, text = update.callback_query.message.chat, update.callback_query.data
        else:
            message = update.message or update.edited_message
            chat, text = message.chat, message.text
        chat_id = chat.id
    except Exception:  # invalid JSON, not an object, or an update without a chat
        return None
    if chat_id is None:
        return None
    return UserMessage(
        text if isinstance(text, str) else None,
        out_channel,
        str(chat_id),
        input_channel=channel,
    )


async def _answered(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage) -> None:
    """The turn; if it fails (the lock store or the conversations' database is down), the person
    is told that requests can't be taken now, instead of hearing nothing."""
    try:
        await on_new_message(message)
    except Exception:
        logger.exception("Processing a Telegram message failed")
        await message.output_channel.send_response(message.sender_id, dict(unavailable_message()))


def _finished(turns: Set[asyncio.Task[Any]]) -> Callable[[asyncio.Task[Any]], None]:
    def done(turn: asyncio.Task[Any]) -> None:
        turns.discard(turn)
        if not turn.cancelled() and turn.exception():
            logger.error("Processing a Telegram message failed", exc_info=turn.exception())

    return done
