"""Access and erasure requests, from the staff command and the console alike: a person's data
found by the phone number or e-mail address they gave, exported or erased (clinic/privacy.py),
and the retention rules applied. Each request is recorded in the audit log (staff/audit.py)
with what was done, never with the person's contact or data.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Tuple

from sqlalchemy.engine import Engine

from booking.details import check_contact
from clinic import privacy
from clinic.details import load_clinic
from staff import audit

logger = logging.getLogger(__name__)
# What the audit log shows as the "file" of a data request.
AUDIT_PATH = "(personal data)"


class ContactError(ValueError):
    """Not a phone number or e-mail address."""


def contact_of(text: str) -> Tuple[Optional[str], Optional[str]]:
    """(phone, email) as the assistant stores them, from what staff typed."""
    contact, problem = check_contact(text, load_clinic().country)
    if contact is None:
        raise ContactError(problem or "type a phone number or an e-mail address")
    return (None, contact) if "@" in contact else (contact, None)


def _record(summary: str, by: str, db: Engine) -> None:
    audit.record(audit.Change(path=AUDIT_PATH, summary=summary, before="", after=""), by, db)


def export(contact: str, by: str, db: Engine, tracker_db: Optional[Engine] = None) -> Dict[str, Any]:
    phone, email = contact_of(contact)
    held = privacy.export_person(phone, email, db, tracker_db)
    counts = ", ".join(f"{len(found)} {kind}" for kind, found in held.items())
    _record(f"Access request answered (export): {counts}", by, db)
    return held


def erase(contact: str, by: str, db: Engine, tracker_db: Optional[Engine] = None) -> privacy.Erasure:
    phone, email = contact_of(contact)
    erasure = privacy.erase_person(phone, email, db, tracker_db)
    _record(f"Erasure request answered. {describe(erasure)}", by, db)
    return erasure


def describe(erasure: privacy.Erasure) -> str:
    anonymised = ", ".join(erasure.anonymised) or "no requests"
    return (
        f"Anonymised {anonymised}; deleted {erasure.conversations_deleted} conversation(s); kept "
        f"{erasure.escalations_kept} red-flag escalation record(s) for patient safety"
    )


def retention(db: Optional[Engine] = None, tracker_db: Optional[Engine] = None) -> privacy.Retention:
    """Applies clinic/details.yml's retention_days and records_kept_days now."""
    clinic = load_clinic()
    done = privacy.apply_retention(clinic.retention_days, clinic.records_kept_days, db=db, tracker_db=tracker_db)
    logger.info(
        "Retention: %d conversation(s) deleted, %d request(s) and %d escalation(s) anonymised",
        done.conversations_deleted,
        done.requests_anonymised,
        done.escalations_anonymised,
    )
    return done
