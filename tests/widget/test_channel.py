"""The widget's socket.io channel (rasa_plugins/channels/widget.py) in the running assistant:
who may connect, every reply part labelled and followed by `turn_done`, no message handled
twice. Its pieces that need no server are at the end."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Dict, List, Optional

import pytest
import socketio
import yaml

from clinic.details import ClinicDetailsError, load_clinic, parse_details
from rasa_plugins.channels.widget import origin_allowed, random_enough, tel_uri, widget_config
from settings import PROJECT_DIR, settings


async def _chat(url: str, session_id: str, sends: List[Dict[str, Any]], origin: Optional[str] = None):
    """Sends each message and waits for its `turn_done`; returns every event received."""
    client = socketio.AsyncClient()
    received: List[tuple] = []
    done = asyncio.Queue()

    @client.on("bot_uttered")
    async def on_bot_uttered(body):
        received.append(("bot_uttered", body))

    @client.on("turn_done")
    async def on_turn_done(body):
        received.append(("turn_done", body))
        await done.put(body["reply_to"])

    headers = {"Origin": origin} if origin else {}
    await client.connect(url, transports=["websocket"], headers=headers)
    await client.emit("session_request", {"session_id": session_id})
    for message in sends:
        await client.emit("user_uttered", {"session_id": session_id, **message})
        assert await asyncio.wait_for(done.get(), timeout=60) == message["message_id"]
    await client.disconnect()
    return received


@pytest.mark.servers
def test_a_page_of_another_site_may_not_connect(assistant):
    async def connect_from(origin: str) -> None:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(assistant.url, transports=["websocket"], headers={"Origin": origin})
        await client.disconnect()

    with pytest.raises(socketio.exceptions.ConnectionError):
        asyncio.run(connect_from("https://other-site.example"))
    asyncio.run(connect_from(assistant.url))  # the assistant's own demo page may


@pytest.mark.servers
def test_a_message_sent_again_is_answered_again_but_handled_once(assistant):
    session_id = uuid.uuid4().hex
    message = {"message": "what are your opening hours?", "message_id": uuid.uuid4().hex}
    again = {**message, "resend": True}  # as the widget sends it after a dropped connection
    events = asyncio.run(_chat(assistant.url, session_id, [message, again], origin=assistant.url))
    first, second = (events[: len(events) // 2], events[len(events) // 2 :])
    assert first == second  # the same parts, labelled the same, then turn_done
    replies = [body for name, body in first if name == "bot_uttered"]
    assert any("Monday" in reply.get("text", "") for reply in replies)
    assert [reply["part"] for reply in replies] == list(range(len(replies)))
    assert {reply["reply_to"] for reply in replies} == {message["message_id"]}
    assert first[-1] == ("turn_done", {"reply_to": message["message_id"]})
    user_events = [event for event in assistant.tracker(session_id)["events"] if event["event"] == "user"]
    assert [event["text"] for event in user_events] == ["what are your opening hours?"]


def test_only_the_configured_origins_may_chat():
    allowed = ["https://www.clinic.example", "http://localhost:5005/"]
    assert origin_allowed("https://www.clinic.example", allowed)
    assert origin_allowed("http://localhost:5005", allowed)
    assert not origin_allowed("https://www.clinic.example.evil.example", allowed)
    assert not origin_allowed("http://clinic.example", allowed)
    assert origin_allowed(None, allowed)  # not a browser: no page to protect
    assert origin_allowed("https://anywhere.example", ["*"])
    assert "http://localhost:" in " ".join(settings().widget_origins)


def test_the_widget_gets_the_clinics_details_and_call_links():
    config = widget_config(load_clinic())
    clinic = config["clinic"]
    assert clinic["name"] == load_clinic().name and clinic["colour"] == load_clinic().widget_colour
    assert clinic["emergency_link"] == f"tel:{load_clinic().emergency_number}"
    assert tel_uri("+1 555 0100 200") == "tel:+15550100200"
    assert "not a diagnosis" in config["texts"]["disclaimer"]


def test_a_colour_white_text_cannot_be_read_on_is_refused():
    raw = yaml.safe_load((PROJECT_DIR / "clinic" / "details.yml").read_text())
    with pytest.raises(ClinicDetailsError, match="too light for white text"):
        parse_details({**raw, "widget": {"colour": "#7fc8d0"}})
    with pytest.raises(ClinicDetailsError, match="must look like"):
        parse_details({**raw, "widget": {"colour": "teal"}})
    assert parse_details({**raw, "widget": {}}).widget_greeting.startswith("Hello! I'm the assistant of")


def test_only_random_looking_session_ids_are_accepted():
    assert random_enough(uuid.uuid4().hex)  # what the widget makes: 128 random bits
    assert random_enough(uuid.uuid4().hex + uuid.uuid4().hex)
    for picked in ["0" * 32, "0123" * 8, "abc", uuid.uuid4().hex[:31], uuid.uuid4().hex.upper(), "x" * 40]:
        assert not random_enough(picked), picked
