"""Loads a published version's model into this Rasa server while it keeps answering.

Rasa's own `PUT /model` loads the new model in the server's event loop: nobody gets an answer
until it is done (several seconds), and it needs the whole HTTP API switched on. This route
(POST /webhooks/model/load, named in credentials.yml like a channel, since channels are how a
Rasa server takes extra routes) builds the new model in a worker thread while the old one keeps
answering, then swaps it in with one assignment; a conversation turn already under way finishes
with the model it started with.

Every Rasa process also looks at the live-version record (VERSIONS_DIR/published.jsonl) every
LIVE_VERSION_CHECK_SECONDS and loads the live version the same way when it runs another one: a
publish reaches each process of `make run` on several cores, and each replica of a cluster
that shares VERSIONS_DIR, even one that was down when staff published.

Only a caller with the publish token (settings.publish_token) may use it, and only for a model
file inside the versions folder (staff/releases.py) or the one `make` trained.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, List

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from settings import MODEL_FILE, live_model_file, publish_token, settings

logger = logging.getLogger(__name__)


def loadable(path: Path) -> bool:
    """A model file staff may publish: the one `make` trained, or one in the versions folder."""
    resolved = path.resolve()
    versions = Path(settings().versions_dir).resolve()
    return resolved.is_file() and (resolved == MODEL_FILE.resolve() or versions in resolved.parents)


class ModelLoaderInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "model"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        routes = Blueprint("model_loader", __name__)
        one_at_a_time = asyncio.Lock()

        @routes.route("/load", methods=["POST"])
        async def load(request: Request) -> HTTPResponse:
            given = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), publish_token().encode()):
                return response.json({"error": "a valid publish token is required"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            model = Path(str(body.get("model_file") or ""))
            if not loadable(model):
                return response.json({"error": "not a published model file"}, status=400)
            await load_model(request.app.ctx.agent, model)
            return response.json({"model_file": model.name})

        async def load_model(agent: Any, model: Path) -> None:
            async with one_at_a_time:
                if Path(agent.processor.model_filename).name == model.name:
                    return  # already running it (the watcher and a publish's call both ask)
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, agent.load_model, model.resolve())
            logger.info("Loaded the published model %s", model.name)

        async def follow_live_version(app: Any) -> None:
            while True:
                await asyncio.sleep(settings().live_version_check_seconds)
                live = live_model_file()
                agent = getattr(app.ctx, "agent", None)
                if not (live and agent and agent.processor and loadable(live)):
                    continue
                try:
                    await load_model(agent, live)
                except Exception:  # a broken file must not stop the watching; the old model answers
                    logger.exception("Could not load the published model %s", live.name)

        following: List[asyncio.Task[None]] = []

        @routes.listener("after_server_start")
        async def start_following(app: Any, _: Any) -> None:
            following.append(asyncio.ensure_future(follow_live_version(app)))

        @routes.listener("before_server_stop")
        async def stop_following(app: Any, _: Any) -> None:
            for task in following:
                task.cancel()

        return routes
