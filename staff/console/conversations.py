"""The conversations the assistant keeps (Rasa's SQL tracker store, endpoints.yml), read for
staff: which ones need a look (the inbox) and every turn of one.

Read straight from the tracker store's `events` table, each row one of Rasa's events as JSON,
so the console needs neither Rasa nor the running assistant. It never writes there.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic.privacy import events
from knowledge import topics_by_id
from red_flags.contract import CHECK, ESCALATION_INTENTS, INTENT_FOR_LEVEL, escalation_in, finding_in

# Why a conversation is in the inbox, in the order the filters are offered.
FALLBACK = "fallback"
LOW_CONFIDENCE = "low-confidence"
ESCALATION = "escalation"
ABANDONED_FORM = "abandoned-form"
REASONS = {
    FALLBACK: "Not understood, or “did you mean”",
    LOW_CONFIDENCE: "Answered with low confidence",
    ESCALATION: "Red-flag escalation",
    ABANDONED_FORM: "Booking or referral left unfinished",
}
# The names domain.yml and config.yml give these.
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = frozenset({"action_clarify_topic", "action_default_fallback"})
WATCHED_FORMS = frozenset({"booking_form", "referral_form"})
# A "yes" to the follow-up question about serious signs escalates as URGENT in the action
# server (actions/red_flags.py), though the message itself carries no red flag.
ESCALATION_ACTIONS = frozenset({"action_hold_as_urgent"})
NAME_SLOT = "patient_name"  # what the booking and referral forms store as the person's name
# Intents whose confidence says nothing about an answer: red flags (set by rule, not by the
# model) and the fallback itself (listed as a fallback).
_NOT_MODEL_ANSWERS = ESCALATION_INTENTS | {INTENT_FOR_LEVEL[CHECK], FALLBACK_INTENT}
_SILENT_ACTIONS = {"action_listen"}


@functools.cache
def engine(url: str) -> Optional[Engine]:
    """The tracker store, read-only for SQLite; None while the assistant has stored nothing."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :]).resolve()
        if not path.exists():
            return None
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    created = sa.create_engine(url, future=True, pool_pre_ping=True)
    return created if sa.inspect(created).has_table("events") else None


def _time(timestamp: Optional[float]) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp or 0, dt.timezone.utc)


@dataclass
class Summary:
    """One conversation in the inbox."""

    conversation_id: str
    last_active: dt.datetime
    messages: int = 0
    reasons: List[str] = field(default_factory=list)


@dataclass
class Reply:
    text: str
    buttons: List[str]


@dataclass
class Turn:
    """A message from the person (None for what the assistant did before the first one), how the
    assistant read it, and what it did and said in answer."""

    time: dt.datetime
    text: Optional[str] = None
    channel: str = ""
    intent: str = ""
    intent_confidence: Optional[float] = None
    topic: str = ""
    topic_confidence: Optional[float] = None
    red_flag: Optional[Dict[str, Any]] = None
    actions: List[str] = field(default_factory=list)
    replies: List[Reply] = field(default_factory=list)
    event_index: Optional[int] = None  # where the person's message is among the stored events


@dataclass
class Conversation:
    conversation_id: str
    turns: List[Turn]
    names: List[str]  # the names the assistant stored for the person, for masking


def _faq_answer(parse_data: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The response selector's pick for a retrieval intent (a FAQ topic), if the message had one."""
    intent = (parse_data.get("intent") or {}).get("name")
    return ((parse_data.get("response_selector") or {}).get(intent) or {}).get("response") or None


def topic_title(intent_response_key: str) -> str:
    """ "faq/how_often_massage" -> the topic's title in knowledge/, or its id if it has none."""
    topic_id = intent_response_key.split("/", 1)[-1]
    topic = topics_by_id().get(topic_id)
    return topic.title if topic else topic_id


def _is_low_confidence(parse_data: Dict[str, Any], threshold: float) -> bool:
    intent = parse_data.get("intent") or {}
    if intent.get("name") in _NOT_MODEL_ANSWERS or intent.get("confidence") is None:
        return False
    answer = _faq_answer(parse_data)
    confidences = [intent["confidence"]] + ([answer["confidence"]] if answer and "confidence" in answer else [])
    return min(confidences) < threshold


class _Reader:
    """Follows one conversation's events and notes why it needs a look."""

    def __init__(self, conversation_id: str, low_confidence: float) -> None:
        self.summary = Summary(conversation_id, _time(0))
        self.low_confidence = low_confidence
        self.open_form: Optional[str] = None
        self.reasons: set[str] = set()

    def read(self, type_name: str, timestamp: float, action_name: Optional[str], data: Optional[str]) -> None:
        self.summary.last_active = max(self.summary.last_active, _time(timestamp))
        if type_name == "user":
            self.summary.messages += 1
            parse_data = (json.loads(data or "{}").get("parse_data")) or {}
            if (parse_data.get("intent") or {}).get("name") == FALLBACK_INTENT:
                self.reasons.add(FALLBACK)
            if _is_low_confidence(parse_data, self.low_confidence):
                self.reasons.add(LOW_CONFIDENCE)
            if escalation_in(parse_data):
                self.reasons.add(ESCALATION)
        elif type_name == "action" and action_name in FALLBACK_ACTIONS:
            self.reasons.add(FALLBACK)
        elif type_name == "action" and action_name in ESCALATION_ACTIONS:
            self.reasons.add(ESCALATION)
        elif type_name == "active_loop":
            # A form is closed by an active_loop event without a name, whether it was completed,
            # stopped by the person, or left for a red flag; a new session drops it unclosed.
            if self.open_form and action_name not in WATCHED_FORMS:
                self.open_form = None
            if action_name in WATCHED_FORMS:
                self.open_form = action_name
        elif type_name == "session_started" and self.open_form:
            self.reasons.add(ABANDONED_FORM)
            self.open_form = None

    def finish(self, now: dt.datetime, abandoned_after: dt.timedelta) -> Summary:
        if self.open_form and now - self.summary.last_active >= abandoned_after:
            self.reasons.add(ABANDONED_FORM)
        self.summary.reasons = [reason for reason in REASONS if reason in self.reasons]
        return self.summary


def inbox(
    db: Optional[Engine],
    now: dt.datetime,
    low_confidence: float,
    abandoned_after: dt.timedelta,
    since: dt.datetime,
    reason: Optional[str] = None,
) -> List[Summary]:
    """Conversations active since ``since`` that need a look (only those for ``reason`` when
    given), most recently active first."""
    if db is None:
        return []
    query = (
        sa.select(
            events.c.sender_id,
            events.c.type_name,
            events.c.timestamp,
            events.c.action_name,
            # Only the person's messages are needed whole (how they were read).
            sa.case((events.c.type_name == "user", events.c.data), else_=None).label("data"),
        )
        .where(events.c.type_name.in_(("user", "action", "active_loop", "session_started")))
        .where(events.c.timestamp >= since.timestamp())
        .order_by(events.c.id)
    )
    readers: Dict[str, _Reader] = {}
    with db.connect() as connection:
        for row in connection.execute(query):
            if row.sender_id not in readers:
                readers[row.sender_id] = _Reader(row.sender_id, low_confidence)
            readers[row.sender_id].read(row.type_name, row.timestamp, row.action_name, row.data)
    summaries = [reader.finish(now, abandoned_after) for reader in readers.values()]
    wanted = [s for s in summaries if (reason in s.reasons if reason else s.reasons)]
    return sorted(wanted, key=lambda summary: summary.last_active, reverse=True)


def _turn_for(event: Dict[str, Any], index: int) -> Turn:
    parse_data = event.get("parse_data") or {}
    intent = parse_data.get("intent") or {}
    answer = _faq_answer(parse_data) or {}
    return Turn(
        time=_time(event.get("timestamp")),
        text=event.get("text") or "",
        channel=event.get("input_channel") or "",
        intent=intent.get("name") or "",
        intent_confidence=intent.get("confidence"),
        topic=topic_title(answer["intent_response_key"]) if answer.get("intent_response_key") else "",
        topic_confidence=answer.get("confidence"),
        red_flag=finding_in(parse_data),
        event_index=index,
    )


def _buttons(event: Dict[str, Any]) -> List[str]:
    return [str(button.get("title", "")) for button in (event.get("data") or {}).get("buttons") or []]


def stored_events(db: Optional[Engine], conversation_id: str) -> List[Dict[str, Any]]:
    """One conversation's events as Rasa stored them, in order; none when nothing is stored."""
    if db is None:
        return []
    query = sa.select(events.c.data).where(events.c.sender_id == conversation_id).order_by(events.c.id)
    with db.connect() as connection:
        return [json.loads(data) for data in connection.execute(query).scalars()]


def conversation(db: Optional[Engine], conversation_id: str) -> Optional[Conversation]:
    """Every turn of one conversation, in order; None when nothing is stored under that id."""
    return conversation_of(conversation_id, stored_events(db, conversation_id))


def conversation_of(conversation_id: str, stored: List[Dict[str, Any]]) -> Optional[Conversation]:
    if not stored:
        return None
    turns: List[Turn] = []
    names: List[str] = []
    for index, event in enumerate(stored):
        kind = event.get("event")
        if kind == "user":
            turns.append(_turn_for(event, index))
            continue
        if not turns:
            turns.append(Turn(time=_time(event.get("timestamp"))))
        if kind == "action" and event.get("name") not in _SILENT_ACTIONS:
            turns[-1].actions.append(str(event.get("name")))
        elif kind == "active_loop":
            form = event.get("name")
            turns[-1].actions.append(f"{form} started" if form else "form closed")
        elif kind == "bot":
            turns[-1].replies.append(Reply(event.get("text") or "", _buttons(event)))
        elif kind == "slot" and event.get("name") == NAME_SLOT and isinstance(event.get("value"), str):
            names.append(event["value"])
    return Conversation(conversation_id, turns, names)
