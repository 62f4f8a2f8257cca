"""Personal data in the staff console: the retention job the console runs, and access and
erasure requests answered by a publisher, against a console started as staff start it."""

import datetime as dt
import time
from typing import Iterator

import pytest
import sqlalchemy as sa
from rasa.shared.core.events import BotUttered, UserUttered

from clinic import records
from tests.support.console import StaffConsole

pytestmark = pytest.mark.servers
PASSWORD = "a long clinic password"
PHONE = "+14155552671"
DAY = 24 * 3600


def exchange(text: str, days_ago: float):
    at = time.time() - days_ago * DAY
    return [UserUttered(text, timestamp=at), BotUttered("Thanks, noted.", timestamp=at + 1)]


def conversation_ids(console: StaffConsole) -> set:
    tracker_db = sa.create_engine(f"sqlite:///{console.tracker_db_file}")
    with tracker_db.connect() as connection:
        found = set(connection.execute(sa.text("SELECT DISTINCT sender_id FROM events")).scalars())
    tracker_db.dispose()
    return found


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[StaffConsole]:
    running = StaffConsole(tmp_path_factory.mktemp("console"))
    # Stored before the console starts: its retention job runs as it starts.
    running.store_conversation("quiet-for-100-days", exchange("is massage safe in pregnancy", 100))
    running.store_conversation("booked-yesterday", exchange("Maria Quill, +1 415 555 2671", 1))
    running.store_conversation("someone-else", exchange("what are your opening hours", 2))
    clinic_db = records.engine(f"sqlite:///{running.clinic_db_file}")
    records.create_booking(
        request_key="booked-yesterday:booking_form:1",
        conversation_id="booked-yesterday",
        channel="rest",
        treatment="deep tissue massage",
        preferred_day=dt.date(2026, 11, 24),
        preferred_time="afternoon",
        name="Maria Quill",
        contact=PHONE,
        db=clinic_db,
    )
    clinic_db.dispose()
    records.engine.cache_clear()
    for name, role in (("pat", "publisher"), ("ed", "editor")):
        running.add_user(name, role, PASSWORD)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_the_console_deletes_conversations_past_retention_days_when_it_starts(console):
    deadline = time.monotonic() + 30
    while "quiet-for-100-days" in conversation_ids(console) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert conversation_ids(console) == {"booked-yesterday", "someone-else"}


def test_an_editor_may_not_see_or_erase_personal_data(console):
    browser = console.browser()
    console.sign_in(browser, "ed", PASSWORD)
    assert browser.get(f"{console.url}/personal-data", timeout=30).status_code == 403
    assert "Personal data" not in browser.get(f"{console.url}/inbox", timeout=30).text


def test_a_publisher_exports_then_erases_a_persons_data_and_the_audit_log_names_neither(console):
    browser = console.browser()
    console.sign_in(browser, "pat", PASSWORD)
    page = browser.get(f"{console.url}/personal-data", timeout=30)
    assert page.status_code == 200

    export = console.post_form(browser, page, "/personal-data/export", contact="(415) 555-2671")
    assert export.status_code == 200
    assert "attachment" in export.headers["Content-Disposition"]
    held = export.json()
    assert [row["name"] for row in held["bookings"]] == ["Maria Quill"]
    assert held["conversations"]["booked-yesterday"][0]["text"] == "Maria Quill, +1 415 555 2671"

    unconfirmed = console.post_form(browser, page, "/personal-data/erase", contact=PHONE)
    assert unconfirmed.status_code == 400 and "confirm" in unconfirmed.text
    erased = console.post_form(browser, page, "/personal-data/erase", contact=PHONE, confirm="yes")
    assert erased.status_code == 200
    assert "deleted 1 conversation" in erased.text
    assert conversation_ids(console) == {"someone-else"}
    assert console.post_form(browser, page, "/personal-data/export", contact=PHONE).json()["bookings"] == []

    changes = browser.get(f"{console.url}/changes", timeout=30).text
    assert "Access request answered" in changes and "Erasure request answered" in changes
    for personal in ("Maria", "Quill", "2671", "555"):
        assert personal not in changes
