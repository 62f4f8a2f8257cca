"""Starts the Rasa server (`python -m rasa_plugins.server`, from scripts/run-servers.sh) as
`rasa run` does, but safe by default:

- The HTTP API (/conversations, /model, /status, /domain, ...) is on only when RASA_API_TOKEN or
  RASA_JWT_SECRET is set, and then every call to it needs that token or a JWT signed with that
  secret. Secrets come from the environment, never the command line, where `ps` shows them.
- CORS for exactly the clinic's pages (WIDGET_ORIGINS), security headers on every response, a
  size limit on every request body, access logs without query strings (web/security.py).
- GET /health answers 200 once the model is loaded and 503 before, and tells nothing else, so
  a readiness check works without the API; / and /version, which tell Rasa's version, are gone.
- Its processes (SANIC_WORKERS) move to a newly published model one at a time, with no pause
  (rasa_plugins/worker_pool.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
from functools import partial
from pathlib import Path
from typing import Any, Optional

from rasa.core import run
from rasa.core.constants import DEFAULT_RESPONSE_TIMEOUT
from rasa.core.utils import AvailableEndpoints, number_of_sanic_workers
from rasa.utils.common import configure_logging_and_warnings, update_sanic_log_level
from rasa.utils.log_utils import configure_structlog
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_plugins.channels.model_loader import loadable
from rasa_plugins.worker_pool import WorkerPool
from settings import live_model_file, settings
from web.security import secure

logger = logging.getLogger(__name__)
# Paths any page may read across origins: the widget's public files (clinic pages elsewhere load
# widget.js and fetch config.json), and socket.io, which checks a page's origin itself and must
# be able to tell a page of another site that it may not chat (rasa_plugins/channels/widget.py).
ANY_ORIGIN_PATHS = ["/widget/", "/socket.io"]


async def health(request: Request) -> HTTPResponse:
    agent = getattr(request.app.ctx, "agent", None)
    ready = agent is not None and agent.is_ready()
    return response.json({"status": "ok" if ready else "loading"}, status=200 if ready else 503)


async def without_version_pages(request: Request) -> Optional[HTTPResponse]:
    """Rasa answers / and /version to anyone, API or not: which Rasa runs here is nobody's business."""
    return response.json({"error": "Not found."}, status=404) if request.path in ("/", "/version") else None


async def load_given_model(endpoints: AvailableEndpoints, app: Any, loop: Any) -> None:
    """Each worker loads the model its pool gave it (rasa_plugins/worker_pool.py)."""
    agent = await run.load_agent_on_start(str(app.ctx.model), endpoints, None, app, loop)
    # Rasa logs a model it cannot load and serves on without one, answering nothing: a worker
    # ends instead, so its pool keeps the old workers and reports the model as failed.
    if not agent.is_ready():
        raise RuntimeError(f"could not load the model {Path(app.ctx.model).name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="the trained model file")
    parser.add_argument("--port", type=int, default=5005)
    parser.add_argument("--credentials", default="credentials.yml", help="the channels to open")
    parser.add_argument("--endpoints", default="endpoints.yml")
    args = parser.parse_args()
    configure_logging_and_warnings(None, warn_only_once=True, filter_repeated_logs=True)  # LOG_LEVEL, as rasa's CLI
    # Rasa's structured log (every message's text and slots at DEBUG) at the same level: left
    # unconfigured, structlog prints DEBUG lines whatever LOG_LEVEL says.
    configure_structlog()

    config = settings()
    endpoints = AvailableEndpoints.read_endpoints(args.endpoints)
    api = bool(config.rasa_api_token or config.rasa_jwt_secret)
    app = run.configure_app(
        run.create_http_input_channels(None, args.credentials),
        cors=None,  # sanic-cors would read origins as patterns: web/security.py does CORS instead
        auth_token=config.rasa_api_token or None,
        enable_api=api,
        jwt_secret=config.rasa_jwt_secret or None,
        jwt_method="HS256",
        port=args.port,
        endpoints=endpoints,
    )
    # Rasa sets its hour-long response timeout only with the API on; Sanic's own 60 s would
    # answer a slow turn (a custom action waiting on a busy database) with a bare 503.
    app.config.RESPONSE_TIMEOUT = DEFAULT_RESPONSE_TIMEOUT
    secure(app, config.widget_origins, config.max_request_bytes, any_origin_paths=ANY_ORIGIN_PATHS)
    app.register_middleware(without_version_pages, "request")
    app.add_route(health, "/health", methods=["GET"])
    app.register_listener(partial(load_given_model, endpoints), "before_server_start")
    app.register_listener(run.close_resources, "after_server_stop")
    update_sanic_log_level()
    logger.info("HTTP API %s", "on (token or JWT required)" if api else "off (set RASA_API_TOKEN or RASA_JWT_SECRET)")
    # SANIC_WORKERS processes (RASA_PROCESSES in run-servers.sh), as `rasa run`: Rasa allows more
    # than one only with a lock store they share (endpoints.yml).
    workers = number_of_sanic_workers(endpoints.lock_store)
    default = Path(args.model)
    pool = WorkerPool(app, "0.0.0.0", args.port, workers, lambda: model_to_serve(default))  # noqa: S104 (the channels face the network)
    sys.exit(pool.serve())


def model_to_serve(default: Path) -> Path:
    """The published version's model, or else the one `make` trained."""
    live = live_model_file()
    return live if live and loadable(live) else default


if __name__ == "__main__":
    main()
