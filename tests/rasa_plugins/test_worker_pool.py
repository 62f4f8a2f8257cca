"""The Rasa server's processes (rasa_plugins/worker_pool.py), as `make run` starts them on a
machine with two cores: a publish moves every process to the new version while patients keep
getting answers, and a process that dies is replaced."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Dict, List

import pytest
import requests

from settings import MODEL_FILE, publish_token
from staff import releases
from tests.staff.test_releases import run, version_of
from tests.support.assistant import publishing_to, started_assistant

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    for assistant in started_assistant(tmp_path_factory, env={"RASA_PROCESSES": "2", "ACTION_SERVER_SECRET": "s" * 40}):
        # The first process answers /health; the status lists the processes once both have loaded.
        os.environ["PUBLISH_TOKEN_FILE"] = str(assistant.publish_token_file)
        try:
            until(lambda running=assistant: len(workers(running)) == 2, "both processes started")
        finally:
            del os.environ["PUBLISH_TOKEN_FILE"]
        yield assistant


def until(condition, what: str, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds} s: {what}")
        time.sleep(2)


@pytest.fixture
def published_to(two_processes, monkeypatch):
    yield from publishing_to(two_processes, monkeypatch)


def workers(assistant) -> List[Dict]:
    """Each process's id and model, as the server tells whoever holds the publish token."""
    status = requests.get(
        f"{assistant.url}/webhooks/model/status", headers={"Authorization": f"Bearer {publish_token()}"}, timeout=10
    )
    return status.json().get("workers", [])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_publish_moves_every_process_to_the_new_version_and_no_patient_message_fails(published_to):
    assistant = published_to
    before = workers(assistant)
    assert len(before) == 2 and {w["model"] for w in before} == {MODEL_FILE.name}
    version = version_of(MODEL_FILE, "maria", {"passed": True, "reasons": []})

    failures: List[str] = []
    answered = 0
    done = threading.Event()

    def patient(number: int) -> None:
        nonlocal answered
        turn = 0
        while not done.is_set():
            turn += 1
            try:
                reply = assistant.send(f"publish-patient-{number}-{turn}", "what is deep tissue massage?")
                if reply and reply[0].get("text"):
                    answered += 1
                else:
                    failures.append(f"no reply: {reply!r}")
            except requests.RequestException as error:
                failures.append(repr(error))
            time.sleep(0.5)

    patients = [threading.Thread(target=patient, args=(n,)) for n in range(2)]
    for thread in patients:
        thread.start()
    try:
        assert run("publish", version.id, "--by", "maria") == (0, f"{version.id} is live\n")
    finally:
        done.set()
        for thread in patients:
            thread.join()

    after = workers(assistant)
    assert {w["model"] for w in after} == {version.model.name} and len(after) == 2
    # New processes, and the old ones gone with the memory they held.
    assert not {w["pid"] for w in after} & {w["pid"] for w in before}
    assert not any(alive(w["pid"]) for w in before)
    assert failures == [] and answered > 0
    assert releases.live().id == version.id


def test_a_version_whose_model_cannot_load_is_taken_back_and_the_assistant_answers_on(published_to, tmp_path):
    assistant = published_to
    # With no version published (the fixture's fresh versions folder), the trained model runs.
    until(lambda: {w["model"] for w in workers(assistant)} == {MODEL_FILE.name}, "back on the trained model")
    before = workers(assistant)
    broken_model = tmp_path / "broken.tar.gz"
    broken_model.write_bytes(b"not a model")
    broken = version_of(broken_model, "maria", {"passed": True, "reasons": []})
    code, _ = run("publish", broken.id, "--by", "maria")
    assert code == 1
    assert releases.live() is None or releases.live().id != broken.id
    assert releases.load(broken.id).published == []
    assert [w["model"] for w in workers(assistant)] == [w["model"] for w in before]
    assert "deep tissue" in assistant.send("after-a-broken-publish", "what is deep tissue massage?")[0]["text"].lower()


def test_a_process_that_dies_is_replaced_and_the_other_answers_meanwhile(two_processes, monkeypatch):
    assistant = two_processes
    monkeypatch.setenv("PUBLISH_TOKEN_FILE", str(assistant.publish_token_file))
    killed = workers(assistant)[0]["pid"]
    os.kill(killed, signal.SIGKILL)
    reply = assistant.send("while-one-is-down", "what is deep tissue massage?")
    assert reply and "deep tissue" in reply[0]["text"].lower()

    def replaced() -> bool:
        now = workers(assistant)
        return len(now) == 2 and killed not in {w["pid"] for w in now} and all(alive(w["pid"]) for w in now)

    until(replaced, "the killed process replaced")
    assert assistant.send("after-the-replacement", "thanks")
