"""The routes a publish uses to switch this Rasa server to the live version's model.

POST /webhooks/model/load tells the server's supervisor (rasa_plugins/worker_pool.py) to look
at the live-version record now rather than at its next check, and answers 202 at once: the
switch itself replaces the worker processes one at a time, each new one loading the model
before it takes connections, so patients keep getting answers. GET /webhooks/model/status tells
which model each worker runs, so a publish can wait until every one runs the new version.
Both are named in credentials.yml like a channel, since channels are how a Rasa server takes
extra routes, and work with the HTTP API off.

Only a caller with the publish token (settings.publish_token) may use them, and only for the
live version's model file.
"""

from __future__ import annotations

import hmac
import os
import signal
from pathlib import Path
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_plugins.worker_pool import read_status
from settings import MODEL_FILE, live_model_file, publish_token, settings


def loadable(path: Path) -> bool:
    """A model file staff may publish: the one `make` trained, or one in the versions folder."""
    resolved = path.resolve()
    versions = Path(settings().versions_dir).resolve()
    return resolved.is_file() and (resolved == MODEL_FILE.resolve() or versions in resolved.parents)


def _authorised(request: Request) -> bool:
    given = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), publish_token().encode())


class ModelLoaderInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "model"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        routes = Blueprint("model_loader", __name__)

        @routes.route("/load", methods=["POST"])
        async def load(request: Request) -> HTTPResponse:
            if not _authorised(request):
                return response.json({"error": "a valid publish token is required"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            model = Path(str(body.get("model_file") or ""))
            if not loadable(model):
                return response.json({"error": "not a published model file"}, status=400)
            live = live_model_file()
            if not (live and live.resolve() == model.resolve()):
                return response.json({"error": "not the live version's model: publish it first"}, status=409)
            os.kill(os.getppid(), signal.SIGUSR1)  # the supervisor: look at the live version now
            return response.json({"switching_to": model.name}, status=202)

        @routes.route("/status", methods=["GET"])
        async def status(request: Request) -> HTTPResponse:
            if not _authorised(request):
                return response.json({"error": "a valid publish token is required"}, status=401)
            return response.json(read_status())

        return routes
