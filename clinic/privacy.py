"""Personal data kept only as long as needed: a person's data found, exported or erased, and
the retention rules of clinic/details.yml applied.

Two databases hold personal data: the clinic's records (records.py: bookings, referrals,
escalations) and the conversations in the Rasa server's SQL tracker store (table `events`,
endpoints.yml). Both are reached with SQLAlchemy Core, without Rasa.

Erasing never deletes a request row: it is anonymised (name, phone, e-mail, the person's words
and the conversation id removed), so the clinic's counts and references stay true. What the
clinic must keep is kept and said: a booking it has already confirmed (or completed) and a
referral it has arranged stay whole until the record period ends, and red-flag escalations
stay as the safety record of what the person was told.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from clinic import records
from settings import settings

ERASED = "(erased)"
# The slot action_delete_my_data sets once the person confirmed; the Rasa server's tracker
# store (rasa_plugins/tracker_store.py) then deletes the conversation instead of saving it.
DATA_DELETED_SLOT = "data_deleted"
# Requests the clinic has acted on: kept whole when the person asks for deletion in chat.
KEPT_STATUSES = {"bookings": ("confirmed", "completed"), "referrals": ("arranged",)}
REQUEST_KINDS = ("bookings", "referrals")

# The tracker store's table, as Rasa's SQLTrackerStore creates it (the staff console reads it too).
events = sa.Table(
    "events",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


_conversation_engines: Dict[str, Engine] = {}


def conversations_engine(url: Optional[str] = None) -> Optional[Engine]:
    """The tracker store, writable; None while the assistant has stored nothing there (asked
    again next time, so a job started before the first conversation finds it later)."""
    url = url or settings().conversations_database_url
    if url in _conversation_engines:
        return _conversation_engines[url]
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return None
    created = sa.create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)
    if not sa.inspect(created).has_table("events"):
        created.dispose()
        return None
    _conversation_engines[url] = created
    return created


@dataclass
class Erasure:
    """What an erasure did: the references anonymised, those kept and why, the conversations
    deleted."""

    anonymised: List[str] = field(default_factory=list)
    kept: Dict[str, str] = field(default_factory=dict)  # reference -> why it was kept
    conversations_deleted: int = 0
    escalations_kept: int = 0


def _anonymised_values(table: sa.Table, reference: str) -> Dict[str, Any]:
    values: Dict[str, Any] = {
        "name": ERASED,
        "phone": None,
        "email": None,
        "conversation_id": ERASED,
        "request_key": f"{ERASED}:{reference}",
        "updated_at": dt.datetime.now(dt.timezone.utc),
    }
    if "reason" in table.c:
        values["reason"] = None
    if "symptoms" in table.c:
        values["symptoms"] = ""
    return values


def _anonymise_rows(connection: Connection, kind: str, rows: Sequence[Dict[str, Any]]) -> None:
    table = records.TABLES[kind]
    for row in rows:
        connection.execute(
            table.update().where(table.c.id == row["id"]).values(**_anonymised_values(table, row["reference"]))
        )


def _person_filter(table: sa.Table, phone: Optional[str], email: Optional[str]) -> Any:
    conditions = []
    if phone:
        conditions.append(table.c.phone == phone)
    if email:
        conditions.append(sa.func.lower(table.c.email) == email.lower())
    if not conditions:
        raise ValueError("a phone number or an e-mail address is needed")
    return sa.or_(*conditions)


def _requests(connection: Connection, kind: str, where: Any) -> List[Dict[str, Any]]:
    table = records.TABLES[kind]
    query = table.select().where(where, table.c.name != ERASED).order_by(table.c.id)
    return [dict(row) for row in connection.execute(query).mappings()]


def _why_kept(kind: str, status: str) -> str:
    if kind == "bookings":
        return f"the clinic has already {status} this booking and keeps it for its records"
    return "the clinic has already arranged this referral and keeps it for its records"


def delete_conversations(sender_ids: Sequence[str], tracker_db: Optional[Engine] = None) -> int:
    """Deletes every event of these conversations; returns how many conversations had any."""
    tracker_db = tracker_db or conversations_engine()
    if tracker_db is None or not sender_ids:
        return 0
    with tracker_db.begin() as connection:
        found = connection.execute(
            sa.select(sa.func.count(sa.distinct(events.c.sender_id))).where(events.c.sender_id.in_(sender_ids))
        ).scalar_one()
        connection.execute(events.delete().where(events.c.sender_id.in_(sender_ids)))
    return int(found)


def erase_conversation_requests(conversation_id: str, db: Optional[Engine] = None) -> Erasure:
    """A person's "delete my data" in chat: anonymises the requests made in this conversation,
    keeping those the clinic has acted on. (The Rasa server deletes the conversation itself,
    rasa_plugins/tracker_store.py.)"""
    erasure = Erasure()
    with (db or records.engine()).begin() as connection:
        for kind in REQUEST_KINDS:
            table = records.TABLES[kind]
            rows = _requests(connection, kind, table.c.conversation_id == conversation_id)
            kept = [row for row in rows if row["status"] in KEPT_STATUSES[kind]]
            erasure.kept.update({row["reference"]: _why_kept(kind, row["status"]) for row in kept})
            erased = [row for row in rows if row not in kept]
            _anonymise_rows(connection, kind, erased)
            erasure.anonymised.extend(row["reference"] for row in erased)
        erasure.escalations_kept = connection.execute(
            sa.select(sa.func.count())
            .select_from(records.escalations)
            .where(records.escalations.c.conversation_id == conversation_id)
        ).scalar_one()
    return erasure


def _conversation_texts(sender_ids: Sequence[str], tracker_db: Optional[Engine]) -> Dict[str, List[Dict[str, Any]]]:
    if tracker_db is None or not sender_ids:
        return {}
    query = (
        sa.select(events.c.sender_id, events.c.timestamp, events.c.type_name, events.c.data)
        .where(events.c.sender_id.in_(sender_ids), events.c.type_name.in_(("user", "bot")))
        .order_by(events.c.id)
    )
    texts: Dict[str, List[Dict[str, Any]]] = {sender_id: [] for sender_id in sender_ids}
    with tracker_db.connect() as connection:
        for row in connection.execute(query):
            text = json.loads(row.data or "{}").get("text")
            if text:
                when = dt.datetime.fromtimestamp(row.timestamp or 0, dt.timezone.utc).isoformat()
                texts[row.sender_id].append({"at": when, "from": row.type_name, "text": text})
    return {sender_id: turns for sender_id, turns in texts.items() if turns}


def export_person(
    phone: Optional[str] = None,
    email: Optional[str] = None,
    db: Optional[Engine] = None,
    tracker_db: Optional[Engine] = None,
) -> Dict[str, Any]:
    """Everything held about the person with this phone or e-mail (an access request): their
    booking and referral requests, the escalations and the conversations those were made in."""
    with (db or records.engine()).connect() as connection:
        found = {
            kind: _requests(connection, kind, _person_filter(records.TABLES[kind], phone, email))
            for kind in REQUEST_KINDS
        }
        conversation_ids = sorted({row["conversation_id"] for rows in found.values() for row in rows})
        escalation_rows = connection.execute(
            records.escalations.select()
            .where(records.escalations.c.conversation_id.in_(conversation_ids))
            .order_by(records.escalations.c.id)
        ).mappings()
        escalations = [{**dict(row), "matched": json.loads(row["matched"])} for row in escalation_rows]
    return {
        **{kind: [records.as_plain(row) for row in rows] for kind, rows in found.items()},
        "escalations": [records.as_plain(row) for row in escalations],
        "conversations": _conversation_texts(conversation_ids, tracker_db or conversations_engine()),
    }


def erase_person(
    phone: Optional[str] = None,
    email: Optional[str] = None,
    db: Optional[Engine] = None,
    tracker_db: Optional[Engine] = None,
) -> Erasure:
    """Staff answering an erasure request: every request with this phone or e-mail is
    anonymised and the conversations they were made in are deleted. Red-flag escalations are
    kept as the safety record (counted in the result)."""
    erasure = Erasure()
    with (db or records.engine()).begin() as connection:
        conversation_ids: Set[str] = set()
        for kind in REQUEST_KINDS:
            rows = _requests(connection, kind, _person_filter(records.TABLES[kind], phone, email))
            conversation_ids.update(row["conversation_id"] for row in rows)
            _anonymise_rows(connection, kind, rows)
            erasure.anonymised.extend(row["reference"] for row in rows)
        erasure.escalations_kept = connection.execute(
            sa.select(sa.func.count())
            .select_from(records.escalations)
            .where(records.escalations.c.conversation_id.in_(conversation_ids))
        ).scalar_one()
    erasure.conversations_deleted = delete_conversations(sorted(conversation_ids), tracker_db)
    return erasure


@dataclass
class Retention:
    conversations_deleted: int
    requests_anonymised: int
    escalations_anonymised: int


def apply_retention(
    retention_days: int,
    records_kept_days: int,
    now: Optional[dt.datetime] = None,
    db: Optional[Engine] = None,
    tracker_db: Optional[Engine] = None,
) -> Retention:
    """Deletes conversations whose last event is older than ``retention_days`` and anonymises
    requests and escalations made more than ``records_kept_days`` ago."""
    now = now or dt.datetime.now(dt.timezone.utc)
    conversations_deleted = 0
    tracker_db = tracker_db or conversations_engine()
    if tracker_db is not None:
        cutoff = (now - dt.timedelta(days=retention_days)).timestamp()
        expired = (
            sa.select(events.c.sender_id).group_by(events.c.sender_id).having(sa.func.max(events.c.timestamp) < cutoff)
        )
        with tracker_db.connect() as connection:
            sender_ids = list(connection.execute(expired).scalars())
        conversations_deleted = delete_conversations(sender_ids, tracker_db)
    records_cutoff = now - dt.timedelta(days=records_kept_days)
    requests_anonymised = 0
    with (db or records.engine()).begin() as connection:
        for kind in REQUEST_KINDS:
            table = records.TABLES[kind]
            rows = _requests(connection, kind, table.c.created_at < records_cutoff)
            _anonymise_rows(connection, kind, rows)
            requests_anonymised += len(rows)
        escalations = records.escalations
        escalations_anonymised = connection.execute(
            escalations.update()
            .where(escalations.c.created_at < records_cutoff, escalations.c.conversation_id != ERASED)
            .values(conversation_id=ERASED, message="", matched="[]")
        ).rowcount
    return Retention(conversations_deleted, requests_anonymised, escalations_anonymised)
