"""The rules of red_flags/rules.yml: which concepts, left in a message after the filters, make
a red flag of which category, and which of the person's words to quote back."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

import yaml
from spacy.tokens import Doc

from red_flags.contract import CHECK, EMERGENCY, URGENT
from red_flags.grammar import GRAMMAR, token_key

RULES_FILE = Path(__file__).with_name("rules.yml")
LEVELS = (EMERGENCY, URGENT, CHECK)  # tried in this order

Span = Tuple[int, int]


@dataclass(frozen=True)
class Finding:
    """What the detector recognised: tier, category and the patient's own words."""

    level: str
    category: str
    matched: Tuple[str, ...]

    def as_dict(self) -> Dict[str, object]:
        return {"level": self.level, "category": self.category, "matched": list(self.matched)}


@dataclass
class Evidence:
    """Concept matches left after the filters, by concept name: (start, end) token spans."""

    doc: Doc
    spans: Dict[str, List[Span]] = field(default_factory=dict)
    old_age: List[Span] = field(default_factory=list)  # ages of OLD_AGE or more
    # Concepts known from earlier in the conversation ("back", "pain"): they count, but are
    # not this message's words, so they are never quoted.
    known: FrozenSet[str] = frozenset()

    def has(self, concept: str) -> bool:
        return bool(self.spans.get(concept)) or concept in self.known

    def near(self, first: str, second: str, window: int = GRAMMAR.near) -> List[Span]:
        """Spans of both concepts where one lies within ``window`` words of the other."""
        for a, b in itertools.product(self.spans.get(first, []), self.spans.get(second, [])):
            if a != b and _gap(a, b) <= window:
                return [a, b]
        return []

    def first(self, *concepts: str) -> List[Span]:
        return [self.spans[c][0] for c in concepts if self.spans.get(c)]

    def is_old(self) -> bool:
        return bool(self.old_age) or self.has("old_age")

    def text(self, spans: Iterable[Span]) -> Tuple[str, ...]:
        seen: List[str] = []
        for start, end in sorted(set(spans)):
            words = self.doc[start:end].text
            if words not in seen:
                seen.append(words)
        return tuple(seen)


# A rule returns the spans that prove it, or an empty list.
Rule = Callable[[Evidence], List[Span]]


def _gap(a: Span, b: Span) -> int:
    """Words between two spans (negative when they overlap)."""
    return max(a[0], b[0]) - min(a[1], b[1])


# --- rules too particular for rules.yml's vocabulary ------------------------------------------


def leg_weakness_getting_worse(e: Evidence) -> List[Span]:
    return e.first("weak", "worsening") if e.near("weak", "leg") and e.has("worsening") else []


def pain_spreading_to_two_body_parts(e: Evidence) -> List[Span]:
    """Pain spreading to two of arm, jaw, neck, shoulder (or nausea), not one part said twice."""
    first_of_each: Dict[str, Span] = {}
    for start, end in e.spans.get("arm_or_jaw", []):
        parts = [key for key in (token_key(t) for t in e.doc[start:end]) if key in GRAMMAR.spreading_parts]
        if parts:
            first_of_each.setdefault(parts[0], (start, end))
    return list(first_of_each.values())[:2] if len(first_of_each) >= 2 else []


def minor_event_with_fragile_bones(e: Evidence) -> List[Span]:
    """A minor fall, lift or cough with thin bones, steroids or older age, and back pain."""
    if (e.has("fragile_bones") or e.is_old()) and e.has("minor_event") and (e.has("pain") or e.has("back")):
        return e.first("fragile_bones", "old_age", "minor_event") + e.old_age[:1]
    return []


def worse_after_recent_spinal_surgery(e: Evidence) -> List[Span]:
    if e.has("spinal_surgery") and (e.has("worsening") or (e.has("recent") and e.has("pain"))):
        return e.first("spinal_surgery", "worsening")
    return []


def older_age_with_back_pain(e: Evidence) -> List[Span]:
    return (e.old_age[:1] or e.first("old_age")) if e.is_old() and (e.has("pain") or e.has("back")) else []


NAMED_CHECKS: Dict[str, Rule] = {
    check.__name__: check
    for check in (
        leg_weakness_getting_worse,
        pain_spreading_to_two_body_parts,
        minor_event_with_fragile_bones,
        worse_after_recent_spinal_surgery,
        older_age_with_back_pain,
    )
}


# --- rules.yml ---------------------------------------------------------------------------------


def compile_alternative(spec: Dict[str, Any]) -> Rule:
    """One alternative of rules.yml as a function of the evidence."""
    if "check" in spec:
        return NAMED_CHECKS[spec["check"]]
    if "near" in spec:
        first, second = spec["near"]
        window = int(spec.get("within", GRAMMAR.near))
        return lambda e: e.near(first, second, window)
    if "all" in spec:
        concepts = tuple(spec["all"])
        return lambda e: e.first(*concepts) if all(e.has(c) for c in concepts) else []
    concept = spec["with"]
    any_of = tuple(spec.get("and_any", ()))
    none_of = tuple(spec.get("unless", ()))
    near_pair: Optional[Sequence[Any]] = spec.get("and_near")

    def holds(e: Evidence) -> List[Span]:
        if not e.has(concept) or (any_of and not any(e.has(c) for c in any_of)):
            return []
        if any(e.has(c) for c in none_of):
            return []
        if near_pair is None:
            return e.first(concept)
        close = e.near(near_pair[0], near_pair[1], int(near_pair[2]))
        return e.first(concept) + close if close else []

    return holds


def load_rules(path: Path = RULES_FILE) -> List[Tuple[str, str, Rule]]:
    """(level, category, rule) for every alternative, in the order they are tried."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        (level, category, compile_alternative(spec))
        for level in LEVELS
        for category, alternatives in raw[level].items()
        for spec in alternatives
    ]


RULES = load_rules()


def finding_from(evidence: Optional[Evidence]) -> Optional[Finding]:
    """The first rule that holds, EMERGENCY before URGENT before a weak sign (CHECK)."""
    if evidence is None:
        return None
    for level, category, rule in RULES:
        spans = rule(evidence)
        if spans:
            return Finding(level, category, evidence.text(spans))
    return None
