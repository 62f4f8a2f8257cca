"""Real HTTP servers on loopback in the places of the clinic's outside services: the staff
webhook and Telegram's Bot API."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Tuple
from urllib.parse import parse_qs


class Webhook:
    """A real HTTP server on loopback that records what staff would receive."""

    def __init__(self, failures_before_success: int = 0) -> None:
        self.received: List[Dict[str, Any]] = []
        self.attempts = 0
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                webhook.attempts += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if webhook.attempts <= failures_before_success:
                    self.send_response(500)
                else:
                    webhook.received.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout: float = 30) -> List[Dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matching = [payload for payload in self.received if predicate(payload)]
            if matching:
                return matching
            time.sleep(0.2)
        return []

    def close(self) -> None:
        self.server.shutdown()


class TelegramBotAPI:
    """A Telegram Bot API server on loopback (what `api_url` in the Telegram credentials
    points at): it answers the bot's calls as Telegram does and records what was sent to whom."""

    TOKEN = "123456:clinic-test-token"
    USERNAME = "clinic_test_bot"
    SECRET = "test-secret-token"

    def __init__(self) -> None:
        self.calls: List[Tuple[str, Dict[str, str]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                fields = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                method = self.path.rsplit("/", 1)[-1]
                api.calls.append((method, fields))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"ok": True, "result": api._result(method, fields)}).encode())

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _result(self, method: str, fields: Dict[str, str]) -> Any:
        if method == "getMe":
            return {"id": 123456, "is_bot": True, "first_name": "Clinic", "username": self.USERNAME}
        if method == "sendMessage":
            chat_id = int(fields["chat_id"])
            return {
                "message_id": len(self.calls),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": fields.get("text", ""),
            }
        return True

    def sent_to(self, chat_id: int) -> List[Dict[str, str]]:
        return [
            fields for method, fields in self.calls if method == "sendMessage" and fields["chat_id"] == str(chat_id)
        ]

    def wait_for_message(self, chat_id: int, predicate: Callable[[Dict[str, str]], bool], timeout: float = 60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matching = [fields for fields in self.sent_to(chat_id) if predicate(fields)]
            if matching:
                return matching[0]
            time.sleep(0.2)
        raise AssertionError(f"no such message to chat {chat_id}: {self.sent_to(chat_id)}")

    def credentials(self, rasa_port: int) -> str:
        return (
            "rasa_plugins.channels.telegram.SafetyFirstTelegramInput:\n"
            f'  access_token: "{self.TOKEN}"\n'
            f"  verify: {self.USERNAME}\n"
            f"  webhook_url: http://127.0.0.1:{rasa_port}/webhooks/telegram/webhook\n"
            f"  api_url: {self.url}\n"
            f"  secret_token: {self.SECRET}\n"
        )

    def close(self) -> None:
        self.server.shutdown()


def telegram_update(chat_id: int, text: str) -> Dict[str, Any]:
    """What Telegram posts to the webhook when a person writes to the bot."""
    return {
        "update_id": int(time.time() * 1000) % 2**31,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Pat"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Pat"},
            "text": text,
        },
    }
