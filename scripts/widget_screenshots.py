"""The README's screenshots of the website chat widget (docs/images/), taken with Playwright in
Debian's chromium from a running assistant: `make run`, then
`.venv/bin/python -m scripts.widget_screenshots [http://localhost:5005]`."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from settings import PROJECT_DIR

IMAGES = PROJECT_DIR / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
REPLY_TIMEOUT_MS = 60_000


def _chat(page: Page, url: str, message: str) -> None:
    page.goto(f"{url}/widget/demo")
    page.locator(".bpw-launcher").click()
    page.get_by_label("Your message").fill(message)
    page.get_by_label("Your message").press("Enter")
    expect(page.locator(".bpw-typing")).to_be_hidden(timeout=REPLY_TIMEOUT_MS)


def _shrink(png: Path) -> None:
    """256 colours: a third of the size, no visible change for a page of flat colours."""
    Image.open(png).convert("RGB").quantize(colors=256).save(png, optimize=True)


def main(url: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        desktop = browser.new_page(viewport={"width": 1024, "height": 720}, reduced_motion="reduce")
        _chat(desktop, url, "since this morning I can't feel anything when I wipe and my back is agony")
        expect(desktop.get_by_role("alert")).to_be_visible()
        desktop.screenshot(path=IMAGES / "widget-desktop.png")
        phone = browser.new_page(viewport={"width": 375, "height": 667}, is_mobile=True, reduced_motion="reduce")
        _chat(phone, url, "help")
        phone.screenshot(path=IMAGES / "widget-phone.png")
        browser.close()
    for png in ("widget-desktop.png", "widget-phone.png"):
        _shrink(IMAGES / png)
    print(f"Saved {IMAGES / 'widget-desktop.png'} and {IMAGES / 'widget-phone.png'}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://localhost:5005")
