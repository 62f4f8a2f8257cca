"""Staff console accounts, their sign-in sessions and the throttling of failed sign-ins, kept in
the clinic database (clinic/records.py's engine; the tables come from the Alembic migration
clinic/migrations/versions/0003_staff_accounts.py).

Passwords are stored as Argon2id hashes, session tokens as SHA-256 hashes: a copy of the
database lets nobody sign in.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Dict, List, Optional

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection, Engine

from clinic import records

logger = logging.getLogger(__name__)

# Least to most trusted; each role may do everything the ones before it may.
REVIEWER, EDITOR, PUBLISHER = "reviewer", "editor", "publisher"
ROLES = (REVIEWER, EDITOR, PUBLISHER)
MIN_PASSWORD_LENGTH = 12
_NAME = re.compile(r"^[a-z0-9._@-]{1,64}$")

SESSION_IDLE_LIMIT = dt.timedelta(minutes=30)
SESSION_LIFETIME = dt.timedelta(hours=8)
# After this many failed sign-ins within the window, for one account or from one address,
# sign-ins are refused for the lock-out time.
MAX_FAILED_SIGN_INS = 5
FAILED_SIGN_IN_WINDOW = dt.timedelta(minutes=15)
LOCKOUT = dt.timedelta(minutes=15)
ATTEMPTS_KEPT = dt.timedelta(days=30)  # long enough to look into a string of failures
SUCCEEDED, FAILED, REFUSED = "succeeded", "failed", "refused"

# The console's tables, described here because clinic/ may not import staff/ (the migration
# creates them; clinic/migrations/env.py leaves them out of autogenerate).
metadata = sa.MetaData()
accounts = sa.Table(
    "staff_accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("staff_accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
)
sign_in_attempts = sa.Table(
    "staff_sign_in_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
    # As typed (an unknown name counts too), so guessing names is throttled like passwords.
    sa.Column("account_name", sa.String(64), nullable=False),
    sa.Column("client_address", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Index("ix_staff_sign_in_attempts_account_name", "account_name", "attempted_at"),
    sa.Index("ix_staff_sign_in_attempts_client_address", "client_address", "attempted_at"),
)


class AccountError(ValueError):
    """A request about accounts that cannot be done, in words for the person who asked."""


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str

    def may(self, role: str) -> bool:
        """Whether this account may do what ``role`` may."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the account, or what to tell the person."""

    account: Optional[Account] = None
    problem: str = ""
    throttled: bool = False


_hasher = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106's low-memory profile


@functools.cache
def _hash_of_no_account() -> str:
    # Checked against when the name is unknown, so a wrong name takes as long as a wrong password.
    return _hasher.hash(secrets.token_urlsafe(16))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back the stored UTC times without their time zone; PostgreSQL with it.
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_name(name: str) -> str:
    return name.strip().lower()


def add_account(name: str, role: str, password: str, db: Optional[Engine] = None) -> Account:
    name = normalise_name(name)
    if not _NAME.match(name):
        raise AccountError("a name is 1 to 64 letters, digits, dots, hyphens, underscores or @")
    if role not in ROLES:
        raise AccountError(f"the role is one of: {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    row = {"name": name, "role": role, "password_hash": _hasher.hash(password), "created_at": _now()}
    with (db or records.engine()).begin() as connection:
        if connection.execute(sa.select(accounts.c.id).where(accounts.c.name == name)).first():
            raise AccountError(f"an account named {name} exists already")
        account_id = int(connection.execute(accounts.insert().values(**row)).inserted_primary_key[0])
    return Account(account_id, name, role)


def list_accounts(db: Optional[Engine] = None) -> List[Dict[str, object]]:
    query = sa.select(accounts.c.name, accounts.c.role, accounts.c.created_at).order_by(accounts.c.name)
    with (db or records.engine()).connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def remove_account(name: str, db: Optional[Engine] = None) -> bool:
    """Removes the account and signs it out everywhere; False when there is no such account."""
    with (db or records.engine()).begin() as connection:
        account_id = connection.execute(
            sa.select(accounts.c.id).where(accounts.c.name == normalise_name(name))
        ).scalar()
        if account_id is None:
            return False
        # SQLite enforces no foreign keys unless asked, so the sessions go explicitly.
        connection.execute(sessions.delete().where(sessions.c.account_id == account_id))
        connection.execute(accounts.delete().where(accounts.c.id == account_id))
        return True


def _locked_until(connection: Connection, name: str, address: str, now: dt.datetime) -> Optional[dt.datetime]:
    """When sign-ins for this name or from this address may be tried again, if they are locked."""
    since = now - FAILED_SIGN_IN_WINDOW - LOCKOUT
    query = (
        sa.select(sign_in_attempts.c.account_name, sign_in_attempts.c.client_address, sign_in_attempts.c.attempted_at)
        .where(sign_in_attempts.c.outcome == FAILED, sign_in_attempts.c.attempted_at >= since)
        .where(sa.or_(sign_in_attempts.c.account_name == name, sign_in_attempts.c.client_address == address))
        .order_by(sign_in_attempts.c.attempted_at)
    )
    rows = connection.execute(query).all()
    until: Optional[dt.datetime] = None
    for key, column in ((name, "account_name"), (address, "client_address")):
        times = [_utc(row.attempted_at) for row in rows if getattr(row, column) == key]
        for latest in range(MAX_FAILED_SIGN_INS - 1, len(times)):
            if times[latest] - times[latest - MAX_FAILED_SIGN_INS + 1] <= FAILED_SIGN_IN_WINDOW:
                candidate = times[latest] + LOCKOUT
                until = candidate if until is None else max(until, candidate)
    return until if until and until > now else None


def check_sign_in(name: str, password: str, client_address: str, db: Optional[Engine] = None) -> SignIn:
    """Checks a name and password, unless sign-ins for either are locked; records the attempt."""
    name = normalise_name(name)[:64]
    client_address = client_address[:64]
    now = _now()
    db = db or records.engine()
    with db.connect() as connection:
        locked_until = _locked_until(connection, name, client_address, now)
        row = connection.execute(sa.select(accounts).where(accounts.c.name == name)).mappings().first()
    if locked_until:
        minutes = max(1, round((locked_until - now).total_seconds() / 60))
        outcome = SignIn(
            problem="Too many failed sign-ins for this account or from this computer. "
            f"For your patients' safety, signing in is paused: please try again in {minutes} "
            + ("minute." if minutes == 1 else "minutes."),
            throttled=True,
        )
    else:
        try:
            _hasher.verify(row["password_hash"] if row else _hash_of_no_account(), password)
            verified = row is not None
        except (VerificationError, InvalidHashError):
            verified = False
        outcome = (
            SignIn(account=Account(row["id"], row["name"], row["role"]))
            if verified and row
            else SignIn(problem="That name and password do not match an account.")
        )
        if verified and row and _hasher.check_needs_rehash(row["password_hash"]):
            rehashed = _hasher.hash(password)
            with db.begin() as connection:
                connection.execute(accounts.update().where(accounts.c.id == row["id"]).values(password_hash=rehashed))
    result = REFUSED if outcome.throttled else SUCCEEDED if outcome.account else FAILED
    with db.begin() as connection:
        connection.execute(
            sign_in_attempts.insert().values(
                attempted_at=now, account_name=name, client_address=client_address, outcome=result
            )
        )
        connection.execute(sign_in_attempts.delete().where(sign_in_attempts.c.attempted_at < now - ATTEMPTS_KEPT))
    return outcome


def start_session(account: Account, db: Optional[Engine] = None) -> str:
    """A new session for the account; returns its token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    with (db or records.engine()).begin() as connection:
        connection.execute(sessions.delete().where(sessions.c.created_at < now - SESSION_LIFETIME))
        connection.execute(
            sessions.insert().values(
                token_hash=_hash_token(token), account_id=account.id, created_at=now, last_seen_at=now
            )
        )
    return token


def session_account(token: str, db: Optional[Engine] = None) -> Optional[Account]:
    """The account signed in with ``token``, its session renewed; None when the session does not
    exist or has ended (idle too long, or too old), in which case it is removed."""
    now = _now()
    token_hash = _hash_token(token)
    query = (
        sa.select(
            sessions.c.id,
            sessions.c.created_at,
            sessions.c.last_seen_at,
            accounts.c.id.label("account_id"),
            accounts.c.name,
            accounts.c.role,
        )
        .join(accounts, accounts.c.id == sessions.c.account_id)
        .where(sessions.c.token_hash == token_hash)
    )
    with (db or records.engine()).begin() as connection:
        row = connection.execute(query).first()
        if row is None:
            return None
        if now - _utc(row.last_seen_at) > SESSION_IDLE_LIMIT or now - _utc(row.created_at) > SESSION_LIFETIME:
            connection.execute(sessions.delete().where(sessions.c.id == row.id))
            return None
        connection.execute(sessions.update().where(sessions.c.id == row.id).values(last_seen_at=now))
        return Account(row.account_id, row.name, row.role)


def end_session(token: str, db: Optional[Engine] = None) -> None:
    with (db or records.engine()).begin() as connection:
        connection.execute(sessions.delete().where(sessions.c.token_hash == _hash_token(token)))
