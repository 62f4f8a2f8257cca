"""Signing in to the staff console: sessions, CSRF tokens, throttled guessing, response headers."""

import datetime as dt
import hashlib

import requests
import sqlalchemy as sa

from tests.support.console import csrf_token_in

PASSWORD = "a long clinic password"


def clinic_db(console):
    return sa.create_engine(f"sqlite:///{console.clinic_db_file}", future=True)


def session_token(browser: requests.Session) -> str:
    return next(cookie.value for cookie in browser.cookies if cookie.name == "staff_session")


def move_session_back(console, browser, column: str, by: dt.timedelta) -> None:
    """As if the session had begun, or been last used, ``by`` earlier."""
    token_hash = hashlib.sha256(session_token(browser).encode()).hexdigest()
    with clinic_db(console).begin() as connection:
        connection.execute(
            sa.text(f"UPDATE staff_sessions SET {column} = :moment WHERE token_hash = :token_hash"),
            {"moment": dt.datetime.now(dt.timezone.utc) - by, "token_hash": token_hash},
        )


def test_without_a_session_every_page_is_the_sign_in_page(console):
    browser = console.browser()
    for path in ("/", "/inbox", "/inbox?show=escalation", "/conversations/abc", "/no-such-page"):
        page = browser.get(console.url + path, timeout=30)
        assert page.url == f"{console.url}/sign-in" and "<h1>Sign in</h1>" in page.text, path
    assert browser.post(f"{console.url}/sign-out", timeout=30).url == f"{console.url}/sign-in"


def test_the_right_password_opens_the_inbox_and_signing_out_closes_it(console):
    console.add_user("maria", "reviewer", PASSWORD)
    browser = console.browser()
    inbox = console.sign_in(browser, "Maria", PASSWORD)
    assert inbox.url == f"{console.url}/inbox" and "Signed in as <strong>maria</strong> (reviewer)" in inbox.text
    cookie = next(c for c in browser.cookies if c.name == "staff_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.get_nonstandard_attr("SameSite") == "Strict"
    with clinic_db(console).connect() as connection:
        [stored] = connection.execute(sa.text("SELECT token_hash FROM staff_sessions")).scalars()
    assert stored != cookie.value and len(stored) == 64  # only a hash of the token is kept
    signed_out = browser.post(f"{console.url}/sign-out", data={"csrf_token": csrf_token_in(inbox.text)}, timeout=30)
    assert "You are signed out." in signed_out.text
    assert browser.get(f"{console.url}/inbox", timeout=30).url == f"{console.url}/sign-in"
    log = console.log_file.read_text()
    assert "maria signed in" in log and "maria signed out" in log
    assert PASSWORD not in log and cookie.value not in log


def test_a_wrong_password_fails_and_the_sixth_attempt_is_throttled_even_when_right(console):
    console.add_user("maria", "editor", PASSWORD)
    browser = console.browser()
    for _ in range(5):
        failed = console.sign_in(browser, "maria", "not the password")
        assert failed.status_code == 401 and "That name and password do not match an account." in failed.text
    sixth = console.sign_in(browser, "maria", PASSWORD)
    assert sixth.status_code == 429 and "Too many failed sign-ins" in sixth.text
    assert "try again in 15 minutes" in sixth.text and "Signed in as" not in sixth.text
    # Stored in the database: a restarted console still refuses.
    console.stop()
    console.start()
    again = console.sign_in(console.browser(), "maria", PASSWORD)
    assert again.status_code == 429 and "Too many failed sign-ins" in again.text
    assert "not the password" not in console.log_file.read_text() and PASSWORD not in console.log_file.read_text()


def record_failures(console, name: str, minutes_ago) -> None:
    """Failed sign-ins as the console records them, made earlier."""
    now = dt.datetime.now(dt.timezone.utc)
    with clinic_db(console).begin() as connection:
        for minutes in minutes_ago:
            connection.execute(
                sa.text(
                    "INSERT INTO staff_sign_in_attempts (attempted_at, account_name, client_address, outcome) "
                    "VALUES (:at, :name, '192.0.2.7', 'failed')"
                ),
                {"at": now - dt.timedelta(minutes=minutes), "name": name},
            )


def test_the_pause_lasts_15_minutes_and_needs_5_failures_within_15_minutes(console):
    console.add_user("maria", "editor", PASSWORD)
    console.add_user("tom", "editor", PASSWORD)
    # Five failures within four minutes, the last 16 minutes ago: the pause is over.
    record_failures(console, "maria", [20, 19, 18, 17, 16])
    assert "Signed in as <strong>maria</strong>" in console.sign_in(console.browser(), "maria", PASSWORD).text
    # Four failures over 12 minutes and a fifth now: five, but not within 15 minutes.
    record_failures(console, "tom", [16, 12, 8, 4])
    assert console.sign_in(console.browser(), "tom", "not the password").status_code == 401
    assert "Signed in as <strong>tom</strong>" in console.sign_in(console.browser(), "tom", PASSWORD).text


def test_guessing_many_names_from_one_computer_is_throttled_too(console):
    console.add_user("maria", "editor", PASSWORD)
    browser = console.browser()
    for name in ("admin", "root", "staff", "clinic", "reception"):
        assert console.sign_in(browser, name, PASSWORD).status_code == 401
    refused = console.sign_in(browser, "maria", PASSWORD)
    assert refused.status_code == 429 and "from this computer" in refused.text


def test_a_post_without_its_csrf_token_is_refused(console):
    console.add_user("maria", "reviewer", PASSWORD)
    browser = console.browser()
    inbox = console.sign_in(browser, "maria", PASSWORD)
    for data in ({}, {"csrf_token": "0" * 64}):
        refused = browser.post(f"{console.url}/sign-out", data=data, timeout=30)
        assert refused.status_code == 403 and "that form could not be sent" in refused.text
    assert "Signed in as" in browser.get(f"{console.url}/inbox", timeout=30).text  # still signed in
    # Another browser's token (tied to another session) does not work either.
    other = console.browser()
    other_inbox = console.sign_in(other, "maria", PASSWORD)
    assert csrf_token_in(other_inbox.text) != csrf_token_in(inbox.text)
    crossed = browser.post(f"{console.url}/sign-out", data={"csrf_token": csrf_token_in(other_inbox.text)}, timeout=30)
    assert crossed.status_code == 403
    # The sign-in form has one too.
    no_token = console.browser().post(
        f"{console.url}/sign-in", data={"name": "maria", "password": PASSWORD}, timeout=30
    )
    assert no_token.status_code == 403 and "Signed in as" not in no_token.text


def test_a_session_idle_for_30_minutes_or_older_than_8_hours_is_refused(console):
    console.add_user("maria", "reviewer", PASSWORD)
    idle, old, fresh = console.browser(), console.browser(), console.browser()
    for browser in (idle, old, fresh):
        assert "Signed in as" in console.sign_in(browser, "maria", PASSWORD).text
    move_session_back(console, idle, "last_seen_at", dt.timedelta(minutes=31))
    move_session_back(console, old, "created_at", dt.timedelta(hours=8, minutes=1))
    move_session_back(console, fresh, "last_seen_at", dt.timedelta(minutes=29))
    for browser in (idle, old):
        page = browser.get(f"{console.url}/inbox", timeout=30)
        assert page.url.startswith(f"{console.url}/sign-in") and "Your session has ended" in page.text
        assert "Signed in as" not in page.text
    assert "Signed in as" in fresh.get(f"{console.url}/inbox", timeout=30).text
    with clinic_db(console).connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM staff_sessions")).scalar() == 1


def test_pages_forbid_scripts_framing_and_caching(console):
    page = console.browser().get(f"{console.url}/sign-in", timeout=30)
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors 'none'" in policy
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    assert "<script" not in page.text and 'href="/static/console.css"' in page.text
    stylesheet = console.browser().get(f"{console.url}/static/console.css", timeout=30)
    assert stylesheet.ok and "text/css" in stylesheet.headers["Content-Type"] and ".turn" in stylesheet.text
    missing = console.browser().get(f"{console.url}/static/secrets.txt", timeout=30)
    assert missing.status_code == 404 and "There is no such page here." in missing.text
