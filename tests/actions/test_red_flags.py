"""action_record_escalation: stores the escalation and notifies staff through a real webhook."""

import asyncio

import pytest

from actions.red_flags import ActionHoldAsUrgent, ActionRecordEscalation
from clinic import notify, records
from settings import settings
from tests.support.services import Webhook
from tests.support.trackers import make_tracker, user_event

FINDING = {"level": "emergency", "category": "bladder_bowel", "matched": ["can't pee"]}


@pytest.fixture
def configure(tmp_path, monkeypatch):
    def apply(webhook_url="", database_url=""):
        monkeypatch.setenv("CLINIC_SQLITE_FILE", str(tmp_path / "clinic.db"))
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("STAFF_WEBHOOK_URL", webhook_url)
        settings.cache_clear()
        records.engine.cache_clear()

    yield apply
    settings.cache_clear()
    records.engine.cache_clear()


def escalate(dispatcher, text="i cant pee and my back is killing me", finding=FINDING):
    events = [user_event(text, "red_flag_emergency", 1.0, red_flag=finding)]
    # The Rasa server sets the slot from the message before the action runs.
    tracker = make_tracker(events, {"red_flag_level": finding["level"]})
    return run_until_staff_are_told(ActionRecordEscalation(), dispatcher, tracker)


def run_until_staff_are_told(action, dispatcher, tracker):
    """Runs the action, then waits for its background notifications."""

    async def run_and_wait():
        result = await action.run(dispatcher, tracker, {})
        await asyncio.gather(*notify._pending)
        return result

    return asyncio.run(run_and_wait())


def test_escalation_is_stored_and_staff_are_told(configure, dispatcher):
    webhook = Webhook()
    configure(webhook_url=webhook.url)
    try:
        assert escalate(dispatcher) == []
    finally:
        webhook.close()

    [row] = records.list_records("escalations")
    assert (row["conversation_id"], row["level"], row["category"]) == ("test-user", "emergency", "bladder_bowel")
    assert row["matched"] == ["can't pee"] and "cant pee" in row["message"]
    [sent] = webhook.received
    assert sent["event"] == "red_flag_escalation" and sent["escalation_id"] == row["id"]
    assert dispatcher.messages == []  # the reply came from the Rasa server already


def test_a_failing_webhook_is_retried(configure, dispatcher):
    webhook = Webhook(failures_before_success=2)
    configure(webhook_url=webhook.url)
    try:
        escalate(dispatcher)
    finally:
        webhook.close()
    assert webhook.attempts == 3 and len(webhook.received) == 1


def test_an_unreachable_webhook_is_logged_and_the_escalation_still_stored(configure, dispatcher, caplog):
    configure(webhook_url="http://127.0.0.1:9/unreachable")
    escalate(dispatcher)
    assert len(records.list_records("escalations")) == 1
    assert "given up" in caplog.text


def test_a_broken_database_still_notifies_staff(configure, dispatcher):
    webhook = Webhook()
    configure(webhook_url=webhook.url, database_url="postgresql://nobody@127.0.0.1:9/none")
    try:
        escalate(dispatcher)
    finally:
        webhook.close()
    [sent] = webhook.received
    assert sent["escalation_id"] is None and sent["category"] == "bladder_bowel"


def test_hostile_and_huge_messages_are_stored_safely(configure, dispatcher):
    configure()
    hostile = "'); DROP TABLE escalations; -- <script>alert(1)</script> " + "x" * 20_000
    escalate(dispatcher, text=hostile)
    [row] = records.list_records("escalations")
    assert row["message"].startswith("'); DROP TABLE escalations;")
    assert len(row["message"]) == records.MAX_MESSAGE_LENGTH


def test_a_message_without_red_flag_records_nothing(configure, dispatcher):
    configure()
    events = [user_event("hello", "greet")]
    assert asyncio.run(ActionRecordEscalation().run(dispatcher, make_tracker(events), {})) == []
    assert records.list_records("escalations") == []


def test_a_later_urgent_sign_does_not_soften_an_earlier_emergency(configure, dispatcher):
    configure()
    urgent = {"level": "urgent", "category": "injury_onset", "matched": ["fell"]}
    events = [
        user_event("i cant pee and my back is killing me", "red_flag_emergency", 1.0, red_flag=FINDING),
        user_event("i also fell last week", "red_flag_urgent", 1.0, red_flag=urgent),
    ]
    tracker = make_tracker(events, {"red_flag_level": "urgent"})
    events = asyncio.run(ActionRecordEscalation().run(dispatcher, tracker, {}))
    assert events == [{"event": "slot", "name": "red_flag_level", "value": "emergency", "timestamp": None}]


CHECK = {"level": "check", "category": "night_pain", "matched": ["worse at night"]}


def yes_to_the_follow_up(dispatcher, slots=None):
    events = [
        user_event("my back is worse at night", "red_flag_check", 1.0, red_flag_check=CHECK),
        {"event": "bot", "text": "Thanks for telling me about ..."},
        user_event("yes", "affirm", 0.99),
    ]
    return run_until_staff_are_told(ActionHoldAsUrgent(), dispatcher, make_tracker(events, slots or {}))


def test_a_yes_to_the_follow_up_question_holds_the_conversation_as_urgent(configure, dispatcher):
    webhook = Webhook()
    configure(webhook_url=webhook.url)
    try:
        events = yes_to_the_follow_up(dispatcher)
    finally:
        webhook.close()
    assert events == [{"event": "slot", "timestamp": None, "name": "red_flag_level", "value": "urgent"}]
    [row] = records.list_records("escalations")
    assert (row["level"], row["category"], row["message"]) == ("urgent", "unspecified", "yes")
    assert row["matched"] == ["worse at night", "yes to the serious signs"]
    [sent] = webhook.received
    assert sent["level"] == "urgent" and sent["conversation_id"] == "test-user"


def test_a_yes_after_an_emergency_does_not_soften_the_booking_gate(configure, dispatcher):
    configure()
    assert yes_to_the_follow_up(dispatcher, {"red_flag_level": "emergency"}) == []
    assert records.list_records("escalations")[0]["level"] == "urgent"
