"""The cluster `make cluster` starts (scripts/cluster.py): PostgreSQL, Redis, two Rasa replicas
with their action servers, haproxy in front. Every message goes through haproxy, as a
patient's would; the checks read what a patient or the clinic would see: replies, the stored
conversation, the booking rows.

The tests share one cluster and run in this order; the last ones take servers down for good.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List

import aiohttp
import pytest
import requests
import socketio

from clinic import records
from clinic.details import load_clinic
from scripts.cluster import Cluster
from scripts.processes import free_port
from settings import MODEL_FILE, publish_token, settings
from staff import releases
from tests.staff.test_releases import version_of

pytestmark = pytest.mark.servers
CONVERSATIONS = 32
UNAVAILABLE = "can't take requests right now"

API_TOKEN = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    for program in ("redis-server", "haproxy"):
        if not shutil.which(program):
            message = f"{program} is not installed (apt-get install redis-server haproxy; .ci/run does it)"
            pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    workdir = tmp_path_factory.mktemp("cluster")
    env = {
        "VERSIONS_DIR": str(workdir / "versions"),
        "PUBLISH_TOKEN_FILE": str(workdir / "publish.token"),
        # The tests read stored conversations through the HTTP API, as an operator would.
        "RASA_API_TOKEN": API_TOKEN,
        # Every test's patients write from this one machine, as fast as it answers; the limits,
        # counted across the replicas, are tested in tests/security/ and tests/web/.
        "MESSAGES_PER_MINUTE_PER_ADDRESS": "100000",
        "MESSAGES_PER_MINUTE_PER_CONVERSATION": "100000",
    }
    running = Cluster(workdir, port=free_port(), staff_port=free_port(), env=env)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def post(cluster: Cluster, sender: str, message: str, timeout: float = 120) -> requests.Response:
    response = requests.post(
        f"{cluster.url}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=timeout
    )
    response.raise_for_status()
    return response


def send(cluster: Cluster, sender: str, message: str, timeout: float = 120) -> List[Dict[str, Any]]:
    return post(cluster, sender, message, timeout).json()


def text(replies: List[Dict[str, Any]]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


def user_messages(cluster: Cluster, sender: str) -> List[str]:
    """The person's messages as the conversation store holds them, in order."""
    tracker = requests.get(
        f"{cluster.url}/conversations/{sender}/tracker", params={"token": API_TOKEN}, timeout=30
    ).json()
    return [event["text"] for event in tracker["events"] if event["event"] == "user"]


def bookings(cluster: Cluster) -> List[Dict[str, Any]]:
    return records.list_records("bookings", db=records.engine(cluster.database_url))


BOOKING = [
    ("I'd like to book a deep tissue massage next Tuesday afternoon", "What name"),
    ("Maria O'Neill", "How can the clinic reach you"),
    ("(415) 555-2671", "Anything you'd like the therapist to know"),
    ("skip", "Shall I send it"),
    ("/confirm_booking", "within one working day"),
]


def book(cluster: Cluster, sender: str) -> List[str]:
    """A whole booking; returns the replicas that answered its turns."""
    served_by = []
    for message, expected in BOOKING:
        response = post(cluster, sender, message)
        assert expected in text(response.json()), (sender, message, response.json())
        served_by.append(response.headers["X-Served-By"])
    return served_by


def test_32_conversations_at_once_across_both_replicas_are_stored_once_in_order_and_book_once(cluster):
    senders = [f"cl-{uuid.uuid4().hex[:8]}" for _ in range(CONVERSATIONS)]
    with ThreadPoolExecutor(CONVERSATIONS) as pool:
        served_by = {
            replica for replicas in pool.map(lambda sender: book(cluster, sender), senders) for replica in replicas
        }
        # A double click on every confirmation, at once: still one booking each.
        again = list(pool.map(lambda sender: text(send(cluster, sender, "/confirm_booking")), senders))
    assert all("already with the clinic" in reply for reply in again)

    sent = [message for message, _ in BOOKING] + ["/confirm_booking"]
    for sender in senders:
        assert user_messages(cluster, sender) == sent
    stored = [row["conversation_id"] for row in bookings(cluster)]
    assert sorted(stored) == sorted(senders)
    assert served_by == {replica.name for replica in cluster.replicas}  # haproxy spread the turns


def test_a_publish_reaches_both_replicas_while_patients_keep_getting_answers(cluster, monkeypatch):
    monkeypatch.setenv("RASA_SERVER_URLS", cluster.replica_urls)
    for name in ("VERSIONS_DIR", "PUBLISH_TOKEN_FILE"):
        monkeypatch.setenv(name, cluster.env[name])
    settings.cache_clear()
    version = version_of(MODEL_FILE, "maria", {"passed": True, "reasons": []})
    answers: List[str] = []
    with ThreadPoolExecutor(1) as pool:
        publishing = pool.submit(releases.publish, version.id, "maria")
        while not publishing.done():
            answers.append(text(send(cluster, f"pub-{uuid.uuid4().hex[:8]}", "what is deep tissue massage?")))
        publishing.result()
    settings.cache_clear()
    assert answers and all(answers)
    token = {"Authorization": f"Bearer {publish_token()}"}
    for replica in cluster.replicas:
        status = requests.get(f"{replica.url}/webhooks/model/status", headers=token, timeout=30).json()
        assert [worker["model"] for worker in status["workers"]] == [version.model.name], replica.name


def test_with_redis_down_the_assistant_says_it_cannot_answer_and_recovers_when_it_is_back(cluster):
    sender = f"rd-{uuid.uuid4().hex[:8]}"
    assert "massage" in text(send(cluster, sender, "how often should I get a massage?"))
    booked_before = len(bookings(cluster))
    cluster.redis.stop()
    try:
        reply = text(send(cluster, sender, "what are your opening hours?", timeout=60))
        assert UNAVAILABLE in reply and load_clinic().phone in reply
    finally:
        cluster.redis.start()
    assert "Monday" in text(send(cluster, sender, "what are your opening hours?"))
    assert len(bookings(cluster)) == booked_before


def test_a_postgres_restart_loses_no_confirmed_booking_and_the_conversation_goes_on(cluster):
    sender = f"pg-{uuid.uuid4().hex[:8]}"
    booked_before = {row["reference"] for row in bookings(cluster)}
    for message, expected in BOOKING[:-1]:
        assert expected in text(send(cluster, sender, message))
    assert cluster.postgres is not None
    cluster.postgres.halt()
    try:
        assert UNAVAILABLE in text(send(cluster, sender, "/confirm_booking", timeout=60))
    finally:
        cluster.postgres.start()
    # The first turn after the restart may meet a connection the restart cut: a clear reply, not silence.
    first = text(send(cluster, sender, "/confirm_booking"))
    assert "within one working day" in first or UNAVAILABLE in first
    if UNAVAILABLE in first:
        assert "within one working day" in text(send(cluster, sender, "/confirm_booking"))
    after = {row["reference"]: row for row in bookings(cluster)}
    assert booked_before <= set(after)
    assert [row["conversation_id"] for row in after.values()].count(sender) == 1


# Seconds after a replica's kill by which its processes are gone and haproxy sends nothing to it
# (deploy/haproxy.cfg: a refused connection is retried on the other replica at once).
SETTLED_AFTER_A_KILL = 5


def test_kill_9_of_a_replica_under_load_only_fails_the_turns_in_flight_and_the_widget_reconnects(cluster):
    senders = [f"k9-{uuid.uuid4().hex[:8]}" for _ in range(8)]
    for sender in senders:
        send(cluster, sender, "hello")
    # When each failed turn failed (time.monotonic()), per conversation.
    failures: Dict[str, List[float]] = {sender: [] for sender in senders}
    stop = threading.Event()

    def keep_talking(sender: str) -> None:
        while not stop.is_set():
            try:
                send(cluster, sender, "how often should I get a massage?")
            except requests.RequestException:
                failures[sender].append(time.monotonic())

    widget = WidgetChat(cluster.url)
    widget.start()
    assert "virtual assistant" in widget.say("hi")
    victim = next(replica for replica in cluster.replicas if replica.name == widget.replica())
    with ThreadPoolExecutor(len(senders)) as pool:
        talking = [pool.submit(keep_talking, sender) for sender in senders]
        time.sleep(10)
        killed_at = time.monotonic()
        os.kill(victim.rasa_pid(), signal.SIGKILL)
        time.sleep(20)
        stop.set()
        for future in talking:
            future.result()
    # Only turns the dying replica had taken failed: none before the kill, none once its
    # processes were gone (a worker outlives its supervisor by moments: PR_SET_PDEATHSIG, so a
    # conversation may lose the turn in flight and the one it sent straight after). Everything
    # later went to the other replica (haproxy retries a refused connection elsewhere).
    after_the_kill = {sender: [round(m - killed_at, 2) for m in moments] for sender, moments in failures.items()}
    assert all(0 <= m <= SETTLED_AFTER_A_KILL for moments in after_the_kill.values() for m in moments), after_the_kill
    # A few at most: without haproxy's retry of a refused connection, each conversation would
    # fail every other turn until the health check (1 s apart, 2 misses) took the replica out.
    assert all(len(moments) <= 3 for moments in after_the_kill.values()), after_the_kill
    for sender in senders:
        reply = text(send(cluster, sender, "what are your opening hours?"))
        assert "Monday" in reply
        history = user_messages(cluster, sender)
        assert history[0] == "hello" and history[-1] == "what are your opening hours?"
    # The widget's conversation reconnected to the other replica, with its history.
    assert "Monday" in widget.say("what are your opening hours?")
    assert widget.replica() != victim.name
    assert user_messages(cluster, widget.session_id)[:1] == ["hi"]
    widget.stop()


def test_with_the_action_server_down_every_message_still_gets_a_reply(cluster):
    # After the previous test only one replica answers; its action server is stopped now.
    survivor = next(replica for replica in cluster.replicas if replica.ready())
    os.kill(survivor.action_pid(), signal.SIGTERM)
    sender = f"ac-{uuid.uuid4().hex[:8]}"
    reply = text(send(cluster, sender, "I want to book a massage"))
    assert UNAVAILABLE in reply and load_clinic().phone in reply
    assert "massage every two to three weeks" in text(send(cluster, sender, "how often should I get a massage?"))
    emergency = send(cluster, sender, "since this morning i've lost control of my bladder and my back is agony")
    assert load_clinic().emergency_number in text(emergency) and UNAVAILABLE not in text(emergency)


class WidgetChat:
    """The widget's socket.io conversation over long-polling (the transport that needs a sticky
    balancer), in a thread of its own; reconnects by itself as the widget does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session_id = uuid.uuid4().hex
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.replies: List[str] = []

    def _run(self, coroutine: Any, timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self) -> None:
        self.thread.start()
        self._run(self._connect())

    async def _connect(self) -> None:
        # Cookies from 127.0.0.1 too: haproxy's stickiness cookie.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.client = socketio.AsyncClient(http_session=self.http, reconnection_delay_max=2)

        @self.client.on("connect")
        async def on_connect() -> None:
            await self.client.emit("session_request", {"session_id": self.session_id})

        @self.client.on("bot_uttered")
        async def on_bot_uttered(data: Dict[str, Any]) -> None:
            self.replies.append(data.get("text", ""))

        await self.client.connect(self.url, socketio_path="/socket.io", transports=["polling"])

    def say(self, message: str, timeout: float = 120) -> str:
        """Sends the message, and sends it again (marked, as the widget does) while no reply
        comes, e.g. during a reconnection; the assistant handles it once."""
        before = len(self.replies)
        body = {"message": message, "session_id": self.session_id, "message_id": uuid.uuid4().hex}
        deadline = time.monotonic() + timeout
        while len(self.replies) == before and time.monotonic() < deadline:
            try:
                self._run(self.client.emit("user_uttered", body))
                body["resend"] = True
            except Exception:  # still reconnecting
                time.sleep(1)
                continue
            waiting_until = time.monotonic() + 20
            while len(self.replies) == before and time.monotonic() < min(waiting_until, deadline):
                time.sleep(0.2)
        time.sleep(1)  # the rest of the reply
        return "\n".join(self.replies[before:])

    def replica(self) -> str:
        cookies = {cookie.key: cookie.value for cookie in self.http.cookie_jar}
        return cookies["RASA_REPLICA"]

    def stop(self) -> None:
        self._run(self.client.disconnect())
        self._run(self.http.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
