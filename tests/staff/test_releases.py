"""Versions of the assistant: the gate's verdict, publishing only what passed, rolling back
(staff/releases.py, `python -m staff train|gate|publish|rollback|versions`)."""

import io
import shutil
import sys

import pytest
import requests
import yaml

from scripts.evaluate import RED_FLAG_HOLDOUT, escalation_level, red_flag_levels
from settings import MODEL_FILE, settings
from staff import releases
from staff.__main__ import main


@pytest.fixture
def versions_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VERSIONS_DIR", str(tmp_path / "versions"))
    settings.cache_clear()
    yield tmp_path / "versions"
    settings.cache_clear()


def figures(escalated=10, faq_right=95, failing=(), intents_right=90):
    """A model's measurements: which of 12 red-flag messages escalate, which of 100 FAQ
    questions get their topic, which of 100 other requests (booking, ...) their intent, which
    conversation tests fail."""
    return {
        "red_flags": {f"urgent: message {i}": i < escalated for i in range(12)},
        "faq": {f"question {i}": i < faq_right for i in range(100)},
        "intents": {f"book_appointment: request {i}": i < intents_right for i in range(100)},
        "conversation_tests": list(failing),
    }


def test_the_gate_passes_a_candidate_as_good_as_the_live_one_and_lists_what_changed():
    report = releases.compare(figures(escalated=10), figures(escalated=11, faq_right=94))
    assert report["passed"] and report["reasons"] == []
    assert report["changed"]["red_flags"]["now_right"] == ["urgent: message 10"]
    assert report["changed"]["faq"]["now_wrong"] == ["question 94"]


def test_on_the_small_set_of_other_intents_a_loss_refuses_only_when_chance_does_not_explain_it():
    def with_intents(right, wrong_first=0):  # 79 messages, as tests/nlu/intents_holdout.yml
        return {**figures(), "intents": {f"request {i}": wrong_first <= i < right for i in range(79)}}

    live = with_intents(66)
    # As full trainings of nearly the same files measured: 2 now right, 4 or 5 now wrong.
    assert releases.compare(live, with_intents(68, wrong_first=4))["passed"]
    assert releases.compare(live, with_intents(68, wrong_first=5))["passed"]
    assert releases.compare(live, with_intents(64))["passed"]  # 2 lost, none gained: p = 0.25
    refused = releases.compare(live, with_intents(61))  # 5 lost, none gained: p = 0.03
    assert not refused["passed"]
    assert refused["changed"]["intents"]["now_wrong"] == [f"request {i}" for i in range(61, 66)]
    assert "accuracy on the other intents (booking, referral, ...) falls from 83.5% to 77.2%" in refused["reasons"][0]


def test_the_gate_tells_which_taught_phrasings_the_candidate_answers_otherwise_without_refusing():
    taught = {"is a firm rubdown meant to sting": False, "does deep tissue massage hurt": True}
    report = releases.compare(figures(), {**figures(), "taught": taught})
    assert report["passed"] and report["not_as_taught"] == ["is a firm rubdown meant to sting"]
    assert releases.compare(figures(), figures())["not_as_taught"] is None  # not checked: not "none missed"


@pytest.mark.parametrize(
    "candidate, reason",
    [
        (figures(escalated=9), "escalates fewer emergency or urgent messages (9 instead of 10)"),
        (figures(faq_right=93), "FAQ accuracy falls from 95.0% to 93.0%"),
        (figures(intents_right=84), "accuracy on the other intents (booking, referral, ...) falls from 90.0% to 84.0%"),
        (figures(failing=["a yes to the follow-up question"]), "fails conversation tests: a yes to the follow-up"),
    ],
)
def test_the_gate_refuses_a_candidate_that_lowers_safety_or_accuracy_or_fails_a_conversation(candidate, reason):
    report = releases.compare(figures(), candidate)
    assert not report["passed"]
    assert any(reason in line for line in report["reasons"]), report["reasons"]


def test_a_candidate_measured_at_its_gate_is_not_measured_again_as_the_live_version(tmp_path, monkeypatch):
    measured = []

    def measure(model, taught=None):
        measured.append(taught)
        return {**figures(), **({"taught": {text: True for text in taught}} if taught is not None else {})}

    monkeypatch.setattr(releases, "measure", measure)
    model = tmp_path / "candidate.tar.gz"
    model.write_bytes(b"a model")
    taught = {"is a firm rubdown meant to sting": "does_massage_hurt"}
    assert releases.figures_of(model, taught)["taught"] == {"is a firm rubdown meant to sting": True}
    assert "taught" not in releases.figures_of(model)  # as the live version, at the next gate
    assert releases.figures_of(model, taught)["taught"]
    assert measured == [taught]
    releases.figures_of(model, {**taught, "does deep tissue hurt": "does_massage_hurt"})  # taught more
    model.write_bytes(b"another model")
    releases.figures_of(model)
    assert len(measured) == 3


def version_of(model, created_by, gate):
    version = releases.Version(
        id=f"test-{created_by}",
        content_hash=releases.content_hash(),
        created_at="2026-12-04T12:00:00+00:00",
        created_by=created_by,
        gate=gate,
    )
    version.folder.mkdir(parents=True)
    shutil.copyfile(model, version.model)
    version.save()
    return version


def run(*argv):
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def test_a_version_whose_gate_refused_it_cannot_be_published_by_anyone(versions_dir, capsys):
    refused = {"passed": False, "reasons": ["it escalates fewer emergency or urgent messages (9 instead of 10)"]}
    version = version_of(MODEL_FILE, "editor", refused)
    code, _ = run("publish", version.id, "--by", "publisher")
    assert code == 1
    assert "cannot be published: it escalates fewer emergency or urgent messages" in capsys.readouterr().err
    assert releases.live() is None and not (versions_dir / "published.jsonl").exists()
    unchecked = version_of(MODEL_FILE, "other", None)
    assert run("publish", unchecked.id)[0] == 1
    assert "its gate has not been run" in capsys.readouterr().err


def test_the_first_publish_can_be_rolled_back_to_the_model_make_trained(versions_dir):
    first = version_of(MODEL_FILE, "maria", {"passed": True, "reasons": []})
    releases.publish(first.id, "maria", switch=False)
    [starting] = [version for version in releases.all_versions() if version.id != first.id]
    assert starting.created_by == "make" and starting.model.stat().st_size == MODEL_FILE.stat().st_size
    assert releases.restorable() == [first.id, starting.id]
    assert releases.rollback("maria", switch=False).id == starting.id
    assert releases.live().model == starting.model
    _, listing = run("versions")
    assert f"{starting.id} (live)" in listing and "trained by `make` before any version was published" in listing


def test_publish_and_rollback_record_who_did_it_and_rollback_restores_the_last(versions_dir, monkeypatch):
    """The commands and their record. Running servers moving to the live version, with patients
    answered all the while, are tested with real ones: tests/rasa_plugins/test_worker_pool.py,
    tests/cluster/ and the console's release cycle (tests/staff/console/test_release_cycle.py)."""
    monkeypatch.setenv("RASA_SERVER_URLS", "")
    settings.cache_clear()
    passed = {"passed": True, "reasons": []}
    first, second = version_of(MODEL_FILE, "maria", passed), version_of(MODEL_FILE, "sam", passed)
    assert run("publish", first.id, "--by", "maria") == (0, f"{first.id} is live\n")
    assert run("publish", second.id, "--by", "sam")[0] == 0
    assert releases.live().id == second.id
    assert run("rollback", "--by", "sam") == (0, f"{first.id} is live again\n")
    assert releases.live().id == first.id
    _, listing = run("versions")
    assert f"{first.id} (live)" in listing and "maria" in listing
    assert [p["by"] for p in releases.load(first.id).published] == ["maria", "sam"]
    assert run("rollback", "no-such-version")[0] == 1
    assert releases.live().id == first.id


def test_loading_a_model_needs_the_publish_token_and_a_published_model_file(assistant):
    load = f"{assistant.url}/webhooks/model/load"
    refused = requests.post(load, json={"model_file": str(MODEL_FILE)}, timeout=30)
    assert refused.status_code == 401
    token = assistant.publish_token_file.read_text().strip()  # made by the server on first use
    wrong = requests.post(load, json={"model_file": str(MODEL_FILE)}, headers={"Authorization": "Bearer x"}, timeout=30)
    assert wrong.status_code == 401
    outside = requests.post(
        load, json={"model_file": "/etc/passwd"}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert outside.status_code == 400


def test_the_gate_reads_each_red_flag_message_as_the_running_assistant_does(assistant):
    """The gate reads the red-flag sets with only the components the escalation depends on
    (scripts.evaluate.red_flag_levels): every tier of the held-out set, as /model/parse reads it."""
    labelled = yaml.safe_load(RED_FLAG_HOLDOUT.read_text(encoding="utf-8"))
    texts = [
        text
        for tier in labelled.values()
        for texts in (tier.values() if isinstance(tier, dict) else [tier])
        for text in texts
    ]
    read = red_flag_levels(MODEL_FILE)(texts)
    parsed = [escalation_level(assistant.parse(text)) for text in texts]
    assert len(texts) > 500 and {"emergency", "urgent", None} <= set(parsed)
    assert [(t, r) for t, r, p in zip(texts, read, parsed, strict=True) if r != p] == []


def test_the_rasa_commands_staff_run_send_no_usage_data_unless_the_clinic_turned_it_on(monkeypatch):
    # `python -m staff train` run by hand has no Makefile to set it; Rasa's default is to send.
    # Seen by a process started the way train starts Rasa's commands.
    show = [sys.executable, "-c", "import os; print(os.environ['RASA_TELEMETRY_ENABLED'])"]
    monkeypatch.delenv("RASA_TELEMETRY_ENABLED", raising=False)
    assert releases._run(show, "Showing").strip() == "false"
    monkeypatch.setenv("RASA_TELEMETRY_ENABLED", "true")
    assert releases._run(show, "Showing").strip() == "true"
