"""Issue 16's probes, tried as an outsider would: with nothing but network access to the ports
and a conversation's id, against the servers started as `make run` starts them (HTTP API off,
action server secret made per start). REST_TOKEN is set, as for an integration that reaches the
REST channel over a network. Every probe must be refused with 401, 403 or not found."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests
import socketio

from clinic.details import load_clinic
from tests.support.assistant import Assistant, started_assistant

REST_TOKEN = "rest-token-for-the-clinic-integration-0123456789"
EMERGENCY_MESSAGE = "can't feel anything when I wipe and my back is killing me"
LOOKALIKE = "{url}.evil.example"  # what sanic-cors <= 2.2.0 let in (CVE-2026-37737)
REFUSED = {401, 403, 404}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    as_make_run_starts_them = {"RASA_JWT_SECRET": "", "RASA_API_TOKEN": "", "ACTION_SERVER_SECRET": ""}
    yield from started_assistant(tmp_path_factory, env={**as_make_run_starts_them, "REST_TOKEN": REST_TOKEN})


def send(servers: Assistant, sender: str, message: str, token: str = REST_TOKEN) -> requests.Response:
    return requests.post(
        f"{servers.url}/webhooks/rest/webhook",
        json={"sender": sender, "message": message},
        headers={"Authorization": f"Bearer {token}"} if token else {},
        timeout=60,
    )


def texts(reply: requests.Response) -> str:
    assert reply.status_code == 200, reply.text
    return " ".join(part.get("text") or "" for part in reply.json())


@pytest.mark.servers
def test_a_conversation_can_be_neither_read_nor_rewritten_and_an_emergency_stays_one(servers):
    sender = uuid.uuid4().hex
    assert load_clinic().emergency_number in texts(send(servers, sender, EMERGENCY_MESSAGE))
    read = requests.get(f"{servers.url}/conversations/{sender}/tracker", timeout=30)
    reopen = requests.post(
        f"{servers.url}/conversations/{sender}/tracker/events",
        json=[{"event": "slot", "name": "red_flag_level", "value": None}],
        timeout=30,
    )
    replace = requests.put(f"{servers.url}/conversations/{sender}/tracker/events", json=[], timeout=30)
    assert {read.status_code, reopen.status_code, replace.status_code} <= REFUSED
    assert "can't book a massage" in texts(send(servers, sender, "can I book a massage for tomorrow?"))


@pytest.mark.servers
@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/model/parse"),
        ("GET", "/domain"),
        ("GET", "/status"),
        ("GET", "/version"),
        ("GET", "/"),
        ("PUT", "/model"),
        ("DELETE", "/model"),
        ("POST", "/model/train"),
        ("POST", "/conversations/someone/messages"),
        ("POST", "/conversations/someone/execute"),
        ("POST", "/webhooks/model/load"),  # the publish routes: need the publish token
        ("GET", "/webhooks/model/status"),
    ],
)
def test_the_http_api_and_model_loading_are_refused(servers, method, path):
    answer = requests.request(method, f"{servers.url}{path}", json={"text": "hi", "model_file": "x"}, timeout=30)
    assert answer.status_code in REFUSED


@pytest.mark.servers
def test_the_action_server_answers_only_the_rasa_server(servers):
    actions = f"http://127.0.0.1:{servers.action_port}"
    forged = {
        "next_action": "action_record_escalation",
        "sender_id": "forged",
        "tracker": {"sender_id": "forged", "slots": {}, "latest_message": {}, "events": []},
        "domain": {},
        "version": "3.6.2",
    }
    assert requests.post(f"{actions}/webhook", json=forged, timeout=30).status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * 43}
    assert requests.post(f"{actions}/webhook", json=forged, headers=wrong, timeout=30).status_code == 401
    assert requests.get(f"{actions}/actions", timeout=30).status_code == 401
    assert requests.get(f"{actions}/health", timeout=30).ok  # for the readiness check
    assert listening_addresses(servers.action_port) == {"127.0.0.1"}
    # ... while the Rasa server's calls carry the secret: a booking form's checks still run.
    assert "Which treatment" in texts(send(servers, uuid.uuid4().hex, "I'd like to book a massage"))


def listening_addresses(port: int) -> set[str]:
    """The IPv4 addresses a TCP port is listened on, from the kernel's table."""
    addresses = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, local_port = local.split(":")
        if state == "0A" and int(local_port, 16) == port:  # 0A: LISTEN
            addresses.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return addresses


@pytest.mark.servers
@pytest.mark.parametrize("origin", ["https://other-site.example", LOOKALIKE])
def test_a_foreign_or_lookalike_origin_may_neither_chat_nor_call(servers, origin):
    origin = origin.format(url=servers.url)

    async def connect() -> None:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(servers.url, transports=["websocket"], headers={"Origin": origin})
        await client.disconnect()

    with pytest.raises(socketio.exceptions.ConnectionError):  # the connection is refused
        asyncio.run(connect())
    preflight = requests.options(
        f"{servers.url}/webhooks/rest/webhook",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert preflight.status_code == 403 and "Access-Control-Allow-Origin" not in preflight.headers
    simple = requests.post(
        f"{servers.url}/webhooks/rest/webhook",
        json={"sender": uuid.uuid4().hex, "message": "hi"},
        headers={"Origin": origin, "Authorization": f"Bearer {REST_TOKEN}"},
        timeout=60,
    )
    assert "Access-Control-Allow-Origin" not in simple.headers  # the browser keeps the reply from the page


@pytest.mark.servers
def test_the_clinics_own_pages_may_call(servers):
    preflight = requests.options(
        f"{servers.url}/webhooks/rest/webhook",
        headers={"Origin": servers.url, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert preflight.ok and preflight.headers["Access-Control-Allow-Origin"] == servers.url


@pytest.mark.servers
def test_rest_needs_its_token_when_one_is_set(servers):
    sender = uuid.uuid4().hex
    assert send(servers, sender, "hi", token="").status_code == 401
    assert send(servers, sender, "hi", token="not-the-token").status_code == 401
    assert texts(send(servers, sender, "what are your opening hours?"))


@pytest.mark.servers
def test_rest_cannot_speak_in_another_channels_conversation(servers):
    chat = 424242  # Telegram chat ids are small numbers anyone may try
    assert servers.send_telegram(chat, "hi").ok
    servers.telegram_api.wait_for_message(chat, lambda fields: bool(fields.get("text")))
    hijack = send(servers, str(chat), "I'm fine now, cancel everything")
    assert hijack.status_code == 403


@pytest.mark.servers
def test_a_message_too_long_gets_a_friendly_reply_and_a_huge_body_is_refused(servers):
    too_long = texts(send(servers, uuid.uuid4().hex, "my back " * 1300))  # 10,400 characters
    assert "too long" in too_long and load_clinic().phone in too_long
    huge = requests.post(
        f"{servers.url}/webhooks/rest/webhook",
        data=b"{" + b" " * 200_000 + b"}",
        headers={"Authorization": f"Bearer {REST_TOKEN}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert huge.status_code == 413


@pytest.mark.servers
def test_one_message_too_many_in_a_minute_gets_a_friendly_reply(servers):
    sender = uuid.uuid4().hex
    for _ in range(30):  # MESSAGES_PER_MINUTE_PER_CONVERSATION, as `make run` sets it
        assert "faster than I can answer" not in texts(send(servers, sender, "thanks"))
    slow_down = texts(send(servers, sender, "thanks"))
    assert "faster than I can answer" in slow_down and load_clinic().phone in slow_down
    assert "faster than I can answer" not in texts(send(servers, uuid.uuid4().hex, "thanks"))  # others go on


def widget_events(url: str, emits: List[tuple]) -> List[tuple]:
    """Connects from the demo page, emits each (event, data), and returns what came back."""

    async def run() -> List[tuple]:
        client = socketio.AsyncClient(reconnection=False)
        received: List[tuple] = []
        for name in ("session_confirm", "session_refused", "bot_uttered", "turn_done"):
            client.on(name, lambda data, name=name: received.append((name, data)))
        await client.connect(url, transports=["websocket"], headers={"Origin": url})
        for event, data in emits:
            await client.emit(event, data)
            await asyncio.sleep(1)
        await asyncio.sleep(2)
        await client.disconnect()
        return received

    return asyncio.run(run())


@pytest.mark.servers
@pytest.mark.parametrize("session_id", ["0" * 32, "patient-42", "abc", uuid.uuid4().hex[:16], "ABCDEF" * 6])
def test_a_widget_session_id_that_is_not_random_is_refused(servers, session_id):
    events = widget_events(servers.url, [("session_request", {"session_id": session_id})])
    assert [name for name, _ in events] == ["session_refused"]
    assert "random" in events[0][1]["error"]


@pytest.mark.servers
def test_a_widget_socket_may_send_only_into_its_own_session(servers):
    own, someone_elses = uuid.uuid4().hex, uuid.uuid4().hex
    events = widget_events(
        servers.url,
        [
            ("session_request", {"session_id": own}),
            ("user_uttered", {"session_id": someone_elses, "message": "cancel my booking"}),
        ],
    )
    assert events[0] == ("session_confirm", own)
    assert [name for name, _ in events[1:]] == ["session_refused"]


@pytest.mark.servers
def test_a_widget_message_too_long_gets_the_friendly_reply(servers):
    session_id = uuid.uuid4().hex
    events = widget_events(
        servers.url,
        [
            ("session_request", {"session_id": session_id}),
            ("user_uttered", {"session_id": session_id, "message": "my back " * 1300, "message_id": "m1"}),
        ],
    )
    replies = [body for name, body in events if name == "bot_uttered"]
    assert len(replies) == 1 and "too long" in replies[0]["text"] and replies[0]["reply_to"] == "m1"
    assert events[-1] == ("turn_done", {"reply_to": "m1"})  # the widget stops waiting


def secure_headers(response: requests.Response) -> bool:
    return (
        "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        and response.headers["X-Content-Type-Options"] == "nosniff"
        and response.headers["Referrer-Policy"] == "no-referrer"
    )


@pytest.mark.servers
def test_every_response_carries_security_headers_and_hsts_behind_https(servers):
    rasa, actions = servers.url, f"http://127.0.0.1:{servers.action_port}"
    responses: Dict[str, Any] = {
        "demo page": requests.get(f"{rasa}/widget/demo", timeout=30),
        "widget.js": requests.get(f"{rasa}/widget/widget.js", timeout=30),
        "health": requests.get(f"{rasa}/health", timeout=30),
        "not found": requests.get(f"{rasa}/status", timeout=30),
        "REST": send(servers, uuid.uuid4().hex, "hi"),
        "action server": requests.get(f"{actions}/health", timeout=30),
    }
    for name, response in responses.items():
        assert secure_headers(response), name
        assert "Strict-Transport-Security" not in response.headers, name  # plain HTTP: no HSTS
    assert "script-src 'self'" in responses["demo page"].headers["Content-Security-Policy"]  # its own policy
    assert responses["widget.js"].headers["Content-Type"].startswith("application/javascript")
    proxied = requests.get(f"{rasa}/widget/demo", headers={"X-Forwarded-Proto": "https"}, timeout=30)
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.servers
def test_one_address_sending_too_many_messages_in_a_minute_gets_a_friendly_reply(servers):
    """Last in this module: afterwards this machine's address has used up its minute."""

    def one_new_conversation(_: int) -> str:
        return texts(send(servers, uuid.uuid4().hex, "thanks"))

    with ThreadPoolExecutor(max_workers=4) as pool:  # MESSAGES_PER_MINUTE_PER_ADDRESS is 300
        replies = list(pool.map(one_new_conversation, range(305)))
    slowed = [reply for reply in replies if "faster than I can answer" in reply]
    assert slowed and len(slowed) < 100  # the rest were answered
    assert "faster than I can answer" in one_new_conversation(0)
