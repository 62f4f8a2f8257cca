"""Every reply is rendered in the Rasa server with the clinic's details and, after a red flag,
the person's words, the reason and the payload (rasa_plugins/response_generator.py)."""

import asyncio

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic.details import load_clinic
from rasa_plugins.response_generator import ClinicResponseGenerator
from settings import PROJECT_DIR, settings
from tests.clinic.test_details import details

FINDING = {"level": "emergency", "category": "bladder_bowel", "matched": ["can't pee"]}


def _tracker_after_a_red_flag() -> DialogueStateTracker:
    """A conversation whose last message raised a red flag, as the NLU component marks it."""
    domain = Domain.load(str(PROJECT_DIR / "domain.yml"))
    message = UserUttered(
        "i can't pee and my back hurts",
        intent={"name": "red_flag_emergency", "confidence": 1.0},
        parse_data={"red_flag": FINDING},
    )
    return DialogueStateTracker.from_events(
        "someone", [message, SlotSet("red_flag_level", "emergency")], slots=domain.slots
    )


async def _render(response_name: str, tracker=None, channel: str = "rest") -> dict:
    domain = Domain.load(str(PROJECT_DIR / "domain.yml"))
    generator = ClinicResponseGenerator(domain=domain)
    tracker = tracker or DialogueStateTracker.from_events("someone", [])
    return await generator.generate(response_name, tracker, channel)


@pytest.mark.parametrize("response_name", sorted(Domain.load(str(PROJECT_DIR / "domain.yml")).responses))
def test_every_response_has_its_placeholders_filled(response_name):
    tracker = _tracker_after_a_red_flag() if "red_flag" in response_name or "blocked" in response_name else None
    text = asyncio.run(_render(response_name, tracker))["text"]
    assert "{" not in text and "}" not in text and "None" not in text, text


def test_red_flag_reply_names_the_words_the_reason_and_carries_the_payload():
    message = asyncio.run(_render("utter_red_flag_emergency", _tracker_after_a_red_flag()))
    assert '"can\'t pee"' in message["text"] and "cauda equina" in message["text"]
    assert message["custom"] == {"red_flag": FINDING}


def test_on_socketio_the_payload_is_the_event_body():
    """socket.io emits a custom payload's `data` as the `bot_uttered` body, for every channel-free response."""
    message = asyncio.run(_render("utter_red_flag_urgent", _tracker_after_a_red_flag(), channel="socketio"))
    assert message["custom"] == {"data": {"red_flag": FINDING}}
    assert "24-48 hours" in message["text"] and message["buttons"]


def test_contact_reply_carries_the_configured_details():
    clinic = load_clinic()
    text = asyncio.run(_render("utter_clinic_contact"))["text"]
    for value in (clinic.phone, clinic.email, clinic.website, clinic.address):
        assert value in text


def test_replies_follow_the_details_file(tmp_path, monkeypatch):
    other = tmp_path / "details.yml"
    other.write_text(yaml.safe_dump(details(name="Lakeside Spine Care", emergency_number="112")))
    monkeypatch.setenv("CLINIC_DETAILS_FILE", str(other))
    settings.cache_clear()
    load_clinic.cache_clear()
    try:
        text = asyncio.run(_render("utter_greet"))["text"]
    finally:
        settings.cache_clear()
        load_clinic.cache_clear()
    assert "Lakeside Spine Care" in text and "112" in text


def _tracker_after_a_weak_sign(ranking_below: str, asks_question: bool = True) -> DialogueStateTracker:
    """A message with one weak sign that also asked a FAQ question, as the NLU marks it: the
    red-flag intent first, the classifiers' own intent below it."""
    message = UserUttered(
        "my back aches more at night, how often should I come in?",
        intent={"name": "red_flag_check", "confidence": 1.0},
        parse_data={
            "intent": {"name": "red_flag_check", "confidence": 1.0},
            "intent_ranking": [
                {"name": "red_flag_check", "confidence": 1.0},
                {"name": ranking_below, "confidence": 0.9},
            ],
            "response_selector": {
                "faq": {"response": {"intent_response_key": "faq/how_often_to_book", "confidence": 0.6}}
            },
            "red_flag_check": {"level": "check", "category": "night_pain", "matched": ["more at night"]},
            "asks_question": asks_question,
        },
    )
    return DialogueStateTracker.from_events("someone", [message])


def test_a_weak_signs_question_comes_after_the_answer_to_what_was_asked():
    domain = Domain.load([str(PROJECT_DIR / "domain.yml"), str(PROJECT_DIR / "data" / "faq" / "responses.yml")])
    generator = ClinicResponseGenerator(domain=domain)
    answer = asyncio.run(
        generator.generate("utter_faq/how_often_to_book", DialogueStateTracker.from_events("x", []), "rest")
    )
    question = asyncio.run(generator.generate("utter_red_flag_check", _tracker_after_a_weak_sign("faq"), "rest"))
    assert question["text"].startswith(answer["text"])
    assert '"more at night"' in question["text"] and question["buttons"][0]["payload"] == "/deny"
    # a question no topic answers with confidence: said honestly, with the clinic's phone
    honest = asyncio.run(generator.generate("utter_red_flag_check", _tracker_after_a_weak_sign("nlu_fallback"), "rest"))
    assert honest["text"].startswith("I can't answer that question myself") and load_clinic().phone in honest["text"]
    assert "do you also have any of these" in honest["text"]
    # a message that asks nothing: the follow-up question alone
    alone = _tracker_after_a_weak_sign("nlu_fallback", asks_question=False)
    assert asyncio.run(generator.generate("utter_red_flag_check", alone, "rest"))["text"].startswith("Thanks for")
