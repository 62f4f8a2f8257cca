"""No personal data in logs at INFO or above, whoever logs: our code, Rasa, rasa_sdk, Sanic,
SQLAlchemy.

Our own log calls never name a person, a contact or what they wrote. For the libraries' lines,
``install()`` (called when each process loads our code: rasa_plugins/, actions/, staff/)
replaces the log record factory, so every record at INFO or above is cleaned as it is made,
whichever handler later writes it: e-mail addresses and phone numbers are replaced by
placeholders, and SQLAlchemy's dump of a failed statement's parameters (which holds the row:
names, contacts, messages) is dropped. A record factory, not a handler filter, because Rasa
and Sanic set up their own handlers after our modules are imported.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any, Callable

import phonenumbers

from clinic.details import load_clinic

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# SQLAlchemy appends "[parameters: (...)]" (or "[SQL parameters hidden ...]") to a failed statement.
SQL_PARAMETERS = re.compile(r"\[parameters: .*?\]\n?(?=\(Background|$)", re.DOTALL)
_REDACTED_EMAIL = "<e-mail>"
_REDACTED_PHONE = "<phone>"
_REDACTED_PARAMETERS = "[parameters hidden]\n"


def redact(text: str) -> str:
    """The text without e-mail addresses, phone numbers or SQL parameters."""
    text = SQL_PARAMETERS.sub(_REDACTED_PARAMETERS, text)
    text = EMAIL.sub(_REDACTED_EMAIL, text)
    if sum(character.isdigit() for character in text) < 7:  # the common case, quickly
        return text
    # Numbers without a country code are read as the clinic's country's, as the booking form does.
    matches = list(phonenumbers.PhoneNumberMatcher(text, _region(), leniency=phonenumbers.Leniency.POSSIBLE))
    for match in reversed(matches):
        text = text[: match.start] + _REDACTED_PHONE + text[match.end :]
    return text


@functools.cache
def _region() -> str:
    try:
        return load_clinic().country
    except (OSError, ValueError):  # the details are checked where they are used; logging goes on
        return "US"


def _cleaning(make_record: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make_clean_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if record.levelno < logging.INFO:
            return record
        try:
            record.msg, record.args = redact(record.getMessage()), None
        except Exception:  # a malformed log call must not end the process; logging reports it
            return record
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    make_clean_record.cleans_personal_data = True  # type: ignore[attr-defined]
    return make_clean_record


def install() -> None:
    """Cleans every log record made from now on in this process (once, however often called)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "cleans_personal_data", False):
        logging.setLogRecordFactory(_cleaning(current))
