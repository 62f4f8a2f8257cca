"""Fixtures every test may ask for; what they start lives in tests/support/.

Tests that start the assistant's servers or a database server are marked ``servers`` (by the
fixtures they use, below, or by hand where they start one themselves): `make test-fast` leaves
them out, `make test` runs everything.
"""

from __future__ import annotations

from typing import Iterator

import pytest
from rasa_sdk.executor import CollectingDispatcher

from scripts.processes import PostgresServer
from tests.support.assistant import Assistant, started_assistant
from tests.support.postgres import started_postgres

# Asking for one of these starts a server.
SERVER_FIXTURES = {"assistant", "postgres"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.servers)


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = started_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    yield from started_assistant(tmp_path_factory)
