"""Loads a published version's model into this Rasa server while it keeps answering.

Rasa's own `PUT /model` loads the new model in the server's event loop: nobody gets an answer
until it is done (several seconds), and it needs the whole HTTP API switched on. This route
(POST /webhooks/model/load, named in credentials.yml like a channel, since channels are how a
Rasa server takes extra routes) builds the new model in a worker thread while the old one keeps
answering, then swaps it in with one assignment; a conversation turn already under way finishes
with the model it started with.

Only a caller with the publish token (settings.publish_token) may use it, and only for a model
file inside the versions folder (staff/releases.py) or the one `make` trained.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from settings import MODEL_FILE, publish_token, settings

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
            agent = request.app.ctx.agent
            async with one_at_a_time:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, agent.load_model, model.resolve())
            logger.info("Loaded the published model %s", model.name)
            return response.json({"model_file": model.name})

        return routes
