"""Deterministic red-flag detection with spaCy.

The lexicon (red_flags/lexicon.yml) turns into spaCy Matcher patterns over each token's
dictionary form (after the spelling fixes of the project's spaCy pipeline). Matches are
dropped when they sit in a figure of speech, follow a denial in the same clause, or share a
sentence with words saying the symptom has passed (or, for injuries, was long ago). The rules
in ``RULES`` then combine what is left into a tier and category, EMERGENCY before URGENT. One
weak sign on its own gives a CHECK: ask a follow-up question instead of raising an alarm.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import AbstractSet, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import yaml
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Token

from red_flags.contract import CHECK, EMERGENCY, URGENT

LEXICON_FILE = Path(__file__).with_name("lexicon.yml")

CLAUSE_BREAKS = {",", ";", ".", "!", "?", ":", "-", "–", "—", "(", ")", "\n", "+"}
CLAUSE_WORDS = {"but", "though", "although", "however", "except", "anyway", "just", "only", "now", "lately", "and"}
SENTENCE_BREAKS = {".", "!", "?", "\n"}
NEGATION_WINDOW = 6  # words between a denial and the symptom it denies
NEAR = 10  # words within which two concepts count as one complaint
OLD_AGE = 65
CONTRACTION_LEMMAS = {"ca": "can", "wo": "will", "sha": "shall", "ai": "be"}
# Words spaCy's lemmatiser gets wrong in a way that matters here: "number" is not "more numb".
OWN_LEMMA = {"number"}


def token_key(token: Token) -> str:
    """The form patterns compare: the lemma, with contractions spelt out ("ca" -> "can")."""
    if token.lower_ in OWN_LEMMA:
        return token.lower_
    lemma = token.lemma_.lower() or token.lower_
    return CONTRACTION_LEMMAS.get(lemma, lemma)


Token.set_extension("red_flag_key", getter=token_key, force=True)


@dataclass(frozen=True)
class Finding:
    """What the detector recognised: tier, category and the patient's own words."""

    level: str
    category: str
    matched: Tuple[str, ...]

    def as_dict(self) -> Dict[str, object]:
        return {"level": self.level, "category": self.category, "matched": list(self.matched)}


@dataclass(frozen=True)
class Reading:
    """The lexicon's finding, and whether the message is hedged: has words that change what a
    symptom means (a denial of a symptom, "it passed", "years ago", an idiom, "what if" unless
    the writer says it is theirs, exertion, weight lost on purpose) or is a general question. The
    classifier must be surer to escalate a hedged message (red_flags/classifier.py)."""

    finding: Optional[Finding]
    hedged: bool


@dataclass
class _Evidence:
    """Concept matches left after the filters, by concept name: (start, end) token spans."""

    doc: Doc
    spans: Dict[str, List[Tuple[int, int]]] = field(default_factory=dict)
    old_age: List[Tuple[int, int]] = field(default_factory=list)

    def has(self, concept: str) -> bool:
        return bool(self.spans.get(concept))

    def near(self, first: str, second: str, window: int = NEAR) -> List[Tuple[int, int]]:
        """Spans of both concepts where one lies within ``window`` words of the other."""
        for a, b in itertools.product(self.spans.get(first, []), self.spans.get(second, [])):
            if a != b and _gap(a, b) <= window:
                return [a, b]
        return []

    def text(self, spans: Iterable[Tuple[int, int]]) -> Tuple[str, ...]:
        seen: List[str] = []
        for start, end in sorted(set(spans)):
            words = self.doc[start:end].text
            if words not in seen:
                seen.append(words)
        return tuple(seen)

    def first(self, *concepts: str) -> List[Tuple[int, int]]:
        return [self.spans[c][0] for c in concepts if self.spans.get(c)]


# A rule returns the spans that prove it, or an empty list.
Rule = Tuple[str, str, Callable[[_Evidence], List[Tuple[int, int]]]]


def _any(*alternatives: Callable[[_Evidence], List[Tuple[int, int]]]):
    def check(e: _Evidence) -> List[Tuple[int, int]]:
        for alternative in alternatives:
            spans = alternative(e)
            if spans:
                return spans
        return []

    return check


def _with(concept: str, *context: str):
    """``concept`` matched, and at least one of ``context`` somewhere in the message."""

    def check(e: _Evidence) -> List[Tuple[int, int]]:
        if e.has(concept) and (not context or any(e.has(c) for c in context)):
            return e.first(concept)
        return []

    return check


def _near(first: str, second: str, window: int = NEAR):
    return lambda e: e.near(first, second, window)


def _all(*concepts: str):
    return lambda e: e.first(*concepts) if all(e.has(c) for c in concepts) else []


def _two_body_parts(e: _Evidence) -> List[Tuple[int, int]]:
    """Pain spreading to two of arm, jaw, neck, shoulder (or nausea), not one part said twice."""
    first_of_each: Dict[str, Tuple[int, int]] = {}
    for start, end in e.spans.get("arm_or_jaw", []):
        parts = [key for key in (token_key(t) for t in e.doc[start:end]) if key in SPREADING_PARTS]
        if parts:
            first_of_each.setdefault(parts[0], (start, end))
    return list(first_of_each.values())[:2] if len(first_of_each) >= 2 else []


def _old(e: _Evidence) -> bool:
    return bool(e.old_age) or e.has("old_age")


RULES: Sequence[Rule] = (
    (EMERGENCY, "saddle_numbness", _near("numb", "saddle_area")),
    (EMERGENCY, "bladder_bowel", _with("urine_or_bowel_problem")),
    (
        EMERGENCY,
        "sexual_dysfunction",
        _any(_with("sexual_problem", "back", "pain", "numb"), _all("numb", "sex_context")),
    ),
    (
        EMERGENCY,
        "cancer_with_neuro",
        _any(*(_all("cancer", sign) for sign in ("weak", "numb", "nerve", "band_of_pain", "cant_walk", "foot_drop"))),
    ),
    (
        EMERGENCY,
        "both_legs_or_worsening_weakness",
        _any(
            _near("numb", "both_legs"),
            _near("nerve", "both_legs"),
            _near("weak", "both_legs"),
            _near("foot_drop", "both_legs"),
            _with("cant_walk"),
            lambda e: e.first("weak", "worsening") if e.near("weak", "leg") and e.has("worsening") else [],
            _all("foot_drop", "worsening"),
        ),
    ),
    (EMERGENCY, "major_trauma", _with("major_trauma", "pain", "back")),
    (
        EMERGENCY,
        "chest_or_vascular",
        _any(
            _with("chest_or_vascular", "pain", "back"),
            _all("arm_or_jaw", "sweating"),
            _all("arm_or_jaw", "chest_or_vascular"),
            _two_body_parts,
            _all("arm_or_jaw", "back", "pain"),
        ),
    ),
    (
        EMERGENCY,
        "fever_with_confusion",
        _any(_all("fever", "confusion"), _all("fever", "stiff_neck"), _all("fever", "very_unwell")),
    ),
    # History (cancer, infection risk) counts with back *pain*: "a relaxing back massage" after
    # cancer years ago is no red flag.
    (URGENT, "fever_or_infection_risk", _any(_with("fever", "pain", "back"), _with("infection_risk", "pain"))),
    (
        URGENT,
        "cancer_history_or_weight_loss",
        _any(
            _with("cancer", "pain"),
            lambda e: e.first("weight_loss") if e.has("weight_loss") and not e.has("deliberate") else [],
        ),
    ),
    (
        URGENT,
        "fragility_fracture",
        lambda e: (
            (e.first("fragile_bones", "old_age", "minor_event") + e.old_age[:1])
            if (e.has("fragile_bones") or _old(e)) and e.has("minor_event") and (e.has("pain") or e.has("back"))
            else []
        ),
    ),
    (URGENT, "injury_onset", _with("injury", "pain", "back")),
    (
        URGENT,
        "one_leg_nerve",
        _any(_near("nerve", "leg", 8), _with("foot_drop"), _near("weak", "leg", 6)),
    ),
    (
        URGENT,
        "night_or_rest_pain",
        _any(
            _all("night", "rest_no_relief"),
            lambda e: (
                e.first("night") + e.near("rest_word", "no_relief", 6)
                if e.has("night") and e.near("rest_word", "no_relief", 6)
                else []
            ),
        ),
    ),
    (
        URGENT,
        "lump_or_deformity",
        _any(
            _near("lump", "back"),
            _with("spine_shape"),
            _near("between_shoulder_blades", "not_muscular"),
        ),
    ),
    (
        URGENT,
        "recent_spinal_surgery",
        lambda e: (
            e.first("spinal_surgery", "worsening")
            if e.has("spinal_surgery") and (e.has("worsening") or (e.has("recent") and e.has("pain")))
            else []
        ),
    ),
)

# One of these alone asks a follow-up question (red-flags reference: weak single signs).
WEAK_SIGNS: Sequence[Tuple[str, Callable[[_Evidence], List[Tuple[int, int]]]]] = (
    ("night_pain", _with("night")),
    ("pain_at_rest", _any(_with("rest_no_relief", "pain", "back"), _near("rest_word", "no_relief", 6))),
    (
        "older_age",
        lambda e: (e.old_age[:1] or e.first("old_age")) if _old(e) and (e.has("pain") or e.has("back")) else [],
    ),
    ("pain_on_coughing", _with("cough_or_sneeze", "pain", "back")),
)

# Body parts, people and resting cannot be denied ("doesn't do much for my back" still means
# the back; "doesn't ease with rest" denies the relief, not the rest).
NOT_DENIABLE = {
    "back",
    "leg",
    "saddle_area",
    "both_legs",
    "sex_context",
    "rest_word",
    "family",
    "first_person",
    "third_person",
    "self_or_family",
}
# Events long ago ("fell off a horse as a child", "in 2015") do not count in their sentence;
# other signs only in the clause that says so; history that matters whenever it happened
# (cancer, thin bones) always counts.
PAST_EVENTS = {"major_trauma", "injury", "spinal_surgery", "minor_event", "foot_drop"}
LASTING_HISTORY = {
    "cancer",
    "fragile_bones",
    "weight_loss",
    "deliberate",
    "infection_risk",
    "spinal_surgery",
    "family",
    "first_person",
    "third_person",
    "self_or_family",
    "back",
    "pain",
}
# Words after which a denial no longer applies ("nothing helps and both legs are numb").
SCOPE_BREAKS = {"and", "so", "then", "now", "but"}
# Leg sensations an activity explains ("jelly legs after leg day"); numbness "down there" is
# explained only by pressure on the seat ("numb bum after a long bike ride"), not by squats.
EXERTION_SENSITIVE = {"numb", "nerve", "weak", "both_legs", "leg", "cant_walk", "arm_or_jaw", "foot_drop"}
SEAT_SENSITIVE = {"saddle_area"}
# "chest pain? no.": a symptom asked about and answered in one word.
ANSWERS_NO = {"no", "nope", "nah", "none", "negative"}
QUOTES_AND_DASHES = {"'", '"', "-", "–", "—", ":"}
# Where heart pain spreads (chest_or_vascular): "arm_or_jaw" phrases name one of these.
SPREADING_PARTS = {"arm", "jaw", "neck", "shoulder", "nausea"}
# "40.5 kg", "38.5 hours": a bare number followed by one of these is no temperature.
NOT_TEMPERATURE = {
    "kg",
    "kgs",
    "kilo",
    "kilos",
    "lb",
    "lbs",
    "stone",
    "pound",
    "pounds",
    "£",
    "%",
    "km",
    "mile",
    "miles",
    "hour",
    "hours",
    "hr",
    "hrs",
    "minute",
    "minutes",
    "min",
    "mins",
    "week",
    "weeks",
    "year",
    "years",
}
# "like after a marathon", "like I'd done leg day": a comparison, not the activity ("like jelly
# after leg day" is the activity). Words from "like" to the activity, and the word after "like".
SIMILE_WINDOW = 4
SIMILE_OPENERS = {"after", "when", "i", "i've", "ive", "you", "you've", "someone", "i'd", "id"}
# Words after "it goes away" or "back's ok" that make it a pattern of the symptom, not its end.
CONDITIONS = {"when", "whenever", "if", "unless", "except", "until"}
# Words opening a sentence that speak of the symptom before it ("they're fine now").
SYMPTOM_PRONOUNS = {"it", "they", "that", "this", "these", "those", "both"}
# History whose date says nothing about the events around it ("diagnosed in 2015").
DATED_HISTORY = {"cancer", "fragile_bones", "infection_risk"}
# History that may belong to somebody else ("my dad had cancer years ago").
HISTORY = {"cancer", "weight_loss", "spinal_surgery", "old_age"}
HEDGE_GROUPS = {
    "_negations",
    "_idioms",
    "_resolved",
    "_long_ago",
    "_exertion",
    "_seat_pressure",
    "_denied_after",
    "_when_young",
    "_back_fine",
}
QUESTION_OPENERS = {
    "what",
    "is",
    "are",
    "can",
    "could",
    "does",
    "do",
    "should",
    "how",
    "why",
    "which",
    "when",
    "will",
    "would",
}


class RedFlagDetector:
    def __init__(self, nlp: Language, lexicon_file: Path = LEXICON_FILE) -> None:
        self.nlp = nlp
        lexicon = yaml.safe_load(lexicon_file.read_text(encoding="utf-8"))
        self.matcher = Matcher(nlp.vocab)
        for concept, phrases in lexicon["concepts"].items():
            self.matcher.add(concept, self._patterns(phrases))
        for concept, phrases in (lexicon.get("exclusions") or {}).items():
            self.matcher.add(f"not:{concept}", self._patterns(phrases))
        for group in (
            "idioms",
            "negations",
            "resolved",
            "long_ago",
            "exertion",
            "seat_pressure",
            "hypothetical",
            "reports",
            "denied_after",
            "back_fine",
        ):
            self.matcher.add(f"_{group}", self._patterns(lexicon[group]))
        self.pseudo_negations = {self._keys(word)[0][0] for word in lexicon["pseudo_negations"]}
        self.matcher.add(
            "_age",
            [
                [{"LIKE_NUM": True}, {"LOWER": {"IN": ["year", "years", "yr", "yrs"]}}, {"LOWER": "old", "OP": "?"}],
                [{"LIKE_NUM": True}, {"LOWER": {"IN": ["yo", "y/o"]}}],
                [{"LOWER": {"IN": ["aged", "age", "turned", "turning", "i'm", "im", "am"]}}, {"LIKE_NUM": True}],
                [
                    {
                        "LOWER": {
                            "IN": [
                                "i",
                                "she",
                                "he",
                                "who",
                                "mum",
                                "mom",
                                "mam",
                                "ma",
                                "dad",
                                "nan",
                                "gran",
                                "husband",
                                "wife",
                                "father",
                                "mother",
                                "hubby",
                                "partner",
                                "grandad",
                                "grandma",
                                "auntie",
                                "aunt",
                                "uncle",
                            ]
                        }
                    },
                    {"LOWER": {"IN": ["'m", "m", "am", "'s", "s", "is"]}},
                    {"LIKE_NUM": True},
                ],
                [
                    {"LOWER": {"IN": ["(", "at", "aged", ","]}},
                    {"LIKE_NUM": True},
                    {"LOWER": {"IN": [")", ",", "and", "now"]}},
                ],
                [
                    {
                        "LOWER": {
                            "IN": [
                                "mum",
                                "mom",
                                "dad",
                                "nan",
                                "gran",
                                "grandma",
                                "grandad",
                                "father",
                                "mother",
                                "husband",
                                "wife",
                                "aunt",
                                "aunty",
                                "auntie",
                                "uncle",
                                "lady",
                                "man",
                                "gentleman",
                                "woman",
                                "female",
                                "male",
                            ]
                        }
                    },
                    {"LIKE_NUM": True},
                ],
                [{"LOWER": "at"}, {"LIKE_NUM": True}, {"LOWER": {"IN": ["my", "i", "his", "her"]}}],
            ],
        )
        self.matcher.add("_when_young", [[{"LOWER": "when"}, {"LOWER": "i"}, {"LOWER": "was"}, {"LIKE_NUM": True}]])
        self.matcher.add(
            "_fever_number",
            [
                [
                    {"LOWER": {"IN": ["temp", "temperature", "thermometer", "fever"]}},
                    {"OP": "?"},
                    {"OP": "?"},
                    {"LIKE_NUM": True},
                ],
                [{"LIKE_NUM": True}, {"LOWER": {"IN": ["degrees", "°", "°c", "°f", "celsius", "fahrenheit", "point"]}}],
                [{"TEXT": {"REGEX": r"^(3[7-9]|4[0-2])[.,][0-9]$"}}],  # "39.8" on its own is a temperature
            ],
        )

    # --- patterns ---------------------------------------------------------------------------

    def _keys(self, words: str) -> List[List[str]]:
        """Token keys of a word or alternatives ("pee/wee") - one key list per alternative."""
        return [[token_key(t) for t in self.nlp(alt) if not t.is_space] for alt in words.split("/")]

    def _patterns(self, phrases: Iterable[str]) -> List[List[dict]]:
        patterns = []
        for phrase in phrases:
            choices: List[List[List[dict]]] = []
            for word in str(phrase).split():
                if word == "*":
                    choices.append([[{"OP": "?"}]])
                elif word == "**":
                    choices.append([[{"OP": "?"}] * 3])
                elif word.startswith("=") and len(word) > 1:
                    choices.append([[{"LOWER": {"IN": word[1:].lower().split("/")}}]])
                else:
                    choices.append([[{"_": {"red_flag_key": key}} for key in keys] for keys in self._keys(word)])
            for combination in itertools.product(*choices):
                patterns.append([token for part in combination for token in part])
        return patterns

    # --- detection ---------------------------------------------------------------------------

    def __call__(self, text: str) -> Optional[Finding]:
        # Lower case, as Rasa's SpacyNLP (case_sensitive: false) hands the text over, and so
        # the lemma tables find "Leaking" as "leaking".
        return self.read(self.nlp(text.lower())).finding

    def read(self, doc: Doc) -> Reading:
        """The lexicon's finding and whether the message is hedged, from one pass of the matcher."""
        found: Dict[str, List[Tuple[int, int]]] = {}
        for match_id, start, end in self.matcher(doc):
            found.setdefault(self.nlp.vocab.strings[match_id], []).append((start, end))
        symptoms = [span for group, spans in found.items() if not group.startswith(("_", "not:")) for span in spans]
        symptom_tokens = {i for start, end in symptoms for i in range(start, end)}
        clause, sentence = self._segments(doc, symptom_tokens)
        self._drop_false_hedges(doc, found, clause)
        evidence = self._evidence(doc, found, symptoms, symptom_tokens, clause, sentence)
        return Reading(self._finding(evidence), self._hedged(doc, found, symptoms, symptom_tokens, evidence))

    @staticmethod
    def _drop_false_hedges(doc: Doc, found: Dict[str, List[Tuple[int, int]]], clause: List[int]) -> None:
        """Hedging words that say nothing about the symptoms around them, for the finding and
        for ``hedged`` alike."""
        # "osteopenia diagnosed last year, lifted my grandson": the date belongs to the history
        # in its clause, not to the lift.
        history_clauses = {clause[s] for concept in DATED_HISTORY for s, _ in found.get(concept, [])}
        history_clauses -= {clause[s] for concept in PAST_EVENTS for s, _ in found.get(concept, [])}
        found["_long_ago"] = [(s, e) for s, e in found.get("_long_ago", []) if clause[s] not in history_clauses]
        # A simile explains nothing: "heavy legs like after leg day, but I haven't trained".
        found["_exertion"] = [
            (s, e)
            for s, e in found.get("_exertion", [])
            if not any(
                t.lower_ == "like" and t.nbor().lower_ in SIMILE_OPENERS and clause[t.i] == clause[s]
                for t in doc[max(s - SIMILE_WINDOW, 0) : s]
            )
        ]
        # No recovery: "the other one is fine" (an idiom of the lexicon), "it goes away when I
        # stop" (a pattern of the symptom).
        blocked = {i for s, e in found.get("_idioms", []) for i in range(s, e)}
        found["_resolved"] = [
            (s, e)
            for s, e in found.get("_resolved", [])
            if not blocked.issuperset(range(s, e)) and not (e < len(doc) and doc[e].lower_ in CONDITIONS)
        ]

    @staticmethod
    def _finding(evidence: Optional[_Evidence]) -> Optional[Finding]:
        if evidence is None:
            return None
        for level, category, rule in RULES:
            spans = rule(evidence)
            if spans:
                return Finding(level, category, evidence.text(spans))
        for category, rule in WEAK_SIGNS:
            spans = rule(evidence)
            if spans:
                return Finding(CHECK, category, evidence.text(spans))
        return None

    def _hedged(
        self,
        doc: Doc,
        found: Dict[str, List[Tuple[int, int]]],
        symptoms: List[Tuple[int, int]],
        symptom_tokens: Set[int],
        evidence: Optional[_Evidence],
    ) -> bool:
        if evidence is None:  # a hypothetical or a general question
            return True
        if evidence.has("weight_loss") and evidence.has("deliberate"):
            return True
        if any(_answered_no(doc, end) for _, end in symptoms):
            return True
        symptom_starts = [start for start, _ in symptoms]
        for group in HEDGE_GROUPS:
            for start, end in found.get(group, []):
                if group == "_negations":
                    # "can't pee" is a symptom, "won't work" may be one: a denial counts only
                    # when a symptom the lexicon knows follows it.
                    inside_symptom = all(i in symptom_tokens for i in range(start, end))
                    denies = any(0 <= s - end <= NEGATION_WINDOW for s in symptom_starts)
                    if inside_symptom or not denies:
                        continue
                return True
        return self._general_question(doc, _Evidence(doc))

    def _evidence(
        self,
        doc: Doc,
        found: Dict[str, List[Tuple[int, int]]],
        symptoms: List[Tuple[int, int]],
        symptom_tokens: Set[int],
        clause: List[int],
        sentence: List[int],
    ) -> Optional[_Evidence]:
        blocked = {i for s, e in found.get("_idioms", []) for i in range(s, e)}
        negations = [
            (s, e)
            for s, e in found.get("_negations", [])
            if not (e < len(doc) and token_key(doc[e]) in self.pseudo_negations)
        ]

        def denied(start: int, end: Optional[int] = None, ignored: AbstractSet[int] = frozenset()) -> bool:
            """A denial shortly before, in the same clause, not cut off by "and".

            The "not" inside a symptom itself ("can't feel", "haven't peed") is no denial of it.
            """
            for s, e in negations:
                if end is not None and s >= start and e <= end:
                    continue
                if set(range(s, e)) <= ignored:
                    continue
                if e <= start and start - e <= NEGATION_WINDOW and clause[s] == clause[start]:
                    # the "and" of "no pins and needles or anything down my legs" ends nothing
                    if not any(doc[i].lower_ in SCOPE_BREAKS and i not in symptom_tokens for i in range(e, start)):
                        return True
            return False

        def other_symptoms(start: int, end: int) -> Set[int]:
            return {i for s, e in symptoms if e <= start or s >= end for i in range(s, e)}

        def sentences_with(group: str) -> Set[int]:
            # "not going away" does not say the symptom went away; but the "not" of another
            # symptom ("can't feel my legs after leg day") does not deny the words after it.
            return {sentence[s] for s, e in found.get(group, []) if not denied(s, ignored=other_symptoms(s, e))}

        long_ago_clauses = {clause[s] for s, _ in found.get("_long_ago", [])}
        long_ago_clauses |= {clause[t.i] for t in doc if t.like_num and 1950 <= _number(t.text) <= 2022}

        resolved, long_ago, exertion, denied_after = (
            sentences_with(g) for g in ("_resolved", "_long_ago", "_exertion", "_denied_after")
        )
        # Exercise explains tired legs, not legs that keep getting worse ("creeping up to my knees").
        activity = {i for s, e in found.get("_exertion", []) for i in range(s, e)}
        exertion -= {
            sentence[s]
            for s, e in found.get("worsening", [])
            if not denied(s, e) and not activity.intersection(range(s, e))  # "climbed" Snowdon
        }
        # "my legs felt heavy after the massage. they're fine now": a sentence saying only that
        # "it" or "they" passed speaks of the sentence before it ("I fainted. feel ok now" does not).
        sentences_with_symptoms = {
            sentence[s]
            for concept, spans in found.items()
            if not concept.startswith(("_", "not:")) and concept not in NOT_DENIABLE
            for s, _ in spans
        }
        resolved |= {
            sentence[s] - 1
            for s, _ in found.get("_resolved", [])
            if sentence[s] > 0
            and sentence[s] in resolved
            and sentence[s] not in sentences_with_symptoms
            and _opening_word(doc, sentence, sentence[s]) in SYMPTOM_PRONOUNS
        }
        # A long drive explains a numb bottom in its own clause only ("sat for hours at work,
        # now my groin is numb" is no explanation).
        seat_pressure = {
            clause[s] for s, e in found.get("_seat_pressure", []) if not denied(s, ignored=other_symptoms(s, e))
        }
        long_ago |= sentences_with("_when_young") & {
            sentence[s] for s, e in found.get("_when_young", []) if _number(doc[e - 1].text) < 40
        }
        long_ago |= {sentence[t.i] for t in doc if t.like_num and 1950 <= _number(t.text) <= 2022}

        evidence = _Evidence(doc)
        denied_spans: List[Tuple[int, int]] = []
        numbness_after_exercise: List[Tuple[int, int]] = []
        for concept, spans in found.items():
            if concept.startswith(("_", "not:")):
                continue
            excluded = {i for s, e in found.get(f"not:{concept}", []) for i in range(s, e)}
            for start, end in _longest(spans):
                # Only words wholly inside an idiom are dropped: a phrase of the lexicon that holds a
                # whole idiom ("like when your foot falls asleep") is more specific than the idiom.
                if blocked.issuperset(range(start, end)) or excluded.intersection(range(start, end)):
                    continue
                if concept not in NOT_DENIABLE and (denied(start, end) or _answered_no(doc, end)):
                    denied_spans.append((start, end))
                    continue
                if concept not in LASTING_HISTORY and sentence[start] in resolved:
                    continue
                if sentence[start] in denied_after and any(
                    sentence[s] == sentence[start] and s >= end for s, _ in found.get("_denied_after", [])
                ):
                    continue
                if concept in PAST_EVENTS and sentence[start] in long_ago:
                    continue
                if concept not in LASTING_HISTORY and clause[start] in long_ago_clauses:
                    continue
                if concept in EXERTION_SENSITIVE and sentence[start] in exertion:
                    if concept == "numb":
                        numbness_after_exercise.append((start, end))
                    continue
                if concept in SEAT_SENSITIVE and clause[start] in seat_pressure:
                    continue
                evidence.spans.setdefault(concept, []).append((start, end))
        # Exercise explains numb legs, not numbness "down there" ("genitals numb after squats").
        for span in numbness_after_exercise:
            if any(clause[start] == clause[span[0]] for start, _ in evidence.spans.get("saddle_area", [])):
                evidence.spans.setdefault("numb", []).append(span)
        # The back itself cannot be denied, but "no back pain" denies the pain of the back, and
        # "back fine" says it is well.
        back_fine = {
            i
            for s, e in found.get("_back_fine", [])
            if not (e < len(doc) and doc[e].lower_ in CONDITIONS)
            for i in range(s, e)
        }
        denied_starts = {start for start, _ in denied_spans}
        evidence.spans["back"] = [
            (start, end)
            for start, end in evidence.spans.get("back", [])
            if not (end in denied_starts and any(0 <= start - e <= 1 for _, e in negations))
            and not back_fine.issuperset(range(start, end))
        ]
        self._drop_other_peoples_history(evidence, clause)
        fevers = [
            (start, end)
            for start, end in found.get("_fever_number", [])
            if any(t.like_num and _is_fever(_number(t.text)) for t in doc[start:end])
            and not denied(start)
            and not (end - start == 1 and end < len(doc) and doc[end].lower_ in NOT_TEMPERATURE)
        ]
        if fevers:
            evidence.spans.setdefault("fever", []).extend(fevers)
        evidence.old_age = [
            (s, e)
            for s, e in found.get("_age", [])
            if any(t.like_num and _number(t.text) >= OLD_AGE for t in doc[s:e])
            and not denied(s)
            and not blocked.intersection(range(s, e))  # "like a 90 year old's": the simile's age, not theirs
        ]
        if self._hypothetical(found) or self._general_question(doc, evidence):
            return None
        return evidence

    @staticmethod
    def _hypothetical(found: Dict[str, List[Tuple[int, int]]]) -> bool:
        """ "what if", "I read about": unless the writer says it is theirs ("I think I have it")."""
        return bool(found.get("_hypothetical")) and not found.get("_reports")

    @staticmethod
    def _segments(doc: Doc, in_symptoms: Set[int]) -> Tuple[List[int], List[int]]:
        """Clause and sentence number of every token. A word inside a symptom ("pins and
        needles") starts no clause."""
        clause, sentence = [], []
        c = s = 0
        for token in doc:
            joining = token.lower_ in CLAUSE_WORDS and token.i not in in_symptoms
            if token.text in CLAUSE_BREAKS or joining or "\n" in token.text:
                c += 1
            if token.text in SENTENCE_BREAKS or "\n" in token.text:
                s += 1
            clause.append(c)
            sentence.append(s)
        return clause, sentence

    @staticmethod
    def _drop_other_peoples_history(evidence: _Evidence, clause: List[int]) -> None:
        """ "my dad had cancer years ago, my back is stiff": the cancer is not the patient's.

        Dropped only when the patient goes on to speak of themselves (my, I) and not of that
        person (he, she, ...): an emergency reported for a relative still counts.
        """
        family_clauses = {clause[s] for s, _ in evidence.spans.get("family", [])}
        if not family_clauses:
            return
        about_self_elsewhere = any(clause[s] not in family_clauses for s, _ in evidence.spans.get("first_person", []))
        third_person_elsewhere = any(clause[s] not in family_clauses for s, _ in evidence.spans.get("third_person", []))
        if not about_self_elsewhere or third_person_elsewhere:
            return
        for concept in HISTORY:
            kept = [span for span in evidence.spans.get(concept, []) if clause[span[0]] not in family_clauses]
            evidence.spans[concept] = kept

    @staticmethod
    def _general_question(doc: Doc, evidence: _Evidence) -> bool:
        """A one-sentence question about a condition ("can massage help sciatica?"), not a
        report of one: anything more ("...? it started this week") counts as a report."""
        words = [t for t in doc if not t.is_punct and not t.is_space]
        text = doc.text.strip()
        asks = bool(words) and words[0].lower_ in QUESTION_OPENERS and text.endswith("?")
        one_sentence = not any(mark in text[:-1] for mark in ".?!\n")
        return asks and one_sentence and not evidence.has("self_or_family")


def _gap(a: Tuple[int, int], b: Tuple[int, int]) -> int:
    """Words between two spans (negative when they overlap)."""
    return max(a[0], b[0]) - min(a[1], b[1])


def _opening_word(doc: Doc, sentence: List[int], number: int) -> str:
    words = [t for t in doc if sentence[t.i] == number and not t.is_punct and not t.is_space]
    return token_key(words[0]) if words else ""


def _answered_no(doc: Doc, end: int) -> bool:
    """ "chest pain? no.", "'any numbness?' - no": the symptom ending at ``end`` asked about and
    denied in one word."""
    if end >= len(doc) or doc[end].text != "?":
        return False
    answer = end + 1
    while answer < len(doc) and doc[answer].text in QUOTES_AND_DASHES:
        answer += 1
    return (
        answer < len(doc) and doc[answer].lower_ in ANSWERS_NO and (answer + 1 == len(doc) or doc[answer + 1].is_punct)
    )


def _longest(spans: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """Drops spans inside a longer span of the same concept."""
    spans = sorted(set(spans), key=lambda span: (span[0], -(span[1] - span[0])))
    kept: List[Tuple[int, int]] = []
    for start, end in spans:
        if not any(s <= start and end <= e for s, e in kept):
            kept.append((start, end))
    return kept


def _is_fever(value: float) -> bool:
    return 37.8 <= value <= 43 or 100 <= value <= 110  # Celsius or Fahrenheit


def _number(text: str) -> float:
    match = re.match(r"\d+(\.\d+)?", text)
    return float(match.group()) if match else 0.0


@functools.cache
def detector_for(pipeline_path: str) -> RedFlagDetector:
    """One detector per spaCy pipeline, built on first use."""
    import spacy

    return RedFlagDetector(spacy.load(pipeline_path))
