"""Chats with the real servers over the REST channel, as a website or integration would."""

import sqlite3

import pytest
import requests

from clinic.details import load_clinic
from knowledge import topics_by_id
from tests.support.assistant import new_sender, reply_text


def test_greeting_says_what_the_bot_does_and_that_it_is_no_diagnosis(assistant):
    replies = assistant.send(new_sender("e2e"), "hello")
    text = reply_text(replies)
    assert load_clinic().name in text
    assert "not a diagnosis" in text
    assert load_clinic().emergency_number in text
    assert any(reply.get("buttons") for reply in replies)


def test_telegram_start_command_greets(assistant):
    assert load_clinic().name in reply_text(assistant.send(new_sender("e2e"), "/start"))


@pytest.mark.parametrize(
    "question, topic_id",
    [
        ("what exactly is deep tissue massage?", "what_is_deep_tissue_massage"),
        ("how often should i come in for a massage if my back keeps hurting", "how_often_to_book"),
        ("what causes back spasms?", "back_spasm_causes"),
        ("my back pain is back a few hours after every massage, why?", "why_pain_comes_back"),
        ("can kids have massage", "massage_for_children"),
    ],
)
def test_article_questions_get_their_answer_and_source(assistant, question, topic_id):
    topic = topics_by_id()[topic_id]
    text = reply_text(assistant.send(new_sender("e2e"), question))
    assert topic.answer in text
    assert topic.source in text


def test_a_message_asking_two_things_answers_one_and_offers_the_other(assistant):
    sender = new_sender("e2e")
    spasms, soreness = topics_by_id()["back_spasm_duration"], topics_by_id()["soreness_after_massage"]
    replies = assistant.send(
        sender,
        "My lower back went into spasm on Monday. How long do back spasms usually last? "
        "And is it normal to feel sore the day after a massage?",
    )
    text = reply_text(replies)
    [answered, offered] = (spasms, soreness) if spasms.answer in text else (soreness, spasms)
    assert answered.answer in text
    [button] = [b for reply in replies for b in reply.get("buttons") or [] if b["title"].startswith("You also asked")]
    assert offered.title in button["title"]
    # The button asks the other question, and gets its answer.
    assert offered.answer in reply_text(assistant.send(sender, button["payload"]))


def test_help_menu_buttons_lead_to_answers(assistant):
    sender = new_sender("e2e")
    [menu] = [reply for reply in assistant.send(sender, "/help") if reply.get("buttons")]
    answers = {topic.answer for topic in topics_by_id().values()}
    for button in menu["buttons"]:
        if button["payload"].startswith("/"):
            continue
        text = reply_text(assistant.send(sender, button["payload"]))
        assert any(answer in text for answer in answers), button


def test_talk_to_a_person_gives_the_clinic_contact(assistant):
    text = reply_text(assistant.send(new_sender("e2e"), "can i talk to a real person please"))
    assert load_clinic().phone in text


def test_nonsense_gets_the_fallback_then_the_clinic_contact(assistant):
    sender = new_sender("e2e")
    first = assistant.send(sender, "vrexil daqpon")
    assert (
        "didn't understand" in reply_text(first)
        or "not sure I understood" in reply_text(first)
        or "outside what I can help with" in reply_text(first)
    )
    second = assistant.send(sender, "plimtor zedquaw")
    assert load_clinic().phone in reply_text(first + second)


def test_out_of_scope_question_is_redirected(assistant):
    text = reply_text(assistant.send(new_sender("e2e"), "who won the football world cup in 2010?"))
    assert "outside what I can help with" in text or "not sure I understood" in text


@pytest.mark.parametrize(
    "question",
    [
        "how much glucose should be in an emergency kit for a diabetic?",
        "is it safe to take ibuprofen together with my blood pressure tablets?",
    ],
)
def test_a_question_no_topic_answers_gets_no_other_topics_answer(assistant, question):
    replies = assistant.send(new_sender("e2e"), question)
    text = reply_text(replies)
    answers = [topic.answer.split("{", 1)[0][:60] for topic in topics_by_id().values()]
    assert not any(answer and answer in text for answer in answers), text
    assert "not sure I understood" in text or "outside what I can help with" in text


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   ",
        "massage " * 2000,
        "¿Puedo reservar un masaje para el dolor de espalda?",
        "<script>alert('x')</script>",
        "'; DROP TABLE events; --",
        "😀🔥💆‍♀️",
        "\x00\x01 null bytes",
    ],
)
def test_bad_input_gets_an_answer_and_the_server_keeps_working(assistant, message):
    sender = new_sender("e2e")
    replies = assistant.send(sender, message)
    assert reply_text(replies).strip(), f"no reply to {message[:40]!r}"
    # The same conversation still works afterwards.
    assert load_clinic().name in reply_text(assistant.send(sender, "hi"))


def test_conversations_are_stored_in_the_sqlite_tracker_store(assistant):
    sender = new_sender("e2e")
    assistant.send(sender, "what is therapeutic massage")
    with sqlite3.connect(assistant.sqlite_file) as database:
        rows = database.execute("SELECT type_name, intent_name FROM events WHERE sender_id = ?", (sender,)).fetchall()
    assert ("user", "faq") in rows
    assert any(type_name == "bot" for type_name, _ in rows)


@pytest.mark.parametrize(
    "body, complaint",
    [
        ("not json at all", "JSON"),
        ('["a", "list"]', "JSON object"),
        ('{"message": "hi"}', "sender"),
        ('{"sender": "x", "message": 42}', "message"),
    ],
)
def test_malformed_requests_get_a_clear_error(assistant, body, complaint):
    response = requests.post(
        f"{assistant.url}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400 and complaint in response.json()["error"]
    assert load_clinic().name in reply_text(assistant.send(new_sender("e2e"), "hello"))


def test_the_clinics_own_answers_come_from_its_details(assistant):
    clinic = load_clinic()
    tipping = reply_text(assistant.send(new_sender("e2e"), "should I tip my massage therapist?"))
    assert clinic.answers["tipping"] in tipping
    assert not clinic.answers["parking"]  # the sample clinic has not filled this one in
    parking = reply_text(assistant.send(new_sender("e2e"), "is there parking near the clinic?"))
    assert "don't have that information" in parking and clinic.phone in parking
