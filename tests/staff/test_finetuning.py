"""Which candidates are fine-tuned from the live model and which are trained in full
(staff/releases.py, `full_training_reasons`): a change that keeps every label the model
predicts (a new phrasing, a changed answer) is fine-tuned, in half the time, and so is a new
FAQ topic, with a response selector trained anew; a new intent, response or slot needs a full
training. Each change is made with the console's own
code in a copy of the project; only the last test trains one, by fine-tuning."""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from clinic.details import load_clinic
from scripts.benchmark_training import changed_answer, new_phrasing, new_topic
from scripts.evaluate import answered, trained_parser
from settings import MODEL_FILE
from staff import releases
from staff.console.content import Project
from staff.console.stories import EXISTING_REPLY, NEW_REPLY, StoryBuilder, StoryForm
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


def test_unchanged_files_are_fine_tuned(project, live_model):
    assert releases.full_training_reasons(project, live_model) == []


def test_a_new_phrasing_of_a_topic_is_fine_tuned(project, live_model):
    new_phrasing(console(project))
    assert releases.full_training_reasons(project, live_model) == []


def test_a_changed_answer_is_fine_tuned(project, live_model):
    changed_answer(console(project))
    assert releases.full_training_reasons(project, live_model) == []


def test_new_phrasings_of_an_existing_intent_are_fine_tuned(project, live_model):
    StoryBuilder(project, load_clinic().country).build(
        StoryForm(intent="", description="asks for the address", phrasings=BIKE_PARKING[:2], kind="contact")
    )
    assert releases.full_training_reasons(project, live_model) == []


def test_a_new_topic_is_fine_tuned_with_a_response_selector_trained_anew(project, live_model):
    new_topic(console(project))
    assert releases.full_training_reasons(project, live_model) == []
    assert releases.faq_topic_changes(project, live_model) == ["new FAQ topic: utter_faq/clinic_hot_stones"]


def test_a_new_intent_with_a_new_response_is_trained_in_full(project, live_model):
    reply = "There is a rack by the door."
    form = StoryForm("bike_parking", "where to leave a bike", BIKE_PARKING, NEW_REPLY, text=reply)
    StoryBuilder(project, load_clinic().country).build(form)
    reasons = releases.full_training_reasons(project, live_model)
    assert reasons[:2] == ["new intent: bike_parking", "new response: utter_bike_parking"]


def test_a_new_intent_with_an_existing_response_is_trained_in_full(project, live_model):
    form = StoryForm("bike_parking", "where to leave a bike", BIKE_PARKING, EXISTING_REPLY, "utter_clinic_location")
    StoryBuilder(project, load_clinic().country).build(form)
    assert releases.full_training_reasons(project, live_model)[0] == "new intent: bike_parking"


def test_a_new_slot_is_trained_in_full(project, live_model):
    domain = project / "domain.yml"
    slot = "".join(
        f"{line}\n" for line in ("  preferred_therapist:", "    type: text", "    mappings:", "    - type: custom")
    )
    domain.write_text(domain.read_text(encoding="utf-8").replace("slots:\n", "slots:\n" + slot, 1), encoding="utf-8")
    assert releases.full_training_reasons(project, live_model)[0] == "new slot: preferred_therapist"


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
def test_a_new_phrasing_gives_a_fine_tuned_candidate_that_answers_it_and_still_escalates(project):
    """The fast path end to end: `staff train` fine-tunes the live model (staff/rasa_train.py)
    into a candidate that answers the taught phrasing."""
    taught = "is a firm rubdown meant to sting"
    assert answered(trained_parser(MODEL_FILE)(taught)) != "does_massage_hurt"  # the live model did not know it
    console(project).add_phrasing("does_massage_hurt", taught)
    folder = staff_train(project)
    training = json.loads((folder / "version.json").read_text())["training"]
    assert "finetuned_from" in training and training["response_selector_anew"] == []
    parse = trained_parser(folder / f"{folder.name}.tar.gz")
    assert answered(parse(taught)) == "does_massage_hurt"
    assert answered(parse(EMERGENCY)) == "red_flag_emergency"


@pytest.mark.training
def test_a_new_topic_gives_a_fine_tuned_candidate_that_answers_it_and_the_old_topics(project):
    """A new FAQ topic: the rest of the live model fine-tuned, the response selector trained
    anew; the candidate answers the new topic in words it was not taught, and the old ones."""
    new_topic(console(project))
    folder = staff_train(project)
    training = json.loads((folder / "version.json").read_text())["training"]
    assert training["response_selector_anew"] == ["new FAQ topic: utter_faq/clinic_hot_stones"]
    parse = trained_parser(folder / f"{folder.name}.tar.gz")
    assert answered(parse("are heated stones good for back pain")) == "clinic_hot_stones"
    assert answered(parse("does a deep tissue massage hurt")) == "does_massage_hurt"
    assert answered(parse(EMERGENCY)) == "red_flag_emergency"
