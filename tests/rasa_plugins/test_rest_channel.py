"""The REST channel's collector: it must notice a safety reply so the answer goes out at once."""

import asyncio

from rasa_plugins.channels.rest import SafetyReplyCollector


def collect(*messages):
    async def run():
        collector = SafetyReplyCollector()
        for message in messages:
            await collector.send_response("someone", dict(message))
        return collector

    return asyncio.run(run())


def test_a_red_flag_reply_releases_the_answer_and_keeps_its_payload():
    collector = collect({"text": "Call 911", "custom": {"red_flag": {"level": "emergency"}}})
    assert collector.safety_reply_ready.is_set()
    assert {"recipient_id": "someone", "custom": {"red_flag": {"level": "emergency"}}} in collector.messages


def test_ordinary_replies_wait_for_the_whole_turn():
    collector = collect({"text": "Hello"}, {"text": "More", "custom": {"something": "else"}})
    assert not collector.safety_reply_ready.is_set()
    assert [m.get("text") for m in collector.messages if "text" in m] == ["Hello", "More"]
