"""Red-flag escalation through the running assistant, over REST and socket.io."""

import json
import os
import signal
import sqlite3

import pytest

from clinic.details import load_clinic
from knowledge import topics_by_id
from red_flags.detector import detector_for
from settings import spacy_pipeline
from tests.support.assistant import chat_over_socketio, new_sender, reply_text, started_assistant

pytestmark = pytest.mark.servers  # every test here chats with a running assistant

EMERGENCY_MESSAGE = "can't feel anything when I wipe and my back is killing me"
URGENT_MESSAGE = "I slipped on the ice last week and my back has hurt ever since"


def payload(replies):
    custom = [reply["custom"] for reply in replies if "custom" in reply]
    assert len(custom) == 1, replies
    return custom[0]["red_flag"]


def test_an_emergency_gets_emergency_care_advice_with_the_reason(assistant):
    replies = assistant.send(new_sender("rf"), EMERGENCY_MESSAGE)
    text = reply_text(replies)
    assert f"call {load_clinic().emergency_number}" in text
    assert "You mentioned" in text and "cauda equina" in text
    assert "can't diagnose" in text
    flag = payload(replies)
    assert flag["level"] == "emergency" and flag["category"] == "saddle_numbness"
    assert any("wipe" in word for word in flag["matched"])


def test_an_urgent_sign_sends_to_a_doctor_first(assistant):
    replies = assistant.send(new_sender("rf"), URGENT_MESSAGE)
    assert "see a doctor within the next 24-48 hours" in reply_text(replies)
    assert payload(replies) == {
        "level": "urgent",
        "category": "injury_onset",
        "matched": payload(replies)["matched"],
    }


def test_escalation_interrupts_a_faq_exchange_and_blocks_booking(assistant):
    sender = new_sender("rf")
    assistant.send(sender, "what is deep tissue massage?")
    escalation = assistant.send(sender, "also since this morning i cant pee and my lower back is agony")
    assert payload(escalation)["category"] == "bladder_bowel"
    booking = reply_text(assistant.send(sender, "can I book a massage for tomorrow?"))
    assert "can't book a massage" in booking and load_clinic().emergency_number in booking


def test_after_an_urgent_sign_booking_offers_a_referral_instead(assistant):
    sender = new_sender("rf")
    assistant.send(sender, URGENT_MESSAGE)
    booking = reply_text(assistant.send(sender, "i want to book a massage"))
    assert "can't book a massage yet" in booking and "referral" in booking


def test_a_wording_the_lexicon_does_not_know_is_escalated_by_the_classifier(assistant):
    message = "back is wrecked and my todger wont work since tuesday"
    lexicon = detector_for(str(spacy_pipeline()))
    assert lexicon(message) is None  # the lexicon alone would let it pass
    replies = assistant.send(new_sender("rf"), message)
    assert payload(replies)["level"] == "emergency"
    assert f"call {load_clinic().emergency_number}" in reply_text(replies)


def test_a_single_weak_sign_gets_a_follow_up_question_not_an_alarm(assistant):
    replies = assistant.send(new_sender("rf"), "my back aches more at night")
    text = reply_text(replies)
    assert "do you also have any of these" in text
    assert not any("custom" in reply for reply in replies)


def test_a_weak_sign_beside_a_question_gets_the_answer_then_the_follow_up_question(assistant):
    replies = assistant.send(new_sender("rf"), "my back aches more at night. does a deep tissue massage hurt?")
    text = reply_text(replies)
    answer = topics_by_id()["does_massage_hurt"].answer
    assert answer in text and "do you also have any of these" in text
    assert text.index(answer) < text.index("do you also have any of these")  # the answer first


def test_a_weak_sign_beside_a_question_no_topic_answers_gets_an_honest_reply_then_the_question(assistant):
    text = reply_text(
        assistant.send(new_sender("rf"), "my back aches more at night. how much glucose is in an emergency kit?")
    )
    assert "I can't answer that question myself" in text and load_clinic().phone in text
    assert "do you also have any of these" in text


def test_a_yes_to_the_follow_up_question_asks_which_sign_and_declines_massage(assistant):
    sender = new_sender("rf")
    assistant.send(sender, "my back aches more at night")
    replies = assistant.send(sender, "yes")
    text = reply_text(replies)
    assert "Which one is it?" in text and "24-48 hours" in text and load_clinic().emergency_number in text
    [buttons] = [reply["buttons"] for reply in replies if reply.get("buttons")]
    assert "Numbness between my legs" in [button["title"] for button in buttons]
    [notice] = assistant.webhook.wait_for(lambda p: p.get("conversation_id") == sender)
    assert (notice["level"], notice["category"]) == ("urgent", "unspecified")
    booking = reply_text(assistant.send(sender, "can I book a massage for tomorrow?"))
    assert "can't book a massage yet" in booking
    named = assistant.send(sender, buttons[0]["payload"])  # the person says which: numbness
    assert payload(named)["level"] == "emergency"


PAST_STORY = (
    "I've had lower back trouble for a few years and I sit at a desk all day. One time it got so "
    "bad that I couldn't walk and both my legs were numb. I'm wondering whether massage would help."
)


def test_a_sign_told_only_in_the_past_is_asked_about_and_a_yes_escalates_at_its_tier(assistant):
    sender = new_sender("rf")
    asked = assistant.send(sender, PAST_STORY)
    assert "Is that happening now" in reply_text(asked) and "both my legs" in reply_text(asked)
    assert not any("custom" in reply for reply in asked)  # a question, not yet an alarm
    [buttons] = [reply["buttons"] for reply in asked if reply.get("buttons")]
    assert [button["title"] for button in buttons] == ["Yes, it's happening now", "No, it has passed"]
    replies = assistant.send(sender, buttons[0]["payload"])
    assert f"call {load_clinic().emergency_number}" in reply_text(replies)
    assert payload(replies)["level"] == "emergency"
    assert payload(replies)["category"] == "both_legs_or_worsening_weakness"
    [notice] = assistant.webhook.wait_for(lambda p: p.get("conversation_id") == sender)
    assert notice["level"] == "emergency"
    assert "can't book a massage" in reply_text(assistant.send(sender, "can I book a massage for tomorrow?"))


def test_a_no_to_whether_it_is_happening_now_raises_no_alarm(assistant):
    sender = new_sender("rf")
    assistant.send(sender, PAST_STORY)
    replies = assistant.send(sender, "no")
    assert "glad it has passed" in reply_text(replies)
    assert not any("custom" in reply for reply in replies)


def test_the_same_sign_told_as_happening_now_escalates_at_once(assistant):
    replies = assistant.send(new_sender("rf"), PAST_STORY.replace("One time it got so", "Since this morning it is so"))
    assert payload(replies)["level"] == "emergency"


def test_a_sign_in_a_later_message_counts_with_back_pain_told_earlier(assistant):
    sender = new_sender("rf")
    assistant.send(sender, "my lower back has been aching for a week, what can I do?")
    replies = assistant.send(sender, "I have had chills for two days")
    assert "see a doctor within the next 24-48 hours" in reply_text(replies)
    assert payload(replies) == {"level": "urgent", "category": "fever_or_infection_risk", "matched": ["chills"]}
    # Without back pain in the conversation, the same words raise no alarm.
    alone = assistant.send(new_sender("rf"), "I have had chills for two days")
    assert not any("custom" in reply for reply in alone)


def test_near_misses_get_no_alarm(assistant):
    for message in ("I fell in love with deep tissue", "no numbness or tingling, just a stiff lower back"):
        assert "emergency" not in reply_text(assistant.send(new_sender("rf"), message)).lower()


def test_escalation_is_stored_and_staff_are_notified(assistant):
    sender = new_sender("rf")
    assistant.send(sender, EMERGENCY_MESSAGE)
    [notice] = assistant.webhook.wait_for(lambda p: p.get("conversation_id") == sender)
    assert notice["level"] == "emergency" and notice["channel"] == "rest"
    with sqlite3.connect(assistant.clinic_db_file) as database:
        rows = database.execute(
            "SELECT level, category, channel, message, matched FROM escalations WHERE conversation_id = ?",
            (sender,),
        ).fetchall()
    [(level, category, channel, message, matched)] = rows
    assert (level, category, channel, message) == ("emergency", "saddle_numbness", "rest", EMERGENCY_MESSAGE)
    assert json.loads(matched)


def test_socketio_delivers_the_escalation_and_its_payload(assistant):
    _, replies = chat_over_socketio(assistant.url, [EMERGENCY_MESSAGE], lambda data: "red_flag" in data)
    assert any(load_clinic().emergency_number in reply.get("text", "") for reply in replies)
    [flag] = [reply["red_flag"] for reply in replies if "red_flag" in reply]
    assert flag["level"] == "emergency"


@pytest.fixture(scope="module")
def assistant_to_break(tmp_path_factory):
    """A separate assistant whose action server the tests may stop."""
    yield from started_assistant(tmp_path_factory)


def test_the_escalation_reaches_the_person_while_the_action_server_hangs(assistant_to_break):
    pid = assistant_to_break.action_server_pid()
    os.kill(pid, signal.SIGSTOP)  # alive, accepting connections, never answering
    try:
        # Rasa waits up to 5 minutes for a hanging action; the reply must not.
        replies = assistant_to_break.send(new_sender("rf"), EMERGENCY_MESSAGE, timeout=60)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert load_clinic().emergency_number in reply_text(replies)
    assert payload(replies)["level"] == "emergency"


def test_an_escalation_mid_booking_reaches_the_person_while_the_action_server_hangs(assistant_to_break):
    """The booking form needs the action server; a red flag in it must not."""
    sender = new_sender("rf")
    assert "What name" in reply_text(assistant_to_break.send(sender, "book a sports massage for friday morning"))
    pid = assistant_to_break.action_server_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        replies = assistant_to_break.send(sender, EMERGENCY_MESSAGE, timeout=60)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert load_clinic().emergency_number in reply_text(replies)
    assert payload(replies)["level"] == "emergency"


def test_on_telegram_the_escalation_reaches_the_person_while_the_action_server_hangs(assistant_to_break):
    chat = 424242
    pid = assistant_to_break.action_server_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        assert assistant_to_break.send_telegram(chat, EMERGENCY_MESSAGE).status_code == 200
        reply = assistant_to_break.telegram_api.wait_for_message(
            chat, lambda m: load_clinic().emergency_number in m["text"], timeout=60
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    assert "Please call" in reply["text"]


def test_the_escalation_reaches_the_person_with_the_action_server_stopped(assistant_to_break):
    os.kill(assistant_to_break.action_server_pid(), signal.SIGKILL)
    replies = assistant_to_break.send(new_sender("rf"), EMERGENCY_MESSAGE, timeout=60)
    assert load_clinic().emergency_number in reply_text(replies)
    assert payload(replies)["level"] == "emergency"


def test_with_the_action_server_stopped_a_booking_request_gets_the_clinics_phone_not_silence(assistant_to_break):
    """Runs after the test above stopped the action server: only emergencies needed none."""
    clinic = load_clinic()
    reply = reply_text(assistant_to_break.send(new_sender("rf"), "I want to book a massage", timeout=60))
    assert "can't take requests right now" in reply and clinic.phone in reply
