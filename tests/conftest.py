"""Shared fixtures: action-test helpers and the real servers, started once per test run."""
from __future__ import annotations

import asyncio
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import requests
import socketio
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

PROJECT_DIR = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT = 600  # seconds; a cold model load on a busy 2-core machine is slow


# --- action tests -------------------------------------------------------------------------


def user_event(text: str, intent: str, confidence: float = 0.9, **parse_extra: Any) -> Dict:
    parse_data = {"text": text, "intent": {"name": intent, "confidence": confidence}}
    parse_data.update(parse_extra)
    return {"event": "user", "text": text, "parse_data": parse_data}


def make_tracker(events: List[Dict], slots: Optional[Dict[str, Any]] = None) -> Tracker:
    """A tracker whose latest message is the last user event in ``events``."""
    user_events = [event for event in events if event["event"] == "user"]
    latest = user_events[-1]["parse_data"] if user_events else {}
    return Tracker(
        sender_id="test-user",
        slots=slots or {},
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


# --- a real PostgreSQL server ---------------------------------------------------------------


class PostgresServer:
    """A throw-away PostgreSQL cluster on loopback, from the Debian packages (.ci/run installs
    them). Each test gets its own database."""

    def __init__(self) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not binaries:
            message = "PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        self.bin = Path(binaries[-1]).parent
        self.datadir = Path(tempfile.mkdtemp(prefix="clinic-postgres-"))
        # The server refuses to run as root; the Debian package creates a `postgres` user.
        self._as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_owner:
            shutil.chown(self.datadir, "postgres")
        self.port = free_port()
        self._run("initdb", "-D", str(self.datadir), "-U", "clinic", "--auth=trust", "-E", "UTF8")
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-l", str(self.datadir / "server.log"), "-w",
            "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.datadir}", "start",
        )
        self.url = f"postgresql://clinic@127.0.0.1:{self.port}"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(self._as_owner + [str(self.bin / program), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def new_database(self) -> str:
        import sqlalchemy as sa

        name = f"test_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(f"{self.url}/postgres", isolation_level="AUTOCOMMIT", future=True)
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return f"{self.url}/{name}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "stop")
        shutil.rmtree(self.datadir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop()


# --- a staff webhook -----------------------------------------------------------------------


class Webhook:
    """A real HTTP server on loopback that records what staff would receive."""

    def __init__(self, failures_before_success: int = 0) -> None:
        self.received: List[Dict[str, Any]] = []
        self.attempts = 0
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                webhook.attempts += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if webhook.attempts <= failures_before_success:
                    self.send_response(500)
                else:
                    webhook.received.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout: float = 30) -> List[Dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matching = [payload for payload in self.received if predicate(payload)]
            if matching:
                return matching
            time.sleep(0.2)
        return []

    def close(self) -> None:
        self.server.shutdown()


# --- Telegram's Bot API ----------------------------------------------------------------------


class TelegramBotAPI:
    """A Telegram Bot API server on loopback (what `api_url` in the Telegram credentials
    points at): it answers the bot's calls as Telegram does and records what was sent to whom."""

    TOKEN = "123456:clinic-test-token"
    USERNAME = "clinic_test_bot"
    SECRET = "test-secret-token"

    def __init__(self) -> None:
        self.calls: List[Tuple[str, Dict[str, str]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                fields = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                method = self.path.rsplit("/", 1)[-1]
                api.calls.append((method, fields))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"ok": True, "result": api._result(method, fields)}).encode())

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _result(self, method: str, fields: Dict[str, str]) -> Any:
        if method == "getMe":
            return {"id": 123456, "is_bot": True, "first_name": "Clinic", "username": self.USERNAME}
        if method == "sendMessage":
            chat_id = int(fields["chat_id"])
            return {"message_id": len(self.calls), "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"}, "text": fields.get("text", "")}
        return True

    def sent_to(self, chat_id: int) -> List[Dict[str, str]]:
        return [fields for method, fields in self.calls if method == "sendMessage" and fields["chat_id"] == str(chat_id)]

    def wait_for_message(self, chat_id: int, predicate: Callable[[Dict[str, str]], bool], timeout: float = 60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matching = [fields for fields in self.sent_to(chat_id) if predicate(fields)]
            if matching:
                return matching[0]
            time.sleep(0.2)
        raise AssertionError(f"no such message to chat {chat_id}: {self.sent_to(chat_id)}")

    def credentials(self, rasa_port: int) -> str:
        return (
            "channels.telegram.SafetyFirstTelegramInput:\n"
            f"  access_token: \"{self.TOKEN}\"\n"
            f"  verify: {self.USERNAME}\n"
            f"  webhook_url: http://127.0.0.1:{rasa_port}/webhooks/telegram/webhook\n"
            f"  api_url: {self.url}\n"
            f"  secret_token: {self.SECRET}\n"
        )

    def close(self) -> None:
        self.server.shutdown()


def telegram_update(chat_id: int, text: str) -> Dict[str, Any]:
    """What Telegram posts to the webhook when a person writes to the bot."""
    return {
        "update_id": int(time.time() * 1000) % 2**31,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Pat"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Pat"},
            "text": text,
        },
    }


# --- the running assistant ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Assistant:
    """The action server and Rasa server, started by scripts/run-servers.sh as `make run` does."""

    def __init__(self, workdir: Path, webhook: Webhook, database_url: str = "") -> None:
        self.database_url = database_url
        self.telegram_api = TelegramBotAPI()
        self.rasa_port = free_port()
        self.action_port = free_port()
        self.sqlite_file = workdir / "conversations.db"
        self.clinic_db_file = workdir / "clinic.db"
        self.webhook = webhook
        self.log_file = workdir / "servers.log"
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
            ACTION_SERVER_URL=f"http://127.0.0.1:{self.action_port}/webhook",
            TRACKER_SQLITE_FILE=str(self.sqlite_file),
            CLINIC_SQLITE_FILE=str(self.clinic_db_file),
            STAFF_WEBHOOK_URL=self.webhook.url,
            DATABASE_URL=self.database_url,
            CREDENTIALS_FILE=str(self.credentials_file),
        )
        self._log = self.log_file.open("w")
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
                status = requests.get(f"{self.url}/status", timeout=2)
                health = requests.get(f"http://127.0.0.1:{self.action_port}/health", timeout=2)
                if status.ok and status.json().get("model_id") and health.ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(1)
        raise RuntimeError(f"servers not ready:\n{self.log_file.read_text()[-3000:]}")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGINT)  # what Ctrl-C does
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._log.close()
        self.telegram_api.close()

    def action_server_pid(self) -> int:
        """The action server started by scripts/run-servers.sh for this assistant."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"actions" in command and str(self.action_port).encode() in command:
                return int(entry.name)
        raise RuntimeError("action server not found")

    def send(self, sender: str, message: str, timeout: float = 60) -> List[Dict[str, Any]]:
        """One message over the REST channel; returns the bot's replies."""
        response = requests.post(
            f"{self.url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            timeout=timeout,
        )
        response.raise_for_status()
        return response.json()

    def send_telegram(self, chat_id: int, text: str, secret: Optional[str] = TelegramBotAPI.SECRET,
                      update: Optional[Dict[str, Any]] = None) -> requests.Response:
        """Posts a Telegram update to the webhook as Telegram does; the replies go to
        ``self.telegram_api``."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        return requests.post(f"{self.url}/webhooks/telegram/webhook", headers=headers,
                             json=update or telegram_update(chat_id, text), timeout=30)

    def tracker(self, conversation_id: str) -> Dict[str, Any]:
        response = requests.get(f"{self.url}/conversations/{conversation_id}/tracker", timeout=30)
        response.raise_for_status()
        return response.json()

    @property
    def clinic_database_url(self) -> str:
        """Where the action server keeps bookings, referrals and escalations."""
        return self.database_url or f"sqlite:///{self.clinic_db_file}"

    def parse(self, text: str) -> Dict[str, Any]:
        response = requests.post(f"{self.url}/model/parse", json={"text": text}, timeout=60)
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


def started_assistant(
    tmp_path_factory: pytest.TempPathFactory, database_url: str = ""
) -> Iterator[Assistant]:
    webhook = Webhook()
    running = Assistant(tmp_path_factory.mktemp("assistant"), webhook, database_url)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        webhook.close()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    yield from started_assistant(tmp_path_factory)
