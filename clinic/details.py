"""The clinic's details, read once from ``clinic/details.yml`` (or ``$CLINIC_DETAILS_FILE``).

Both servers use this module: the Rasa server fills the details into every response
(``rasa_plugins.response_generator``) and the action server uses them in custom actions.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from settings import settings

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Everyday questions the clinic answers itself (details.yml `answers`); each answer is the
# placeholder {clinic_answer_<question>} in knowledge/clinic.yml.
CLINIC_QUESTIONS = (
    "prices",
    "insurance",
    "tipping",
    "what_to_wear",
    "same_therapist",
    "cancellation_policy",
    "parking",
    "gift_vouchers",
    "showering_afterwards",
    "personal_data",
)
# The placeholders responses and FAQ answers may use; values in Clinic.placeholders().
PLACEHOLDERS = (
    "clinic_name",
    "clinic_phone",
    "clinic_email",
    "clinic_website",
    "clinic_address",
    "clinic_hours",
    "clinic_services",
    "emergency_number",
    "urgent_care_line",
    "clinic_retention_days",
    *(f"clinic_answer_{question}" for question in CLINIC_QUESTIONS),
)
REQUIRED_TEXT_FIELDS = (
    "name",
    "phone",
    "email",
    "website",
    "address",
    "emergency_number",
    "urgent_care_line",
)


# The widget's colour when details.yml names none: a dark teal, 7:1 against white.
DEFAULT_WIDGET_COLOUR = "#0b5e6b"
# WCAG 2.2 AA for normal text: the widget writes white text on the clinic's colour.
MINIMUM_CONTRAST = 4.5


class ClinicDetailsError(ValueError):
    """The details file is missing a field or has one in the wrong shape."""


@dataclass(frozen=True)
class Clinic:
    name: str
    phone: str
    email: str
    website: str
    address: str
    emergency_number: str
    urgent_care_line: str
    opening_hours: Dict[str, str]
    services: Tuple[str, ...]
    timezone: str = "UTC"
    country: str = "US"
    last_start_before_closing_minutes: int = 60
    days_ahead: int = 90
    # The clinic's own answers by question (CLINIC_QUESTIONS); an empty one is not known.
    answers: Dict[str, str] = field(default_factory=dict)
    # The website chat widget's colour (#rrggbb, dark enough for white text) and greeting.
    widget_colour: str = DEFAULT_WIDGET_COLOUR
    widget_greeting: str = ""
    # Personal data (clinic/privacy.py): conversations are deleted this many days after their
    # last message; booking and referral requests and escalations are anonymised this many
    # days after they were made.
    retention_days: int = 90
    records_kept_days: int = 365 * 7

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def now(self) -> dt.datetime:
        """The clinic's local time, without tzinfo (dates people type are local)."""
        return dt.datetime.now(self.tz).replace(tzinfo=None, microsecond=0)

    def hours_on(self, day: dt.date) -> Optional[Tuple[dt.time, dt.time]]:
        """Opening and closing time on ``day``, or None when the clinic is closed."""
        return _parse_hours(self.opening_hours[WEEKDAYS[day.weekday()]])

    def opening_hours_text(self) -> str:
        """One line per day, e.g. "Monday: 09:00-19:00"."""
        return "\n".join(f"{day.capitalize()}: {self.opening_hours[day]}" for day in WEEKDAYS)

    def placeholders(self) -> Dict[str, str]:
        """Values for the ``{clinic_...}`` placeholders that responses may use. The clinic's own
        answers may use the others ("we keep it {clinic_retention_days} days"); a brace that
        names none of them stays as written."""
        details = {
            "clinic_name": self.name,
            "clinic_phone": self.phone,
            "clinic_email": self.email,
            "clinic_website": self.website,
            "clinic_address": self.address,
            "clinic_hours": self.opening_hours_text(),
            "clinic_services": ", ".join(self.services),
            "emergency_number": self.emergency_number,
            "urgent_care_line": self.urgent_care_line,
            "clinic_retention_days": str(self.retention_days),
        }
        return {
            **details,
            **{
                f"clinic_answer_{question}": _filled(self.answers.get(question) or self._ask_us(), details)
                for question in CLINIC_QUESTIONS
            },
        }

    def requests_unavailable(self) -> str:
        """What the assistant says when it cannot act on a message now (a server it needs is down)."""
        return (
            f"I'm sorry, I can't take requests right now. Please call {self.name} on {self.phone}. "
            f"If you need urgent medical help, call {self.emergency_number}."
        )

    def _ask_us(self) -> str:
        """What the assistant says when the clinic has not filled in an answer."""
        return (
            f"I'm sorry, I don't have that information. Please ask {self.name} directly: call "
            f"{self.phone} or e-mail {self.email}, and the team will be glad to help."
        )


def _parse_hours(text: str) -> Optional[Tuple[dt.time, dt.time]]:
    if text.lower() == "closed":
        return None
    opens, closes = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
    return opens, closes


def contrast_with_white(colour: str) -> float:
    """WCAG contrast ratio of white text on ``colour`` (#rrggbb)."""

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return 1.05 / (luminance + 0.05)


def _widget_colour(widget: Dict[str, object]) -> str:
    colour = str(widget.get("colour") or DEFAULT_WIDGET_COLOUR).strip().lower()
    if not re.fullmatch(r"#[0-9a-f]{6}", colour):
        raise ClinicDetailsError(f"widget colour must look like #0b5e6b, not {colour!r}")
    if contrast_with_white(colour) < MINIMUM_CONTRAST:
        raise ClinicDetailsError(
            f"widget colour {colour} is too light for white text (contrast "
            f"{contrast_with_white(colour):.1f}:1, at least {MINIMUM_CONTRAST}:1 is needed): choose a darker one"
        )
    return colour


def _positive_days(raw: Dict[str, object], field_name: str, default: int) -> int:
    value = raw.get(field_name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ClinicDetailsError(f"{field_name} must be a whole number of days, 1 or more, not {value!r}")
    return value


def parse_details(raw: object) -> Clinic:
    """Checks a parsed details file and turns it into a ``Clinic``."""
    if not isinstance(raw, dict):
        raise ClinicDetailsError("the clinic details file must be a mapping of fields")
    missing = [field for field in REQUIRED_TEXT_FIELDS if not str(raw.get(field) or "").strip()]
    if missing:
        raise ClinicDetailsError(f"clinic details are missing: {', '.join(missing)}")
    hours = raw.get("opening_hours")
    if not isinstance(hours, dict) or set(hours) != set(WEEKDAYS):
        raise ClinicDetailsError("opening_hours needs exactly one entry per weekday")
    for day in WEEKDAYS:
        try:
            _parse_hours(str(hours[day]).strip())
        except ValueError:
            raise ClinicDetailsError(f"opening_hours for {day} must look like 09:00-17:00 or say closed") from None
    services = raw.get("services")
    if not isinstance(services, list) or not services:
        raise ClinicDetailsError("services must be a non-empty list")
    timezone = str(raw.get("timezone") or "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ClinicDetailsError(f"timezone {timezone!r} is not a known time zone name") from None
    booking = raw.get("booking") or {}
    answers = raw.get("answers") or {}
    unknown = set(answers) - set(CLINIC_QUESTIONS) if isinstance(answers, dict) else {"(not a mapping)"}
    if unknown:
        raise ClinicDetailsError(
            f"answers can be given for {', '.join(CLINIC_QUESTIONS)}; not for {', '.join(sorted(unknown))}"
        )
    widget = raw.get("widget") or {}
    if not isinstance(widget, dict):
        raise ClinicDetailsError("widget must be a mapping (colour, greeting)")
    return Clinic(
        **{field: str(raw[field]).strip() for field in REQUIRED_TEXT_FIELDS},
        opening_hours={day: str(hours[day]).strip() for day in WEEKDAYS},
        services=tuple(str(service).strip() for service in services),
        timezone=timezone,
        country=str(raw.get("country") or "US").upper(),
        last_start_before_closing_minutes=int(booking.get("last_start_before_closing_minutes", 60)),
        days_ahead=int(booking.get("days_ahead", 90)),
        answers={question: " ".join(str(answers.get(question) or "").split()) for question in CLINIC_QUESTIONS},
        widget_colour=_widget_colour(widget),
        widget_greeting=" ".join(str(widget.get("greeting") or "").split())
        or f"Hello! I'm the assistant of {str(raw['name']).strip()}. How can I help?",
        retention_days=_positive_days(raw, "retention_days", Clinic.retention_days),
        records_kept_days=_positive_days(raw, "records_kept_days", Clinic.records_kept_days),
    )


@functools.cache
def load_clinic(path: str | None = None) -> Clinic:
    """Reads the details file once per process."""
    details_file = Path(path) if path else settings().clinic_details_file
    with details_file.open(encoding="utf-8") as handle:
        return parse_details(yaml.safe_load(handle))


class _AsWritten(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _filled(answer: str, details: Dict[str, str]) -> str:
    try:
        return answer.format_map(_AsWritten(details))
    except (ValueError, IndexError):  # a lone or numbered brace: the answer as written
        return answer
