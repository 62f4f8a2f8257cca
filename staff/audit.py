"""The audit log of the staff console: who changed which of the project's files, when, and how
(a unified diff of the file), in the clinic database (migration 0004_staff_changes).

Kept beside the accounts, not in the files themselves, so a change to a knowledge file made
from the console can always be traced to a person even after the file has changed again.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from typing import List

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# Described here because clinic/ may not import staff/; written by hand in the migration.
metadata = sa.MetaData()
changes = sa.Table(
    "staff_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("account_name", sa.String(64), nullable=False),
    sa.Column("summary", sa.String(255), nullable=False),
    sa.Column("path", sa.String(255), nullable=False),  # relative to the project folder
    sa.Column("diff", sa.Text, nullable=False),
    sa.Index("ix_staff_changes_changed_at", "changed_at"),
)
PAGE_ROWS = 100


@dataclass(frozen=True)
class Change:
    """One file changed: what it was and is now, and why in a few words."""

    path: str
    summary: str
    before: str
    after: str

    @property
    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=f"a/{self.path}",
            tofile=f"b/{self.path}",
        )
        return "".join(lines)


@dataclass(frozen=True)
class Entry:
    changed_at: dt.datetime
    account_name: str
    summary: str
    path: str
    diff: str


def record(change: Change, account_name: str, db: Engine) -> None:
    row = {
        "changed_at": dt.datetime.now(dt.timezone.utc),
        "account_name": account_name,
        "summary": change.summary[:255],
        "path": change.path,
        "diff": change.diff,
    }
    with db.begin() as connection:
        connection.execute(changes.insert().values(**row))


def recent(db: Engine, limit: int = PAGE_ROWS) -> List[Entry]:
    """The newest changes first."""
    query = sa.select(changes).order_by(changes.c.changed_at.desc(), changes.c.id.desc()).limit(limit)
    with db.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        Entry(
            changed_at=row["changed_at"].replace(tzinfo=row["changed_at"].tzinfo or dt.timezone.utc),
            account_name=row["account_name"],
            summary=row["summary"],
            path=row["path"],
            diff=row["diff"],
        )
        for row in rows
    ]
