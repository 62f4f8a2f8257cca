"""What keeps the console's pages to signed-in staff: cookies, CSRF tokens, response headers."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sanic.response import BaseHTTPResponse

# The session token of a signed-in person; before signing in, a random value that the sign-in
# form's CSRF token is tied to (so a page elsewhere cannot sign someone into an account).
SESSION_COOKIE = "staff_session"
SIGN_IN_COOKIE = "staff_sign_in"
CSRF_FIELD = "csrf_token"

HEADERS = {
    # No script at all, styles only from the console itself, never inside another site's frame.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
}  # web/security.py adds nosniff, no referrer and HSTS, as on every server of ours
# Pages show patients' messages: no copy in the browser's or a proxy's cache.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def new_sign_in_key() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(key: str) -> str:
    """The CSRF token of the session (or sign-in) ``key``: derived from it, so it needs no storage,
    and it tells nothing about the key."""
    return hmac.new(key.encode(), b"staff-console-csrf", hashlib.sha256).hexdigest()


def csrf_matches(key: str, token: str) -> bool:
    return bool(key and token) and hmac.compare_digest(csrf_token(key), token)


def set_cookie(response: BaseHTTPResponse, name: str, value: str, secure: bool) -> None:
    """A cookie scripts cannot read and other sites' requests do not carry; it lasts until the
    browser closes (the server ends sessions sooner, accounts.SESSION_IDLE_LIMIT)."""
    response.cookies[name] = value
    cookie = response.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    if secure:
        cookie["secure"] = True


def clear_cookie(response: BaseHTTPResponse, name: str) -> None:
    del response.cookies[name]
