"""Teaching the assistant from the console: a message taught as a phrasing of a topic, a new
topic, a conversation test, the knowledge pages and the audit log, written into the console's own
copy of the project files (never into the repository)."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered

from settings import PROJECT_DIR
from tests.support.console import StaffConsole, csrf_token_in

PASSWORD = "a long clinic password"
NOW = time.time()
UNDERSTOOD_NOTHING = "hw much 4 an hour of massage at ur place"
WITH_A_PHONE = "how much is it, call me on 415 555 2671"
FELL_YESTERDAY = "my back hurts since i fell off my bike yesterday"


def fell_back(conversation_id: str, text: str) -> list:
    return [
        UserUttered(text, {"name": "nlu_fallback", "confidence": 0.4}, timestamp=NOW - 60, input_channel="rest"),
        ActionExecuted("action_clarify_topic", timestamp=NOW - 59),
        BotUttered("I'm not sure I understood. Did you mean one of these?", {}, timestamp=NOW - 59),
    ]


def greeted(text: str) -> list:
    return [
        ActionExecuted("action_session_start", timestamp=NOW - 120),
        ActionExecuted("action_listen", timestamp=NOW - 120),
        UserUttered("hi there", {"name": "greet", "confidence": 0.99}, timestamp=NOW - 90, input_channel="rest"),
        ActionExecuted("utter_greet", timestamp=NOW - 89),
        BotUttered("Hello! I can answer questions about back pain and massage.", {}, timestamp=NOW - 89),
        ActionExecuted("action_listen", timestamp=NOW - 89),
        UserUttered(
            FELL_YESTERDAY,
            {"name": "red_flag_urgent", "confidence": 1.0},
            [{"entity": "red_flag_level", "value": "urgent"}],
            timestamp=NOW - 80,
        ),
        SlotSet("red_flag_level", "urgent", timestamp=NOW - 80),
        ActionExecuted("utter_red_flag_urgent", timestamp=NOW - 79),
        ActionExecuted("action_record_escalation", timestamp=NOW - 79),
        ActionExecuted("action_listen", timestamp=NOW - 79),
        *fell_back("", text),
    ]


def booked_first(text: str) -> list:
    return [
        UserUttered("i want to book a massage", {"name": "book_appointment", "confidence": 0.97}, timestamp=NOW - 300),
        ActionExecuted("booking_form", timestamp=NOW - 299),
        ActiveLoop("booking_form", timestamp=NOW - 299),
        SlotSet("patient_name", "Ana Lima", timestamp=NOW - 200),
        ActiveLoop(None, timestamp=NOW - 100),
        ActionExecuted("action_listen", timestamp=NOW - 100),
        *fell_back("", text),
    ]


@pytest.fixture
def teaching(console: StaffConsole) -> StaffConsole:
    console.store_conversation("greeted-then-prices", greeted(UNDERSTOOD_NOTHING))
    console.store_conversation("booked-then-prices", booked_first(UNDERSTOOD_NOTHING))
    console.store_conversation("prices-unclear", fell_back("prices-unclear", UNDERSTOOD_NOTHING))
    console.store_conversation("with-a-phone", fell_back("with-a-phone", WITH_A_PHONE))
    console.store_conversation("a-greeting", fell_back("a-greeting", "hey there"))
    console.add_user("rita", "reviewer", PASSWORD)
    console.add_user("eddie", "editor", PASSWORD)
    return console


def signed_in(console: StaffConsole, name: str):
    browser = console.browser()
    assert "Signed in as" in console.sign_in(browser, name, PASSWORD).text
    return browser


def questions_of(console: StaffConsole, file_name: str, topic_id: str):
    content = yaml.safe_load((console.project_dir / "knowledge" / file_name).read_text())
    [topic] = [t for t in content["topics"] if t["id"] == topic_id]
    return topic["questions"]


def teach(console, browser, conversation_id, topic, do="teach", turn="0"):
    page = browser.get(f"{console.url}/conversations/{conversation_id}", timeout=30)
    return console.post_form(browser, page, "/teach", conversation=conversation_id, turn=turn, topic=topic, do=do)


def changes(console):
    db = sa.create_engine(f"sqlite:///{console.clinic_db_file}", future=True)
    with db.connect() as connection:
        return connection.execute(sa.text("SELECT account_name, path, summary, diff FROM staff_changes")).all()


def test_an_editor_teaches_a_message_as_a_phrasing_of_a_topic(teaching):
    browser = signed_in(teaching, "eddie")
    page = browser.get(f"{teaching.url}/conversations/prices-unclear", timeout=30).text
    assert "This message means" in page and '<option value="clinic_prices">Prices</option>' in page
    assert "FAQ topics" in page and "The clinic&#39;s topics" in page
    done = teach(teaching, browser, "prices-unclear", "clinic_prices")
    assert done.status_code == 200 and f"Added “{UNDERSTOOD_NOTHING}” to the topic clinic_prices" in done.text
    assert questions_of(teaching, "clinic.yml", "clinic_prices")[-1] == UNDERSTOOD_NOTHING
    # The training data is generated again from the knowledge files.
    assert f"    - {UNDERSTOOD_NOTHING}\n" in (teaching.project_dir / "data/faq/nlu.yml").read_text()
    # The file keeps its comments and style: the diff is the one new line.
    [(who, path, summary, diff)] = changes(teaching)
    assert (who, path) == ("eddie", "knowledge/clinic.yml") and UNDERSTOOD_NOTHING in summary
    assert [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        f"+      - {UNDERSTOOD_NOTHING}"
    ]
    log = browser.get(f"{teaching.url}/changes", timeout=30).text
    assert "eddie · knowledge/clinic.yml" in log and f"+      - {UNDERSTOOD_NOTHING}" in log
    # The real repository is untouched.
    assert UNDERSTOOD_NOTHING not in (Path(__file__).parents[3] / "knowledge/clinic.yml").read_text()


def test_a_phrasing_already_taught_or_with_a_phone_number_is_refused_and_nothing_is_written(teaching):
    browser = signed_in(teaching, "eddie")
    assert teach(teaching, browser, "prices-unclear", "clinic_prices").status_code == 200
    before = (teaching.project_dir / "knowledge/clinic.yml").read_text()
    again = teach(teaching, browser, "prices-unclear", "clinic_tipping")
    assert again.status_code == 400
    assert f"“{UNDERSTOOD_NOTHING}” is already a phrasing of the topic “Prices”." in again.text
    greeting = teach(teaching, browser, "a-greeting", "clinic_prices")
    assert greeting.status_code == 400 and "“hey there” is already an example of greet." in greeting.text
    phone = teach(teaching, browser, "with-a-phone", "clinic_prices")
    assert phone.status_code == 400 and "contains a phone number" in phone.text
    assert "may not hold anything that tells who a patient is" in phone.text
    assert (teaching.project_dir / "knowledge/clinic.yml").read_text() == before
    assert len(changes(teaching)) == 1


def test_reviewers_see_no_teaching_controls_and_cannot_post_them(teaching):
    browser = signed_in(teaching, "rita")
    page = browser.get(f"{teaching.url}/conversations/prices-unclear", timeout=30)
    assert "This message means" not in page.text and "Save as test" not in page.text
    assert "New topic from this message" not in page.text and 'href="/knowledge"' not in page.text
    before = (teaching.project_dir / "knowledge/clinic.yml").read_text()
    refused = teaching.post_form(
        browser, page, "/teach", conversation="prices-unclear", turn="0", topic="clinic_prices", do="teach"
    )
    assert refused.status_code == 403 and "may not do this" in refused.text
    for path in ("/knowledge", "/knowledge/new", "/knowledge/answers", "/changes", "/versions"):
        assert browser.get(teaching.url + path, timeout=30).status_code == 403, path
    assert (teaching.project_dir / "knowledge/clinic.yml").read_text() == before and changes(teaching) == []


def test_a_form_without_its_csrf_token_is_refused(teaching):
    browser = signed_in(teaching, "eddie")
    data = {"conversation": "prices-unclear", "turn": "0", "topic": "clinic_prices", "do": "teach"}
    refused = browser.post(f"{teaching.url}/teach", data=data, timeout=30)
    assert refused.status_code == 403 and "The form had expired" in refused.text
    assert UNDERSTOOD_NOTHING not in questions_of(teaching, "clinic.yml", "clinic_prices")


def saved_tests(console):
    return yaml.safe_load((console.project_dir / "tests/stories/test_conversations.yml").read_text())["stories"]


def test_save_as_test_adds_a_conversation_test_with_the_corrected_topic(teaching):
    browser = signed_in(teaching, "eddie")
    saved = teach(teaching, browser, "prices-unclear", "clinic_prices", do="test")
    assert saved.status_code == 200 and "Saved as a conversation test" in saved.text
    assert saved_tests(teaching)[-1]["steps"] == [
        {"user": UNDERSTOOD_NOTHING + "\n", "intent": "faq/clinic_prices"},
        {"action": "utter_faq"},
    ]


def test_save_as_test_keeps_the_conversation_before_the_corrected_message(teaching):
    browser = signed_in(teaching, "eddie")
    # Turn 0 is the session's start, before the person wrote.
    saved = teach(teaching, browser, "greeted-then-prices", "clinic_prices", do="test", turn="3")
    assert "after the 2 messages before it, answered as they were" in saved.text
    [test] = [story for story in saved_tests(teaching) if UNDERSTOOD_NOTHING in story["story"]]
    assert test["steps"] == [
        {"intent": "greet", "user": "hi there\n"},
        {"action": "utter_greet"},
        {"intent": "red_flag_urgent", "user": FELL_YESTERDAY + "\n"},
        {"slot_was_set": [{"red_flag_level": "urgent"}]},
        {"action": "utter_red_flag_urgent"},
        {"action": "action_record_escalation"},
        {"user": UNDERSTOOD_NOTHING + "\n", "intent": "faq/clinic_prices"},
        {"action": "utter_faq"},
    ]
    assert "!!" not in (teaching.project_dir / "tests/stories/test_conversations.yml").read_text()


def test_a_saved_test_never_holds_a_booking_made_before_the_message(teaching):
    tests_file = teaching.project_dir / "tests/stories/test_conversations.yml"
    before = tests_file.read_text()
    browser = signed_in(teaching, "eddie")
    saved = teach(teaching, browser, "booked-then-prices", "clinic_prices", do="test", turn="1")
    assert "the test starts at this message, because the messages before it hold a booking" in saved.text
    added = tests_file.read_text()[len(before) :]
    assert "Ana Lima" not in added and "book a massage" not in added and "booking_form" not in added
    assert saved_tests(teaching)[-1]["steps"] == [
        {"user": UNDERSTOOD_NOTHING + "\n", "intent": "faq/clinic_prices"},
        {"action": "utter_faq"},
    ]


def test_save_as_story_teaches_the_phrasing_and_the_path_that_led_to_it(teaching):
    browser = signed_in(teaching, "eddie")
    saved = teach(teaching, browser, "greeted-then-prices", "clinic_prices", do="story", turn="3")
    assert saved.status_code == 200 and "Saved as a story in data/staff/stories.yml" in saved.text
    assert UNDERSTOOD_NOTHING in questions_of(teaching, "clinic.yml", "clinic_prices")
    stories = yaml.safe_load((teaching.project_dir / "data/staff/stories.yml").read_text())["stories"]
    assert stories[-1]["steps"] == [
        {"intent": "greet"},
        {"action": "utter_greet"},
        {"intent": "red_flag_urgent", "entities": [{"red_flag_level": "urgent"}]},
        {"slot_was_set": [{"red_flag_level": "urgent"}]},
        {"action": "utter_red_flag_urgent"},
        {"action": "action_record_escalation"},
        {"intent": "faq"},
        {"action": "utter_faq"},
    ]
    assert "!!" not in (teaching.project_dir / "data/staff/stories.yml").read_text()
    assert [summary for _, _, summary, _ in changes(teaching)] == [
        f"“{UNDERSTOOD_NOTHING}” added to the topic clinic_prices",
        f"story: taught from the console: the conversation up to “{UNDERSTOOD_NOTHING}”",
    ]
    # Rasa reads the project with the story as it reads it for training.
    validated = subprocess.run(
        [str(Path(sys.executable).with_name("rasa")), "data", "validate", "--fail-on-warning", "--config"]
        + [str(PROJECT_DIR / "config.yml")],
        cwd=teaching.project_dir,
        capture_output=True,
        text=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    assert validated.returncode == 0, validated.stdout[-2000:] + validated.stderr[-2000:]
    again = teach(teaching, browser, "greeted-then-prices", "clinic_prices", do="story", turn="3")
    assert again.status_code == 400 and "There is a story named" in again.text
    assert len(changes(teaching)) == 2


def test_a_single_message_or_one_after_a_booking_is_not_saved_as_a_story(teaching):
    browser = signed_in(teaching, "eddie")
    alone = teach(teaching, browser, "prices-unclear", "clinic_prices", do="story")
    assert alone.status_code == 400 and "Nothing comes before this message to learn from" in alone.text
    after_booking = teach(teaching, browser, "booked-then-prices", "clinic_prices", do="story", turn="1")
    assert after_booking.status_code == 400 and "the messages before it hold a booking" in after_booking.text
    assert not (teaching.project_dir / "data/staff/stories.yml").exists()
    assert UNDERSTOOD_NOTHING not in questions_of(teaching, "clinic.yml", "clinic_prices")


def test_a_message_the_red_flag_layer_answered_cannot_become_a_test_of_a_topic(teaching):
    text = "my legs went numb and i cant pee"
    flagged = UserUttered(
        text,
        {"name": "red_flag_emergency", "confidence": 1.0},
        parse_data={
            "intent": {"name": "red_flag_emergency", "confidence": 1.0},
            "red_flag": {"level": "emergency", "category": "cauda_equina", "matched": ["cant pee"]},
        },
        timestamp=NOW - 30,
    )
    teaching.store_conversation("flagged", [flagged, ActionExecuted("utter_red_flag_emergency", timestamp=NOW - 29)])
    before = (teaching.project_dir / "tests/stories/test_conversations.yml").read_text()
    refused = teach(teaching, signed_in(teaching, "eddie"), "flagged", "clinic_prices", do="test")
    assert refused.status_code == 400 and "The red-flag layer answered" in refused.text
    assert (teaching.project_dir / "tests/stories/test_conversations.yml").read_text() == before


def test_a_new_topic_from_a_message(teaching):
    browser = signed_in(teaching, "eddie")
    form = browser.get(f"{teaching.url}/knowledge/new", params={"conversation": "prices-unclear", "turn": "0"})
    assert f">{UNDERSTOOD_NOTHING}</textarea>" in form.text
    fields = dict(
        id="massage_in_pregnancy",
        file="clinic.yml",
        title="Massage in pregnancy",
        questions="\n".join(f"can i have a massage when pregnant, week {week}" for week in range(10, 20)),
        answer="Yes, from the second trimester, with a therapist trained for it. Call {clinic_phone} to ask.",
        follow_up="clinic_prices",
    )
    too_few = teaching.post_form(browser, form, "/knowledge/new", **{**fields, "questions": "just one"})
    assert too_few.status_code == 400 and "needs at least 10 different questions" in too_few.text
    saved = teaching.post_form(browser, form, "/knowledge/new", **fields)
    assert saved.url.endswith("/knowledge?saved=massage_in_pregnancy")
    assert 'href="/knowledge/topics/massage_in_pregnancy">Massage in pregnancy</a>' in saved.text
    content = yaml.safe_load((teaching.project_dir / "knowledge/clinic.yml").read_text())
    assert content["topics"][-1] == {
        "id": "massage_in_pregnancy",
        "title": "Massage in pregnancy",
        "questions": [f"can i have a massage when pregnant, week {week}" for week in range(10, 20)],
        "answer": fields["answer"],
        "follow_up": "clinic_prices",
    }
    assert "utter_faq/massage_in_pregnancy" in (teaching.project_dir / "data/faq/responses.yml").read_text()


def test_editing_a_topic_and_the_clinics_answers(teaching):
    browser = signed_in(teaching, "eddie")
    form = browser.get(f"{teaching.url}/knowledge/topics/clinic_tipping", timeout=30)
    assert 'value="Tipping"' in form.text
    questions = re.search(r'<textarea id="questions" name="questions" rows="14">([^<]*)</textarea>', form.text)
    answer = re.search(r'<textarea id="answer" name="answer" rows="6">([^<]*)</textarea>', form.text)
    assert questions and answer
    saved = teaching.post_form(
        browser,
        form,
        "/knowledge/topics/clinic_tipping",
        title="Tips for therapists",
        questions=questions.group(1),
        answer="{clinic_answer_tipping}",
    )
    assert saved.url.endswith("/knowledge?saved=clinic_tipping") and "Tips for therapists" in saved.text
    answers = browser.get(f"{teaching.url}/knowledge/answers", timeout=30)
    saved = teaching.post_form(
        browser, answers, "/knowledge/answers", parking="Free parking behind the clinic, on Harbour Lane."
    )
    assert "Free parking behind the clinic, on Harbour Lane." in saved.text
    details = yaml.safe_load((teaching.project_dir / "clinic/details.yml").read_text())
    assert details["answers"]["parking"] == "Free parking behind the clinic, on Harbour Lane."
    assert details["answers"]["prices"].startswith("A 30-minute massage is $55")  # untouched ones stay
    assert [(who, path) for who, path, _, _ in changes(teaching)] == [
        ("eddie", "knowledge/clinic.yml"),
        ("eddie", "clinic/details.yml"),
    ]
    assert csrf_token_in(browser.get(f"{teaching.url}/changes", timeout=30).text)
