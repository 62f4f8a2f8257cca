"""Hiding who a person is from reviewers: names, phone numbers and e-mail addresses in what the
person wrote and in the assistant's replies (which read a booking's name and contact back).

Masking errs on the side of hiding: anything shaped like an e-mail address is hidden whether or
not it is a valid one, and phone numbers are found with libphonenumber's loosest matching.
"""

from __future__ import annotations

import re
from typing import Iterable, List

import phonenumbers

NAME_HIDDEN = "[name hidden]"
PHONE_HIDDEN = "[phone hidden]"
EMAIL_HIDDEN = "[e-mail hidden]"

_EMAIL = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']*[^\s<>()\[\],;:\"'.!?]")  # not a full stop after it
# Nine digits or more with the separators people type: numbers libphonenumber does not read for
# the clinic's country (a foreign number without its + and country code). Dates have fewer.
_LONG_NUMBER = re.compile(r"\+?\d(?:[\s\-.()/]*\d){8,}")
_WORD = r"[^\W\d_][^\W\d_'\-]*"
# "my name is ana lima", "call me Ana": the next one or two words, whatever their case, unless
# the words that follow are not a name ("call me on 555...", "call me back").
_NOT_A_NAME = (
    r"(?:on|at|in|and|or|but|from|here|back|later|after|before|when|if|please|the|a|an|any|i|tomorrow|today|asap)\b"
)
_NAMED = re.compile(
    rf"\b(?:my\s+name\s+is|my\s+name's|name's|name\s*:|call\s+me)\s+(?!{_NOT_A_NAME})"
    rf"({_WORD}(?:\s+(?!{_NOT_A_NAME}){_WORD})?)",
    re.IGNORECASE,
)
# "I'm Ana Lima", "this is Ana": only capitalised words, or "I'm worried" would be hidden.
_INTRODUCED = re.compile(
    r"\b(?:[Ii]['’]?m|I\s+am|[Tt]his\s+is|[Ii]t['’]s)\s+([A-Z][^\W\d_'\-]*(?:[\s\-'][A-Z][^\W\d_'\-]*)?)"
)
MIN_NAME_PART = 2  # single initials stay: hiding every "A" would hide the message


class Masker:
    """Masks one conversation's texts, knowing the names the assistant stored for it."""

    def __init__(self, names: Iterable[str], region: str) -> None:
        self.region = region
        parts = {name.strip() for name in names if name and name.strip()}
        parts |= {part for name in list(parts) for part in re.split(r"[\s\-]+", name) if len(part) >= MIN_NAME_PART}
        # Longest first, so "Ana Lima" is hidden as one name, not as "Ana" and "Lima".
        ordered: List[str] = sorted(parts, key=len, reverse=True)
        self._known_names = (
            re.compile(r"(?<!\w)(?:" + "|".join(re.escape(part) for part in ordered) + r")(?!\w)", re.IGNORECASE)
            if ordered
            else None
        )

    def __call__(self, text: str) -> str:
        text = _EMAIL.sub(EMAIL_HIDDEN, text)
        text = self._mask_phones(text)
        text = _LONG_NUMBER.sub(PHONE_HIDDEN, text)
        if self._known_names:
            text = self._known_names.sub(NAME_HIDDEN, text)
        for phrase in (_NAMED, _INTRODUCED):
            text = phrase.sub(lambda found: found.group(0)[: found.start(1) - found.start(0)] + NAME_HIDDEN, text)
        return text

    def _mask_phones(self, text: str) -> str:
        matches = phonenumbers.PhoneNumberMatcher(text, self.region, leniency=phonenumbers.Leniency.POSSIBLE)
        spans = [(match.start, match.end) for match in matches]
        for start, end in reversed(spans):
            text = text[:start] + PHONE_HIDDEN + text[end:]
        return text


PERSONAL = {PHONE_HIDDEN: "a phone number", EMAIL_HIDDEN: "an e-mail address", NAME_HIDDEN: "a name"}


def personal_details_in(text: str, region: str) -> List[str]:
    """What in ``text`` tells who someone is (a phone number, an e-mail address, a name), found
    the way the console hides them from reviewers."""
    masked = Masker([], region)(text)
    return [what for placeholder, what in PERSONAL.items() if placeholder in masked]
