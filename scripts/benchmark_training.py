"""How long clinic staff wait for a candidate after teaching (`make benchmark-training`).

The staff issue's targets: a new phrasing or a changed answer gives a candidate in 90 s or
less, a new topic, intent or story in 4 minutes or less. Measured as the console does it:
``python -m staff train`` (validation, then `rasa train`: the live model fine-tuned, with the
models whose labels changed trained anew, or a full training when config.yml changed;
staff/rasa_train.py) in a throw-away copy of the project, one change after another, each made
with the console's own code (staff/console/). The live model is the one `make train` trained
(models/), copied in. A change that was fine-tuned is trained again with ``--full``, for the
other path's time, and the first candidate then becomes the copy's live model, as if
published, so that each change is timed on its own. Each row says which path it took and the
machine's load average when it started; ``--only`` times some of the changes. ``--keep DIR``
keeps the copy and its candidates (for comparing the fine-tuned and the full candidate with ``staff.releases.measure``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from clinic.details import load_clinic
from settings import MODEL_FILE
from staff.console.content import Project, TopicForm
from staff.console.stories import NEW_REPLY, StoryBuilder, StoryForm
from staff.releases import copy_project

Change = Callable[[Project], None]


def _train(copy: Path, *options: str) -> Tuple[float, str, Path]:
    """Seconds until the candidate was there, which path it took, and its model."""
    environment = {**os.environ, "STAFF_PROJECT_DIR": str(copy), "VERSIONS_DIR": str(copy / "var" / "versions")}
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "staff", "train", *options], cwd=copy, env=environment, check=True, capture_output=True
    )
    seconds = time.monotonic() - started
    version_id = done.stdout.decode().split()[-1]
    training = json.loads((copy / "var" / "versions" / version_id / "version.json").read_text())["training"]
    if "finetuned_from" in training:
        changed = training.get("labels_changed")
        path = "fine-tuned" + (f", anew for {'; '.join(changed)}" if changed else "")
    else:
        path = "full: " + "; ".join(training["full"])
    return seconds, f"{path} ({version_id})", copy / "var" / "versions" / version_id / f"{version_id}.tar.gz"


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


# The changes timed, each as staff make it in the console (tests/staff/test_finetuning.py checks
# which path each takes).
def new_phrasing(project: Project) -> None:
    project.add_phrasing("does_massage_hurt", "will my back feel bruised the day after a deep massage")


def changed_answer(project: Project) -> None:
    topic = project.topic("aftercare")
    assert topic is not None
    form = TopicForm(topic.id, topic.title, list(topic.questions), topic.answer + " Drink some water too.")
    project.save_topic(form)


def new_topic(project: Project) -> None:
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


def new_intent(project: Project) -> None:
    """A new conversation path from the console's story builder: an intent with its own reply."""
    form = StoryForm(
        "bring_a_child",
        "whether a child can come along",
        [
            "can I bring my child",
            "is it ok if my son sits in while I have my massage",
            "can my daughter come with me to the appointment",
            "do you mind kids in the treatment room",
            "I have no childcare, can my toddler come",
            "are children allowed to wait in the room",
            "can I bring the baby to my session",
            "is it alright to bring my kid along",
            "my children are off school, may they come in with me",
            "could my teenager keep me company during the treatment",
        ],
        NEW_REPLY,
        text="Children are welcome in the waiting area with another adult; please tell us when you book.",
    )
    StoryBuilder(project.root, project.region).build(form)


CHANGES: List[Tuple[str, Change, int]] = [
    ("a new phrasing of a topic", new_phrasing, 90),
    ("a changed answer", changed_answer, 90),
    ("a new topic", new_topic, 240),
    ("a new intent with its reply", new_intent, 240),
]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="an empty folder to keep the copy and its candidates in")
    parser.add_argument("--only", help='time only the changes whose name holds this ("intent")')
    args = parser.parse_args(argv)
    if not MODEL_FILE.is_file():
        print(f"No live model to fine-tune: {MODEL_FILE} is missing (make train).", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="training-benchmark-") as scratch:
        copy = args.keep or Path(scratch)
        copy.mkdir(parents=True, exist_ok=True)
        copy_project(copy)
        (copy / "models").mkdir(exist_ok=True)
        shutil.copyfile(MODEL_FILE, copy / "models" / MODEL_FILE.name)
        project = Project(copy, load_clinic().country)
        print("| change | path (version) | candidate after (s) | target (s) | load average at start |")
        print("|---|---|---|---|---|")
        for name, change, target in CHANGES:
            if args.only and args.only not in name:
                continue
            change(project)
            runs: List[Tuple[str, ...]] = [()]
            candidates = []
            while runs:
                options = runs.pop()
                load = _load()
                seconds, path, candidate = _train(copy, *options)
                candidates.append(candidate)
                print(f"| {name} | {path} | {seconds:.0f} | {target} | {load} |", flush=True)
                if path.startswith("fine-tuned"):
                    runs.append(("--full",))
            # Published, as staff would before teaching the next change: each change is then
            # timed on its own, not with the labels of the ones before it.
            shutil.copyfile(candidates[0], copy / "models" / MODEL_FILE.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
