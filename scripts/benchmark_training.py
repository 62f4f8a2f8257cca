"""How long clinic staff wait for a candidate after teaching (`make benchmark-training`).

The staff issue's targets: a new phrasing or a changed answer gives a candidate in 90 s or
less, a new topic in 4 minutes or less. Measured as the console does it: ``python -m staff
train`` (validation, then `rasa train` with Rasa's cache) in a throw-away copy of the project,
one change after another, each made with the console's own code (staff/console/content.py).
The first training of the copy, with no change, fills the cache for it (if `make train` has not
already): it is reported, not counted as a staff wait. Prints a table for docs/benchmarks.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Tuple

from clinic.details import load_clinic
from staff.console.content import Project, TopicForm
from staff.releases import copy_project

Change = Callable[[Project], None]


def _train(copy: Path) -> float:
    environment = {**os.environ, "STAFF_PROJECT_DIR": str(copy), "VERSIONS_DIR": str(copy / "var" / "versions")}
    started = time.monotonic()
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "staff", "train"], cwd=copy, env=environment, check=True, capture_output=True
    )
    return time.monotonic() - started


def _new_phrasing(project: Project) -> None:
    project.add_phrasing("does_massage_hurt", "will my back feel bruised the day after a deep massage")


def _changed_answer(project: Project) -> None:
    topic = project.topic("aftercare")
    assert topic is not None
    form = TopicForm(topic.id, topic.title, list(topic.questions), topic.answer + " Drink some water too.")
    project.save_topic(form)


def _new_topic(project: Project) -> None:
    form = TopicForm(
        "clinic_hot_stones",
        "Hot stone massage",
        [
            "do you do hot stone massage",
            "is hot stone massage good for a stiff back",
            "what are hot stones used for in massage",
            "can I book a hot stone treatment",
            "are the hot stones safe on my back",
            "how hot are the stones",
            "hot stone massage for lower back pain",
            "does hot stone massage cost more",
            "what is a hot stone session like",
            "do hot stones help tight muscles",
        ],
        "Yes: warm basalt stones are placed along the back and used for strokes, which helps tight "
        "muscles relax. Ask for it when you book.",
    )
    project.save_topic(form, "clinic.yml")


CHANGES: List[Tuple[str, Change, int]] = [
    ("a new phrasing of a topic", _new_phrasing, 90),
    ("a changed answer", _changed_answer, 90),
    ("a new topic", _new_topic, 240),
]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="training-benchmark-") as scratch:
        copy = Path(scratch)
        copy_project(copy)
        project = Project(copy, load_clinic().country)
        print(f"first training of the copy, no change (fills Rasa's cache): {_train(copy):.0f} s")
        print("| change | candidate after (s) | target (s) |")
        print("|---|---|---|")
        for name, change, target in CHANGES:
            change(project)
            print(f"| {name} | {_train(copy):.0f} | {target} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
