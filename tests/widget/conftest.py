"""The website chat widget in a real browser (Playwright driving Debian's chromium) on the
assistant's own demo page, against the servers started as `make run` starts them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, List

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.support.browser import chromium

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
REPLY_TIMEOUT_MS = 60_000  # a busy 2-core machine answers slowly now and then

# Records what the Content-Security-Policy blocked, from the first script on the page.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
}, true);
"""


# Per module, not per session: tests that call asyncio.run() (socket.io chats) fail while it runs.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


class Widget:
    """A person's view of the demo page and its chat widget."""

    def __init__(self, page: Page, demo_url: str) -> None:
        self.page = page
        self.demo_url = demo_url
        self.console_errors: List[str] = []
        self.dialogs: List[str] = []
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.add_init_script(RECORD_CSP_VIOLATIONS)

    def visit(self, path: str = "") -> Widget:
        self.page.goto(self.demo_url + path)
        expect(self.launcher).to_be_visible()
        return self

    @property
    def launcher(self) -> Locator:
        return self.page.locator(".bpw-launcher")

    @property
    def panel(self) -> Locator:
        return self.page.get_by_role("dialog")

    @property
    def log(self) -> Locator:
        return self.page.get_by_role("log")

    @property
    def input(self) -> Locator:
        return self.page.get_by_label("Your message")

    def open(self) -> Widget:
        self.launcher.click()
        expect(self.panel).to_be_visible()
        return self

    def messages(self, who: str) -> List[str]:
        """The texts of the person's ("user") or the assistant's ("bot") messages, in order."""
        return self.page.locator(f".bpw-message--{who} .bpw-text").all_inner_texts()

    def say(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def wait_for_reply(self, pattern: str) -> Locator:
        """The assistant's message matching ``pattern`` (a regular expression), once the whole
        reply is there (the typing indicator has gone)."""
        message = self.page.locator(".bpw-message--bot").filter(has_text=re.compile(pattern, re.IGNORECASE)).last
        expect(message).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        expect(self.page.locator(".bpw-typing")).to_be_hidden(timeout=REPLY_TIMEOUT_MS)
        return message

    def choose(self, title: str) -> None:
        self.page.locator(".bpw-choice:enabled", has_text=title).first.click()

    def session_id(self) -> str:
        return self.page.evaluate(
            """() => {
              const key = Object.keys(localStorage).find((name) => name.endsWith(":session"));
              return JSON.parse(localStorage.getItem(key));
            }"""
        )

    def csp_violations(self) -> List[str]:
        return self.page.evaluate("window.__cspViolations") + [
            error for error in self.console_errors if "Content Security Policy" in error
        ]

    def axe_violations(self) -> List[dict]:
        """axe-core's findings for the page as it is now, shadow DOM included (injected by the
        test, not by the page: the page's CSP does not apply to Playwright's evaluate)."""
        self.page.evaluate(AXE.read_text(encoding="utf-8"))
        return self.page.evaluate(
            """async () => {
              const results = await axe.run(document, {resultTypes: ["violations"]});
              return results.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" "))}));
            }"""
        )


@pytest.fixture
def widget(assistant, browser: Browser) -> Iterator[Widget]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield Widget(context.new_page(), f"{assistant.url}/widget/demo")
    context.close()
