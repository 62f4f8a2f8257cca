"""The Telegram channel (channels/telegram.py) against a Bot API server on loopback."""

import json
import random
import sqlite3
import time

from clinic.details import load_clinic
from tests.support.services import telegram_update

EMERGENCY_MESSAGE = "can't feel anything when I wipe and my back is killing me"


def new_chat() -> int:
    return random.randint(10**8, 10**9)


def test_a_question_gets_its_answer_on_telegram(assistant):
    chat = new_chat()
    assert assistant.send_telegram(chat, "what are your opening hours?").text == "success"
    reply = assistant.telegram_api.wait_for_message(chat, lambda m: "Saturday: 10:00-14:00" in m["text"])
    assert reply["chat_id"] == str(chat)


def test_an_emergency_reaches_the_person_and_is_recorded_on_telegram(assistant):
    chat = new_chat()
    assistant.send_telegram(chat, EMERGENCY_MESSAGE)
    assistant.telegram_api.wait_for_message(chat, lambda m: load_clinic().emergency_number in m["text"])
    [notice] = assistant.webhook.wait_for(lambda p: p.get("conversation_id") == str(chat))
    assert notice["channel"] == "telegram" and notice["level"] == "emergency"
    with sqlite3.connect(assistant.clinic_db_file) as database:
        [(channel, level)] = database.execute(
            "SELECT channel, level FROM escalations WHERE conversation_id = ?", (str(chat),)
        ).fetchall()
    assert (channel, level) == ("telegram", "emergency")
    # The machine-readable payload is in the conversation's record for monitoring.
    events = assistant.tracker(str(chat))["events"]
    flags = [
        e["data"]["custom"]["red_flag"] for e in events if e["event"] == "bot" and (e.get("data") or {}).get("custom")
    ]
    assert flags and flags[0]["level"] == "emergency"


def test_an_urgent_sign_on_telegram_offers_the_referral_button(assistant):
    chat = new_chat()
    assistant.send_telegram(chat, "I slipped on the ice last week and my back has hurt ever since")
    reply = assistant.telegram_api.wait_for_message(chat, lambda m: "reply_markup" in m)
    buttons = [b for row in json.loads(reply["reply_markup"])["inline_keyboard"] for b in row]
    assert {"text": "Request a referral", "callback_data": "/request_referral"} in buttons


def test_updates_without_the_secret_token_are_refused(assistant):
    chat = new_chat()
    response = assistant.send_telegram(chat, "hello", secret="guess")
    assert response.status_code == 403
    time.sleep(2)
    assert assistant.telegram_api.sent_to(chat) == []


def test_a_malformed_update_gets_a_clear_answer_and_the_channel_keeps_working(assistant):
    for body in ({"update_id": 1}, {"message": "not a message"}, [1, 2]):
        assert assistant.send_telegram(0, "", update=body).status_code == 400
    chat = new_chat()
    assistant.send_telegram(chat, "/start")
    assistant.telegram_api.wait_for_message(chat, lambda m: load_clinic().name in m["text"])


def test_a_sticker_is_acknowledged_without_a_reply(assistant):
    chat = new_chat()
    update = telegram_update(chat, "")
    del update["message"]["text"]
    update["message"]["sticker"] = {
        "file_id": "x",
        "file_unique_id": "x",
        "width": 1,
        "height": 1,
        "is_animated": False,
    }
    assert assistant.send_telegram(chat, "", update=update).status_code == 200
    time.sleep(2)
    assert assistant.telegram_api.sent_to(chat) == []
