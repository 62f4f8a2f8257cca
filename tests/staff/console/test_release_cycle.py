"""What is taught in the console reaches a new version: an editor teaches a message to a topic
and builds a conversation path, trains a candidate and runs its gate from the versions page,
tries the candidate out (the path answers, and a red flag said in the path's words still
escalates), and a publisher publishes it, or is shown why not. Trains a real model in a copy of
the project: minutes (`make test` runs it, `make test-fast` does not)."""

import time

import pytest
import requests
from rasa.shared.core.events import ActionExecuted, UserUttered

from settings import settings
from staff import releases
from staff.releases import copy_project
from tests.support.console import BIKE_PARKING, StaffConsole

PASSWORD = "a long clinic password"
TAUGHT = "hw much 4 an hour of massage at ur place"
JOB_TIMEOUT = 40 * 60  # seconds: a training without Rasa's cache, then a gate, on a busy machine
PRICES = "A 30-minute massage is $55"  # clinic/details.yml, the clinic_prices topic's answer
EMERGENCY = "I can't feel anything down there and I wet myself"


def wait_for_job(console: StaffConsole, browser: requests.Session) -> str:
    page = browser.get(f"{console.url}/versions", timeout=30).text
    deadline = time.monotonic() + JOB_TIMEOUT
    while '<meta http-equiv="refresh"' in page and time.monotonic() < deadline:
        time.sleep(10)
        page = browser.get(f"{console.url}/versions", timeout=30).text
    assert '<meta http-equiv="refresh"' not in page, "the job did not finish in time"
    return page


@pytest.mark.release_cycle
def test_a_taught_message_is_answered_by_the_next_version(tmp_path, monkeypatch):
    project = copy_project(tmp_path / "project")
    console = StaffConsole(tmp_path, project_dir=project)
    monkeypatch.setenv("VERSIONS_DIR", str(console.versions_dir))
    settings.cache_clear()
    now = time.time()
    console.store_conversation(
        "prices-unclear",
        [
            UserUttered(TAUGHT, {"name": "nlu_fallback", "confidence": 0.4}, timestamp=now - 60),
            ActionExecuted("action_clarify_topic", timestamp=now - 59),
        ],
    )
    console.start()
    try:
        console.add_user("eddie", "editor", PASSWORD)
        console.add_user("pat", "publisher", PASSWORD)
        editor = console.browser()
        console.sign_in(editor, "eddie", PASSWORD)
        page = editor.get(f"{console.url}/conversations/prices-unclear", timeout=30)
        taught = console.post_form(
            editor, page, "/teach", conversation="prices-unclear", turn="0", topic="clinic_prices", do="teach"
        )
        assert "Added" in taught.text
        story_form = editor.get(f"{console.url}/stories/new", timeout=30)
        built = console.post_form(
            editor,
            story_form,
            "/stories/new",
            phrasings="\n".join(BIKE_PARKING),
            kind="existing",
            intent="bike_parking",
            description="where to leave a bike",
            response="utter_clinic_location",
        )
        assert built.url.endswith("/changes")

        started = time.monotonic()
        console.post_form(editor, editor.get(f"{console.url}/versions", timeout=30), "/versions/train")
        trained = wait_for_job(console, editor)
        print(f"training took {time.monotonic() - started:.0f} s")
        assert "finished" in trained, trained
        [candidate] = releases.all_versions()
        assert candidate.content_hash == releases.content_hash(project)  # trained from the taught files

        started = time.monotonic()
        console.post_form(editor, editor.get(f"{console.url}/versions", timeout=30), f"/versions/{candidate.id}/gate")
        wait_for_job(console, editor)
        print(f"the gate took {time.monotonic() - started:.0f} s")
        report = releases.load(candidate.id).gate
        assert report is not None
        print("the gate " + ("passed" if report["passed"] else "refused: " + "; ".join(report["reasons"])))
        version_page = editor.get(f"{console.url}/versions/{candidate.id}", timeout=30)
        assert "Emergency and urgent messages escalated" in version_page.text
        assert TAUGHT not in report["not_as_taught"]  # the candidate's own phrasings were measured

        preview = console.post_form(editor, version_page, f"/versions/{candidate.id}/preview", message=TAUGHT)
        assert PRICES in preview.text
        path = console.post_form(editor, version_page, f"/versions/{candidate.id}/preview", message=BIKE_PARKING[4])
        assert path.text.count("Did: utter_clinic_location") == 1
        # The path's own words with a red flag in them: the red-flag layer answers, not the path.
        flagged = f"{BIKE_PARKING[4]}? {EMERGENCY}"
        escalated = console.post_form(editor, version_page, f"/versions/{candidate.id}/preview", message=flagged)
        assert "Escalation: EMERGENCY" in escalated.text
        assert escalated.text.count("Did: utter_clinic_location") == 1  # only the earlier message's

        publisher = console.browser()
        console.sign_in(publisher, "pat", PASSWORD)
        published = console.post_form(
            publisher, publisher.get(f"{console.url}/versions", timeout=30), f"/versions/{candidate.id}/publish"
        )
        if report["passed"]:
            assert f"Version {candidate.id} is live." in published.text
            assert releases.live().id == candidate.id
        else:  # the page says why, in the gate's words
            assert published.status_code == 409 and report["reasons"][0] in published.text.replace("&#34;", '"')
    finally:
        console.stop()
        settings.cache_clear()
