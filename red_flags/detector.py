"""Deterministic red-flag detection with spaCy.

The lexicon (red_flags/lexicon.yml) turns into spaCy Matcher patterns over each token's
dictionary form (after the spelling fixes of the project's spaCy pipeline). The filters
(red_flags/filters.py) drop matches that sit in a figure of speech, follow a denial in the same
clause, share a sentence with words saying the symptom has passed (or, for injuries, was long
ago), or belong to someone else. The rules (red_flags/rules.yml) then combine what is left into
a tier and category, EMERGENCY before URGENT. One weak sign on its own gives a CHECK: ask a
follow-up question instead of raising an alarm.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

import yaml
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

from red_flags import filters
from red_flags.filters import Found, Message, Span
from red_flags.grammar import GRAMMAR, token_key
from red_flags.rules import Evidence, Finding, finding_from

LEXICON_FILE = Path(__file__).with_name("lexicon.yml")
# What a conversation about back pain lets later messages take as said.
BACK_PAIN = frozenset({"back", "pain"})

__all__ = ["Finding", "Reading", "RedFlagDetector", "detector_for"]


@dataclass(frozen=True)
class Reading:
    """The lexicon's finding, and whether the message is hedged: has words that change what a
    symptom means (a denial of a symptom, "it passed", "years ago", an idiom, "what if" unless
    the writer says it is theirs, exertion, weight lost on purpose) or is a general question. The
    classifier must be surer to escalate a hedged message (red_flags/classifier.py)."""

    finding: Optional[Finding]
    hedged: bool
    # The message speaks of the person's back (not denied, not someone else's), from its own
    # words: a later message of the conversation counts with it.
    mentions_back: bool = False


class RedFlagDetector:
    def __init__(self, nlp: Language, lexicon_file: Path = LEXICON_FILE) -> None:
        self.nlp = nlp
        lexicon = yaml.safe_load(lexicon_file.read_text(encoding="utf-8"))
        self.matcher = Matcher(nlp.vocab)
        for concept, phrases in lexicon["concepts"].items():
            self.matcher.add(concept, self._patterns(phrases))
        for concept, phrases in (lexicon.get("exclusions") or {}).items():
            self.matcher.add(f"not:{concept}", self._patterns(phrases))
        for group in GRAMMAR.filter_groups:
            self.matcher.add(f"_{group}", self._patterns(lexicon[group]))
        for name, patterns in GRAMMAR.token_patterns.items():
            self.matcher.add(f"_{name}", patterns)
        self.pseudo_negations = {self._keys(word)[0][0] for word in lexicon["pseudo_negations"]}

    # --- patterns ---------------------------------------------------------------------------

    def _keys(self, words: str) -> List[List[str]]:
        """Token keys of a word or alternatives ("pee/wee") - one key list per alternative."""
        return [[token_key(t) for t in self.nlp(alt) if not t.is_space] for alt in words.split("/")]

    def _patterns(self, phrases: Iterable[str]) -> List[List[dict]]:
        patterns = []
        for phrase in phrases:
            choices: List[List[List[dict]]] = []
            previous = ""
            for word in str(phrase).split():
                if word == "back" and set(previous.lstrip("=").split("/")) <= GRAMMAR.possessives:
                    # "hurt my back" is also "hurt my lower back", "did my upper left back in"
                    choices.append([[{"LOWER": {"IN": sorted(GRAMMAR.back_regions)}, "OP": "*"}]])
                previous = word
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

    def read(self, doc: Doc, back_pain_known: bool = False) -> Reading:
        """The lexicon's finding and whether the message is hedged, from one pass of the matcher.
        ``back_pain_known``: the person spoke of their back earlier in the conversation, so a
        sign given now ("I have a fever", "I fell down the stairs") counts with it."""
        message = self.message(doc)
        evidence = _evidence(message)
        mentions_back = evidence is not None and evidence.has("back")  # before the context is added
        if evidence is not None and back_pain_known:
            evidence.known = BACK_PAIN
        return Reading(finding_from(evidence), _hedged(message, evidence), mentions_back)

    def message(self, doc: Doc) -> Message:
        """The message as the filters see it: every match of the lexicon, clauses and sentences."""
        found: Found = {}
        for match_id, start, end in self.matcher(doc):
            found.setdefault(self.nlp.vocab.strings[match_id], []).append((start, end))
        return Message.read(doc, found, self.pseudo_negations)


def _evidence(message: Message) -> Optional[Evidence]:
    """The concepts that count, after every filter; None for a hypothetical or a general question."""
    doc, found, clause, sentence = message.doc, message.found, message.clause, message.sentence
    resolved = filters.resolved_sentences(message)
    long_ago = filters.long_ago_sentences(message)
    long_ago_clauses = filters.long_ago_clauses(message)
    exertion = filters.exertion_sentences(message)
    seat_pressure = filters.seat_pressure_clauses(message)
    denied_after = filters.denied_after_sentences(message)
    asked_about = filters.asked_about_clauses(message)
    supposed = filters.overturned_suppositions(message)

    evidence = Evidence(doc)
    denied_spans: List[Span] = []
    numbness_after_exercise: List[Span] = []
    for concept, spans in found.items():
        if not filters.is_concept(concept):
            continue
        excluded = {i for s, e in found.get(f"not:{concept}", []) for i in range(s, e)}
        for start, end in _longest(spans):
            if filters.in_idiom(message, start, end) or excluded.intersection(range(start, end)):
                continue
            if concept not in GRAMMAR.not_deniable and (
                filters.is_denied(message, start, end) or filters.answered_no(doc, end)
            ):
                denied_spans.append((start, end))
                continue
            if concept not in GRAMMAR.lasting_history and sentence[start] in resolved:
                continue
            if filters.denied_later_in_sentence(message, start, end, denied_after):
                continue
            if concept in GRAMMAR.past_events and (
                sentence[start] in long_ago or filters.in_comparison(message, start)
            ):
                continue
            if concept not in GRAMMAR.lasting_history and clause[start] in long_ago_clauses:
                continue
            if concept in GRAMMAR.exertion_sensitive and sentence[start] in exertion:
                if concept == "numb":
                    numbness_after_exercise.append((start, end))
                continue
            if concept in GRAMMAR.seat_sensitive and clause[start] in seat_pressure:
                continue
            if clause[start] in asked_about or sentence[start] in supposed:
                continue
            if concept == "weight_loss" and filters.weight_loss_as_goal(message, start):
                evidence.spans.setdefault("deliberate", []).append((start, end))
            evidence.spans.setdefault(concept, []).append((start, end))
    # Exercise explains numb legs, not numbness "down there" ("genitals numb after squats").
    for span in numbness_after_exercise:
        if any(clause[start] == clause[span[0]] for start, _ in evidence.spans.get("saddle_area", [])):
            evidence.spans.setdefault("numb", []).append(span)
    _drop_denied_or_fine_back(message, evidence, denied_spans)
    filters.drop_other_peoples_history(evidence, clause)
    fevers = filters.fever_spans(message)
    if fevers:
        evidence.spans.setdefault("fever", []).extend(fevers)
    evidence.old_age = filters.old_age_spans(message)
    framed = filters.framed_as_hypothetical(message)
    if framed:
        for concept, spans in evidence.spans.items():
            evidence.spans[concept] = [span for span in spans if sentence[span[0]] not in framed]
        if not any(evidence.spans.values()):
            return None
    if filters.is_general_question(doc, evidence):
        return None
    return evidence


def _drop_denied_or_fine_back(message: Message, evidence: Evidence, denied_spans: List[Span]) -> None:
    """The back itself cannot be denied, but "no back pain" denies the pain of the back, and
    "back fine" says it is well: neither back is context for a sign elsewhere."""
    doc = message.doc
    back_fine = {
        i
        for s, e in message.found.get("_back_fine", [])
        if not (e < len(doc) and doc[e].lower_ in GRAMMAR.conditions)
        for i in range(s, e)
    }
    denied_starts = {start for start, _ in denied_spans}
    evidence.spans["back"] = [
        (start, end)
        for start, end in evidence.spans.get("back", [])
        if not (end in denied_starts and any(0 <= start - e <= 1 for _, e in message.negations))
        and not back_fine.issuperset(range(start, end))
    ]


def _hedged(message: Message, evidence: Optional[Evidence]) -> bool:
    if evidence is None or filters.is_hypothetical(message.found):  # a hypothetical or a general question
        return True
    if evidence.has("weight_loss") and evidence.has("deliberate"):
        return True
    if any(filters.answered_no(message.doc, end) for _, end in message.symptoms):
        return True
    symptom_starts = [start for start, _ in message.symptoms]
    for group in GRAMMAR.hedges:
        for start, end in message.found.get(f"_{group}", []):
            if group == "negations":
                # "can't pee" is a symptom, "won't work" may be one: a denial counts only when
                # a symptom the lexicon knows follows it.
                inside_symptom = all(i in message.symptom_tokens for i in range(start, end))
                denies = any(0 <= s - end <= GRAMMAR.negation_window for s in symptom_starts)
                if inside_symptom or not denies:
                    continue
            return True
    return filters.is_general_question(message.doc, Evidence(message.doc))


def _longest(spans: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """Drops spans inside a longer span of the same concept."""
    spans = sorted(set(spans), key=lambda span: (span[0], -(span[1] - span[0])))
    kept: List[Tuple[int, int]] = []
    for start, end in spans:
        if not any(s <= start and end <= e for s, e in kept):
            kept.append((start, end))
    return kept


@functools.cache
def detector_for(pipeline_path: str) -> RedFlagDetector:
    """One detector per spaCy pipeline, built on first use."""
    import spacy

    return RedFlagDetector(spacy.load(pipeline_path))
