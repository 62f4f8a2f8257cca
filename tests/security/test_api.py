"""The HTTP API switched on for an operator (RASA_JWT_SECRET and RASA_API_TOKEN, as the test
harness sets them): every call but /health needs the token or a JWT signed with the secret, and
the token never reaches a log."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import jwt
import pytest
import requests

JSON = {"Accept": "application/json"}  # /domain answers 406 without it


def signed(secret: str, role: str = "admin", username: str = "operator") -> dict[str, str]:
    token = jwt.encode({"user": {"username": username, "role": role}, "exp": int(time.time()) + 600}, secret, "HS256")
    return {"Authorization": f"Bearer {token}", **JSON}


@pytest.mark.parametrize("path", ["/status", "/domain", "/conversations/someone/tracker"])
def test_the_api_needs_a_token_or_a_jwt_signed_with_the_secret(assistant, path):
    url = f"{assistant.url}{path}"
    assert requests.get(url, headers=JSON, timeout=30).status_code == 401
    assert requests.get(url, headers=JSON, params={"token": "x" * 43}, timeout=30).status_code == 401
    assert requests.get(url, headers=signed("another-secret-of-forty-characters-long!"), timeout=30).status_code == 401
    assert requests.get(url, headers=signed(assistant.env["RASA_JWT_SECRET"]), timeout=30).ok
    assert requests.get(url, headers=JSON, params={"token": assistant.env["RASA_API_TOKEN"]}, timeout=30).ok


def test_a_jwt_for_one_person_reads_only_their_conversation(assistant):
    own = signed(assistant.env["RASA_JWT_SECRET"], role="user", username="visitor-1")
    assert requests.get(f"{assistant.url}/conversations/visitor-1/tracker", headers=own, timeout=30).ok
    other = requests.get(f"{assistant.url}/conversations/visitor-2/tracker", headers=own, timeout=30)
    assert other.status_code == 403


def test_no_secret_reaches_the_log_or_a_command_line(assistant):
    token = assistant.env["RASA_API_TOKEN"]
    marker = "/conversations/log-check-conversation/tracker"
    assert requests.get(f"{assistant.url}{marker}", params={"token": token}, timeout=30).ok
    deadline = time.monotonic() + 10
    while marker not in assistant.log_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)  # the access log line is written after the answer
    log = assistant.log_file.read_text()
    assert marker in log  # the access log is on and saw the call ...
    assert token not in log  # ... without its query string
    booking = assistant.send("log-check", "book a massage")  # the action server is called with its secret
    assert "Which treatment" in " ".join(reply.get("text", "") for reply in booking)
    secrets = [assistant.env[name] for name in ("RASA_API_TOKEN", "RASA_JWT_SECRET", "ACTION_SERVER_SECRET")]
    command_lines = list(running_command_lines())
    for secret in secrets:
        assert secret not in assistant.log_file.read_text()  # no log shows it
        assert not any(secret in line for line in command_lines)  # where `ps` would show it


def running_command_lines() -> Iterator[str]:
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            yield path.read_bytes().decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
