"""The versions page: editors train and gate candidates, publishers publish and roll back
(staff/releases.py behind the console). Trying a version out, with a real model, is part of
the whole loop: test_release_cycle.py."""

import shutil
import time

import pytest

from scripts.processes import free_port
from settings import settings
from staff import releases
from tests.support.console import StaffConsole

PASSWORD = "a long clinic password"
PASSED = {"passed": True, "reasons": [], "against": "live", "at": "2026-12-04T12:00:00+00:00"}
REFUSED = {**PASSED, "passed": False, "reasons": ["it escalates fewer emergency or urgent messages (9 instead of 10)"]}
TRAINING_TIMEOUT = 120  # seconds, for a training that stops at its checks


@pytest.fixture
def versions(console: StaffConsole, monkeypatch) -> StaffConsole:
    """The console, with this process's releases module writing into the console's versions folder."""
    monkeypatch.setenv("VERSIONS_DIR", str(console.versions_dir))
    settings.cache_clear()
    console.add_user("eddie", "editor", PASSWORD)
    console.add_user("pat", "publisher", PASSWORD)
    yield console
    settings.cache_clear()


def version(name: str, gate, model=None) -> releases.Version:
    made = releases.Version(
        id=f"20261204-{name}",
        content_hash="0" * 64,
        created_at="2026-12-04T11:00:00+00:00",
        created_by="eddie",
        gate=gate,
    )
    made.folder.mkdir(parents=True)
    if model:
        shutil.copyfile(model, made.model)
    else:
        made.model.write_bytes(b"a model")  # published into no running assistant (RASA_SERVER_URLS empty)
    made.save()
    return made


def signed_in(console: StaffConsole, name: str):
    browser = console.browser()
    assert "Signed in as" in console.sign_in(browser, name, PASSWORD).text
    return browser


def test_the_version_page_lists_the_taught_phrasings_the_version_answers_otherwise(versions):
    gate = {
        **PASSED,
        "escalated": {"live": 10, "candidate": 10},
        "faq_accuracy": {"live": 0.95, "candidate": 0.95},
        "changed": {},
        "not_as_taught": ["is a firm rubdown meant to sting"],
    }
    page = signed_in(versions, "eddie").get(f"{versions.url}/versions/{version('taught', gate).id}", timeout=30)
    assert "Taught phrasings this version answers with another topic, or not at all" in page.text
    assert '<li class="refused">is a firm rubdown meant to sting</li>' in page.text
    unchecked = version("unchecked", {**gate, "not_as_taught": None})
    page = signed_in(versions, "eddie").get(f"{versions.url}/versions/{unchecked.id}", timeout=30)
    assert "Its taught phrasings were not checked: the knowledge files changed" in page.text


def test_editors_train_and_gate_but_only_publishers_publish(versions):
    passed = version("passed", PASSED)
    browser = signed_in(versions, "eddie")
    page = browser.get(f"{versions.url}/versions", timeout=30)
    assert "Train a candidate" in page.text and "Run the gate" in page.text
    assert "Publish</button>" not in page.text and "Roll back" not in page.text
    refused = versions.post_form(browser, page, f"/versions/{passed.id}/publish")
    assert refused.status_code == 403 and releases.live() is None


def test_a_publisher_publishes_what_passed_its_gate_and_rolls_back(versions):
    first, second = version("first", PASSED), version("second", PASSED)
    refused = version("refused", REFUSED)
    browser = signed_in(versions, "pat")
    page = browser.get(f"{versions.url}/versions", timeout=30)
    assert "refused</span>: it escalates fewer emergency or urgent messages (9 instead of 10)" in page.text
    assert f'action="/versions/{refused.id}/publish"' not in page.text
    not_published = versions.post_form(browser, page, f"/versions/{refused.id}/publish")
    assert not_published.status_code == 409
    assert "cannot be published: it escalates fewer emergency or urgent messages" in not_published.text
    assert versions.post_form(browser, page, f"/versions/{first.id}/publish").status_code == 200
    done = versions.post_form(browser, page, f"/versions/{second.id}/publish")
    assert f"Version {second.id} is live." in done.text and f"{second.id}</a> <strong>(live)</strong>" in done.text
    assert f"<option>{first.id}</option>" in done.text  # the one to roll back to
    back = versions.post_form(browser, done, "/versions/rollback", version=first.id)
    assert f"Version {first.id} is live." in back.text
    assert releases.live().id == first.id
    assert [p["by"] for p in releases.load(first.id).published] == ["pat", "pat"]
    assert "No running assistant is listed in RASA_SERVER_URLS" in when_switched(browser, versions).text


def test_a_publish_the_assistant_cannot_load_is_taken_back_and_the_page_says_so(versions):
    versions.stop()
    versions.env["RASA_SERVER_URLS"] = f"http://127.0.0.1:{free_port()}"  # an assistant that is down
    versions.start()
    first, second = version("first", PASSED), version("second", PASSED)
    releases.publish(first.id, "pat", switch=False)
    browser = signed_in(versions, "pat")
    page = browser.get(f"{versions.url}/versions", timeout=30)
    published = versions.post_form(browser, page, f"/versions/{second.id}/publish")
    assert f"Version {second.id} is live." in published.text
    page = when_switched(browser, versions)
    assert f"The assistant could not switch to version {second.id}: The assistant at" in page.text
    assert f"could not be reached (ConnectionError). Version {second.id} was taken back off the record" in page.text
    assert f"the servers stay on (or return to) version {first.id}" in page.text
    assert f"{first.id}</a> <strong>(live)</strong>" in page.text and releases.live().id == first.id


def when_switched(browser, console: StaffConsole):
    """The versions page once the console's background switch of the servers has finished."""
    deadline = time.monotonic() + 60
    page = browser.get(f"{console.url}/versions", timeout=30)
    while "The assistant is switching to version" in page.text and time.monotonic() < deadline:
        time.sleep(1)
        page = browser.get(f"{console.url}/versions", timeout=30)
    return page


def test_a_training_runs_in_the_background_and_the_page_shows_its_progress(versions):
    # A topic with too few questions: the training stops at its checks, in seconds.
    broken = versions.project_dir / "knowledge" / "broken.yml"
    broken.write_text(
        "article: null\ntopics:\n  - id: broken\n    title: Broken\n    questions: [one]\n    answer: x\n"
    )
    browser = signed_in(versions, "eddie")
    page = browser.get(f"{versions.url}/versions", timeout=30)
    started = versions.post_form(browser, page, "/versions/train")
    assert started.url == f"{versions.url}/versions" and "Training, started by eddie" in started.text
    deadline = time.monotonic() + TRAINING_TIMEOUT
    while '<meta http-equiv="refresh"' in started.text and time.monotonic() < deadline:
        assert "running (this page reloads itself every 5 seconds" in started.text
        time.sleep(1)
        started = browser.get(f"{versions.url}/versions", timeout=30)
    assert "failed" in started.text, started.text
    assert "Writing the FAQ training data from knowledge/ failed" in started.text
    assert "topic broken: needs at least 10 different questions" in started.text
    assert releases.all_versions() == []


@pytest.mark.servers
def test_the_version_page_shows_the_other_intents_figure_and_what_changed_there(versions):
    gate = {
        **PASSED,
        "escalated": {"live": 10, "candidate": 10},
        "faq_accuracy": {"live": 0.95, "candidate": 0.95},
        "intent_accuracy": {"live": 0.9, "candidate": 0.8},
        "changed": {"intents": {"now_right": [], "now_wrong": ["book_appointment: book me in for a massage"]}},
        "not_as_taught": [],
    }
    page = signed_in(versions, "eddie").get(f"{versions.url}/versions/{version('intents', gate).id}", timeout=30)
    assert "Booking, referral and other requests understood" in page.text
    assert "Booking, referral and other requests whose outcome changed" in page.text
    assert '<li class="refused">now wrong: book_appointment: book me in for a massage</li>' in page.text
