"""Every setting of the project, in one place: paths of what the set-up builds, and what each
process reads from its environment (README "Configuration"), read once.

The values come from the environment so that one checkout serves `make run`, the tests and a
deployment; the Makefile exports the defaults `make run` uses. Two files Python cannot reach
state a path again, and tests/test_settings.py checks that they agree with this module:
config.yml names the spaCy pipeline for Rasa's SpacyNLP (the spaCy pipeline path is read from
there), and the Makefile names the trained model and the word embeddings as make targets (MODEL,
WORD_EMBEDDINGS).
"""

from __future__ import annotations

import functools
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

PROJECT_DIR = Path(__file__).resolve().parent
MODEL_FILE = PROJECT_DIR / "models" / "back-pain-assistant.tar.gz"
RASA_CONFIG = PROJECT_DIR / "config.yml"


@functools.cache
def spacy_pipeline() -> Path:
    """The project's spaCy pipeline (built by `make spacy`), as config.yml names it."""
    config = yaml.safe_load(RASA_CONFIG.read_text(encoding="utf-8"))
    components: List[Dict[str, Any]] = config["pipeline"]
    [spacy_nlp] = [component for component in components if component["name"] == "SpacyNLP"]
    return PROJECT_DIR / spacy_nlp["model"]


def word_embeddings_dir() -> Path:
    """WordLlama's tokenizer and embedding table (nlp/word_embeddings.py), extracted by `make`
    (WORD_EMBEDDINGS in the Makefile) from the wheel wordllama.lock pins."""
    return PROJECT_DIR / "build" / "wordllama"


@dataclass(frozen=True)
class Settings:
    # PostgreSQL (or any SQLAlchemy) URL for conversations and clinic records; empty means
    # the SQLite files below (conversations: the Rasa server's tracker store, endpoints.yml).
    database_url: str
    clinic_sqlite_file: str
    tracker_sqlite_file: str
    # The clinic's details (clinic/details.yml unless another file is named).
    clinic_details_file: Path
    # Where staff are notified of escalations and requests (a chat or ticket webhook); empty means off.
    staff_webhook_url: str
    webhook_attempts: int
    webhook_timeout_seconds: float
    # The staff console (python -m staff console). Loopback only unless told otherwise: its
    # pages show patients' messages, so open it to the network only behind HTTPS.
    staff_host: str
    staff_port: int
    # Send the session cookie over HTTPS only; set it when the console is served over HTTPS.
    staff_secure_cookie: bool
    # The console's inbox: a message answered with less confidence than this (its intent, or
    # its FAQ topic) is listed as a low-confidence answer. The FallbackClassifier (config.yml)
    # already turns intents under 0.8 into nlu_fallback, so this sits above it.
    staff_low_confidence: float
    # A booking or referral form still open after this long without a message is abandoned.
    staff_form_abandoned_after_minutes: int
    # How far back the inbox looks.
    staff_inbox_days: int
    # How often the staff console applies the retention rules of clinic/details.yml (also once
    # when it starts): conversations deleted, old requests anonymised (clinic/privacy.py).
    retention_every_hours: float
    # Published versions of the assistant (staff/releases.py): each version's model and report.
    versions_dir: str
    # The project whose files the staff console changes (knowledge/, data/, tests/stories/,
    # clinic/details.yml) and trains candidates from: this checkout, so the repository stays
    # the single source of truth; tests point it at a copy.
    staff_project_dir: Path
    # A trained model whose red-flag classifier a full training starts from (its weights and
    # normalised phrasings, rasa_plugins/red_flag_nlu.py): `staff train` names the live one;
    # unset, the classifier trains from zero.
    red_flag_start_model: Optional[Path]
    # The running Rasa servers a published version is loaded into.
    rasa_server_urls: List[str]
    # Conversation locks shared by the Rasa processes (rasa_plugins/lock_store.py): Redis at
    # REDIS_URL (redis://host:6379/1) for a cluster; while it is empty, the SQLite file
    # LOCK_SQLITE_FILE, which the processes of one machine share.
    redis_url: str
    lock_sqlite_file: str
    # How often each Rasa process looks whether another version was published, and loads it.
    live_version_check_seconds: float
    # Web pages allowed to open the chat widget's socket.io connection: their origins
    # (https://www.your-clinic.example), "*" for any. Browsers send the page's origin, so a page
    # on another site cannot chat through the clinic's assistant in its visitors' names. The
    # default allows the assistant's own demo page (/widget/demo) under `make run`.
    widget_origins: List[str]
    # The Rasa server's HTTP API (/conversations, /model, /status, ...): off unless one of these
    # is set; then every call but /health needs it. RASA_API_TOKEN travels in the query string
    # (?token=, the way Rasa takes it; kept out of our logs); RASA_JWT_SECRET signs JWTs sent as
    # `Authorization: Bearer`, which never appear in a URL.
    rasa_api_token: str
    rasa_jwt_secret: str
    # The action server: the interface it listens on (loopback unless it runs on another host)
    # and the secret the Rasa server sends with every call (endpoints.yml, run-servers.sh).
    action_host: str
    action_port: int
    action_server_secret: str
    # The REST channel: when set, integrations must send `Authorization: Bearer <REST_TOKEN>`.
    rest_token: str
    # Messages per minute a conversation, and a client address (REST and the widget), may send
    # before getting a friendly "slow down" reply instead of an answer. Counted per process.
    messages_per_minute_per_conversation: int
    messages_per_minute_per_address: int
    # A longer message gets a friendly reply asking for shorter ones; a request body larger than
    # max_request_bytes is refused (413) before it is read.
    max_message_characters: int
    max_request_bytes: int

    @property
    def clinic_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.clinic_sqlite_file}"

    @property
    def conversations_database_url(self) -> str:
        """Where the Rasa server's SQL tracker store keeps conversations (endpoints.yml)."""
        return self.database_url or f"sqlite:///{self.tracker_sqlite_file}"


def version_model_file(version_id: str) -> Path:
    """A version's model, named after it so a Rasa server's /status tells which one it runs."""
    return Path(settings().versions_dir) / version_id / f"{version_id}.tar.gz"


def live_model_file() -> Optional[Path]:
    """The published (live) version's model, or None before any publish: the last line of
    VERSIONS_DIR/published.jsonl names it (staff/releases.py writes it; every Rasa process
    follows it, rasa_plugins/worker_pool.py)."""
    history = Path(settings().versions_dir) / "published.jsonl"
    try:
        lines = [line for line in history.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        return None
    return version_model_file(json.loads(lines[-1])["id"]) if lines else None


def publish_token() -> str:
    """The secret a publish must present to a Rasa server (rasa_plugins/channels/model_loader.py):
    PUBLISH_TOKEN, or else a random one kept in var/publish.token, made on first use, which
    every process of one machine reads."""
    given = os.environ.get("PUBLISH_TOKEN", "").strip()
    if given:
        return given
    path = Path(os.environ.get("PUBLISH_TOKEN_FILE") or PROJECT_DIR / "var" / "publish.token")
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32))
        try:  # whoever links first sets the token; the others read it
            os.link(scratch, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(scratch)
    return path.read_text(encoding="utf-8").strip()


@functools.cache
def settings() -> Settings:
    return Settings(
        database_url=os.environ.get("DATABASE_URL", "").strip(),
        clinic_sqlite_file=os.environ.get("CLINIC_SQLITE_FILE", "var/clinic.db"),
        tracker_sqlite_file=os.environ.get("TRACKER_SQLITE_FILE", "var/conversations.db"),
        clinic_details_file=Path(os.environ.get("CLINIC_DETAILS_FILE") or PROJECT_DIR / "clinic" / "details.yml"),
        staff_webhook_url=os.environ.get("STAFF_WEBHOOK_URL", "").strip(),
        webhook_attempts=int(os.environ.get("STAFF_WEBHOOK_ATTEMPTS", "3")),
        webhook_timeout_seconds=float(os.environ.get("STAFF_WEBHOOK_TIMEOUT", "5")),
        staff_host=os.environ.get("STAFF_HOST", "127.0.0.1"),
        staff_port=int(os.environ.get("STAFF_PORT", "5002")),
        staff_secure_cookie=os.environ.get("STAFF_SECURE_COOKIE", "").strip().lower() in ("1", "true", "yes"),
        staff_low_confidence=float(os.environ.get("STAFF_LOW_CONFIDENCE", "0.9")),
        staff_form_abandoned_after_minutes=int(os.environ.get("STAFF_FORM_ABANDONED_AFTER_MINUTES", "30")),
        staff_inbox_days=int(os.environ.get("STAFF_INBOX_DAYS", "30")),
        retention_every_hours=float(os.environ.get("RETENTION_EVERY_HOURS", "24")),
        versions_dir=os.environ.get("VERSIONS_DIR", str(PROJECT_DIR / "var" / "versions")),
        staff_project_dir=Path(os.environ.get("STAFF_PROJECT_DIR") or PROJECT_DIR),
        red_flag_start_model=Path(start) if (start := os.environ.get("RED_FLAG_START_MODEL", "").strip()) else None,
        rasa_server_urls=os.environ.get(
            "RASA_SERVER_URLS", f"http://localhost:{os.environ.get('RASA_PORT', '5005')}"
        ).split(),
        redis_url=os.environ.get("REDIS_URL", "").strip(),
        lock_sqlite_file=os.environ.get("LOCK_SQLITE_FILE", "var/locks.db"),
        live_version_check_seconds=float(os.environ.get("LIVE_VERSION_CHECK_SECONDS", "5")),
        widget_origins=(os.environ.get("WIDGET_ORIGINS") or _own_origins(os.environ.get("RASA_PORT", "5005"))).split(),
        rasa_api_token=_secret("RASA_API_TOKEN"),
        rasa_jwt_secret=_secret("RASA_JWT_SECRET"),
        action_host=os.environ.get("ACTION_HOST", "127.0.0.1"),
        action_port=int(os.environ.get("ACTION_PORT", "5055")),
        action_server_secret=_secret("ACTION_SERVER_SECRET"),
        rest_token=_secret("REST_TOKEN"),
        messages_per_minute_per_conversation=int(os.environ.get("MESSAGES_PER_MINUTE_PER_CONVERSATION", "30")),
        messages_per_minute_per_address=int(os.environ.get("MESSAGES_PER_MINUTE_PER_ADDRESS", "300")),
        max_message_characters=int(os.environ.get("MAX_MESSAGE_CHARACTERS", "10000")),
        max_request_bytes=int(os.environ.get("MAX_REQUEST_BYTES", "100000")),
    )


# Secrets shorter than this are refused: a guessable or fixed one ("rasaToken") is no protection.
MIN_SECRET_LENGTH = 32


def _secret(name: str) -> str:
    """A secret from the environment: empty when not set, refused when too short to be safe."""
    value = os.environ.get(name, "").strip()
    if value and len(value) < MIN_SECRET_LENGTH:
        hint = "openssl rand -hex 32"
        raise ValueError(f"{name} is too short: use at least {MIN_SECRET_LENGTH} random characters ({hint})")
    return value


def _own_origins(rasa_port: str) -> str:
    """The origins of the assistant's own pages, as a browser on this machine reaches them."""
    return f"http://localhost:{rasa_port} http://127.0.0.1:{rasa_port}"
