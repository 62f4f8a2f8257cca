"""The staff console, started as staff start it (`python -m staff console`), on a free port with
its own clinic database, tracker store, versions folder and copy of the project files it changes;
and conversations written into that tracker store the way the Rasa server writes them."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import requests
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

from scripts.processes import free_port, stop_process_group
from settings import PROJECT_DIR

START_TIMEOUT = 60  # seconds
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
# What the console changes (staff/console/content.py), copied so tests never touch the repository.
PROJECT_FILES = ("knowledge", "data", "domain.yml", "tests/stories", "clinic/details.yml")
# A conversation path staff might teach ("where can I leave my bike?"): its example phrasings.
BIKE_PARKING = [
    "can i leave my bike outside",
    "is there somewhere to lock a bicycle",
    "bike rack?",
    "where do i put my bike when i come for a massage",
    "do you have bicycle parking",
    "can I bring my bike inside the clinic",
    "i cycle to appointments, where can i leave the bike",
    "is it safe to leave a bike outside your place",
    "any bike stands near you",
    "cycling over for my physio, where to park the bike",
]


def copy_project_files(destination: Path) -> Path:
    for name in PROJECT_FILES:
        source, target = PROJECT_DIR / name, destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        else:
            shutil.copyfile(source, target)
    return destination


class StaffConsole:
    def __init__(self, workdir: Path, database_url: str = "", project_dir: Optional[Path] = None) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.clinic_db_file = workdir / "clinic.db"
        self.tracker_db_file = workdir / "conversations.db"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = workdir / "console.log"
        self.project_dir = project_dir or copy_project_files(workdir / "project")
        self.versions_dir = workdir / "versions"
        self.env = dict(
            os.environ,
            STAFF_PORT=str(self.port),
            CLINIC_SQLITE_FILE=str(self.clinic_db_file),
            TRACKER_SQLITE_FILE=str(self.tracker_db_file),
            DATABASE_URL=database_url,
            STAFF_PROJECT_DIR=str(self.project_dir),
            VERSIONS_DIR=str(self.versions_dir),
            RASA_SERVER_URLS="",  # no assistant to load a published model into, unless a test starts one
        )
        self._process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        self._log = self.log_file.open("w")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "staff", "console"],
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"console exited early:\n{self.log_file.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/sign-in", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"console not ready:\n{self.log_file.read_text()[-3000:]}")

    def stop(self) -> None:
        if self._process:
            stop_process_group(self._process)
        self._log.close()

    def add_user(self, name: str, role: str, password: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "staff", "user", "add", name, "--role", role, "--password-stdin"],
            cwd=PROJECT_DIR,
            env=self.env,
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    def post_form(
        self, browser: requests.Session, page: requests.Response, path: str, **fields: str
    ) -> requests.Response:
        """Sends a form of ``page`` with the page's CSRF token, as the browser would."""
        data = {"csrf_token": csrf_token_in(page.text), **fields}
        return browser.post(f"{self.url}{path}", data=data, timeout=120)

    def browser(self) -> requests.Session:
        """A fresh browser: its own cookies, nobody signed in."""
        return requests.Session()

    def sign_in(self, browser: requests.Session, name: str, password: str) -> requests.Response:
        """Opens the sign-in page and sends its form, as a person would."""
        page = browser.get(f"{self.url}/sign-in", timeout=30)
        return browser.post(
            f"{self.url}/sign-in",
            data={"name": name, "password": password, "csrf_token": csrf_token_in(page.text)},
            timeout=30,
        )

    def store_conversation(self, conversation_id: str, events: List[Event]) -> None:
        """Saves the events with Rasa's own SQL tracker store, as the Rasa server does."""
        if self.database_url:
            store = SQLTrackerStore(Domain.empty(), host=self.database_url)
        else:
            store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(self.tracker_db_file))
        tracker = DialogueStateTracker.from_events(conversation_id, events)
        asyncio.run(store.save(tracker))
        store.engine.dispose()


def csrf_token_in(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)
