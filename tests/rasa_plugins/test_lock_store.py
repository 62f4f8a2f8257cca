"""The conversation locks `make run`'s Rasa processes share (rasa_plugins/lock_store.py), used
from several real processes at once, on a real SQLite file."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from pathlib import Path
from typing import List

from rasa_plugins.lock_store import SQLiteLockStore

PROCESSES = 4
TURNS = 5


def _take_turns(path: str, name: str, turns: int) -> None:
    """One Rasa process: each turn holds the conversation's lock for a moment and writes down
    when it started and ended."""
    store = SQLiteLockStore(Path(path))

    async def turn(index: int) -> None:
        async with store.lock("conversation-1", wait_time_in_seconds=0.01):
            started = time.monotonic()
            await asyncio.sleep(0.02)
            with open(Path(path).with_name("turns.log"), "a") as log:
                log.write(f"{name} {index} {started} {time.monotonic()}\n")

    async def all_turns() -> None:
        for index in range(turns):
            await turn(index)

    asyncio.run(all_turns())


def test_several_processes_never_hold_one_conversations_lock_at_the_same_time(tmp_path):
    path = str(tmp_path / "locks.db")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_take_turns, args=(path, f"p{i}", TURNS)) for i in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0

    turns: List[List[str]] = [line.split() for line in (tmp_path / "turns.log").read_text().splitlines()]
    assert len(turns) == PROCESSES * TURNS  # every turn ran, none was refused a lock
    spans = sorted((float(start), float(end)) for _, _, start, end in turns)
    # Never two at once: each turn ends before the next one starts.
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False))
    for name in {turn[0] for turn in turns}:  # each process's turns in the order it sent them
        assert [int(index) for process, index, _, _ in turns if process == name] == list(range(TURNS))
    assert SQLiteLockStore(Path(path)).get_lock("conversation-1") is None  # nothing left behind


def test_tickets_are_served_in_the_order_they_were_issued(tmp_path):
    first_process, second_process = SQLiteLockStore(tmp_path / "locks.db"), SQLiteLockStore(tmp_path / "locks.db")
    first = first_process.issue_ticket("conversation-2")
    second = second_process.issue_ticket("conversation-2")
    lock = second_process.get_lock("conversation-2")
    assert lock is not None and not lock.is_locked(first) and lock.is_locked(second)
    first_process.cleanup("conversation-2", first)
    lock = second_process.get_lock("conversation-2")
    assert lock is not None and not lock.is_locked(second)


def test_a_turn_waiting_behind_a_dead_servers_lock_gets_it_when_that_lock_expires(tmp_path):
    """A server died holding the lock (its ticket is never released); the next turn's ticket,
    issued just after with the same lifetime, must not expire while it waits."""
    store = SQLiteLockStore(tmp_path / "locks.db")
    store.issue_ticket("conversation-1", lock_lifetime=1.0)  # the dead server's turn

    async def next_turn() -> float:
        started = time.monotonic()
        async with store.lock("conversation-1", lock_lifetime=1.0, wait_time_in_seconds=0.6):
            return time.monotonic() - started

    waited = asyncio.run(asyncio.wait_for(next_turn(), timeout=10))
    assert 0.9 <= waited < 5
