"""The action server's settings, read once from the environment (README "Configuration")."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    # PostgreSQL (or any SQLAlchemy) URL; empty means the SQLite file below.
    database_url: str
    sqlite_file: str
    # Where staff are notified of escalations (a chat or ticket webhook); empty means off.
    staff_webhook_url: str
    webhook_attempts: int
    webhook_timeout_seconds: float

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_file}"


@functools.lru_cache(maxsize=None)
def settings() -> Settings:
    return Settings(
        database_url=os.environ.get("DATABASE_URL", "").strip(),
        sqlite_file=os.environ.get("CLINIC_SQLITE_FILE", "var/clinic.db"),
        staff_webhook_url=os.environ.get("STAFF_WEBHOOK_URL", "").strip(),
        webhook_attempts=int(os.environ.get("STAFF_WEBHOOK_ATTEMPTS", "3")),
        webhook_timeout_seconds=float(os.environ.get("STAFF_WEBHOOK_TIMEOUT", "5")),
    )
