"""HTTP protections the Rasa server, the action server and the staff console share.

- Security headers on every response: a Content-Security-Policy that loads nothing and forbids
  framing (a response that sets its own policy, such as a page, keeps it), nosniff,
  no referrer, and HSTS when the request came over HTTPS (directly, or through the TLS proxy,
  which says so with `X-Forwarded-Proto: https`).
- CORS for exactly the origins given (scheme, host and port compared as text; no patterns; "*"
  for any),
  instead of sanic-cors, which reads origins as regular expressions and so also lets lookalike
  domains in. A preflight from any other origin is refused (403).
- A shared secret (`Authorization: Bearer ...`) compared in constant time.
- Access logs with the path only: a query string can carry a token (Rasa's `?token=`).
"""

from __future__ import annotations

import hmac
import logging
from typing import Collection, Optional

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse

# Nothing loaded, never inside a frame: right for API answers and for files that are not pages.
LOCKED_DOWN_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HEADERS = {
    "Content-Security-Policy": LOCKED_DOWN_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
HSTS = "max-age=31536000; includeSubDomains"
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Content-Type, Authorization"


def over_https(request: Request) -> bool:
    """Whether the visitor's browser reached us over HTTPS (here, or at the TLS proxy in front)."""
    return request.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


def add_security_headers(request: Request, reply: BaseHTTPResponse) -> None:
    for name, value in HEADERS.items():
        if name not in reply.headers:
            reply.headers[name] = value
    if over_https(request):
        reply.headers["Strict-Transport-Security"] = HSTS


def bearer_token_matches(request: Request, expected: str) -> bool:
    """Whether the request carries `Authorization: Bearer <expected>` (constant-time compare)."""
    given = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def secure(
    app: Sanic,
    cors_origins: Collection[str] = (),
    max_request_bytes: Optional[int] = None,
    any_origin_paths: Collection[str] = (),
) -> None:
    """Installs the protections above on ``app``. ``any_origin_paths``: path prefixes any page
    may read across origins (public files, or a handler that checks the origin itself)."""
    allowed = {origin.rstrip("/") for origin in cors_origins}
    if max_request_bytes:
        app.config.REQUEST_MAX_SIZE = max_request_bytes  # Sanic answers 413 before reading the body

    def cors_allowed(request: Request, origin: str) -> bool:
        return "*" in allowed or origin.rstrip("/") in allowed or request.path.startswith(tuple(any_origin_paths))

    async def refuse_foreign_preflights(request: Request) -> Optional[HTTPResponse]:
        origin = request.headers.get("origin")
        if request.method != "OPTIONS" or not origin or "access-control-request-method" not in request.headers:
            return None
        if not cors_allowed(request, origin):
            return response.json({"error": "This origin may not call this server."}, status=403)
        return response.empty(
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": CORS_METHODS,
                "Access-Control-Allow-Headers": CORS_HEADERS,
                "Access-Control-Max-Age": "600",
                "Vary": "Origin",
            }
        )

    async def headers(request: Request, reply: BaseHTTPResponse) -> None:
        origin = request.headers.get("origin")
        for name in {name for name in reply.headers if name.lower().startswith("access-control-")}:
            del reply.headers[name]  # whatever sanic-cors or engine.io added; we decide below
        if origin and cors_allowed(request, origin):
            reply.headers["Access-Control-Allow-Origin"] = origin
            reply.headers["Vary"] = "Origin"
        add_security_headers(request, reply)

    async def around_sanic_cors(*_: object) -> None:
        # First of the request middleware and last of the response middleware, around
        # sanic-cors's (which Rasa and rasa_sdk install when the server starts, and which answers
        # every preflight itself), so these answers and headers are the ones sent.
        app.request_middleware.appendleft(refuse_foreign_preflights)
        app.response_middleware.append(headers)

    app.register_listener(around_sanic_cors, "before_server_start")
    logging.getLogger("sanic.access").addFilter(drop_query_strings)


def drop_query_strings(record: logging.LogRecord) -> bool:
    """A logging filter for Sanic's access log: the request's URL without its query string."""
    request = getattr(record, "request", None)
    if isinstance(request, str) and "?" in request:
        record.request = request.split("?", 1)[0]
    return True
