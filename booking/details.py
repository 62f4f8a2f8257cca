"""Checks for what a person types into a booking: treatment, name, phone or e-mail, reason.

Each ``check_*`` returns ``(value, problem)``: the cleaned value to store, or a sentence that
tells the person what to type instead. Nothing that fails a check is ever stored.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence, Tuple

import phonenumbers
from email_validator import EmailNotValidError, validate_email

MAX_NAME_LENGTH = 100
MAX_REASON_LENGTH = 500
# Letters of any alphabet, joined by single spaces, hyphens, apostrophes or dots.
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.]{1,2}[^\W\d_]+)*\.?$")
_NAME_LEAD_INS = re.compile(
    r"^(?:(?:my|the)\s+name(?:'s|\s+is)|i'm|i\s+am|im|it's|its|this\s+is|call\s+me|name:?)\s+",
    re.IGNORECASE,
)
_EMAIL_CANDIDATE = re.compile(r"[^\s<>()\[\],;:\"]+@[^\s<>()\[\],;:\"]+")
_MARKUP = re.compile(r"<\s*/?\s*[a-z!?][^>]*>|<\s*script|javascript:", re.IGNORECASE)
_SQL = re.compile(
    r"\b(?:drop|truncate|alter)\s+table\b|\bdelete\s+from\b|\binsert\s+into\b|\bunion\s+select\b"
    r"|\bselect\b.+\bfrom\b|;\s*--|'\s*or\s+'?\d+'?\s*=\s*'?\d+",
    re.IGNORECASE,
)
_SKIP_WORDS = {"skip", "no", "nope", "none", "nothing", "no thanks", "not really", "n/a", "na", "-"}
# References: no 0/O or 1/I/L, so they can be read out over the phone without confusion.


def looks_hostile(text: str) -> bool:
    """Markup or SQL typed into a field: never stored, the person is asked again."""
    return bool(_MARKUP.search(text) or _SQL.search(text))


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "").replace("\x00", "")).strip()


def match_treatment(text: str, services: Sequence[str]) -> Optional[str]:
    """The one service ``text`` names ("deep tissue please" -> "deep tissue massage")."""
    words = re.findall(r"[a-z]+", (text or "").lower())
    if not words:
        return None
    found = []
    for service in services:
        if service.lower() in " ".join(words):
            return service
        distinctive = [
            w
            for w in re.findall(r"[a-z]+", service.lower())
            if w not in {"massage", "assessment", "therapy", "session"}
        ]
        # Matching on the first five letters lets "relaxing", "sport" and "physio" count.
        if distinctive and all(any(word[:5] == key[:5] for word in words) for key in distinctive):
            found.append(service)
    return found[0] if len(found) == 1 else None


def check_treatment(text: str, services: Sequence[str]) -> Tuple[Optional[str], Optional[str]]:
    service = match_treatment(text, services)
    if service:
        return service, None
    return None, "Sorry, that isn't one of our treatments. We offer: " + ", ".join(services) + "."


def check_name(text: str) -> Tuple[Optional[str], Optional[str]]:
    name = _NAME_LEAD_INS.sub("", _clean(text)).strip(" ,.!")
    if not name:
        return None, "I didn't catch a name."
    if len(name) > MAX_NAME_LENGTH:
        return None, (f"That's longer than a name can be here ({MAX_NAME_LENGTH} characters at most).")
    if looks_hostile(name) or not _NAME.match(name):
        return None, (
            "I can only take a name made of letters (spaces, hyphens and apostrophes are fine), like Maria O'Neill."
        )
    return name, None


def find_email(text: str) -> Tuple[Optional[str], Optional[str]]:
    candidate = _EMAIL_CANDIDATE.search(text or "")
    if not candidate:
        return None, None
    try:
        return validate_email(candidate.group(0).strip("."), check_deliverability=False).normalized, None
    except EmailNotValidError as error:
        return None, f"That e-mail address doesn't look right ({error})."


def find_phone(text: str, region: str) -> Tuple[Optional[str], Optional[str]]:
    for match in phonenumbers.PhoneNumberMatcher(text or "", region, leniency=phonenumbers.Leniency.VALID):
        return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164), None
    if len(re.sub(r"\D", "", text or "")) >= 6:
        return None, (
            "That phone number doesn't look complete or valid. Please type it with the area "
            "code, or with + and the country code if it isn't a local number."
        )
    return None, None


def check_contact(text: str, region: str) -> Tuple[Optional[str], Optional[str]]:
    """A phone number (stored as +15551234567) or an e-mail address, whichever was typed."""
    text = _clean(text)
    if len(text) > 320 or looks_hostile(text):
        return None, "Please type just a phone number or an e-mail address."
    email, email_problem = find_email(text)
    if email:
        return email, None
    phone, phone_problem = find_phone(text, region)
    if phone:
        return phone, None
    return None, email_problem or phone_problem or (
        "I need a phone number or an e-mail address so the clinic can reach you."
    )


def check_reason(text: str) -> Tuple[Optional[str], Optional[str]]:
    """An optional reason; "skip" or "no" leave it empty ("")."""
    reason = _clean(text)
    if reason.lower().strip(".!") in _SKIP_WORDS:
        return "", None
    if len(reason) > MAX_REASON_LENGTH:
        return None, (
            f"That's more than this note can hold ({MAX_REASON_LENGTH} characters at most). "
            "A line or two is plenty: the therapist will ask about the details at your visit."
        )
    if looks_hostile(reason):
        return None, "Please describe it in plain words, without code or markup, or say skip."
    return reason, None
