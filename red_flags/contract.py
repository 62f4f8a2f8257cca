"""The names every process uses for a red flag: the Rasa server's NLU component writes them,
its policy, response generator and channels read them, the actions and the staff tools store
them, and widgets read the reply's payload. No imports, so any process can use it.

A parsed message with a red flag carries ``parse_data[RED_FLAG]`` (EMERGENCY or URGENT) or
``parse_data[RED_FLAG_CHECK]`` (one weak sign), each a finding:
``{"level": ..., "category": ..., "matched": [the person's own words]}``.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence

EMERGENCY = "emergency"
URGENT = "urgent"
CHECK = "check"  # a single weak sign: ask a follow-up question, raise no alarm
# A serious sign told only in the past ("I couldn't walk"), with nothing saying when: ask
# whether it is happening now; a yes counts as the sign.
ASK_NOW = "ask_now"
# Levels that ask a question instead of escalating; their finding is kept under RED_FLAG_CHECK.
QUESTION_LEVELS = (CHECK, ASK_NOW)
# The category of an escalation whose sign is not named (the classifier unsure which, or a
# "yes" to the follow-up question about serious signs): the reply explains the tier in general.
UNSPECIFIED = "unspecified"
# Levels that escalate, least serious first.
ESCALATION_LEVELS = (URGENT, EMERGENCY)

# Keys of the parsed message (and of the escalation reply's `custom` payload, for RED_FLAG).
RED_FLAG = "red_flag"
RED_FLAG_CHECK = "red_flag_check"

# The intent the NLU component sets for each level; the dialogue rules answer these first.
INTENT_FOR_LEVEL = {
    EMERGENCY: "red_flag_emergency",
    URGENT: "red_flag_urgent",
    CHECK: "red_flag_check",
    ASK_NOW: "red_flag_ask_now",
}
ESCALATION_INTENTS = frozenset(INTENT_FOR_LEVEL[level] for level in ESCALATION_LEVELS)

# Set on a parsed message that speaks of the person's back: a sign given in a later message
# of the conversation counts with it.
MENTIONS_BACK = "mentions_back"

# The entity (and the slot it fills) that remembers the most serious level of a conversation:
# it gates massage booking (domain.yml).
LEVEL_SLOT = "red_flag_level"
# The entity (and slot) with the tier of a sign asked about with ASK_NOW: the reply to a yes
# is chosen by it.
PENDING_SLOT = "red_flag_pending"


def finding_in(parse_data: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The red flag of a parsed message: an escalation, else a weak sign, else None."""
    return parse_data.get(RED_FLAG) or parse_data.get(RED_FLAG_CHECK) or None


def escalation_in(parse_data: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The escalation (EMERGENCY or URGENT) of a parsed message, or None."""
    finding = parse_data.get(RED_FLAG)
    return finding if finding and finding.get("level") in ESCALATION_LEVELS else None


def most_serious(levels: Any) -> Optional[str]:
    """The most serious escalation level among ``levels`` (others are ignored)."""
    seen = [level for level in levels if level in ESCALATION_LEVELS]
    return max(seen, key=ESCALATION_LEVELS.index) if seen else None


def is_escalation_payload(custom: Any) -> bool:
    """True for a reply's `custom` payload that carries an escalation."""
    return isinstance(custom, dict) and RED_FLAG in custom


def confirmed_sign(user_parses: Sequence[Mapping[str, Any]], tier: Optional[str]) -> Optional[Dict[str, Any]]:
    """The sign the person has just said is happening now: the ASK_NOW finding of the message
    before the latest (``user_parses`` are the parsed user messages, oldest first), at its
    ``tier`` (the PENDING_SLOT); None when the latest message answers nothing of the kind."""
    if tier not in ESCALATION_LEVELS or len(user_parses) < 2:
        return None
    asked = user_parses[-2].get(RED_FLAG_CHECK)
    return {**asked, "level": tier} if asked and asked.get("level") == ASK_NOW else None
