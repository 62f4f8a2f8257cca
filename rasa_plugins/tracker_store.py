"""Rasa's SQL tracker store, with SQLite set up for a server that writes after every message
(endpoints.yml names this class as `tracker_store`).

Rasa opens its SQLite file in rollback-journal mode with full synchronous commits: every
message's write waits for the disk to flush twice, and it waits inside the server's event loop,
so every other conversation waits too (`make profile`: most of the tracker store's time was
that flush, and reopening the file). In write-ahead-log mode with `synchronous=NORMAL` a commit appends to the log
without a flush; the log is flushed at checkpoints. The database stays consistent after a
crash of the process or the machine; a power cut may lose the last conversation turns, never
the clinic's records (a separate database, clinic/records.py). Readers (the staff console) no
longer block the writer, nor it them.

PostgreSQL (DATABASE_URL) is used exactly as Rasa's own SQL tracker store uses it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore


def _write_ahead_log(dbapi_connection: Any, _connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


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
