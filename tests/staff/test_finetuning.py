"""How candidates are trained (staff/releases.py, staff/rasa_train.py): the live model is
fine-tuned, in half the time or less, and the models whose labels changed are trained anew
beside it (the response selector for a new FAQ topic, TED for a new slot or response); new
intents, a changed config.yml, or no live model, need a full training. Each
change is made with the console's own code in a copy of the project; the last test trains.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import List

import pytest
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.core.domain import Domain

from clinic.details import load_clinic
from scripts.benchmark_training import changed_answer, new_phrasing, new_topic
from scripts.evaluate import answered, trained_parser
from settings import MODEL_FILE
from staff import releases
from staff.console.content import Project
from staff.console.stories import EXISTING_REPLY, NEW_REPLY, StoryBuilder, StoryForm
from staff.rasa_train import models_to_train_anew
from tests.support.console import BIKE_PARKING


def model_of(project: Path, model: Path) -> Path:
    """What a model trained in full from ``project`` keeps for deciding how to train the next
    one: its domain and Rasa's fine-tuning fingerprints, at their places in the archive."""
    importer = releases.training_importer(project)
    contents = {
        "components/domain_provider/domain.yml": importer.get_domain().as_yaml(),
        "components/finetuning_validator/fingerprints-for-validation.json": json.dumps(
            releases.rasa_fingerprints(importer)
        ),
    }
    with tarfile.open(model, "w:gz") as archive:
        for name, text in contents.items():
            data = text.encode("utf-8")
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return model


@pytest.fixture(scope="module")
def live_model(tmp_path_factory) -> Path:
    project = releases.copy_project(tmp_path_factory.mktemp("live"))
    return model_of(project, tmp_path_factory.mktemp("model") / "live.tar.gz")


@pytest.fixture
def project(tmp_path) -> Path:
    return releases.copy_project(tmp_path)


def console(project: Path) -> Project:
    return Project(project, load_clinic().country)


def trained_anew(project: Path, live_model: Path) -> List[type]:
    """The models `staff train` would train anew from ``project`` beside fine-tuning ``live_model``."""
    [live_domain] = releases.read_from_model(live_model, (releases.LIVE_DOMAIN,)) or [""]
    return models_to_train_anew(Domain.from_yaml(live_domain), releases.training_importer(project).get_domain())


def bike_parking(project: Path, reply: str = NEW_REPLY) -> None:
    existing = "utter_clinic_location" if reply == EXISTING_REPLY else ""
    text = "" if existing else "There is a rack by the door."
    form = StoryForm("bike_parking", "where to leave a bike", BIKE_PARKING, reply, existing, text=text)
    StoryBuilder(project, load_clinic().country).build(form)


def new_slot(project: Path) -> None:
    domain = project / "domain.yml"
    slot = "".join(
        f"{line}\n" for line in ("  preferred_therapist:", "    type: text", "    mappings:", "    - type: custom")
    )
    domain.write_text(domain.read_text(encoding="utf-8").replace("slots:\n", "slots:\n" + slot, 1), encoding="utf-8")


def existing_intent_phrasings(project: Path) -> None:
    StoryBuilder(project, load_clinic().country).build(
        StoryForm(intent="", description="asks for the address", phrasings=BIKE_PARKING[:2], kind="contact")
    )


@pytest.mark.parametrize(
    "change, changed, anew",
    [
        (lambda project: None, [], []),
        (lambda project: new_phrasing(console(project)), [], []),
        (lambda project: changed_answer(console(project)), [], []),
        (existing_intent_phrasings, [], []),
        (
            lambda project: new_topic(console(project)),
            ["new FAQ topic: utter_faq/clinic_hot_stones"],
            [ResponseSelector],
        ),
        (
            bike_parking,
            ["new intent: bike_parking", "new response: utter_bike_parking"],
            [DIETClassifier, TEDPolicy],
        ),
        (
            lambda project: bike_parking(project, EXISTING_REPLY),
            ["new intent: bike_parking"],
            [DIETClassifier, TEDPolicy],
        ),
        (new_slot, ["new slot: preferred_therapist"], [TEDPolicy]),
    ],
    ids=["unchanged", "phrasing", "answer", "intent phrasings", "topic", "intent and reply", "intent", "slot"],
)
def test_the_live_model_is_fine_tuned_and_the_models_with_new_labels_trained_anew(
    project, live_model, change, changed, anew
):
    """Except when intents change: DIET trained anew inside a fine-tuning was slower than a full
    training (docs/benchmarks.md), so `staff train` trains those in full."""
    change(project)
    full = [reason for reason in changed if reason.startswith(("new intent", "removed intent"))]
    assert releases.full_training_reasons(project, live_model) == full
    assert releases.labels_changed(project, live_model)[: len(changed)] == changed
    assert trained_anew(project, live_model) == anew


@pytest.mark.parametrize(
    "before, after, reasons",
    [
        ("number_of_transformer_layers: 1", "number_of_transformer_layers: 2", ["config.yml changed"]),
        # What is not trained (a fallback threshold) is read from config.yml by the fine-tuned model as well.
        ("threshold: 0.8", "threshold: 0.7", []),
    ],
)
def test_a_changed_config_is_trained_in_full_unless_only_untrained_settings_changed(
    project, live_model, before, after, reasons
):
    config = project / "config.yml"
    config.write_text(config.read_text(encoding="utf-8").replace(before, after), encoding="utf-8")
    assert releases.full_training_reasons(project, live_model) == reasons


def test_without_a_live_model_the_candidate_is_trained_in_full(project, tmp_path):
    reasons = releases.full_training_reasons(project, tmp_path / "missing.tar.gz")
    assert reasons == ["there is no live model to fine-tune (missing.tar.gz)"]


def staff_train(project: Path) -> Path:
    """`staff train`, as the console's Train button runs it, in the copy: the candidate's folder."""
    (project / "models").mkdir(exist_ok=True)
    shutil.copyfile(MODEL_FILE, project / "models" / MODEL_FILE.name)
    environment = {**os.environ, "STAFF_PROJECT_DIR": str(project), "VERSIONS_DIR": str(project / "var" / "versions")}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "staff", "train"], cwd=project, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return project / "var" / "versions" / done.stdout.split()[-1]


EMERGENCY = "my back hurts and I suddenly can't feel my groin or control my bladder"


@pytest.mark.training
def test_a_fine_tuned_candidate_answers_a_taught_phrasing_and_new_labels_and_still_escalates(project):
    """`staff train` end to end for the changes staff make most (staff/rasa_train.py): a phrasing
    taught to a topic, a new FAQ topic and a new slot. The live model is fine-tuned; the response
    selector and TED are trained anew; the candidate answers the taught phrasing, the new topic in
    words it was not taught, and an old topic, and still escalates an emergency."""
    taught = "is a firm rubdown meant to sting"
    assert answered(trained_parser(MODEL_FILE)(taught)) != "does_massage_hurt"  # the live model did not know it
    console(project).add_phrasing("does_massage_hurt", taught)
    new_topic(console(project))
    new_slot(project)
    folder = staff_train(project)
    training = json.loads((folder / "version.json").read_text())["training"]
    assert "finetuned_from" in training
    assert training["labels_changed"] == [
        "new FAQ topic: utter_faq/clinic_hot_stones",
        "new slot: preferred_therapist",
    ]
    parse = trained_parser(folder / f"{folder.name}.tar.gz")
    assert answered(parse(taught)) == "does_massage_hurt"
    assert answered(parse("are heated stones good for back pain")) == "clinic_hot_stones"
    assert answered(parse("does a deep tissue massage hurt")) == "does_massage_hurt"
    assert answered(parse(EMERGENCY)) == "red_flag_emergency"
