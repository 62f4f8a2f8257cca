"""The staff console, a Sanic web app (`python -m staff console`, port STAFF_PORT): staff sign in
and read the conversations that need a look (staff/console/conversations.py), with names and
contacts hidden from reviewers (masking.py). Editors and publishers also teach the assistant
from a conversation, edit the FAQ topics and the clinic's answers (content.py, recorded in the
audit log, staff/audit.py), train and gate candidates and chat with them (jobs.py, preview.py);
publishers publish and roll back (staff/releases.py), and answer access and erasure requests
(staff/data_requests.py). The retention rules (clinic/details.yml) run here, at start and every
RETENTION_EVERY_HOURS: the console is the process `make run` always starts that already reaches
both databases and imports no Rasa.

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
from typing import Any, Dict, List, Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sanic import Sanic
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import HTTPResponse, html, json, redirect
from sqlalchemy.engine import Engine

from clinic import records
from clinic.details import load_clinic
from settings import Settings, settings
from staff import accounts, audit, data_requests, releases
from staff.console import conversations
from staff.console.content import CLINIC_TOPICS_FILE, ContentError, Project, TopicForm
from staff.console.jobs import GATE, TRAIN, Busy, Jobs, Switch
from staff.console.masking import Masker
from staff.console.preview import Previews
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
from staff.console.stories import KINDS, StoryBuilder, StoryForm, parse_buttons
from web import security as web_security

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
    project = Project(config.staff_project_dir, clinic.country)
    story_builder = StoryBuilder(config.staff_project_dir, clinic.country)
    jobs = Jobs(Path(config.versions_dir))
    previews = Previews()

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
        web_security.add_security_headers(request, response)
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

    def refused(request: Request) -> HTTPResponse:
        return render(
            request,
            "message.html",
            status=403,
            title="Not for your role",
            message=f"Your account ({request.ctx.account.role}) may not do this. Ask whoever looks after "
            "the assistant if you need to.",
        )

    def may(request: Request, role: str) -> bool:
        return request.ctx.account.may(role)

    def topic_choices() -> Dict[str, List[Any]]:
        """The topics a message can be taught as: the articles' FAQ topics, then the clinic's own."""
        held = project.topic_files()
        topics = project.topics()
        return {
            "FAQ topics": [t for t in topics if held[t.id] != CLINIC_TOPICS_FILE],
            "The clinic's topics": [t for t in topics if held[t.id] == CLINIC_TOPICS_FILE],
        }

    async def show_conversation(
        request: Request, conversation_id: str, status: int = 200, notice: str = "", problem: str = ""
    ) -> HTTPResponse:
        db = conversations.engine(config.conversations_database_url)
        found = await asyncio.to_thread(conversations.conversation, db, conversation_id)
        if found is None:
            raise NotFound("no such conversation")
        teaching = may(request, accounts.EDITOR)
        return render(
            request,
            "conversation.html",
            status=status,
            conversation_id=found.conversation_id,
            turns=_as_seen_by(request.ctx.account, found, clinic.country),
            masked=not teaching,
            teaching=teaching,
            topic_choices=topic_choices() if teaching else {},
            low_confidence=config.staff_low_confidence,
            notice=notice,
            problem=problem,
        )

    @app.get("/conversations/<conversation_id:path>")
    async def conversation(request: Request, conversation_id: str) -> HTTPResponse:
        return await show_conversation(request, conversation_id)

    async def recorded_up_to(conversation_id: str, turn: str) -> List[Dict[str, Any]]:
        """A conversation's stored events up to and including the person's message of one turn."""
        db = conversations.engine(config.conversations_database_url)
        stored = await asyncio.to_thread(conversations.stored_events, db, conversation_id)
        found = conversations.conversation_of(conversation_id, stored)
        if found is None or not turn.isdigit() or int(turn) >= len(found.turns):
            raise NotFound("no such message")
        at = found.turns[int(turn)].event_index
        if at is None or not stored[at].get("text"):
            raise NotFound("no such message")
        return stored[: at + 1]

    async def turn_text(conversation_id: str, turn: str) -> str:
        """What the person wrote in one turn of a conversation, as they wrote it."""
        return str((await recorded_up_to(conversation_id, turn))[-1]["text"])

    def save(change: audit.Change, request: Request) -> None:
        audit.record(change, request.ctx.account.name, clinic_db)
        logger.info("%s: %s (%s)", request.ctx.account.name, change.summary, change.path)

    async def save_story(
        request: Request, conversation_id: str, topic_id: str, recorded: List[Dict[str, Any]]
    ) -> HTTPResponse:
        """*Save as story*: the message becomes a phrasing of the topic (unless it is one), and
        the conversation up to it a training story; everything is checked before either is written."""
        text = " ".join(str(recorded[-1]["text"]).split())
        topic = project.topic(topic_id)
        if topic is None:
            raise ContentError(f"There is no topic {topic_id!r}.")
        name = f"taught from the console: the conversation up to “{text}”"
        steps = await asyncio.to_thread(story_builder.recorded_story, name, recorded)
        known = text.lower() in (question.lower() for question in topic.questions)
        changes = [] if known else [await asyncio.to_thread(project.add_phrasing, topic_id, text)]
        changes.append(await asyncio.to_thread(story_builder.add_story, name, steps))
        for change in changes:
            await asyncio.to_thread(save, change, request)
        done = (
            f"Saved as a story in {changes[-1].path}: the conversation up to “{text}”, answered with {topic_id}"
            + ("." if known else f"; “{text}” is now a phrasing of {topic_id}.")
            + " A new version learns it once it is trained (Versions)."
        )
        return await show_conversation(request, conversation_id, notice=done)

    @app.post("/teach")
    async def teach(request: Request) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        conversation_id = request.form.get("conversation") or ""
        recorded = await recorded_up_to(conversation_id, request.form.get("turn") or "")
        text = str(recorded[-1]["text"])
        topic_id = request.form.get("topic") or ""
        doing = request.form.get("do")
        saving_test = doing == "test"
        try:
            if not topic_id:
                raise ContentError("Choose the topic the message means.")
            if saving_test:
                name = f"taught from the console: “{text}” is {topic_id}"
                change, left_out = await asyncio.to_thread(project.add_conversation_test, name, topic_id, recorded)
            elif doing == "story":
                return await save_story(request, conversation_id, topic_id, recorded)
            else:
                change = await asyncio.to_thread(project.add_phrasing, topic_id, text)
        except ContentError as problem:
            return await show_conversation(request, conversation_id, status=400, problem=str(problem))
        await asyncio.to_thread(save, change, request)
        if saving_test:
            earlier = sum(1 for event in recorded[:-1] if event.get("event") == "user")
            done = f"Saved as a conversation test in {change.path}: “{text}” should be answered with {topic_id}"
            if left_out and earlier:
                done += f"; the test starts at this message, because {left_out}."
            elif earlier:
                plural = "s" if earlier > 1 else ""
                done += f", after the {earlier} message{plural} before it, answered as they were."
            else:
                done += "."
        else:
            done = (
                f"Added “{text}” to the topic {topic_id} ({change.path}). "
                "A new version learns it once it is trained (Versions)."
            )
        return await show_conversation(request, conversation_id, notice=done)

    # --- knowledge pages ---------------------------------------------------------------------

    @app.get("/knowledge")
    async def knowledge_page(request: Request) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        held = project.topic_files()
        by_file: Dict[str, List[Any]] = {name: [] for name in project.knowledge_files()}
        for topic in project.topics():
            by_file[held[topic.id]].append(topic)
        return render(request, "knowledge.html", by_file=by_file, answers=project.clinic_answers())

    def topic_form_page(
        request: Request, form: TopicForm, new: bool, status: int = 200, problem: str = "", file_name: str = ""
    ) -> HTTPResponse:
        return render(
            request,
            "topic.html",
            status=status,
            form=form,
            new=new,
            problem=problem,
            files=project.knowledge_files(),
            file_name=file_name or CLINIC_TOPICS_FILE,
            topics=project.topics(),
        )

    def form_from(request: Request, topic_id: str) -> TopicForm:
        return TopicForm(
            id=topic_id.strip(),
            title=request.form.get("title") or "",
            questions=(request.form.get("questions") or "").splitlines(),
            answer=request.form.get("answer") or "",
            follow_up=request.form.get("follow_up") or None,
        )

    @app.get("/knowledge/new")
    async def new_topic_page(request: Request) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        conversation_id, turn = request.args.get("conversation"), request.args.get("turn")
        first = await turn_text(conversation_id, turn or "") if conversation_id else ""
        return topic_form_page(request, TopicForm("", "", [first] if first else [], ""), new=True)

    @app.post("/knowledge/new")
    async def new_topic(request: Request) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        form = form_from(request, request.form.get("id") or "")
        file_name = request.form.get("file") or ""
        try:
            change = await asyncio.to_thread(project.save_topic, form, file_name)
        except ContentError as problem:
            return topic_form_page(request, form, True, 400, str(problem), file_name)
        await asyncio.to_thread(save, change, request)
        return redirect(f"/knowledge?saved={form.id}")

    @app.get("/knowledge/topics/<topic_id>")
    async def topic_page(request: Request, topic_id: str) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        topic = project.topic(topic_id)
        if topic is None:
            raise NotFound("no such topic")
        form = TopicForm(topic.id, topic.title, list(topic.questions), topic.answer, topic.follow_up)
        return topic_form_page(request, form, new=False)

    @app.post("/knowledge/topics/<topic_id>")
    async def save_topic(request: Request, topic_id: str) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        form = form_from(request, topic_id)
        try:
            change = await asyncio.to_thread(project.save_topic, form)
        except ContentError as problem:
            return topic_form_page(request, form, False, 400, str(problem))
        await asyncio.to_thread(save, change, request)
        return redirect(f"/knowledge?saved={topic_id}")

    @app.get("/knowledge/answers")
    async def answers_page(request: Request) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        return render(request, "answers.html", answers=project.clinic_answers(), problem="")

    @app.post("/knowledge/answers")
    async def save_answers(request: Request) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        stored = project.clinic_answers()
        # Only the answers the form sent: a field missing from it is not an answer emptied.
        answers = {question: request.form.get(question) or "" for question in stored if question in request.form}
        try:
            change = await asyncio.to_thread(project.set_clinic_answers, answers)
        except ContentError as problem:
            shown = {**stored, **answers}
            return render(request, "answers.html", status=400, answers=shown, problem=str(problem))
        await asyncio.to_thread(save, change, request)
        return redirect("/knowledge?saved=answers")

    def story_page(
        request: Request, form: StoryForm, buttons: str, status: int = 200, problem: str = ""
    ) -> HTTPResponse:
        return render(
            request,
            "story.html",
            status=status,
            form=form,
            buttons=buttons,
            problem=problem,
            kinds=KINDS,
            responses=story_builder.reusable_responses(),
            intents=story_builder.intents(),
        )

    @app.get("/stories/new")
    async def new_story_page(request: Request) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        return story_page(request, StoryForm("", "", [], ""), "")

    @app.post("/stories/new")
    async def new_story(request: Request) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        buttons = request.form.get("buttons") or ""
        form = StoryForm(
            intent=(request.form.get("intent") or "").strip(),
            description=request.form.get("description") or "",
            phrasings=(request.form.get("phrasings") or "").splitlines(),
            kind=request.form.get("kind") or "",
            response=request.form.get("response") or "",
            text=request.form.get("text") or "",
        )
        try:
            form = dataclasses.replace(form, buttons=parse_buttons(buttons))
            written = await asyncio.to_thread(story_builder.build, form)
        except ContentError as problem:
            return story_page(request, form, buttons, 400, str(problem))
        for change in written:
            await asyncio.to_thread(save, change, request)
        return redirect("/changes")

    @app.get("/changes")
    async def changes_page(request: Request) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        return render(request, "changes.html", entries=await asyncio.to_thread(audit.recent, clinic_db))

    # --- personal data: access and erasure requests (publishers) ---------------------------

    def personal_data_page(request: Request, status: int = 200, problem: str = "", notice: str = "") -> HTTPResponse:
        return render(request, "personal_data.html", status=status, problem=problem, notice=notice)

    @app.get("/personal-data")
    async def personal_data(request: Request) -> HTTPResponse:
        if not may(request, accounts.PUBLISHER):
            return refused(request)
        return personal_data_page(request)

    @app.post("/personal-data/export")
    async def export_personal_data(request: Request) -> HTTPResponse:
        if not may(request, accounts.PUBLISHER):
            return refused(request)
        try:
            held = await asyncio.to_thread(
                data_requests.export, request.form.get("contact") or "", request.ctx.account.name, clinic_db
            )
        except data_requests.ContactError as problem:
            return personal_data_page(request, 400, problem=str(problem))
        return json(
            held,
            headers={"Content-Disposition": 'attachment; filename="personal-data.json"'},
            ensure_ascii=False,
            indent=2,
        )

    @app.post("/personal-data/erase")
    async def erase_personal_data(request: Request) -> HTTPResponse:
        if not may(request, accounts.PUBLISHER):
            return refused(request)
        if request.form.get("confirm") != "yes":
            return personal_data_page(request, 400, problem="Tick the box to confirm the erasure.")
        try:
            erasure = await asyncio.to_thread(
                data_requests.erase, request.form.get("contact") or "", request.ctx.account.name, clinic_db
            )
        except data_requests.ContactError as problem:
            return personal_data_page(request, 400, problem=str(problem))
        logger.info("%s answered an erasure request", request.ctx.account.name)
        return personal_data_page(request, notice=data_requests.describe(erasure) + ".")

    @app.after_server_start
    async def start_retention(running: Sanic, _loop: Any) -> None:
        running.add_task(keep_retention(config.retention_every_hours))

    # --- versions ----------------------------------------------------------------------------

    def versions_page(request: Request, status: int = 200, problem: str = "", notice: str = "") -> HTTPResponse:
        versions = list(reversed(releases.all_versions()))
        current = releases.live()
        published = releases.restorable()
        return render(
            request,
            "versions.html",
            status=status,
            versions=versions,
            live_id=current.id if current else None,
            restorable=[v for v in published if not current or v != current.id],
            job=jobs.current,
            switch=getattr(request.app.ctx, "switch", None),  # the newest publish's
            servers_listed=bool(config.rasa_server_urls),
            problem=problem,
            notice=notice,
            publisher=may(request, accounts.PUBLISHER),
        )

    @app.get("/versions")
    async def versions(request: Request) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        return versions_page(request)

    async def start(request: Request, kind: str, version_id: Optional[str] = None) -> HTTPResponse:
        try:
            jobs.start(kind, request.ctx.account.name, version_id)
        except Busy as busy:
            return versions_page(request, 409, problem=str(busy))
        logger.info("%s started %s %s", request.ctx.account.name, kind, version_id or "")
        return redirect("/versions")

    @app.post("/versions/train")
    async def train(request: Request) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        return await start(request, TRAIN)

    def known_version(version_id: str) -> releases.Version:
        try:
            return releases.load(version_id)
        except releases.ReleaseError:
            raise NotFound("no such version") from None

    @app.post("/versions/<version_id>/gate")
    async def run_gate(request: Request, version_id: str) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        return await start(request, GATE, known_version(version_id).id)

    async def make_live(request: Request, version_id: str, rollback: bool) -> HTTPResponse:
        if not may(request, accounts.PUBLISHER):
            return refused(request)
        by = request.ctx.account.name
        try:
            if rollback:
                version = releases.rollback(by, version_id, switch=False)
            else:
                version = releases.publish(known_version(version_id).id, by, switch=False)
        except releases.ReleaseError as problem:
            return versions_page(request, 409, problem=str(problem))
        logger.info("%s %s %s", by, "rolled back to" if rollback else "published", version.id)
        # The servers switch process by process, minutes on a busy machine: longer than a page
        # may wait. They follow the live version on their own; this only starts them at once.
        switch = Switch(version.id, by, dt.datetime.now(dt.timezone.utc))
        request.app.ctx.switch = switch
        request.app.add_task(switch_servers(version, switch))
        return versions_page(request, notice=f"Version {version.id} is live.")

    async def switch_servers(version: releases.Version, switch: Switch) -> None:
        try:
            await asyncio.to_thread(releases.switch_servers, version)
        except releases.ReleaseError as problem:
            logger.error("A Rasa server could not switch to version %s; it was taken back: %s", version.id, problem)
            switch.problem = str(problem)
        finally:
            switch.finished = True

    @app.post("/versions/<version_id>/publish")
    async def publish(request: Request, version_id: str) -> HTTPResponse:
        return await make_live(request, version_id, rollback=False)

    @app.post("/versions/rollback")
    async def rollback(request: Request) -> HTTPResponse:
        return await make_live(request, request.form.get("version") or "", rollback=True)

    @app.get("/versions/<version_id>")
    async def version_page(request: Request, version_id: str) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        version = known_version(version_id)
        transcript = previews.transcript(request.ctx.account.name, version.id)
        return render(request, "version.html", version=version, transcript=transcript)

    @app.post("/versions/<version_id>/preview")
    async def preview(request: Request, version_id: str) -> HTTPResponse:
        if not may(request, accounts.EDITOR):
            return refused(request)
        version = known_version(version_id)
        text = (request.form.get("message") or "").strip()
        if text:
            await previews.say(version, request.ctx.account.name, text)
        return redirect(f"/versions/{version.id}#preview")

    return app


async def keep_retention(every_hours: float) -> None:
    """Applies the retention rules now and then every ``every_hours``, while the console runs."""
    while True:
        try:
            await asyncio.to_thread(data_requests.retention)
        except Exception:  # a database briefly down must not end the job; the next round retries
            logger.exception("The retention job failed; it runs again in %s hours", every_hours)
        await asyncio.sleep(every_hours * 3600)


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
