"""Chatting with a version in the console before it is published: its model loaded with Rasa's
own Agent in the console process, with the project's response generator (so replies carry the
clinic's details) and the red-flag layer, which is part of the model, so escalations show too.

Custom actions are not run: they would record bookings and escalations in the clinic database
and notify staff as if a patient had written. A preview shows which actions the version chose.
Only one model is kept loaded at a time (each takes hundreds of megabytes).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from staff import releases

RESPONSE_GENERATOR = "rasa_plugins.response_generator.ClinicResponseGenerator"  # as endpoints.yml names it
TURNS_KEPT = 30  # of one person's preview of one version
SILENT_ACTIONS = {"action_listen", "action_session_start"}  # what every turn does, said nowhere


@dataclass
class PreviewTurn:
    text: str
    replies: List[str] = field(default_factory=list)
    escalation: str = ""  # the red-flag level of an escalating reply
    actions: List[str] = field(default_factory=list)


class Previews:
    def __init__(self) -> None:
        self._agent: Any = None
        self._version_id: Optional[str] = None
        self._loading = threading.Lock()
        self.transcripts: Dict[Tuple[str, str], List[PreviewTurn]] = {}

    def _load(self, version: releases.Version) -> Any:
        with self._loading:
            if self._version_id != version.id:
                from rasa.core.agent import Agent  # Rasa only in the console process that previews
                from rasa.utils.common import configure_logging_and_warnings
                from rasa.utils.endpoints import EndpointConfig
                from rasa.utils.log_utils import configure_structlog

                # Rasa logs every prediction otherwise, patients' test messages included.
                configure_logging_and_warnings(logging.WARNING)
                configure_structlog(logging.WARNING)
                self._agent = None  # let the previous model go before loading the next
                self._agent = Agent.load(str(version.model), generator=EndpointConfig(type=RESPONSE_GENERATOR))
                self._version_id = version.id
            return self._agent

    async def say(self, version: releases.Version, account_name: str, text: str) -> PreviewTurn:
        agent = await asyncio.to_thread(self._load, version)
        # Each person's preview of each version is its own conversation, kept in memory.
        sender_id = f"staff-preview:{account_name}:{version.id}"
        tracker_before = await agent.tracker_store.retrieve(sender_id)
        seen = len(tracker_before.events) if tracker_before else 0
        messages = await agent.handle_text(text, sender_id=sender_id) or []
        turn = PreviewTurn(text)
        for message in messages:
            custom = message.get("custom") or {}
            red_flag = custom.get("red_flag") if isinstance(custom, dict) else None
            if red_flag:
                turn.escalation = str(red_flag.get("level", ""))
            if message.get("text"):
                buttons = [str(b.get("title")) for b in message.get("buttons") or []]
                turn.replies.append(message["text"] + (f"  [buttons: {' · '.join(buttons)}]" if buttons else ""))
        tracker = await agent.tracker_store.retrieve(sender_id)
        turn.actions = [
            event.action_name
            for event in list(tracker.events)[seen:]
            if getattr(event, "type_name", "") == "action" and event.action_name not in SILENT_ACTIONS
        ]
        transcript = self.transcripts.setdefault((account_name, version.id), [])
        transcript.append(turn)
        del transcript[:-TURNS_KEPT]
        return turn

    def transcript(self, account_name: str, version_id: str) -> List[PreviewTurn]:
        return self.transcripts.get((account_name, version_id), [])
