"""A real browser for the tests: Playwright driving Debian's chromium (.ci/run installs it; no
browser is downloaded)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Start it only once the test's own event loops are done: while Playwright's sync API runs,
    its event loop occupies the thread, and asyncio.run() fails."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield browser
        finally:
            browser.close()
