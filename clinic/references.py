"""References of the clinic's requests, like BK-7Q2M: short, easy to read aloud and type
(no 0/O or 1/I/L), and found again in what a person types ("cancel bk 7q2m")."""

from __future__ import annotations

import re
import secrets
from typing import Optional

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 4
# The prefix of each kind of request, and the table it is stored in (clinic/records.py).
BOOKING, REFERRAL = "BK", "RF"
KIND_OF_PREFIX = {BOOKING: "bookings", REFERRAL: "referrals"}
_REFERENCE = re.compile(r"\b([a-z]{2})\s*-?\s*([a-z0-9]{4})\b", re.IGNORECASE)


def new_reference(prefix: str) -> str:
    """E.g. BK-7Q2M. Uniqueness is guaranteed by the database, which retries on a clash."""
    return f"{prefix}-" + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def find_reference(text: str, prefix: str) -> Optional[str]:
    """A reference such as "bk 7q2m" or "BK-7Q2M" in ``text``, in its stored form."""
    for match in _REFERENCE.finditer(text or ""):
        if match.group(1).upper() == prefix:
            return f"{prefix}-{match.group(2).upper()}"
    return None
