"""Rasa's SQL tracker store (endpoints.yml names this class as `tracker_store`), with three changes.

**SQLite set up for a server that writes after every message.** Rasa opens its SQLite file in
rollback-journal mode with full synchronous commits: every message's write waits for the disk
to flush twice, and it waits inside the server's event loop, so every other conversation waits
too (`make profile`: most of the tracker store's time was that flush, and reopening the file).
In write-ahead-log mode with `synchronous=NORMAL` a commit appends to the log without a flush;
the log is flushed at checkpoints. The database stays consistent after a crash of the process
or the machine; a power cut may lose the last conversation turns, never the clinic's records
(a separate database, clinic/records.py). Readers (the staff console) no longer block the
writer, nor it them. PostgreSQL (DATABASE_URL) is used as Rasa's own store uses it, with each pooled connection
checked before use.

**A read fetches only the events' data.** Rasa's read builds an SQLAlchemy object of every
column for every event of the session and uses one column: for a conversation of 110 messages
(550 events) the query took 5.0 ms, against 1.7 ms for the data alone, and a read grows with
the conversation (docs/benchmarks.md, "Long conversations cost more per message").

**"Delete my data".** A conversation whose person confirmed the deletion is deleted instead of
saved. The action server cannot delete the conversation itself: the Rasa server saves the
tracker after every message, inserting the events it has beyond those stored, so rows deleted
from outside would be written back. Here the save that ends the deleting turn removes every row
of the conversation instead; the reply has already gone to the channel by then, and the next
message finds no tracker and starts a new conversation (with its red-flag checks) from scratch.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic.privacy import DATA_DELETED_SLOT
from web import shared_sqlite


def _write_ahead_log(dbapi_connection: Any, _connection_record: Any) -> None:
    shared_sqlite.prepare(dbapi_connection, "PRAGMA synchronous=NORMAL")


class ClinicSQLTrackerStore(SQLTrackerStore):
    engine: sa.engine.Engine

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rasas_engine = self.engine
        if rasas_engine.dialect.name == "sqlite":
            # Rasa's SQLite engine opens and closes a connection per read or write, and closing
            # the last one flushes the log to disk: this one keeps its connections open.
            rasas_engine.dispose()
            engine = sa.create_engine(
                rasas_engine.url, poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False}
            )
            sa.event.listen(engine, "connect", _write_ahead_log)
            self.engine = engine
            self.sessionmaker = sa.orm.sessionmaker(bind=engine)
        else:
            # A PostgreSQL restart cuts the pooled connections: each is checked before use, so
            # the first message after a restart is answered instead of failing on a dead one.
            rasas_engine.dispose()
            url = rasas_engine.url
            self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
            self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
        # A failed insert's error message would otherwise quote the event: the person's words.
        self.engine.hide_parameters = True

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        """Rasa's read (the same query: the latest session, or all of them), of the data column only."""
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions)
            rows = query.with_entities(self.SQLEvent.data).all()
        events = [json.loads(data) for (data,) in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        if tracker.get_slot(DATA_DELETED_SLOT):
            self.delete_conversation(tracker.sender_id)
        else:
            await super().save(tracker)

    def latest_input_channel(self, sender_id: str) -> Optional[str]:
        """The channel of the conversation's latest message, as ``tracker.get_latest_input_channel()``
        says, from that one row instead of the whole conversation (the REST channel asks before
        every message)."""
        with self.session_scope() as session:
            row = (
                session.query(self.SQLEvent.data)
                .filter(self.SQLEvent.sender_id == sender_id, self.SQLEvent.type_name == UserUttered.type_name)
                .order_by(self.SQLEvent.id.desc())
                .first()
            )
        return json.loads(row[0]).get("input_channel") if row else None

    def delete_conversation(self, sender_id: str) -> None:
        with self.session_scope() as session:
            session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id).delete()
            session.commit()
