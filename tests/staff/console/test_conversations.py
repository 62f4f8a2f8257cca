"""The inbox and a conversation's turns, as staff see them in the console: conversations written
with Rasa's own SQL tracker store and events, the way the Rasa server stores them."""

import re
import time
from typing import Any, Dict, List

import pytest
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, Event, SessionStarted, SlotSet, UserUttered

from tests.support.console import StaffConsole

PASSWORD = "a long clinic password"
NOW = time.time()
HOURS_AGO = NOW - 2 * 3600
BOOKING_QUESTION = "What phone number or e-mail address can the clinic reach you on?"


def said(text: str, intent: str, confidence: float, at: float, **parse_extra: Any) -> UserUttered:
    parse_data: Dict[str, Any] = {"intent_ranking": [{"name": intent, "confidence": confidence}], **parse_extra}
    return UserUttered(
        text, {"name": intent, "confidence": confidence}, parse_data=parse_data, timestamp=at, input_channel="rest"
    )


def did(action: str, at: float) -> ActionExecuted:
    return ActionExecuted(action, timestamp=at)


def replied(text: str, at: float, buttons: List[str] = ()) -> BotUttered:
    return BotUttered(text, {"buttons": [{"title": title, "payload": "/x"} for title in buttons]}, timestamp=at)


def faq_answer(topic: str, confidence: float) -> Dict[str, Any]:
    """The response selector's part of a parsed FAQ question."""
    key = f"faq/{topic}"
    return {"faq": {"response": {"confidence": confidence, "intent_response_key": key}, "ranking": []}}


CONVERSATIONS: Dict[str, List[Event]] = {
    "not-understood": [
        said("whats the thing with the stuff", "nlu_fallback", 0.42, NOW - 60),
        did("action_clarify_topic", NOW - 59),
        replied("I'm not sure I understood. Did you mean one of these?", NOW - 59, ["Why pain returns"]),
    ],
    "unsure-answer": [
        said(
            "does pain come bak after",
            "faq",
            0.97,
            NOW - 120,
            response_selector=faq_answer("why_pain_comes_back", 0.55),
        ),
        did("utter_faq", NOW - 119),
        replied("Pain can come back when the cause is still there.", NOW - 119),
    ],
    "emergency": [
        said(
            "I can't feel anything down there and I wet myself",
            "red_flag_emergency",
            1.0,
            NOW - 180,
            red_flag={"level": "emergency", "category": "saddle_numbness", "matched": ["can't feel", "wet myself"]},
        ),
        did("utter_red_flag_emergency", NOW - 179),
        replied("Please call 911 now or go to the nearest emergency department.", NOW - 179),
        did("action_record_escalation", NOW - 178),
    ],
    "yes-to-serious-signs": [
        said(
            "it hurts more at night",
            "red_flag_check",
            1.0,
            NOW - 240,
            red_flag_check={"level": "check", "category": "night_pain", "matched": ["at night"]},
        ),
        did("utter_red_flag_check", NOW - 239),
        said("yes", "affirm", 0.99, NOW - 200),
        did("utter_red_flag_check_yes", NOW - 199),
        did("action_hold_as_urgent", NOW - 198),
    ],
    "weak-sign-only": [
        said(
            "I'm 70 and my back aches",
            "red_flag_check",
            1.0,
            NOW - 300,
            red_flag_check={"level": "check", "category": "older_age", "matched": ["70"]},
        ),
        did("utter_red_flag_check", NOW - 299),
        said("no", "deny", 0.99, NOW - 280),
    ],
    "left-booking": [
        said("I'd like to book a massage", "book_appointment", 0.99, HOURS_AGO),
        did("booking_form", HOURS_AGO + 1),
        ActiveLoop("booking_form", timestamp=HOURS_AGO + 1),
        said("my name is Ana Lima", "inform", 0.99, HOURS_AGO + 10),
        SlotSet("patient_name", "Ana Lima", timestamp=HOURS_AGO + 11),
        replied(f"Thanks, Ana Lima. {BOOKING_QUESTION}", HOURS_AGO + 11),
        said("Ana here again, call +1 415 555 2671 or ana.lima@example.com", "inform", 0.99, HOURS_AGO + 20),
    ],
    "referral-then-new-session": [
        said("yes please refer me", "request_referral", 0.99, NOW - 400),
        ActiveLoop("referral_form", timestamp=NOW - 399),
        # The person came back after the session had expired: the form was never sent.
        SessionStarted(timestamp=NOW - 360),
        said("hello again", "greet", 0.99, NOW - 359),
    ],
    "finished-booking": [
        said("book me in", "book_appointment", 0.99, HOURS_AGO),
        ActiveLoop("booking_form", timestamp=HOURS_AGO + 1),
        said("yes, send it", "confirm_booking", 0.99, HOURS_AGO + 30),
        ActiveLoop(None, timestamp=HOURS_AGO + 31),
        did("action_submit_booking", HOURS_AGO + 31),
    ],
    "booking-right-now": [
        said("can I book", "book_appointment", 0.99, NOW - 30),
        ActiveLoop("booking_form", timestamp=NOW - 29),
    ],
    "all-fine": [
        said("hello", "greet", 0.99, NOW - 10),
        did("utter_greet", NOW - 9),
        replied("Hi! I can answer questions about back pain and massage.", NOW - 9),
    ],
}
EXPECTED = {
    "fallback": ["not-understood"],
    "low-confidence": ["unsure-answer"],
    "escalation": ["emergency", "yes-to-serious-signs"],
    "abandoned-form": ["referral-then-new-session", "left-booking"],
}


@pytest.fixture(scope="module")
def stored(shared_console: StaffConsole) -> StaffConsole:
    """The conversations above and one account per role; the tests using it only read."""
    for conversation_id, events in CONVERSATIONS.items():
        shared_console.store_conversation(conversation_id, events)
    shared_console.add_user("rita", "reviewer", PASSWORD)
    shared_console.add_user("eddie", "editor", PASSWORD)
    shared_console.add_user("pat", "publisher", PASSWORD)
    return shared_console


def listed(page: str) -> List[str]:
    return re.findall(r'<a href="/conversations/([^"]+)">', page)


def signed_in(console: StaffConsole, name: str):
    browser = console.browser()
    assert "Signed in as" in console.sign_in(browser, name, PASSWORD).text
    return browser


def test_the_inbox_lists_what_needs_a_look_newest_first(stored):
    page = signed_in(stored, "rita").get(f"{stored.url}/inbox", timeout=30).text
    assert listed(page) == [
        "not-understood",
        "unsure-answer",
        "emergency",
        "yes-to-serious-signs",
        "referral-then-new-session",
        "left-booking",
    ]
    assert "6 conversations" in page


@pytest.mark.parametrize("reason", EXPECTED)
def test_each_filter_lists_its_conversations_and_no_others(stored, reason):
    page = signed_in(stored, "rita").get(f"{stored.url}/inbox", params={"show": reason}, timeout=30).text
    assert listed(page) == EXPECTED[reason]
    assert f'href="/inbox?show={reason}" aria-current="page"' in page


def test_the_inbox_says_no_channel_offers_marking_an_answer_unhelpful(stored):
    page = signed_in(stored, "rita").get(f"{stored.url}/inbox", timeout=30).text
    assert "People cannot yet mark an answer as unhelpful in any chat channel" in page


def test_a_conversation_shows_every_turn_and_how_the_assistant_read_it(stored):
    browser = signed_in(stored, "eddie")
    response = browser.get(f"{stored.url}/conversations/emergency", timeout=30)
    assert response.headers["Cache-Control"] == "no-store"  # patients' words stay out of caches
    emergency = response.text
    assert "I can&#39;t feel anything down there and I wet myself" in emergency
    assert "EMERGENCY: saddle numbness; the person’s words: can&#39;t feel, wet myself" in emergency
    assert "Did: utter_red_flag_emergency, action_record_escalation" in emergency
    assert "Please call 911 now" in emergency
    unsure = browser.get(f"{stored.url}/conversations/unsure-answer", timeout=30).text
    assert "faq (97% sure)" in unsure
    assert '<dd class="low">Why pain returns after massage (55% sure)</dd>' in unsure
    weak_sign = browser.get(f"{stored.url}/conversations/weak-sign-only", timeout=30).text
    assert "CHECK: older age; the person’s words: 70" in weak_sign
    not_understood = browser.get(f"{stored.url}/conversations/not-understood", timeout=30).text
    assert "nlu_fallback (42% sure)" in not_understood and "Buttons: Why pain returns" in not_understood
    missing = browser.get(f"{stored.url}/conversations/nobody", timeout=30)
    assert missing.status_code == 404 and "There is no such page here." in missing.text


def test_reviewers_see_names_and_contacts_hidden_editors_and_publishers_see_them(stored):
    reviewer = signed_in(stored, "rita").get(f"{stored.url}/conversations/left-booking", timeout=30).text
    for private in ("Ana", "Lima", "415 555 2671", "ana.lima@example.com"):
        assert private not in reviewer
    assert "my name is [name hidden]" in reviewer
    assert f"Thanks, [name hidden]. {BOOKING_QUESTION}" in reviewer
    assert "[name hidden] here again, call [phone hidden] or [e-mail hidden]" in reviewer
    assert "hidden for reviewers" in reviewer
    for name in ("eddie", "pat"):
        page = signed_in(stored, name).get(f"{stored.url}/conversations/left-booking", timeout=30).text
        assert "my name is Ana Lima" in page and f"Thanks, Ana Lima. {BOOKING_QUESTION}" in page
        assert "Ana here again, call +1 415 555 2671 or ana.lima@example.com" in page
        assert "[name hidden]" not in page and "hidden for reviewers" not in page


def test_an_empty_tracker_store_gives_an_empty_inbox(console):
    console.add_user("rita", "reviewer", PASSWORD)
    page = signed_in(console, "rita").get(f"{console.url}/inbox", timeout=30).text
    assert "Nothing here." in page and listed(page) == []


def test_a_long_inbox_shows_the_newest_200(console):
    for number in range(201):
        at = NOW - 1000 + number
        console.store_conversation(f"visitor-{number}", [said("hmm??", "nlu_fallback", 0.3, at)])
    console.add_user("rita", "reviewer", PASSWORD)
    page = signed_in(console, "rita").get(f"{console.url}/inbox", timeout=30).text
    assert "201 conversations (the newest 200 shown)" in page
    shown = listed(page)
    assert len(shown) == 200 and shown[0] == "visitor-200" and "visitor-0" not in shown


def test_with_both_databases_on_postgresql(tmp_path, postgres):
    """DATABASE_URL set, as a clinic running PostgreSQL has it: the accounts, sessions and
    conversations all live there."""
    url = postgres.new_database()
    console = StaffConsole(tmp_path, database_url=url)
    for conversation_id in ("emergency", "all-fine"):
        console.store_conversation(conversation_id, CONVERSATIONS[conversation_id])
    console.start()
    try:
        console.add_user("eddie", "editor", PASSWORD)
        browser = signed_in(console, "eddie")
        assert listed(browser.get(f"{console.url}/inbox", timeout=30).text) == ["emergency"]
        page = browser.get(f"{console.url}/conversations/emergency", timeout=30).text
        assert "EMERGENCY: saddle numbness" in page
    finally:
        console.stop()
    assert not console.tracker_db_file.exists() and not console.clinic_db_file.exists()
