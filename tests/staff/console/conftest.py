"""A staff console on a free port, with its own clinic database and tracker store."""

from pathlib import Path
from typing import Iterator

import pytest

from tests.support.console import StaffConsole


def started(workdir: Path) -> Iterator[StaffConsole]:
    running = StaffConsole(workdir)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def console(tmp_path) -> Iterator[StaffConsole]:
    yield from started(tmp_path)


@pytest.fixture(scope="module")
def shared_console(tmp_path_factory) -> Iterator[StaffConsole]:
    """One console for a module's tests that only read what it shows."""
    yield from started(tmp_path_factory.mktemp("console"))
