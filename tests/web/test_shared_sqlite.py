"""Processes that start together open one new SQLite file at the same moment (web/shared_sqlite.py):
the Rasa processes of `make run` and their lock store and rate limiter."""

from __future__ import annotations

import contextlib
import multiprocessing
import sqlite3
from pathlib import Path

from web import shared_sqlite

PROCESSES = 4
NEW_FILES = 30


def _open_each_new_file_with_the_others(barrier: multiprocessing.synchronize.Barrier, folder: str) -> None:
    for number in range(NEW_FILES):
        barrier.wait(timeout=30)  # a process that died leaves the others failing, not waiting
        path = Path(folder) / f"shared-{number}.db"
        shared_sqlite.connect(path, "CREATE TABLE IF NOT EXISTS locks (id TEXT PRIMARY KEY)").close()


def test_processes_opening_a_new_file_together_all_get_it_in_write_ahead_log_mode(tmp_path):
    # Before shared_sqlite tried "database is locked" again, about one start in six lost a process here.
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    workers = [
        context.Process(target=_open_each_new_file_with_the_others, args=(barrier, str(tmp_path)))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        if worker.is_alive():
            worker.kill()
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    for number in range(NEW_FILES):
        with contextlib.closing(sqlite3.connect(tmp_path / f"shared-{number}.db")) as connection:  # as it was left
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == [("locks",)]
