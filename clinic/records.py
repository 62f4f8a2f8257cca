"""The clinic's own records in one SQL database: escalations, booking requests, referrals.

SQLAlchemy Core; an SQLite file by default, PostgreSQL when DATABASE_URL is set
(settings.py). The schema is made by the Alembic migrations in migrations/, applied
when the engine is first used; the engine is never created at import time.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from clinic.references import BOOKING, KIND_OF_PREFIX, REFERRAL, new_reference
from settings import settings

logger = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MAX_MESSAGE_LENGTH = 10_000  # longer messages are cut, never rejected: the escalation counts
REFERENCE_ATTEMPTS = 20  # new references tried when one is already taken
REQUESTED, CANCELLED = "requested", "cancelled"
# Where a request can stand; staff move it on with `python -m staff mark REFERENCE STATUS`.
STATUSES = {
    "bookings": (REQUESTED, "confirmed", "declined", CANCELLED, "completed"),
    "referrals": (REQUESTED, "arranged", "declined", CANCELLED),
}

metadata = sa.MetaData()

escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("matched", sa.Text, nullable=False),  # JSON list of the person's words
    sa.Column("message", sa.Text, nullable=False),
)


def _request_columns() -> List[sa.Column]:
    """What bookings and referrals share: who asked, how to reach them, where it stands."""
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False, unique=True),
        # One per request in a conversation: a repeated confirm finds the stored row.
        sa.Column("request_key", sa.String(255), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32)),
        sa.Column("email", sa.String(320)),
    ]


bookings = sa.Table(
    "bookings",
    metadata,
    *_request_columns(),
    sa.Column("treatment", sa.String(100), nullable=False),
    sa.Column("preferred_day", sa.Date, nullable=False),
    sa.Column("preferred_time", sa.String(16), nullable=False),  # "15:00" or "afternoon"
    sa.Column("reason", sa.Text),
)

referrals = sa.Table(
    "referrals",
    metadata,
    *_request_columns(),
    sa.Column("level", sa.String(16), nullable=False),  # the escalation that led to it
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("symptoms", sa.Text, nullable=False),  # what the person said
)

TABLES = {"bookings": bookings, "referrals": referrals, "escalations": escalations}


def migrate(db: Engine) -> None:
    """Brings the schema to the newest migration (a no-op when it is there already)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.begin() as connection:
        config.attributes["connection"] = connection
        tables = set(sa.inspect(connection).get_table_names())
        if "escalations" in tables and "alembic_version" not in tables:
            # A database from before migrations existed holds exactly the first revision.
            command.stamp(config, "0001")
        command.upgrade(config, "head")


@functools.cache
def engine(url: Optional[str] = None) -> Engine:
    url = url or settings().clinic_database_url
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: a failed statement's error message would otherwise quote the row.
    created = sa.create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)
    migrate(created)
    return created


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def record_escalation(
    conversation_id: str,
    channel: str,
    level: str,
    category: str,
    matched: Sequence[str],
    message: str,
    db: Optional[Engine] = None,
) -> int:
    """Stores one escalation and returns its id."""
    row = {
        "created_at": _now(),
        "conversation_id": conversation_id[:255],
        "channel": (channel or "unknown")[:64],
        "level": level,
        "category": category,
        "matched": json.dumps(list(matched), ensure_ascii=False),
        "message": (message or "")[:MAX_MESSAGE_LENGTH],
    }
    with (db or engine()).begin() as connection:
        result = connection.execute(escalations.insert().values(**row))
        return int(result.inserted_primary_key[0])


def _find(connection: Connection, table: sa.Table, **where: Any) -> Optional[Dict[str, Any]]:
    query = table.select().where(*(table.c[key] == value for key, value in where.items()))
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def _store_request(
    table: sa.Table, prefix: str, request_key: str, values: Dict[str, Any], db: Optional[Engine]
) -> Dict[str, Any]:
    """Inserts a request under a fresh unique reference, once per ``request_key``.

    Committed before returning, so the person is only told a reference that is stored. A
    repeat with the same key (a double click, a retried action) returns the stored row.
    """
    db = db or engine()
    now = _now()
    for _ in range(REFERENCE_ATTEMPTS):
        try:
            with db.begin() as connection:
                existing = _find(connection, table, request_key=request_key)
                if existing:
                    return existing
                row = {
                    **values,
                    "reference": new_reference(prefix),
                    "request_key": request_key,
                    "created_at": now,
                    "updated_at": now,
                    "status": REQUESTED,
                }
                connection.execute(table.insert().values(**row))
            with db.connect() as connection:
                stored = _find(connection, table, request_key=request_key)
            if stored:
                return stored
        except IntegrityError:
            # Either the reference was taken (try another) or a parallel confirm of the same
            # request won the race (found at the top of the next round).
            logger.info("Reference clash or repeated request in %s; retrying", table.name)
    raise RuntimeError(f"no free {prefix} reference after {REFERENCE_ATTEMPTS} attempts")


def _contact_columns(contact: str) -> Dict[str, Optional[str]]:
    return {"email": contact, "phone": None} if "@" in contact else {"phone": contact, "email": None}


def create_booking(
    request_key: str,
    conversation_id: str,
    channel: str,
    treatment: str,
    preferred_day: dt.date,
    preferred_time: str,
    name: str,
    contact: str,
    reason: str = "",
    db: Optional[Engine] = None,
) -> Dict[str, Any]:
    values = {
        "conversation_id": conversation_id[:255],
        "channel": (channel or "unknown")[:64],
        "treatment": treatment,
        "preferred_day": preferred_day,
        "preferred_time": preferred_time,
        "name": name,
        "reason": reason or None,
        **_contact_columns(contact),
    }
    return _store_request(bookings, BOOKING, request_key, values, db)


def create_referral(
    request_key: str,
    conversation_id: str,
    channel: str,
    level: str,
    category: str,
    symptoms: str,
    name: str,
    contact: str,
    db: Optional[Engine] = None,
) -> Dict[str, Any]:
    values = {
        "conversation_id": conversation_id[:255],
        "channel": (channel or "unknown")[:64],
        "level": level,
        "category": category,
        "symptoms": (symptoms or "")[:MAX_MESSAGE_LENGTH],
        "name": name,
        **_contact_columns(contact),
    }
    return _store_request(referrals, REFERRAL, request_key, values, db)


def cancel_booking(reference: str, contact: str, db: Optional[Engine] = None) -> Optional[Dict[str, Any]]:
    """Cancels the booking when ``contact`` is the phone or e-mail given with it.

    Returns the booking (also when it was cancelled before), or None when the reference and
    contact don't match a booking - the caller must not say which of the two was wrong.
    """
    with (db or engine()).begin() as connection:
        booking = _find(connection, bookings, reference=reference)
        if not booking or contact not in (booking["phone"], booking["email"]):
            return None
        if booking["status"] != CANCELLED:
            connection.execute(
                bookings.update().where(bookings.c.id == booking["id"]).values(status=CANCELLED, updated_at=_now())
            )
        return _find(connection, bookings, id=booking["id"])


def set_status(reference: str, status: str, db: Optional[Engine] = None) -> Optional[Dict[str, Any]]:
    """Staff's decision on a booking or referral; None when no request has that reference."""
    kind = KIND_OF_PREFIX.get(reference[:2].upper())
    if kind is None:
        return None
    if status not in STATUSES[kind]:
        raise ValueError(f"{kind} can be: {', '.join(STATUSES[kind])}")
    table = TABLES[kind]
    with (db or engine()).begin() as connection:
        row = _find(connection, table, reference=reference.upper())
        if row is None:
            return None
        connection.execute(table.update().where(table.c.id == row["id"]).values(status=status, updated_at=_now()))
        return _find(connection, table, id=row["id"])


def as_plain(record: Dict[str, Any]) -> Dict[str, Any]:
    """A stored row for JSON and CSV: dates as ISO text, without the internal keys."""
    return {
        key: value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
        for key, value in record.items()
        if key not in ("id", "request_key")
    }


def list_records(
    kind: str,
    since: Optional[dt.date] = None,
    until: Optional[dt.date] = None,
    status: Optional[str] = None,
    db: Optional[Engine] = None,
) -> List[Dict[str, Any]]:
    """Bookings, referrals or escalations, oldest first; ``since``/``until`` are inclusive
    UTC days of creation."""
    table = TABLES[kind]
    query = table.select().order_by(table.c.id)
    if since:
        query = query.where(table.c.created_at >= dt.datetime.combine(since, dt.time(), dt.timezone.utc))
    if until:
        next_day = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
        query = query.where(table.c.created_at < next_day)
    if status:
        if "status" not in table.c:
            raise ValueError(f"{kind} have no status")
        query = query.where(table.c.status == status)
    with (db or engine()).connect() as connection:
        rows = [dict(row) for row in connection.execute(query).mappings()]
    for row in rows:
        if kind == "escalations":
            row["matched"] = json.loads(row["matched"])
    return rows
