"""The clinic's own records (escalations), in one SQL database via SQLAlchemy.

SQLite file by default, PostgreSQL when DATABASE_URL is set (actions/settings.py). The engine
is created on first use, never at import time.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from actions.settings import settings

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

MAX_MESSAGE_LENGTH = 10_000  # longer messages are cut, never rejected: the escalation counts


@functools.lru_cache(maxsize=None)
def engine(url: Optional[str] = None) -> Engine:
    url = url or settings().sqlalchemy_url
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    created = sa.create_engine(url, future=True, pool_pre_ping=True)
    metadata.create_all(created)
    return created


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
        "created_at": dt.datetime.now(dt.timezone.utc),
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


def list_escalations(db: Optional[Engine] = None) -> List[Dict[str, Any]]:
    with (db or engine()).connect() as connection:
        rows = connection.execute(escalations.select().order_by(escalations.c.id)).mappings().all()
    return [{**row, "matched": json.loads(row["matched"])} for row in rows]
