"""The console in a real browser (Playwright driving Debian's chromium): what an editor and a
reviewer see and can do, with the console's CSP in force (no script runs in its pages)."""

import time
from typing import Iterator

import pytest
import yaml
from playwright.sync_api import Browser, expect
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from scripts.console_screenshots import sign_in as sign_in_to_console
from tests.support.browser import chromium, needs_chromium
from tests.support.console import StaffConsole

PASSWORD = "a long clinic password"
MESSAGE = "wat do u charge for a back rub"
pytestmark = needs_chromium


@pytest.fixture
def browser(clinic_console) -> Iterator[Browser]:
    with chromium() as launched:  # after the conversations are stored (asyncio.run)
        yield launched


@pytest.fixture
def clinic_console(console: StaffConsole) -> StaffConsole:
    now = time.time()
    console.store_conversation(
        "visitor-7",
        [
            UserUttered(MESSAGE, {"name": "nlu_fallback", "confidence": 0.31}, timestamp=now - 60),
            ActionExecuted("action_clarify_topic", timestamp=now - 59),
            BotUttered("I'm not sure I understood. Did you mean one of these?", {}, timestamp=now - 59),
        ],
    )
    console.add_user("eddie", "editor", PASSWORD)
    console.add_user("rita", "reviewer", PASSWORD)
    return console


def sign_in(page, console: StaffConsole, name: str) -> None:
    sign_in_to_console(page, console.url, name, PASSWORD)


def test_an_editor_finds_a_fallback_in_the_inbox_and_teaches_it_to_a_topic(browser, clinic_console):
    page = browser.new_page()
    sign_in(page, clinic_console, "eddie")
    page.get_by_role("link", name="Not understood, or “did you mean”").click()
    page.get_by_role("link", name="visitor-7").click()
    expect(page.get_by_text(MESSAGE)).to_be_visible()
    page.get_by_label("This message means").select_option("clinic_prices")
    page.get_by_role("button", name="Teach this phrasing").click()
    expect(page.get_by_role("status")).to_contain_text(f"Added “{MESSAGE}” to the topic clinic_prices")
    knowledge = yaml.safe_load((clinic_console.project_dir / "knowledge" / "clinic.yml").read_text())
    [prices] = [topic for topic in knowledge["topics"] if topic["id"] == "clinic_prices"]
    assert prices["questions"][-1] == MESSAGE
    page.get_by_role("link", name="Changes").click()
    expect(page.get_by_text(f"+      - {MESSAGE}")).to_be_visible()


def test_a_reviewer_sees_no_teaching_controls_and_a_post_to_teach_is_refused(browser, clinic_console):
    page = browser.new_page()
    sign_in(page, clinic_console, "rita")
    page.goto(f"{clinic_console.url}/conversations/visitor-7")
    expect(page.get_by_text("hidden for reviewers")).to_be_visible()
    assert page.get_by_role("button", name="Teach this phrasing").count() == 0
    assert page.get_by_role("link", name="Knowledge").count() == 0
    # The reviewer's own session and CSRF token, posted by hand as a crafted form would be.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    form = {"csrf_token": token, "conversation": "visitor-7", "turn": "0", "topic": "clinic_prices", "do": "teach"}
    refused = page.request.post(f"{clinic_console.url}/teach", form=form)
    assert refused.status == 403 and "may not do this" in refused.text()
    assert MESSAGE not in (clinic_console.project_dir / "knowledge" / "clinic.yml").read_text()


def test_a_form_posted_without_its_csrf_token_is_refused(browser, clinic_console):
    page = browser.new_page()
    sign_in(page, clinic_console, "eddie")
    form = {"conversation": "visitor-7", "turn": "0", "topic": "clinic_prices", "do": "teach"}
    refused = page.request.post(f"{clinic_console.url}/teach", form=form)
    assert refused.status == 403 and "The form had expired" in refused.text()
    assert MESSAGE not in (clinic_console.project_dir / "knowledge" / "clinic.yml").read_text()
