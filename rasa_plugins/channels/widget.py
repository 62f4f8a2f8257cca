"""The website chat widget: its socket.io chat and its files, both served by the Rasa server.

credentials.yml names ``WidgetInput`` in place of Rasa's own socket.io channel (same events,
`user_uttered` / `bot_uttered`, and the same channel name, "socketio"). What it adds:
- Only pages of the clinic's sites may connect: a browser's Origin must be one of
  WIDGET_ORIGINS (settings.py), compared exactly (scheme, host, port). Clients that send no
  Origin (servers, scripts; never a browser) may, as on the REST channel.
- A conversation is reached only through its session: the session id a client asks for must be
  random-looking (32-64 lowercase hex digits, as the widget's 128 random bits), and a socket
  may send messages only into the session it asked for. Anything else gets `session_refused`
  {"error": ...}.
- A message that is too long, or one too many in a minute from its conversation or its address,
  gets a friendly reply instead of an answer (guard.py); socket.io packets are limited to
  MAX_REQUEST_BYTES.
- The widget gives each message an id (`message_id`). A message sent again after a dropped
  connection (`resend: true`) that the conversation already holds is not handled twice: its
  replies are sent again. (Only resent messages cost the look in the tracker store.)
- Every reply part carries `reply_to` (that id) and `part` (its place in the reply), and
  `turn_done` {reply_to} follows the last part, so the widget knows when the assistant has
  finished: its typing indicator, and the next message waits until then.
- GET /widget/widget.js (the widget with the socket.io client inside it), /widget/widget.css,
  /widget/config.json (the clinic's name, colour, greeting, numbers and the widget's texts),
  /widget/demo and /widget/demo/services (a sample clinic page with the widget on it, under a
  strict Content-Security-Policy). The files live in the top-level widget/ folder.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import html
import json
import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Coroutine, Dict, List, Optional, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError

from clinic.details import Clinic, load_clinic
from rasa_plugins.channels.guard import MessageGuard, client_address
from rasa_plugins.unavailable import unavailable_message
from settings import PROJECT_DIR, settings

logger = logging.getLogger(__name__)

WIDGET_DIR = PROJECT_DIR / "widget"
SOCKET_IO_CLIENT = WIDGET_DIR / "vendor" / "socket.io-client" / "socket.io.min.js"
TURN_DONE_EVENT = "turn_done"
SESSION_REFUSED_EVENT = "session_refused"
# A session id a client may pick: as long as the widget's (128 random bits, 32 hex digits) or
# longer, so that nobody can guess another person's conversation.
SESSION_ID = re.compile(r"[0-9a-f]{32,64}")
# What the widget sends as a message id (32 hex digits); anything like it is accepted.
MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The demo pages: a sample clinic site of two pages, to show the conversation follows the person.
DEMO_PAGES = {"": "index.html", "/services": "services.html"}
# What the demo pages may load: only the assistant's own files, nothing inline, no eval.
DEMO_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self' {websocket}; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def origin_allowed(origin: Optional[str], allowed: List[str]) -> bool:
    """Whether a connection whose Origin header is ``origin`` may chat (None: not a browser)."""
    return origin is None or "*" in allowed or origin.rstrip("/") in [entry.rstrip("/") for entry in allowed]


def random_enough(session_id: str) -> bool:
    """Whether a session id a client picked looks random: long enough, and not a pattern such
    as "000...0" or "abcabc..." (a random 32-digit hex id has 8 or more different digits all
    but once in ten billion)."""
    return bool(SESSION_ID.fullmatch(session_id)) and len(set(session_id)) >= 8


def tel_uri(number: str) -> str:
    """A tel: link for a phone number as the clinic writes it ("+1 555 0100 200")."""
    return "tel:" + re.sub(r"[^0-9+*#]", "", number)


def widget_config(clinic: Clinic) -> Dict[str, Any]:
    """What the widget shows that is the clinic's: config.json."""
    texts = json.loads((WIDGET_DIR / "texts.json").read_text(encoding="utf-8"))
    return {
        "clinic": {
            "name": clinic.name,
            "colour": clinic.widget_colour,
            "greeting": clinic.widget_greeting,
            "phone": clinic.phone,
            "phone_link": tel_uri(clinic.phone),
            "emergency_number": clinic.emergency_number,
            "emergency_link": tel_uri(clinic.emergency_number),
        },
        "texts": texts,
    }


def widget_script() -> str:
    """widget/widget.js with the socket.io client inside it, where the clinic's page cannot see
    it: the client's UMD wrapper takes the local `module` and leaves no global `io`."""
    client = re.sub(r"\n//# sourceMappingURL=.*$", "", SOCKET_IO_CLIENT.read_text(encoding="utf-8"))
    widget = (WIDGET_DIR / "widget.js").read_text(encoding="utf-8")
    return (
        "/* Back-pain assistant chat widget. Contains socket.io-client 4.8.1 (MIT License, "
        "(c) 2014-2024 Guillermo Rauch), widget/vendor/socket.io-client/LICENSE. */\n"
        "(function () {\nvar module = { exports: {} }, exports = module.exports;\n"
        f"{client}\nvar io = module.exports;\n{widget}\n}}).call(window);\n"
    )


class StaticFile:
    """A text file served with a content hash as ETag, gzipped for browsers that accept it."""

    def __init__(self, body: str, content_type: str) -> None:
        self.body = body.encode("utf-8")
        self.gzipped = gzip.compress(self.body, mtime=0)
        self.content_type = content_type
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    async def respond(self, request: Request) -> HTTPResponse:
        headers = {
            "ETag": self.etag,
            "Cache-Control": "no-cache",  # always revalidated, so a clinic sees its changes at once
            "X-Content-Type-Options": "nosniff",
            "Vary": "Accept-Encoding",
        }
        if request.headers.get("if-none-match") == self.etag:
            return response.empty(status=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return response.raw(self.gzipped, headers=headers, content_type=self.content_type)
        return response.raw(self.body, headers=headers, content_type=self.content_type)


def widget_files() -> Blueprint:
    files = Blueprint("widget_files", url_prefix="/widget")
    clinic = load_clinic()
    served = {
        "widget.js": StaticFile(widget_script(), "application/javascript; charset=utf-8"),
        "widget.css": StaticFile((WIDGET_DIR / "widget.css").read_text(encoding="utf-8"), "text/css; charset=utf-8"),
        "config.json": StaticFile(json.dumps(widget_config(clinic)), "application/json"),
        "demo.css": StaticFile(
            (WIDGET_DIR / "demo" / "demo.css").read_text(encoding="utf-8"), "text/css; charset=utf-8"
        ),
    }
    demo_pages = {path: _demo_page(name, clinic) for path, name in DEMO_PAGES.items()}

    for name, served_file in served.items():
        files.add_route(_file_handler(served_file), f"/{name}", methods=["GET"], name=name.replace(".", "_"))
    for path, page in demo_pages.items():
        files.add_route(_demo_handler(page), f"/demo{path}", methods=["GET"], name=f"demo{path.replace('/', '_')}")

    return files


def _file_handler(served_file: StaticFile) -> Callable[[Request], Coroutine[Any, Any, HTTPResponse]]:
    async def file(request: Request) -> HTTPResponse:
        return await served_file.respond(request)

    return file


def _demo_page(name: str, clinic: Clinic) -> str:
    """A demo page with the clinic's details ({clinic_name}, ...) filled in, as text."""
    page = (WIDGET_DIR / "demo" / name).read_text(encoding="utf-8")
    for placeholder, value in clinic.placeholders().items():
        page = page.replace("{" + placeholder + "}", html.escape(value))
    return page


def _demo_handler(page: str) -> Callable[[Request], Coroutine[Any, Any, HTTPResponse]]:
    async def demo(request: Request) -> HTTPResponse:
        websocket = ("wss://" if request.scheme == "https" else "ws://") + request.host
        headers = {"Content-Security-Policy": DEMO_CSP.format(websocket=websocket), "X-Content-Type-Options": "nosniff"}
        return response.html(page, headers=headers)

    return demo


class WidgetOutput(SocketIOOutput):
    """Rasa's socket.io output, labelling each part of the reply to one message."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str, reply_to: str) -> None:
        super().__init__(sio, bot_message_evt)
        self.reply_to = reply_to
        self.parts = 0

    def _labelled(self, body: Dict[str, Any]) -> Dict[str, Any]:
        labelled = {**body, "reply_to": self.reply_to, "part": self.parts}
        self.parts += 1
        return labelled

    async def _send_message(self, socket_id: str, response: Any) -> None:
        await super()._send_message(socket_id, self._labelled(response))

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        # Replies put their payload in `data` for socket.io (rasa_plugins/response_generator.py).
        await self.sio.emit(self.bot_message_evt, self._labelled(json_message.get("data") or {}), room=recipient_id)


class WidgetBlueprint(SocketBlueprint):
    """Attaches socket.io and the widget's files to the Rasa server, and remembers the server
    (its agent's tracker store tells which messages a conversation already has)."""

    def __init__(self, channel: WidgetInput, sio: AsyncServer, socketio_path: str) -> None:
        super().__init__(sio, socketio_path, "widget_socketio", __name__)
        self.ctx.channel = channel

    def register(self, app: Sanic, options: Dict[str, Any]) -> None:
        self.ctx.channel.app = app
        super().register(app, options)
        app.blueprint(widget_files())


class WidgetInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "socketio"  # the name conversations, replies and actions already know

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("socketio_path", "/socket.io"),
        )

    def __init__(self, user_message_evt: str, bot_message_evt: str, socketio_path: str) -> None:
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.socketio_path = socketio_path
        self.sio: Optional[AsyncServer] = None
        self.app: Optional[Sanic] = None
        # Messages being handled now, by (conversation, message id): a copy sent again after a
        # reconnection waits for the first instead of being handled twice.
        self.turns: Dict[Tuple[str, str], asyncio.Future[Any]] = {}

    def get_output_channel(self) -> Optional[WidgetOutput]:
        # For messages the HTTP API sends into a conversation: they answer no message.
        return WidgetOutput(self.sio, self.bot_message_evt, reply_to="") if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # cors_allowed_origins=[]: the HTTP CORS headers come from Rasa's --cors; the origins
        # that may chat are checked when a client connects (engine.io would add its own headers).
        config = settings()
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[], max_http_buffer_size=config.max_request_bytes)
        self.sio = sio
        chat = WidgetBlueprint(self, sio, self.socketio_path)
        guard = MessageGuard(config)
        sessions: Dict[str, str] = {}  # socket id -> the session (conversation) it asked for
        addresses: Dict[str, str] = {}  # socket id -> the visitor's address

        @chat.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect")
        async def connect(sid: str, environ: Dict[str, Any], auth: Optional[Dict[str, Any]] = None) -> None:
            origin = environ.get("HTTP_ORIGIN")
            if not origin_allowed(origin, config.widget_origins):
                logger.warning("Refused a chat connection from %s: not in WIDGET_ORIGINS", origin)
                raise ConnectionRefusedError("This website may not use the clinic's chat.")
            addresses[sid] = client_address(environ["sanic.request"])

        @sio.on("disconnect")
        async def disconnect(sid: str) -> None:
            sessions.pop(sid, None)
            addresses.pop(sid, None)

        async def refuse_session(sid: str, error: str) -> None:
            logger.warning("Refused a chat session: %s", error)
            await sio.emit(SESSION_REFUSED_EVENT, {"error": error}, room=sid)

        @sio.on("session_request")
        async def session_request(sid: str, data: Optional[Dict[str, Any]]) -> None:
            session_id = (data or {}).get("session_id") or uuid.uuid4().hex
            if not isinstance(session_id, str) or not random_enough(session_id):
                await refuse_session(sid, "session_id must be 32-64 random lowercase hex digits.")
                return
            for room in sio.rooms(sid):  # "Start over": leave the previous conversation
                if room != sid:
                    sio.leave_room(sid, room)
            sio.enter_room(sid, session_id)
            sessions[sid] = session_id
            await sio.emit("session_confirm", session_id, room=sid)

        @sio.on(self.user_message_evt)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict) or not data.get("session_id") or not isinstance(data.get("message"), str):
                logger.warning("Ignored a chat message without a session_id or text")
                return
            session_id = str(data["session_id"])
            if sessions.get(sid) != session_id:
                await refuse_session(sid, "Ask for this session (session_request) before sending into it.")
                return
            message_id = data.get("message_id")
            if not isinstance(message_id, str) or not MESSAGE_ID.fullmatch(message_id):
                message_id = uuid.uuid4().hex  # a client that gives none (or a strange one): no resending
            try:
                refusal = guard.refusal(session_id, addresses.get(sid), data["message"])
                if refusal:
                    output = WidgetOutput(sio, self.bot_message_evt, message_id)
                    await output.send_text_message(session_id, refusal)
                    return
                await self._handle_once(session_id, message_id, data, on_new_message)
            except Exception:
                # The lock store or the conversations' database is down: say so, not silence.
                logger.exception("Handling a chat message failed")
                output = WidgetOutput(sio, self.bot_message_evt, message_id)
                await output.send_response(session_id, dict(unavailable_message()))
            finally:
                # Also after a failure: the widget then stops waiting and sends what it holds next.
                await sio.emit(TURN_DONE_EVENT, {"reply_to": message_id}, room=session_id)

        return chat

    async def _handle_once(
        self,
        session_id: str,
        message_id: str,
        data: Dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        """Handles a message, unless the conversation already has it: then its replies are sent again."""
        assert self.sio is not None  # set by blueprint()
        output = WidgetOutput(self.sio, self.bot_message_evt, message_id)
        key = (session_id, message_id)
        if key in self.turns:  # sent again while the first copy is being handled
            await asyncio.shield(self.turns[key])
            await self._send_again(session_id, message_id, output)
        elif data.get("resend") is True and await self._already_handled(session_id, message_id):
            await self._send_again(session_id, message_id, output)
        else:
            metadata = data.get("metadata")
            message = UserMessage(
                data["message"],
                output,
                session_id,
                input_channel=self.name(),
                message_id=message_id,
                metadata=metadata if isinstance(metadata, dict) else None,
            )
            self.turns[key] = asyncio.ensure_future(on_new_message(message))
            try:
                await self.turns[key]
            finally:
                del self.turns[key]

    async def _events(self, session_id: str) -> List[Any]:
        assert self.app is not None  # set when the blueprint is registered
        tracker = await self.app.ctx.agent.tracker_store.retrieve(session_id)
        return list(tracker.events) if tracker else []

    async def _already_handled(self, session_id: str, message_id: str) -> bool:
        return any(
            isinstance(event, UserUttered) and event.message_id == message_id
            for event in await self._events(session_id)
        )

    async def _send_again(self, session_id: str, message_id: str, output: WidgetOutput) -> None:
        """The replies to a message already handled, as they were sent the first time (the
        widget drops the parts it already has)."""
        answering = False
        for event in await self._events(session_id):
            if isinstance(event, UserUttered):
                answering = event.message_id == message_id
            elif answering and isinstance(event, BotUttered):
                parts = {key: value for key, value in (event.data or {}).items() if value}
                await output.send_response(session_id, {"text": event.text, **parts})
