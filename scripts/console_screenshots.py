"""The README's screenshots of the staff console (docs/images/console-*.png), taken with Playwright
in Debian's chromium from a running console and assistant, signed in as a publisher.

Made with throw-away databases and versions folder, so nothing in var/ changes, on other ports
than a `make run` that may be running, with one Rasa process:

    export W=/tmp/console-shots && mkdir -p $W
    export TRACKER_SQLITE_FILE=$W/conversations.db CLINIC_SQLITE_FILE=$W/clinic.db LOCK_SQLITE_FILE=$W/locks.db
    export VERSIONS_DIR=$W/versions PUBLISH_TOKEN_FILE=$W/publish.token STAFF_FORM_ABANDONED_AFTER_MINUTES=1
    export RASA_PORT=5105 ACTION_PORT=5155 STAFF_PORT=5102 RASA_PROCESSES=1
    export RASA_SERVER_URLS= LIVE_VERSION_CHECK_SECONDS=86400
    echo "a long clinic password" | .venv/bin/python -m staff user add pat --role publisher --password-stdin
    make run &
    echo "a long clinic password" | .venv/bin/python -m scripts.console_screenshots --sample-versions
    kill %1

It waits for the assistant and the console to be up, sends three conversations to the
assistant's REST channel (a question it does not understand, then one it is unsure of, then a red
flag; a red flag alone; a booking started and left), waits until the inbox lists the booking as
unfinished (STAFF_FORM_ABANDONED_AFTER_MINUTES=1: a minute), and saves the inbox, the first
conversation, the Versions page and a topic under Knowledge. It changes no project file.

Training and gating a real candidate takes a quarter of an hour or more, so --sample-versions
writes four sample versions into VERSIONS_DIR instead (refused when that is var/versions), each
with the trained model (a hard link, or a copy) and a made-up gate report: two passed, one
refused, one not run. The script publishes the two that passed from the console, so the page
shows the live version and one to roll back to. RASA_SERVER_URLS empty and a long
LIVE_VERSION_CHECK_SECONDS keep the assistant from loading the published sample (the model it
already runs) again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import requests
from PIL import Image
from playwright.sync_api import Page, ViewportSize, expect, sync_playwright

from settings import MODEL_FILE, PROJECT_DIR
from staff import releases

IMAGES = PROJECT_DIR / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
VIEWPORT: ViewportSize = {"width": 1024, "height": 720}
START_TIMEOUT = 300  # seconds for the assistant to load its model
REPLY_TIMEOUT = 120  # seconds: the first message after a start loads the model's pipeline
ABANDONED_TIMEOUT = 150  # seconds to wait for the booking to count as left unfinished
TOPIC = "nerve_or_disc_problems"  # the topic shown under Knowledge
# Each conversation is a list of messages sent one after the other, as a person would.
CONVERSATIONS = {
    "question": [
        "do you do hot stone massage for dogs",
        "is massage good for sciatica",
        "since this morning I can't feel anything when I wipe and my back is agony",
    ],
    "red-flag": ["my back hurts and I have a fever and I feel really unwell"],
    "booking": ["I'd like to book a massage"],
}


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(3)
    sys.exit(f"{url} did not answer within {START_TIMEOUT} s")


def _say(assistant: str, sender: str, message: str) -> None:
    response = requests.post(
        f"{assistant}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=REPLY_TIMEOUT
    )
    response.raise_for_status()


def talk(assistant: str) -> Dict[str, str]:
    """Has each conversation with the assistant; returns their conversation ids by name."""
    run = uuid.uuid4().hex[:6]
    senders = {}
    for name, messages in CONVERSATIONS.items():
        senders[name] = f"{name}-{run}"
        for message in messages:
            _say(assistant, senders[name], message)
    return senders


# --- sample versions -----------------------------------------------------------------------------


def _gate(passed: bool, against: str, at: dt.datetime, reasons: Optional[List[str]] = None) -> Dict[str, Any]:
    return {
        "passed": passed,
        "reasons": reasons or [],
        "escalated": {"live": 96, "candidate": 96},
        "faq_accuracy": {"live": 0.91, "candidate": 0.885 if reasons else 0.91},
        "changed": {"faq": {"now_right": [], "now_wrong": []}, "red_flags": {"now_right": [], "now_wrong": []}},
        "at": at.isoformat(timespec="seconds"),
        "against": against,
    }


def sample_versions(by: str) -> List[releases.Version]:
    """Four versions trained over the last days (oldest first), each with a copy of the trained
    model: two whose gate passed, one refused, one not gated yet."""
    folder = releases.versions_dir().resolve()
    if folder == (PROJECT_DIR / "var" / "versions").resolve():
        sys.exit("--sample-versions writes made-up versions: point VERSIONS_DIR at a throw-away folder")
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    made: List[releases.Version] = []
    for days_ago, kind in ((6, "passed"), (2, "passed"), (1, "refused"), (0, "not run")):
        trained = now - dt.timedelta(days=days_ago, hours=1)
        digest = hashlib.sha256(f"sample {trained}".encode()).hexdigest()
        against = made[-1].id if made else "the model `make` trained"
        gated = trained + dt.timedelta(minutes=14)
        gate = {
            "passed": _gate(True, against, gated),
            "refused": _gate(False, against, gated, ["FAQ accuracy falls from 91.0% to 88.5%"]),
            "not run": None,
        }[kind]
        version = releases.Version(
            id=f"{trained:%Y%m%d-%H%M%S}-{digest[:8]}",
            content_hash=digest,
            created_at=trained.isoformat(),
            created_by=by,
            gate=gate,
        )
        version.folder.mkdir(parents=True, exist_ok=True)
        if not version.model.exists():
            try:
                os.link(MODEL_FILE, version.model)  # a second name for the model, no copy on disk
            except OSError:
                shutil.copyfile(MODEL_FILE, version.model)
        version.save()
        made.append(version)
    return made


# --- the pages -----------------------------------------------------------------------------------


def _shrink(png: Path) -> None:
    """256 colours: a third of the size, no visible change for a page of flat colours."""
    Image.open(png).convert("RGB").quantize(colors=256).save(png, optimize=True)


def sign_in(page: Page, console: str, name: str, password: str) -> None:
    page.goto(f"{console}/sign-in")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()


def wait_for_abandoned_booking(page: Page, console: str, sender: str) -> None:
    deadline = time.monotonic() + ABANDONED_TIMEOUT
    while time.monotonic() < deadline:
        page.goto(f"{console}/inbox?show=abandoned-form")
        if page.get_by_role("link", name=sender).count():
            return
        time.sleep(5)
    print(f"The booking {sender} is not listed as unfinished yet (STAFF_FORM_ABANDONED_AFTER_MINUTES?)")


def publish(page: Page, console: str, version: releases.Version) -> None:
    page.goto(f"{console}/versions")
    page.locator(f"form[action='/versions/{version.id}/publish'] button").click()
    expect(page.get_by_role("status")).to_contain_text(f"Version {version.id} is live.")


def screenshots(
    console: str, name: str, password: str, senders: Dict[str, str], versions: List[releases.Version]
) -> List[Path]:
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport=VIEWPORT, reduced_motion="reduce")
        sign_in(page, console, name, password)

        wait_for_abandoned_booking(page, console, senders["booking"])
        page.goto(f"{console}/inbox")
        saved.append(IMAGES / "console-inbox.png")
        page.screenshot(path=saved[-1], full_page=True)

        page.goto(f"{console}/conversations/{senders['question']}")
        expect(page.locator(".red-flag").first).to_be_visible()
        saved.append(IMAGES / "console-conversation.png")
        page.screenshot(path=saved[-1], full_page=True)

        if versions:
            first, second = versions[0], versions[1]
            publish(page, console, first)
            publish(page, console, second)
        page.goto(f"{console}/versions")
        saved.append(IMAGES / "console-versions.png")
        page.screenshot(path=saved[-1], full_page=True)

        # The topic the conversation's sciatica question was answered with, less than sure.
        page.goto(f"{console}/knowledge/topics/{TOPIC}")
        saved.append(IMAGES / "console-knowledge.png")
        page.screenshot(path=saved[-1], full_page=True)
        browser.close()
    for png in saved:
        _shrink(png)
    return saved


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--console", default=f"http://localhost:{os.environ.get('STAFF_PORT', '5002')}")
    parser.add_argument("--assistant", default=f"http://localhost:{os.environ.get('RASA_PORT', '5005')}")
    parser.add_argument("--user", default="pat", help="a publisher's account; its password on standard input")
    parser.add_argument("--sample-versions", action="store_true", help="write sample versions into VERSIONS_DIR")
    args = parser.parse_args(argv)
    password = sys.stdin.readline().rstrip("\n")
    IMAGES.mkdir(parents=True, exist_ok=True)
    wait_until_up(f"{args.assistant}/health")
    wait_until_up(f"{args.console}/sign-in")
    senders = talk(args.assistant)
    versions = sample_versions(args.user) if args.sample_versions else []
    for png in screenshots(args.console, args.user, password, senders, versions):
        print(f"Saved {png} ({png.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
