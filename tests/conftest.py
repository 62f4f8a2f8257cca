"""Shared fixtures: action-test helpers and the real servers, started once per test run."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests
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


# --- the running assistant ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Assistant:
    """The action server and Rasa server, started by scripts/run-servers.sh as `make run` does."""

    def __init__(self, workdir: Path, webhook: Webhook) -> None:
        self.rasa_port = free_port()
        self.action_port = free_port()
        self.sqlite_file = workdir / "conversations.db"
        self.clinic_db_file = workdir / "clinic.db"
        self.webhook = webhook
        self.log_file = workdir / "servers.log"
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
            DATABASE_URL="",
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

    def parse(self, text: str) -> Dict[str, Any]:
        response = requests.post(f"{self.url}/model/parse", json={"text": text}, timeout=60)
        response.raise_for_status()
        return response.json()


def started_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    webhook = Webhook()
    running = Assistant(tmp_path_factory.mktemp("assistant"), webhook)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        webhook.close()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    yield from started_assistant(tmp_path_factory)
