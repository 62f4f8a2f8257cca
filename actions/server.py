"""The action server (`python -m actions.server`, started by scripts/run-servers.sh): rasa_sdk's
app, answering only the Rasa server. It listens on ACTION_HOST (loopback unless told
otherwise), and every call but GET /health must carry `Authorization: Bearer
<ACTION_SERVER_SECRET>`, which the Rasa server sends (endpoints.yml); the action list too.
"""

from __future__ import annotations

from typing import Optional

from rasa_sdk import endpoint, utils
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from settings import settings
from web.security import bearer_token_matches, secure


def create_app(secret: str) -> Sanic:
    app = endpoint.create_app("actions", cors_origins=None)
    secure(app)

    @app.on_request
    async def only_the_rasa_server(request: Request) -> Optional[HTTPResponse]:
        if request.path == "/health" or bearer_token_matches(request, secret):
            return None
        return response.json({"error": "Only the assistant's Rasa server may call this server."}, status=401)

    return app


def main() -> None:
    config = settings()
    if not config.action_server_secret:
        raise SystemExit("ACTION_SERVER_SECRET is not set (scripts/run-servers.sh makes one per start)")
    utils.configure_colored_logging("INFO")
    app = create_app(config.action_server_secret)
    app.run(config.action_host, config.action_port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
