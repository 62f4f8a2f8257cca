"""The running assistant: both servers started by scripts/run-servers.sh, as `make run` does."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import jwt
import pytest
import requests
import socketio

from scripts.processes import free_port, server_pid, stop_process_group
from settings import MODEL_FILE, PROJECT_DIR, settings
from tests.support.services import TelegramBotAPI, Webhook, telegram_update

SERVER_START_TIMEOUT = 600  # seconds; a cold model load on a busy 2-core machine is slow


def new_sender(prefix: str) -> str:
    """A conversation id no other test uses; the prefix tells which test module's it is."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def reply_text(replies: List[Dict[str, Any]]) -> str:
    """The text of the bot's replies to one message, a line each."""
    return "\n".join(reply.get("text", "") for reply in replies)


class Assistant:
    """The action server and Rasa server, started by scripts/run-servers.sh as `make run` does.

    The tests are the clinic's operator: they switch the HTTP API on with a JWT secret of their
    own (RASA_JWT_SECRET) and call it with a token signed with it, as a monitoring script would;
    RASA_API_TOKEN and ACTION_SERVER_SECRET are set too, and Sanic's access log is on, so
    tests/security/ can show that no secret reaches the log (Rasa takes the token in the query
    string) or a command line. ``env`` replaces these settings (tests/security/ runs the servers
    with the API off and an action server secret made per start, as `make run` starts them)."""

    def __init__(
        self, workdir: Path, webhook: Webhook, database_url: str = "", env: Optional[Dict[str, str]] = None
    ) -> None:
        self.database_url = database_url
        operator = {
            "RASA_JWT_SECRET": secrets.token_urlsafe(32),
            "RASA_API_TOKEN": secrets.token_urlsafe(32),
            "ACTION_SERVER_SECRET": secrets.token_urlsafe(32),
            "LOG_LEVEL_LIBRARIES": "INFO",  # Sanic's access log
        }
        self.env = operator if env is None else env
        self.telegram_api = TelegramBotAPI()
        self.rasa_port = free_port()
        self.action_port = free_port()
        self.sqlite_file = workdir / "conversations.db"
        self.clinic_db_file = workdir / "clinic.db"
        self.webhook = webhook
        self.log_file = workdir / "servers.log"
        # Where published versions live, and the publish token the server checks (staff/releases.py).
        self.versions_dir = workdir / "versions"
        self.publish_token_file = workdir / "publish.token"
        # The project's channels, and Telegram talking to the Bot API server above.
        self.credentials_file = workdir / "credentials.yml"
        self.credentials_file.write_text(
            (PROJECT_DIR / "credentials.yml").read_text() + "\n" + self.telegram_api.credentials(self.rasa_port)
        )
        self.url = f"http://127.0.0.1:{self.rasa_port}"
        self._process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        env = dict(
            os.environ,
            RASA_PORT=str(self.rasa_port),
            ACTION_PORT=str(self.action_port),
            STAFF_PORT=str(free_port()),  # run-servers.sh starts the staff console too
            ACTION_SERVER_URL=f"http://127.0.0.1:{self.action_port}/webhook",
            # One Rasa process, whatever `make test` exports (make run's one per core): the
            # message limits count per process; tests/cluster/ runs several.
            RASA_PROCESSES="1",
            TRACKER_SQLITE_FILE=str(self.sqlite_file),
            LOCK_SQLITE_FILE=str(self.sqlite_file.with_name("locks.db")),
            CLINIC_SQLITE_FILE=str(self.clinic_db_file),
            STAFF_WEBHOOK_URL=self.webhook.url,
            DATABASE_URL=self.database_url,
            CREDENTIALS_FILE=str(self.credentials_file),
            ASSISTANT_MODEL=str(MODEL_FILE),
            VERSIONS_DIR=str(self.versions_dir),
            PUBLISH_TOKEN_FILE=str(self.publish_token_file),
        )
        env.update(self.env)
        self._log = self.log_file.open("a")
        self._process = subprocess.Popen(
            [str(PROJECT_DIR / "scripts" / "run-servers.sh")],
            cwd=PROJECT_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() ends both servers
        )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"servers exited early:\n{self.log_file.read_text()[-3000:]}")
            try:
                rasa = requests.get(f"{self.url}/health", timeout=2)  # 200 once the model is loaded
                actions = requests.get(f"http://127.0.0.1:{self.action_port}/health", timeout=2)
                if rasa.ok and actions.ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        raise RuntimeError(f"servers not ready:\n{self.log_file.read_text()[-3000:]}")

    def stop_servers(self) -> None:
        """Stops the servers as Ctrl-C does; start() starts them again on the same ports and
        databases."""
        if self._process:
            stop_process_group(self._process)
        self._log.close()

    def stop(self) -> None:
        self.stop_servers()
        self.telegram_api.close()

    def action_server_pid(self) -> int:
        """The action server started by scripts/run-servers.sh for this assistant."""
        return server_pid("actions.server", f"ACTION_PORT={self.action_port}")

    def send(self, sender: str, message: str, timeout: float = 60) -> List[Dict[str, Any]]:
        """One message over the REST channel; returns the bot's replies."""
        response = requests.post(
            f"{self.url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            timeout=timeout,
        )
        response.raise_for_status()
        return response.json()

    def send_telegram(
        self,
        chat_id: int,
        text: str,
        secret: Optional[str] = TelegramBotAPI.SECRET,
        update: Optional[Dict[str, Any]] = None,
    ) -> requests.Response:
        """Posts a Telegram update to the webhook as Telegram does; the replies go to
        ``self.telegram_api``."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        return requests.post(
            f"{self.url}/webhooks/telegram/webhook",
            headers=headers,
            json=update or telegram_update(chat_id, text),
            timeout=30,
        )

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A call to the Rasa server's HTTP API with the operator's JWT."""
        token = jwt.encode(
            {"user": {"username": "tests", "role": "admin"}, "exp": int(time.time()) + 3600},
            self.env["RASA_JWT_SECRET"],
            algorithm="HS256",
        )
        return requests.request(
            method, f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"}, **{"timeout": 60, **kwargs}
        )

    def tracker(self, conversation_id: str) -> Dict[str, Any]:
        response = self.api("GET", f"/conversations/{conversation_id}/tracker")
        response.raise_for_status()
        return response.json()

    @property
    def clinic_database_url(self) -> str:
        """Where the action server keeps bookings, referrals and escalations."""
        return self.database_url or f"sqlite:///{self.clinic_db_file}"

    def parse(self, text: str) -> Dict[str, Any]:
        response = self.api("POST", "/model/parse", json={"text": text})
        response.raise_for_status()
        return response.json()


def chat_over_socketio(
    url: str, messages: List[str], done: Callable[[Dict[str, Any]], bool], timeout: float = 60
) -> Tuple[str, List[Dict[str, Any]]]:
    """Chats like the website widget: one socket.io session, each message sent once the
    replies to the previous one have arrived, until a reply satisfies ``done``.
    Returns the session id (the conversation id) and every `bot_uttered` body."""

    async def chat():
        client = socketio.AsyncClient()
        replies: List[Dict[str, Any]] = []
        finished = asyncio.Event()

        @client.on("bot_uttered")
        async def on_bot_uttered(data):
            replies.append(data)
            if done(data):
                finished.set()

        session_id = uuid.uuid4().hex
        await client.connect(url, socketio_path="/socket.io", transports=["websocket"])
        await client.emit("session_request", {"session_id": session_id})
        for message in messages:
            before = len(replies)
            await client.emit("user_uttered", {"message": message, "session_id": session_id})
            deadline = time.monotonic() + timeout
            while len(replies) == before and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(1)  # the rest of this message's replies
        await asyncio.wait_for(finished.wait(), timeout=timeout)
        await client.disconnect()
        return session_id, replies

    return asyncio.run(chat())


def publishing_to(assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> Iterator[Assistant]:
    """``assistant``, with this test process publishing to it as `python -m staff` would, from
    an empty versions folder."""
    monkeypatch.setenv("RASA_SERVER_URLS", assistant.url)
    monkeypatch.setenv("VERSIONS_DIR", str(assistant.versions_dir))
    monkeypatch.setenv("PUBLISH_TOKEN_FILE", str(assistant.publish_token_file))
    shutil.rmtree(assistant.versions_dir, ignore_errors=True)
    settings.cache_clear()
    yield assistant
    settings.cache_clear()


def started_assistant(
    tmp_path_factory: pytest.TempPathFactory, database_url: str = "", env: Optional[Dict[str, str]] = None
) -> Iterator[Assistant]:
    webhook = Webhook()
    running = Assistant(tmp_path_factory.mktemp("assistant"), webhook, database_url, env)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        webhook.close()
