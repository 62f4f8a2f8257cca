"""A real PostgreSQL server for the storage tests (scripts/processes.py starts it)."""

from __future__ import annotations

import os

import pytest

from scripts.processes import PostgresNotInstalled, PostgresServer


def started_postgres() -> PostgresServer:
    """A new throw-away server; the test is skipped without PostgreSQL (failed on CI)."""
    try:
        return PostgresServer()
    except PostgresNotInstalled as missing:
        if os.environ.get("CI"):
            pytest.fail(str(missing))
        pytest.skip(str(missing))
