"""Versions of the assistant: the gate's verdict, publishing only what passed, rolling back
(staff/releases.py, `python -m staff train|gate|publish|rollback|versions`)."""

import io
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from settings import MODEL_FILE, settings
from staff import releases
from staff.__main__ import main
from tests.support.assistant import publishing_to


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


def test_on_the_small_set_of_other_intents_one_message_lost_is_allowed_two_are_not():
    def with_intents(right):  # 79 messages, as tests/nlu/intents_holdout.yml
        return {**figures(), "intents": {f"book_appointment: request {i}": i < right for i in range(79)}}

    assert releases.compare(with_intents(60), with_intents(59))["passed"]
    refused = releases.compare(with_intents(60), with_intents(58))
    assert not refused["passed"]
    assert refused["changed"]["intents"]["now_wrong"] == [f"book_appointment: request {i}" for i in (58, 59)]


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
        (figures(intents_right=88), "accuracy on the other intents (booking, referral, ...) falls from 90.0% to 88.0%"),
        (figures(failing=["a yes to the follow-up question"]), "fails conversation tests: a yes to the follow-up"),
    ],
)
def test_the_gate_refuses_a_candidate_that_lowers_safety_or_accuracy_or_fails_a_conversation(candidate, reason):
    report = releases.compare(figures(), candidate)
    assert not report["passed"]
    assert any(reason in line for line in report["reasons"]), report["reasons"]


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


@pytest.fixture
def published_to(assistant, monkeypatch):
    """The running assistant, with this process publishing to it as `python -m staff` would."""
    yield from publishing_to(assistant, monkeypatch)


def test_publishing_loads_the_version_while_the_assistant_answers_and_rollback_restores_the_last(published_to):
    assistant = published_to
    passed = {"passed": True, "reasons": []}
    first, second = version_of(MODEL_FILE, "maria", passed), version_of(MODEL_FILE, "sam", passed)

    def live_model_file():
        return assistant.api("GET", "/status", timeout=10).json()["model_file"]

    # Patients keep getting answers while a publish loads the new model.
    answers = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        publishing = pool.submit(run, "publish", first.id, "--by", "maria")
        while not publishing.done():
            answers.append(assistant.send(f"during-publish-{len(answers)}", "what is deep tissue massage?"))
        assert publishing.result() == (0, f"{first.id} is live\n")
    assert answers and all(reply and reply[0]["text"] for reply in answers)
    assert live_model_file() == first.model.name
    assert run("publish", second.id, "--by", "sam")[0] == 0
    assert live_model_file() == second.model.name
    assert run("rollback", "--by", "sam") == (0, f"{first.id} is live again\n")
    assert live_model_file() == first.model.name
    _, listing = run("versions")
    assert f"{first.id} (live)" in listing and "maria" in listing
    assert [p["by"] for p in releases.load(first.id).published] == ["maria", "sam"]
    assert run("rollback", "no-such-version")[0] == 1


@pytest.mark.servers
def test_loading_a_model_needs_the_publish_token_and_a_published_model_file(assistant):
    load = f"{assistant.url}/webhooks/model/load"
    token = assistant.publish_token_file.read_text().strip()
    refused = requests.post(load, json={"model_file": str(MODEL_FILE)}, timeout=30)
    assert refused.status_code == 401
    wrong = requests.post(load, json={"model_file": str(MODEL_FILE)}, headers={"Authorization": "Bearer x"}, timeout=30)
    assert wrong.status_code == 401
    outside = requests.post(
        load, json={"model_file": "/etc/passwd"}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert outside.status_code == 400


def test_the_rasa_commands_staff_run_send_no_usage_data_unless_the_clinic_turned_it_on(monkeypatch):
    # `python -m staff train` run by hand has no Makefile to set it; Rasa's default is to send.
    # Seen by a process started the way train starts Rasa's commands.
    show = [sys.executable, "-c", "import os; print(os.environ['RASA_TELEMETRY_ENABLED'])"]
    monkeypatch.delenv("RASA_TELEMETRY_ENABLED", raising=False)
    assert releases._run(show, "Showing").strip() == "false"
    monkeypatch.setenv("RASA_TELEMETRY_ENABLED", "true")
    assert releases._run(show, "Showing").strip() == "true"
