"""What every chat channel checks before a message reaches the assistant: its length, and how
many messages its conversation and its sender's address sent in the last minute (web/limits.py,
counted where every Rasa process sees the count). A message refused here gets a friendly reply in the channel's usual
shape, never an error, so a person who types fast or pastes a whole letter is told what to do;
the words are with the widget's, in widget/texts.json (`too_long`, `slow_down`).
"""

from __future__ import annotations

import json
from typing import Dict, Optional

from sanic.request import Request

from clinic.details import load_clinic
from settings import PROJECT_DIR, Settings
from web.limits import RateLimiter, shared_counts

TEXTS_FILE = PROJECT_DIR / "widget" / "texts.json"


class MessageGuard:
    def __init__(self, config: Settings) -> None:
        self.max_characters = config.max_message_characters
        counts = shared_counts(config.redis_url, config.lock_sqlite_file)
        self.per_conversation = RateLimiter("conversation", config.messages_per_minute_per_conversation, counts)
        self.per_address = RateLimiter("address", config.messages_per_minute_per_address, counts)
        texts: Dict[str, str] = json.loads(TEXTS_FILE.read_text(encoding="utf-8"))
        phone = load_clinic().phone
        self.too_long = texts["too_long"].format(limit=f"{self.max_characters:,}", phone=phone)
        self.slow_down = texts["slow_down"].format(phone=phone)

    def refusal(self, conversation_id: str, address: Optional[str], text: str) -> Optional[str]:
        """The friendly reply to a message that may not go on to the assistant, or None."""
        if len(text) > self.max_characters:
            return self.too_long
        if not self.per_conversation.allow(conversation_id):
            return self.slow_down
        if address is not None and not self.per_address.allow(address):
            return self.slow_down
        return None


def client_address(request: Request) -> str:
    """The sender's address: the one the TLS proxy in front reports when Sanic is told to trust
    it (SANIC_PROXIES_COUNT, SANIC_REAL_IP_HEADER or SANIC_FORWARDED_SECRET), else the peer's."""
    return str(request.remote_addr or request.ip)
