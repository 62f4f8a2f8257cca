"""The staff console, a Sanic web app (`python -m staff console`, port STAFF_PORT): staff sign in
and read the conversations that need a look (staff/console/conversations.py), with names and
contacts hidden from reviewers (masking.py).

Every page but the sign-in page needs a session (staff/accounts.py); every POST needs the
session's CSRF token (security.py). Database work runs in a thread, so one slow page (or a
password check, which is slow on purpose) does not hold up the others.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from pathlib import Path
from typing import Any, List

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sanic import Sanic
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import HTTPResponse, html, redirect
from sqlalchemy.engine import Engine

from clinic import records
from clinic.details import load_clinic
from settings import Settings, settings
from staff import accounts
from staff.console import conversations
from staff.console.masking import Masker
from staff.console.security import (
    CSRF_FIELD,
    HEADERS,
    NO_STORE,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    clear_cookie,
    csrf_matches,
    csrf_token,
    new_sign_in_key,
    set_cookie,
)

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SIGN_IN = "/sign-in"
STATIC = "/static"
INBOX_ROWS = 200  # a page longer than this is no help; filters narrow it down
NOTICES = {
    "ended": "Your session has ended (after "
    f"{accounts.SESSION_IDLE_LIMIT // dt.timedelta(minutes=1)} minutes without activity, or "
    f"{accounts.SESSION_LIFETIME // dt.timedelta(hours=1)} hours in all). Please sign in again.",
    "signed-out": "You are signed out.",
}


def _as_seen_by(account: accounts.Account, found: conversations.Conversation, region: str) -> List[conversations.Turn]:
    """The turns of a conversation, with names and contacts hidden unless the account may see them."""
    if account.may(accounts.EDITOR):
        return found.turns
    mask = Masker(found.names, region)
    masked = []
    for turn in found.turns:
        red_flag = turn.red_flag and {**turn.red_flag, "matched": [mask(w) for w in turn.red_flag.get("matched", [])]}
        replies = [conversations.Reply(mask(r.text), [mask(b) for b in r.buttons]) for r in turn.replies]
        text = None if turn.text is None else mask(turn.text)
        masked.append(dataclasses.replace(turn, text=text, red_flag=red_flag, replies=replies))
    return masked


def create_app(config: Settings, clinic_db: Engine) -> Sanic:
    app = Sanic("staff_console")
    clinic = load_clinic()
    templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined)
    templates.filters["when"] = lambda moment: f"{moment.astimezone(clinic.tz):%-d %b %Y, %H:%M %Z}"
    templates.filters["percent"] = lambda confidence: "" if confidence is None else f"{confidence:.0%}"
    app.static(STATIC, HERE / "static")

    def render(request: Request, template: str, status: int = 200, **context: Any) -> HTTPResponse:
        key = request.ctx.csrf_key
        body = templates.get_template(template).render(
            account=request.ctx.account, csrf_token=csrf_token(key) if key else "", clinic=clinic, **context
        )
        return html(body, status=status)

    def sign_in_form(
        request: Request, status: int = 200, name: str = "", problem: str = "", notice: str = ""
    ) -> HTTPResponse:
        return render(request, "sign_in.html", status, name=name, problem=problem, notice=notice)

    @app.on_request
    async def require_session(request: Request) -> HTTPResponse | None:
        request.ctx.account, request.ctx.csrf_key = None, ""
        if request.path.startswith(STATIC + "/"):
            return None  # the stylesheet, which the sign-in page needs too
        token = request.cookies.get(SESSION_COOKIE) or ""
        request.ctx.account = accounts.session_account(token, clinic_db) if token else None
        request.ctx.csrf_key = token if request.ctx.account else request.cookies.get(SIGN_IN_COOKIE) or ""
        if request.ctx.account is None and request.path != SIGN_IN:
            response = redirect(f"{SIGN_IN}?notice=ended" if token else SIGN_IN)
            if token:
                clear_cookie(response, SESSION_COOKIE)
            return response
        if request.method == "POST" and not csrf_matches(request.ctx.csrf_key, request.form.get(CSRF_FIELD) or ""):
            return render(
                request,
                "message.html",
                status=403,
                title="The form had expired",
                message="For your safety, that form could not be sent. Please go back, reload the page and try again.",
            )
        return None

    @app.on_response
    async def add_security_headers(request: Request, response: HTTPResponse) -> None:
        response.headers.update(HEADERS)
        if not request.path.startswith(STATIC + "/"):
            response.headers.update(NO_STORE)

    @app.exception(NotFound)
    async def not_found(request: Request, exception: Exception) -> HTTPResponse:
        return render(request, "message.html", status=404, title="Not found", message="There is no such page here.")

    @app.get("/")
    async def home(request: Request) -> HTTPResponse:
        return redirect("/inbox")

    @app.get(SIGN_IN)
    async def sign_in_page(request: Request) -> HTTPResponse:
        if request.ctx.account:
            return redirect("/inbox")
        fresh_key = "" if request.ctx.csrf_key else new_sign_in_key()
        request.ctx.csrf_key = request.ctx.csrf_key or fresh_key
        response = sign_in_form(request, notice=NOTICES.get(request.args.get("notice", ""), ""))
        if fresh_key:
            set_cookie(response, SIGN_IN_COOKIE, fresh_key, config.staff_secure_cookie)
        return response

    @app.post(SIGN_IN)
    async def sign_in(request: Request) -> HTTPResponse:
        name = (request.form.get("name") or "").strip()
        password = request.form.get("password") or ""
        if not name or not password:
            return sign_in_form(request, 400, name=name, problem="Please type your name and your password.")
        address = request.remote_addr or request.ip
        outcome = await asyncio.to_thread(accounts.check_sign_in, name, password, address, clinic_db)
        if outcome.account is None:
            logger.warning("Sign-in %s from %s", "refused (throttled)" if outcome.throttled else "failed", address)
            status = 429 if outcome.throttled else 401
            return sign_in_form(request, status, name=name, problem=outcome.problem)
        token = await asyncio.to_thread(accounts.start_session, outcome.account, clinic_db)
        logger.info("%s signed in from %s", outcome.account.name, address)
        response = redirect("/inbox")
        set_cookie(response, SESSION_COOKIE, token, config.staff_secure_cookie)
        clear_cookie(response, SIGN_IN_COOKIE)
        return response

    @app.post("/sign-out")
    async def sign_out(request: Request) -> HTTPResponse:
        accounts.end_session(request.cookies.get(SESSION_COOKIE) or "", clinic_db)
        logger.info("%s signed out", request.ctx.account.name)
        response = redirect(f"{SIGN_IN}?notice=signed-out")
        clear_cookie(response, SESSION_COOKIE)
        return response

    @app.get("/inbox")
    async def inbox(request: Request) -> HTTPResponse:
        shown = request.args.get("show")
        shown = shown if shown in conversations.REASONS else None
        now = dt.datetime.now(dt.timezone.utc)
        listed = await asyncio.to_thread(
            conversations.inbox,
            conversations.engine(config.conversations_database_url),
            now,
            config.staff_low_confidence,
            dt.timedelta(minutes=config.staff_form_abandoned_after_minutes),
            now - dt.timedelta(days=config.staff_inbox_days),
            shown,
        )
        return render(
            request,
            "inbox.html",
            listed=listed[:INBOX_ROWS],
            total=len(listed),
            reasons=conversations.REASONS,
            shown=shown,
            days=config.staff_inbox_days,
            abandoned_after=config.staff_form_abandoned_after_minutes,
            low_confidence=config.staff_low_confidence,
        )

    @app.get("/conversations/<conversation_id:path>")
    async def conversation(request: Request, conversation_id: str) -> HTTPResponse:
        db = conversations.engine(config.conversations_database_url)
        found = await asyncio.to_thread(conversations.conversation, db, conversation_id)
        if found is None:
            raise NotFound("no such conversation")
        return render(
            request,
            "conversation.html",
            conversation_id=found.conversation_id,
            turns=_as_seen_by(request.ctx.account, found, clinic.country),
            masked=not request.ctx.account.may(accounts.EDITOR),
            low_confidence=config.staff_low_confidence,
        )

    return app


def serve() -> None:
    """Runs the console until Ctrl-C."""
    # Sign-ins and sign-outs, beside Sanic's own log lines.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s] [%(levelname)s] %(name)s: %(message)s"))
    logging.getLogger("staff").addHandler(handler)
    logging.getLogger("staff").setLevel(logging.INFO)
    config = settings()
    app = create_app(config, records.engine())  # migrates the clinic database before the first request
    # No access log: it would add little to the sign-in records and could carry patients' ids.
    app.run(host=config.staff_host, port=config.staff_port, access_log=False, motd=False)
