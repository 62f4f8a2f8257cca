"""The chat widget as a person uses it: on the assistant's demo page, in chromium, against the
servers started as `make run` starts them."""

from __future__ import annotations

import gzip
import html
import http.server
import os
import re
import signal
import threading

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from clinic import records
from clinic.details import load_clinic
from tests.widget.conftest import REPLY_TIMEOUT_MS, Widget

pytestmark = pytest.mark.servers

EMERGENCY_MESSAGE = "can't feel anything when I wipe and my back is killing me"
URGENT_MESSAGE = "I slipped on the ice last week and my back has hurt ever since"
MARKUP = "<img src=x onerror=alert(1)>"
WIDGET_SIZE_LIMIT = 60 * 1024  # bytes, gzipped: everything the widget loads


def test_a_faq_question_is_answered_on_the_demo_page_under_its_csp(widget: Widget):
    widget.visit()
    csp = requests.get(widget.demo_url, timeout=10).headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    widget.open()
    expect(widget.panel).to_contain_text(load_clinic().name)
    expect(widget.panel).to_contain_text("not a diagnosis")
    expect(widget.log).to_contain_text(load_clinic().widget_greeting)
    widget.say("how often should I get a massage?")
    expect(widget.page.locator(".bpw-typing")).to_be_visible()
    widget.wait_for_reply("massage")
    assert widget.messages("user") == ["how often should I get a massage?"]
    assert widget.csp_violations() == []
    assert not widget.page.evaluate("'io' in window")  # the socket.io client stays inside the widget


def test_make_run_prints_the_demo_page_address(assistant):
    printed = f"Website widget demo: http://localhost:{assistant.rasa_port}/widget/demo"
    assert printed in assistant.log_file.read_text().splitlines()
    page = requests.get(printed.split(": ", 1)[1], timeout=10)
    assert page.ok and html.escape(load_clinic().name) in page.text and "/widget/widget.js" in page.text


def test_everything_the_widget_loads_is_at_most_60_kb_gzipped(widget: Widget, assistant):
    loaded = []
    widget.page.on("response", lambda response: loaded.append(response))
    widget.visit().open()
    assert all(response.url.startswith(assistant.url) for response in loaded)  # no CDN, no fonts
    widget_files = {
        response.url.rsplit("/widget/", 1)[1]: response.body()
        for response in loaded
        if "/widget/" in response.url and "/widget/demo" not in response.url  # not the sample page's own
    }
    assert set(widget_files) == {"widget.js", "widget.css", "config.json"}
    size = sum(len(gzip.compress(body)) for body in widget_files.values())
    print(f"widget: {size} bytes gzipped ({', '.join(widget_files)})")
    assert size <= WIDGET_SIZE_LIMIT


def test_a_booking_is_completed_with_the_buttons_and_stored(widget: Widget, assistant):
    widget.visit().open()
    widget.say("I'd like to book a massage")
    widget.wait_for_reply("Which treatment")
    widget.choose("Deep tissue massage")
    expect(widget.page.locator(".bpw-choice--chosen")).to_have_text(re.compile("Deep tissue massage"))
    widget.wait_for_reply("day|when")
    widget.say("next tuesday at 3pm")
    widget.wait_for_reply("name")
    widget.say("Ana Lima")
    widget.wait_for_reply("reach you")
    widget.say("ana@example.com")
    widget.wait_for_reply("therapist")
    widget.say("skip")
    widget.wait_for_reply("Shall I send it")
    widget.choose("Confirm")
    reference = widget.page.locator(".bpw-reference__code")
    expect(reference).to_have_text(re.compile(r"^BK-[A-Z0-9]{4}$"), timeout=REPLY_TIMEOUT_MS)
    expect(widget.page.locator(".bpw-reference")).to_contain_text("Booking request reference")
    [row] = [
        row
        for row in records.list_records("bookings", db=records.engine(assistant.clinic_database_url))
        if row["conversation_id"] == widget.session_id()
    ]
    assert row["reference"] == reference.inner_text()
    assert (row["treatment"], row["name"], row["email"], row["channel"]) == (
        "deep tissue massage",
        "Ana Lima",
        "ana@example.com",
        "socketio",
    )
    assert widget.messages("user")[-1] == "Confirm"  # the chosen button's title, not its payload


def test_an_emergency_shows_an_alert_with_a_call_button(widget: Widget):
    widget.visit().open()
    widget.say(EMERGENCY_MESSAGE)
    alert = widget.page.get_by_role("alert")
    expect(alert).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    expect(alert).to_contain_text("emergency")
    call = alert.get_by_role("link", name=f"Call {load_clinic().emergency_number} now")
    expect(call).to_have_attribute("href", f"tel:{load_clinic().emergency_number}")
    expect(widget.page.locator(".bpw-message--alert").first).to_contain_text(f"call {load_clinic().emergency_number}")


def test_an_urgent_sign_offers_both_numbers_and_a_referral_with_its_reference(widget: Widget, assistant):
    widget.visit().open()
    widget.say(URGENT_MESSAGE)
    alert = widget.page.get_by_role("alert")
    expect(alert).to_contain_text("See a doctor", timeout=REPLY_TIMEOUT_MS)
    links = alert.get_by_role("link")
    expect(links).to_have_count(2)
    phone_digits = re.sub(r"[^\d+]", "", load_clinic().phone)
    assert [links.nth(i).get_attribute("href") for i in range(2)] == [
        f"tel:{load_clinic().emergency_number}",
        f"tel:{phone_digits}",
    ]
    expect(widget.page.locator(".bpw-typing")).to_be_hidden(timeout=REPLY_TIMEOUT_MS)
    widget.choose("Request a referral")
    widget.wait_for_reply("What name")
    widget.say("Cy Diaz")
    widget.wait_for_reply("reach you")
    widget.say("cy.diaz@example.com")
    reference = widget.page.locator(".bpw-reference__code")
    expect(reference).to_have_text(re.compile(r"^RF-[A-Z0-9]{4}$"), timeout=REPLY_TIMEOUT_MS)
    expect(widget.page.locator(".bpw-reference")).to_contain_text("Referral request reference")
    [row] = [
        row
        for row in records.list_records("referrals", db=records.engine(assistant.clinic_database_url))
        if row["conversation_id"] == widget.session_id()
    ]
    assert (row["reference"], row["name"], row["level"]) == (reference.inner_text(), "Cy Diaz", "urgent")


def test_the_conversation_survives_a_reload_and_another_page_and_start_over_begins_anew(widget: Widget):
    widget.visit().open()
    widget.say("what are your opening hours?")
    widget.wait_for_reply("Monday")
    first_session = widget.session_id()
    assert re.fullmatch(r"[0-9a-f]{32}", first_session)
    widget.page.reload()
    expect(widget.panel).to_be_visible()  # still open
    expect(widget.log).to_contain_text("what are your opening hours?")
    expect(widget.log).to_contain_text("Monday")
    widget.page.get_by_role("link", name="Treatments").click()
    expect(widget.log).to_contain_text("what are your opening hours?")
    assert widget.session_id() == first_session
    widget.say("thanks")
    widget.wait_for_reply(".")
    assert widget.messages("user") == ["what are your opening hours?", "thanks"]

    widget.page.get_by_role("button", name="Start over").click()
    expect(widget.page.locator(".bpw-message--user")).to_have_count(0)
    expect(widget.log).to_contain_text(load_clinic().widget_greeting)
    assert widget.session_id() != first_session
    assert re.fullmatch(r"[0-9a-f]{32}", widget.session_id())


def test_delete_my_data_asks_first_then_clears_the_browser_and_the_server(widget: Widget, assistant):
    widget.visit().open()
    widget.say("what are your opening hours?")
    widget.wait_for_reply("Monday")
    deleted_session = widget.session_id()

    widget.page.get_by_role("button", name="Delete my data").click()
    widget.wait_for_reply("delete this conversation")
    assert widget.axe_violations() == [], "asking to delete"
    widget.choose("Yes, delete my data")

    expect(widget.page.get_by_role("status")).to_contain_text("Your conversation was deleted", timeout=REPLY_TIMEOUT_MS)
    expect(widget.log).to_contain_text("I deleted this conversation")
    expect(widget.page.locator(".bpw-message--user")).to_have_count(0)
    assert widget.session_id() != deleted_session
    stored = widget.page.evaluate("() => Object.keys(localStorage).join(' ')")
    assert deleted_session not in stored
    tracker_db = sa.create_engine(f"sqlite:///{assistant.sqlite_file}")
    with tracker_db.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT count(*) FROM events WHERE sender_id = :id"), {"id": deleted_session}
        ).scalar_one()
    tracker_db.dispose()
    assert rows == 0
    widget.page.reload()
    expect(widget.page.locator(".bpw-message--user")).to_have_count(0)
    expect(widget.log).not_to_contain_text("Monday")  # the deleted answer is not shown again


def test_everything_works_by_keyboard_alone(widget: Widget):
    widget.visit()
    page = widget.page
    focused = "() => document.activeElement.shadowRoot?.activeElement?.className || ''"
    for _ in range(10):
        page.keyboard.press("Tab")
        if "bpw-launcher" in page.evaluate(focused):
            break
    assert "bpw-launcher" in page.evaluate(focused)
    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    assert "bpw-input" in page.evaluate(focused)
    page.keyboard.type("help")
    page.keyboard.press("Enter")
    choices = page.locator(".bpw-choice:enabled")
    expect(choices.first).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    expect(page.locator(".bpw-typing")).to_be_hidden(timeout=REPLY_TIMEOUT_MS)
    last_choice = choices.last.inner_text()
    page.keyboard.press("Shift+Tab")  # from the input back to the last button offered
    assert "bpw-choice" in page.evaluate(focused)
    page.keyboard.press("Enter")
    expect(page.locator(".bpw-choice--chosen")).to_contain_text(last_choice)
    assert widget.messages("user") == ["help", last_choice]
    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    assert "bpw-launcher" in page.evaluate(focused)


@pytest.mark.parametrize(
    "viewport",
    [{"width": 375, "height": 667}, {"width": 640, "height": 400}],
    ids=["phone", "desktop-at-200%-zoom"],
)
def test_the_widget_fills_a_small_screen_and_keeps_the_input_in_view(assistant, browser: Browser, viewport):
    # Reduced motion: the panel is measured where it is, not while it slides in.
    context = browser.new_context(
        viewport=viewport, has_touch=True, is_mobile=viewport["width"] < 400, reduced_motion="reduce"
    )
    try:
        widget = Widget(context.new_page(), f"{assistant.url}/widget/demo").visit()
        widget.launcher.tap()
        expect(widget.panel).to_be_visible()
        box = widget.panel.bounding_box()
        assert box == pytest.approx({"x": 0, "y": 0, **viewport}, abs=0.5)
        widget.say("help")
        widget.page.locator(".bpw-choice:enabled").first.tap(timeout=REPLY_TIMEOUT_MS)
        expect(widget.page.locator(".bpw-choice--chosen")).to_have_count(1)
        field = widget.input.bounding_box()
        assert 0 <= field["y"] and field["y"] + field["height"] <= viewport["height"]
        for _ in range(12):  # full screen, Tab stays in the chat, never on the page behind it
            widget.page.keyboard.press("Tab")
            assert widget.page.evaluate("document.activeElement.hasAttribute('data-clinic-chat')")
    finally:
        context.close()


def test_axe_finds_no_accessibility_violations_in_any_state(widget: Widget):
    widget.page.emulate_media(reduced_motion="reduce")
    widget.visit()
    assert widget.axe_violations() == [], "closed"
    widget.open()
    assert widget.page.locator(".bpw-panel").evaluate("panel => getComputedStyle(panel).animationName") == "none"
    assert widget.axe_violations() == [], "open"
    widget.say("help")
    expect(widget.page.locator(".bpw-choice").first).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    assert widget.axe_violations() == [], "with buttons"
    widget.say(EMERGENCY_MESSAGE)
    expect(widget.page.get_by_role("alert")).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    assert widget.axe_violations() == [], "after an alert"


def test_markup_is_shown_as_text_never_run(widget: Widget, assistant):
    widget.visit().open()
    widget.say("I'd like to book a sports massage next tuesday at 3pm")
    widget.wait_for_reply("name")
    widget.say(MARKUP)
    widget.wait_for_reply("name")
    assert widget.messages("user")[-1] == MARKUP
    # A reply that carries markup and a script link, as an integration could push one.
    pushed = f"Booking for {MARKUP} - see javascript:alert(2) or https://example.com/a?b=<b>"
    response = assistant.api(
        "POST",
        f"/conversations/{widget.session_id()}/tracker/events",
        params={"output_channel": "socketio", "execute_side_effects": "true"},
        json=[{"event": "bot", "text": pushed}],
        timeout=30,
    )
    response.raise_for_status()
    expect(widget.log).to_contain_text(pushed)
    shadow_images = widget.page.evaluate(
        "document.querySelector('[data-clinic-chat]').shadowRoot.querySelectorAll('img').length"
    )
    assert shadow_images == 0 and widget.dialogs == []
    hrefs = widget.log.get_by_role("link").evaluate_all("links => links.map((link) => link.href)")
    assert all(href.startswith(("http:", "https:", "tel:", "mailto:")) for href in hrefs)
    assert any(href.startswith("https://example.com/a") for href in hrefs)


def test_a_dropped_connection_keeps_what_was_typed_and_sends_it_once(widget: Widget, assistant):
    widget.visit().open()
    widget.say("what are your opening hours?")
    widget.wait_for_reply("Monday")
    status = widget.page.get_by_role("status")

    assistant.stop_servers()
    expect(status).to_contain_text("Connection lost", timeout=30_000)
    widget.say("do you have parking?")
    expect(widget.page.locator(".bpw-message--pending")).to_contain_text("do you have parking?")

    assistant.start()
    widget.wait_for_reply("don't have that information")
    expect(status).to_contain_text("Connected again")
    expect(widget.page.locator(".bpw-message--pending")).to_have_count(0)
    assert widget.messages("user") == ["what are your opening hours?", "do you have parking?"]
    bot_texts = widget.messages("bot")
    assert len(bot_texts) == len(set(bot_texts)), bot_texts  # no reply shown twice
    said = [event["text"] for event in assistant.tracker(widget.session_id())["events"] if event["event"] == "user"]
    assert said == ["what are your opening hours?", "do you have parking?"]


def test_a_message_typed_ahead_waits_until_the_whole_reply_has_arrived(widget: Widget):
    widget.visit().open()
    widget.say("what are your opening hours?")
    widget.say("where are you?")
    widget.wait_for_reply("Harbour Street")
    answered = widget.page.locator(".bpw-message--bot[data-reply]").evaluate_all(
        "items => items.map((item) => item.getAttribute('data-reply'))"
    )
    first, second = widget.page.locator(".bpw-message--user").evaluate_all(
        "items => items.map((item) => item.getAttribute('data-id'))"
    )
    assert answered == sorted(answered, key=[first, second].index)  # every part of reply 1 first
    assert answered.count(first) >= 1 and answered.count(second) >= 1


def test_a_page_of_a_site_not_in_widget_origins_gets_no_chat(assistant, browser: Browser):
    """The widget embedded on a page of another origin: it loads, but the chat refuses it."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            body = (
                '<!doctype html><html lang="en"><title>Other site</title><main><h1>Other site</h1></main>'
                f'<script src="{assistant.url}/widget/widget.js" async></script></html>'
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    other_site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=other_site.serve_forever, daemon=True).start()
    context = browser.new_context()
    try:
        widget = Widget(context.new_page(), f"http://localhost:{other_site.server_port}/")
        widget.visit().open()
        expect(widget.page.get_by_role("status")).to_contain_text("not allowed to use the chat")
    finally:
        context.close()
        other_site.shutdown()


def test_a_slow_reply_is_said_to_be_slow_and_still_arrives(widget: Widget, assistant):
    widget.visit().open()
    action_server = assistant.action_server_pid()
    os.kill(action_server, signal.SIGSTOP)  # the booking form's helper hangs
    try:
        widget.say("I'd like to book a massage")
        expect(widget.page.get_by_role("status")).to_contain_text("taking longer than usual", timeout=30_000)
        expect(widget.page.locator(".bpw-typing")).to_be_visible()
    finally:
        os.kill(action_server, signal.SIGCONT)
    widget.wait_for_reply("Which treatment")
    expect(widget.page.get_by_role("status")).not_to_contain_text("taking longer")
