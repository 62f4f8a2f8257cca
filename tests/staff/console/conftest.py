"""A staff console on a free port, with its own clinic database and tracker store."""

from typing import Iterator

import pytest

from tests.support.console import StaffConsole


@pytest.fixture
def console(tmp_path) -> Iterator[StaffConsole]:
    running = StaffConsole(tmp_path)
    try:
        running.start()
        yield running
    finally:
        running.stop()
