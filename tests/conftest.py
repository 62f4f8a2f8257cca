"""Shared fixtures: action-test helpers and the real servers, started once per test run."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
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


# --- the running assistant ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Assistant:
    """The action server and Rasa server, started by scripts/run-servers.sh as `make run` does."""

    def __init__(self, workdir: Path) -> None:
        self.rasa_port = free_port()
        self.action_port = free_port()
        self.sqlite_file = workdir / "conversations.db"
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

    def send(self, sender: str, message: str) -> List[Dict[str, Any]]:
        """One message over the REST channel; returns the bot's replies."""
        response = requests.post(
            f"{self.url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()

    def parse(self, text: str) -> Dict[str, Any]:
        response = requests.post(f"{self.url}/model/parse", json={"text": text}, timeout=60)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    running = Assistant(tmp_path_factory.mktemp("assistant"))
    running.start()
    try:
        yield running
    finally:
        running.stop()
