"""The whole loop clinic staff run, in a real browser (Playwright driving Debian's chromium)
against real servers, as `make run` starts them: a patient's message the live assistant did not
understand reaches the inbox; an editor teaches it to its topic and builds a new conversation
path; the candidate trains and passes its gate, and the editor tries it out (a red flag in the
path's words still escalates, and a preview records nothing); a publisher publishes it, and the
live REST channel answers both; a candidate that lost red-flag recall is
refused, with the reason; a rollback brings the old answers back. Trains a real model in a copy
of the project: minutes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Iterator, Tuple

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from scripts.console_screenshots import sign_in as sign_in_to_console
from staff import releases
from staff.releases import copy_project
from tests.support.assistant import Assistant, publishing_to, reply_text, started_assistant
from tests.support.browser import chromium, needs_chromium
from tests.support.console import StaffConsole
from tests.support.versions import with_red_flag_classifier_silenced

pytestmark = [needs_chromium, pytest.mark.training]

PASSWORD = "a long clinic password"
# Not understood by the live model (nlu_fallback); clinic_what_to_wear's answer is WEAR.
TAUGHT = "wot shud i put on for my sesh"
WEAR = "covered with a sheet or towel the whole time"  # clinic/details.yml, what_to_wear
DOG_PHRASINGS = [
    "can i bring my dog",
    "is it ok if my dog comes with me to the appointment",
    "are dogs allowed in the clinic",
    "can my dog wait in reception while i have my massage",
    "do you allow pets",
    "i have a puppy, can he come along",
    "is your clinic dog friendly",
    "my dog gets anxious on her own, can i bring her",
    "can i come with my guide dog",
    "pets allowed at ur place?",
]
DOG_REPLY = "A calm dog on a lead is welcome in our waiting room"
ARTICLE_QUESTION = "what is deep tissue massage?"  # answered from an article, which it names
FLAGGED = f"{DOG_PHRASINGS[4]}? I can't feel anything down there and I wet myself"
DOG_ANSWER = f"{DOG_REPLY}, though not in the treatment room. Questions? Call us on {{clinic_phone}}."
JOB_TIMEOUT_MS = 30 * 60_000  # a full training, or a gate, on a busy 2-core machine
SWITCH_TIMEOUT_MS = 10 * 60_000  # the assistant loading a version


@pytest.fixture
def live(tmp_path_factory, monkeypatch) -> Iterator[Tuple[Assistant, StaffConsole]]:
    """The assistant, on the model `make` trained, and a staff console that publishes to it,
    reads its conversations, and trains from a copy of the project."""
    # The staff console is started here, on the copy, not by run-servers.sh.
    for assistant in started_assistant(tmp_path_factory, env={"STAFF_CONSOLE": "off"}):
        for _ in publishing_to(assistant, monkeypatch):
            workdir = tmp_path_factory.mktemp("console")
            console = StaffConsole(workdir, project_dir=copy_project(workdir / "project"))
            console.env.update(
                TRACKER_SQLITE_FILE=str(assistant.sqlite_file),
                CLINIC_SQLITE_FILE=str(assistant.clinic_db_file),
                VERSIONS_DIR=str(assistant.versions_dir),
                PUBLISH_TOKEN_FILE=str(assistant.publish_token_file),
                RASA_SERVER_URLS=assistant.url,
            )
            console.start()
            try:
                console.add_user("eddie", "editor", PASSWORD)
                console.add_user("pat", "publisher", PASSWORD)
                yield assistant, console
            finally:
                console.stop()


@pytest.fixture
def browser(live) -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def signed_in(browser: Browser, console: StaffConsole, name: str) -> Page:
    page = browser.new_page()  # a browser context of its own: its own cookies
    sign_in_to_console(page, console.url, name, PASSWORD)
    return page


def wait_for_job(page: Page, title: str, outcome: str = "finished") -> None:
    """The versions page reloads itself while a training or gate runs."""
    job = page.get_by_role("heading", name=re.compile(re.escape(title)))
    expect(job).to_contain_text(re.compile("finished|failed"), timeout=JOB_TIMEOUT_MS)
    expect(job).to_contain_text(outcome)


def wait_for_switch(page: Page, version_id: str) -> None:
    expect(page.get_by_role("status").filter(has_text=f"Version {version_id} is live.")).to_be_visible()
    done = f"Every assistant server now answers with version {version_id}"
    expect(page.get_by_text(done)).to_be_visible(timeout=SWITCH_TIMEOUT_MS)


def escalations_recorded(assistant: Assistant) -> int:
    """Escalations in the clinic database the assistant and the console share."""
    database = sa.create_engine(assistant.clinic_database_url, future=True)
    try:
        with database.connect() as connection:
            return connection.execute(sa.text("SELECT count(*) FROM escalations")).scalar_one()
    finally:
        database.dispose()


def answer(assistant: Assistant, sender: str, message: str) -> str:
    return reply_text(assistant.send(sender, message))


def test_staff_teach_train_gate_try_publish_and_roll_back_in_the_browser(live, browser):
    assistant, console = live
    assert WEAR not in answer(assistant, "patient-wear", TAUGHT)
    assert DOG_REPLY not in answer(assistant, "patient-dog", DOG_PHRASINGS[0])

    # An editor teaches the message the assistant did not understand, from the inbox.
    editor = signed_in(browser, console, "eddie")
    editor.get_by_role("link", name="Not understood, or “did you mean”").click()
    editor.get_by_role("link", name="patient-wear").click()
    editor.get_by_label("This message means").select_option("clinic_what_to_wear")
    editor.get_by_role("button", name="Teach this phrasing").click()
    expect(editor.get_by_role("status")).to_contain_text(f"Added “{TAUGHT}” to the topic clinic_what_to_wear")

    # ... and builds a new conversation path, with a new reply.
    editor.get_by_role("link", name="Knowledge", exact=True).click()
    editor.get_by_role("link", name="Build a new conversation path").click()
    editor.get_by_label("Ways a person says it").fill("\n".join(DOG_PHRASINGS))
    editor.get_by_label("answers with a new response").check()
    editor.get_by_label("Name of the path").fill("bring_a_dog")
    editor.get_by_label("What the person wants").fill("to bring a dog")
    editor.get_by_label("Or a new response").fill(DOG_ANSWER)
    editor.get_by_role("button", name="Save the path").click()
    expect(editor).to_have_url(re.compile("/changes$"))

    # The candidate trains and passes its gate.
    editor.get_by_role("link", name="Versions", exact=True).click()
    editor.get_by_role("button", name="Train a candidate").click()
    wait_for_job(editor, "Training, started by eddie")
    [candidate] = releases.all_versions()
    assert candidate.content_hash == releases.content_hash(console.project_dir)  # the taught files
    editor.get_by_role("button", name="Run the gate").click()
    wait_for_job(editor, f"Gate of {candidate.id}")
    gate = releases.load(candidate.id).gate or {}
    assert gate.get("passed"), gate.get("reasons")
    editor.get_by_role("link", name=candidate.id).click()
    expect(editor.get_by_text("Passed", exact=True)).to_be_visible()

    # The editor tries it out before it is published: the red-flag layer answers first, in the
    # path's own words too, and a preview records no escalation.
    tries = ((TAUGHT, "Did: utter_faq"), (DOG_PHRASINGS[4], DOG_REPLY), (ARTICLE_QUESTION, "Source:"), (FLAGGED, "911"))
    for message, expected in tries:
        editor.get_by_label("Type a message as a patient would").fill(message)
        editor.get_by_role("button", name="Send").click()
        expect(editor.locator(".turn").last).to_contain_text(expected, timeout=JOB_TIMEOUT_MS)
    expect(editor.locator(".turn").first).to_contain_text(WEAR)
    flagged = editor.locator(".turn").last
    expect(flagged).to_contain_text("Escalation: EMERGENCY")
    expect(flagged).not_to_contain_text(DOG_REPLY)
    assert escalations_recorded(assistant) == 0

    # A publisher publishes it: the live assistant answers both.
    publisher = signed_in(browser, console, "pat")
    publisher.get_by_role("link", name="Versions", exact=True).click()
    publisher.get_by_role("button", name="Publish").click()
    wait_for_switch(publisher, candidate.id)
    assert WEAR in answer(assistant, "patient-wear-2", TAUGHT)
    assert DOG_REPLY in answer(assistant, "patient-dog-2", DOG_PHRASINGS[7])
    emergency = answer(assistant, "patient-dog-flag", FLAGGED)
    assert "911" in emergency and DOG_REPLY not in emergency
    assert assistant.webhook.wait_for(lambda notice: notice.get("conversation_id") == "patient-dog-flag")  # staff told
    assert escalations_recorded(assistant) == 1

    # A candidate that lost red-flag recall is refused, with the reason, and cannot be published.
    weak = silenced_copy_of(candidate)
    editor.get_by_role("link", name="Versions", exact=True).click()
    editor.get_by_role("row", name=re.compile(weak.id)).get_by_role("button", name="Run the gate").click()
    wait_for_job(editor, f"Gate of {weak.id}", "finished: the gate refused it")
    refused = editor.get_by_role("row", name=re.compile(weak.id))
    expect(refused).to_contain_text(re.compile(r"refused: it escalates fewer emergency or urgent messages \(\d+"))
    publisher.reload()
    assert publisher.get_by_role("row", name=re.compile(weak.id)).get_by_role("button", name="Publish").count() == 0

    # A rollback brings back the answers of the model `make` trained.
    [starting] = [version for version in releases.all_versions() if version.created_by == "make"]
    publisher.get_by_label("Put back").select_option(starting.id)
    publisher.get_by_role("button", name="Roll back").click()
    wait_for_switch(publisher, starting.id)
    assert WEAR not in answer(assistant, "patient-wear-3", TAUGHT)
    assert DOG_REPLY not in answer(assistant, "patient-dog-3", DOG_PHRASINGS[7])


def silenced_copy_of(candidate: releases.Version) -> releases.Version:
    """A version of the same files whose red-flag classifier never names a red flag."""
    weak = releases.Version(
        id=f"{candidate.id}-weak",
        content_hash=candidate.content_hash,
        created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        created_by="eddie",
    )
    weak.folder.mkdir(parents=True)
    with_red_flag_classifier_silenced(candidate.model, weak.model)
    weak.save()
    return weak
