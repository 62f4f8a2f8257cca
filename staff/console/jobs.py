"""Training and gating started from the console: `python -m staff train|gate`, run as a child
process so the minutes of training and the models the gate loads stay out of the console's own
process, one at a time (two trainings on the clinic's server would only slow each other down).
Its progress lines go to a log file the versions page shows while it refreshes itself."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from settings import PROJECT_DIR
from staff.releases import GATE_REFUSED_EXIT

TRAIN, GATE = "train", "gate"
LOG_LINES_SHOWN = 30
# The page shows the command's progress lines; the libraries' warnings would bury them.
QUIET = {"PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "3"}


class Busy(RuntimeError):
    """Another training or gate is running."""


@dataclass
class Job:
    kind: str
    version_id: Optional[str]  # the version a gate measures; for training, none yet
    started_by: str
    started_at: dt.datetime
    log_file: Path
    process: subprocess.Popen

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def succeeded(self) -> bool:
        return self.process.poll() == 0

    @property
    def refused(self) -> bool:
        """A gate that ran and refused its candidate (the version's page says why)."""
        return self.kind == GATE and self.process.poll() == GATE_REFUSED_EXIT

    def output(self) -> List[str]:
        lines = self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        return lines[-LOG_LINES_SHOWN:]


class Jobs:
    """The console's one background job, and the last one that finished."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.current: Optional[Job] = None
        self._starting = threading.Lock()

    def start(self, kind: str, started_by: str, version_id: Optional[str] = None) -> Job:
        with self._starting:
            if self.current and self.current.running:
                raise Busy(f"A {self.current.kind} started by {self.current.started_by} is still running.")
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log_file = self.log_dir / f"console-{kind}.log"
            command = [sys.executable, "-m", "staff", kind]
            command += [version_id] if version_id else ["--by", started_by]
            # Its own session: the job finishes (and its version is kept) even if the console stops.
            with log_file.open("w", encoding="utf-8") as log:
                process = subprocess.Popen(  # noqa: S603 (our own command, no shell)
                    command,
                    cwd=PROJECT_DIR,
                    env={**os.environ, **QUIET},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.current = Job(kind, version_id, started_by, dt.datetime.now(dt.timezone.utc), log_file, process)
            return self.current


@dataclass
class Switch:
    """The console's last move of the running assistant servers to a published version. It runs
    in the background (minutes on a busy machine); the versions page shows how it went."""

    version_id: str
    started_by: str
    started_at: dt.datetime
    finished: bool = False
    problem: str = ""  # why a server could not load the version (it was taken back off the record)
