"""The filters: why a word of the lexicon, found in a message, may not count.

Each is a named unit the detector asks about a concept it found (red_flags/detector.py):

- negation (``is_denied``, ``answered_no``): "no numbness", "chest pain? no";
- idiom (``in_idiom``): "I fell in love with deep tissue";
- resolved (``resolved_sentences``): "my foot went to sleep, fine now";
- long ago (``long_ago_sentences``, ``long_ago_clauses``): "fell off a horse as a child";
- exertion and seat pressure (``exertion_sentences``, ``seat_pressure_clauses``): "jelly legs
  after leg day", "numb bum after a long bike ride";
- denied afterwards (``denied_later_in_sentence``): "... and I said no to both";
- someone else (``drop_other_peoples_history``): "my dad had cancer years ago";
- hypothetical and general questions (``is_hypothetical``, ``is_general_question``): "what if",
  "can massage help sciatica?";
- asked about (``asked_about_clauses``): "they asked if I had any incontinence, I said no";
- supposed, then overturned (``overturned_suppositions``): "I thought I had a kidney infection.
  Turns out it was a disc";
- weight loss as a goal (``weight_loss_as_goal``): "the doctor suggested I lose 25 pounds".

Their word lists are in lexicon.yml (the phrases) and grammar.yml (word classes and groups).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import AbstractSet, Dict, List, Optional, Set, Tuple

from spacy.tokens import Doc

from red_flags.grammar import GRAMMAR, token_key
from red_flags.rules import Evidence

Span = Tuple[int, int]
Found = Dict[str, List[Span]]  # matcher label -> spans; filter groups start with "_"

# A year from 1950 to this many years ago dates what its clause says ("in 2015"): counted from
# today, so the rule ages with the calendar (written in 2026, when it meant up to 2022).
EARLIEST_YEAR, YEARS_AGO = 1950, 4
WHEN_YOUNG_BEFORE = 40  # "when I was 12": an age under this is long ago


@dataclass
class Message:
    """A message as the filters see it: the doc, its matches and where its clauses and
    sentences are."""

    doc: Doc
    found: Found
    symptoms: List[Span]  # spans of lexicon concepts (not filter groups, not exclusions)
    symptom_tokens: Set[int]
    clause: List[int]  # clause number of each token
    sentence: List[int]  # sentence number of each token
    negations: List[Span]  # words that open a denial ("not sure why" is none)
    idiom_tokens: Set[int]

    @classmethod
    def read(cls, doc: Doc, found: Found, pseudo_negations: AbstractSet[str]) -> Message:
        symptoms = [span for label, spans in found.items() if is_concept(label) for span in spans]
        symptom_tokens = {i for start, end in symptoms for i in range(start, end)}
        clause, sentence = segments(doc, symptom_tokens)
        drop_false_hedges(doc, found, clause)
        negations = [
            (s, e)
            for s, e in found.get("_negations", [])
            if not (e < len(doc) and token_key(doc[e]) in pseudo_negations)
        ]
        idioms = {i for s, e in found.get("_idioms", []) for i in range(s, e)}
        message = cls(doc, found, symptoms, symptom_tokens, clause, sentence, negations, idioms)
        # A frame denied frames nothing: "you wouldn't read about it, I hurt my back at work".
        found["_hypothetical"] = [(s, e) for s, e in found.get("_hypothetical", []) if not is_denied(message, s, e)]
        return message


def is_concept(label: str) -> bool:
    """A lexicon concept, not a filter group ("_negations") nor an exclusion ("not:numb")."""
    return not label.startswith(("_", "not:"))


def segments(doc: Doc, in_symptoms: Set[int]) -> Tuple[List[int], List[int]]:
    """Clause and sentence number of every token. A word inside a symptom ("pins and
    needles") starts no clause."""
    clause, sentence = [], []
    c = s = 0
    for token in doc:
        joining = token.lower_ in GRAMMAR.clause_words and token.i not in in_symptoms
        if token.text in GRAMMAR.clause_breaks or joining or "\n" in token.text:
            c += 1
        clause.append(c)
        # The mark that ends a sentence belongs to it ("is it serious?"), the next word does not.
        sentence.append(s)
        if token.text in GRAMMAR.sentence_breaks or "\n" in token.text:
            s += 1
    return clause, sentence


def drop_false_hedges(doc: Doc, found: Found, clause: List[int]) -> None:
    """Hedging words that say nothing about the symptoms around them, for the finding and for
    ``hedged`` alike."""
    # "osteopenia diagnosed last year, lifted my grandson": the date belongs to the history in
    # its clause, not to the lift.
    history_clauses = {clause[s] for concept in GRAMMAR.dated_history for s, _ in found.get(concept, [])}
    history_clauses -= {clause[s] for concept in GRAMMAR.past_events for s, _ in found.get(concept, [])}
    found["_long_ago"] = [(s, e) for s, e in found.get("_long_ago", []) if clause[s] not in history_clauses]
    # A simile explains nothing: "heavy legs like after leg day, but I haven't trained".
    found["_exertion"] = [
        (s, e)
        for s, e in found.get("_exertion", [])
        if not any(
            t.lower_ == "like" and t.nbor().lower_ in GRAMMAR.simile_openers and clause[t.i] == clause[s]
            for t in doc[max(s - GRAMMAR.simile_window, 0) : s]
        )
    ]
    # No recovery: "the other one is fine" (an idiom of the lexicon), "it goes away when I
    # stop" (a pattern of the symptom).
    idioms = {i for s, e in found.get("_idioms", []) for i in range(s, e)}
    found["_resolved"] = [
        (s, e)
        for s, e in found.get("_resolved", [])
        if not idioms.issuperset(range(s, e)) and not (e < len(doc) and doc[e].lower_ in GRAMMAR.conditions)
    ]


# --- negation -----------------------------------------------------------------------------------


def is_denied(message: Message, start: int, end: Optional[int] = None, ignored: AbstractSet[int] = frozenset()) -> bool:
    """A denial shortly before ``start``, in the same clause, not cut off by "and".

    The "not" inside a symptom itself ("can't feel", "haven't peed") is no denial of it, nor
    are the words in ``ignored``.
    """
    doc, clause = message.doc, message.clause
    for s, e in message.negations:
        if end is not None and s >= start and e <= end:
            continue
        if set(range(s, e)) <= ignored:
            continue
        if e <= start and start - e <= GRAMMAR.negation_window and clause[s] == clause[start]:
            # the "and" of "no pins and needles or anything down my legs" ends nothing
            if not any(
                doc[i].lower_ in GRAMMAR.scope_breaks and i not in message.symptom_tokens for i in range(e, start)
            ):
                return True
    return False


def answered_no(doc: Doc, end: int) -> bool:
    """ "chest pain? no.", "'any numbness?' - no": the symptom ending at ``end`` asked about and
    denied in one word."""
    if end >= len(doc) or doc[end].text != "?":
        return False
    answer = end + 1
    while answer < len(doc) and doc[answer].text in GRAMMAR.quotes_and_dashes:
        answer += 1
    return (
        answer < len(doc)
        and doc[answer].lower_ in GRAMMAR.answers_no
        and (answer + 1 == len(doc) or doc[answer + 1].is_punct)
    )


def _sentences_with(message: Message, group: str) -> Set[int]:
    """Sentences holding an undenied phrase of ``group``. "not going away" does not say the
    symptom went away; but the "not" of another symptom ("can't feel my legs after leg day")
    does not deny the words after it."""
    sentence = message.sentence
    return {
        sentence[s]
        for s, e in message.found.get(group, [])
        if not is_denied(message, s, ignored=_other_symptoms(message, s, e))
    }


def _other_symptoms(message: Message, start: int, end: int) -> Set[int]:
    """Tokens of the symptoms outside ``start:end``."""
    return {i for s, e in message.symptoms if e <= start or s >= end for i in range(s, e)}


# --- idiom ----------------------------------------------------------------------------------------


def in_idiom(message: Message, start: int, end: int) -> bool:
    """Only words wholly inside an idiom are dropped: a phrase of the lexicon that holds a whole
    idiom ("like when your foot falls asleep") is more specific than the idiom."""
    return message.idiom_tokens.issuperset(range(start, end))


def in_comparison(message: Message, start: int) -> bool:
    """An event told as a comparison did not happen: "the sharp pain feels like when you miss a
    step", "as if I'd been hit by a car": a simile ("like" and an opener, as ``_exertion``
    reads them) or "as if/though" earlier in the clause. Only for events: a sensation compared
    ("like when your foot falls asleep") is still the sensation."""
    doc, clause = message.doc, message.clause
    for token in reversed(doc[:start]):
        if clause[token.i] != clause[start]:
            return False
        following = token.nbor().lower_ if token.i + 1 < len(doc) else ""
        if token.lower_ == "like" and following in GRAMMAR.simile_openers:
            return True
        if token.lower_ in ("if", "though") and token.i > 0 and doc[token.i - 1].lower_ == "as":
            return True
    return False


# --- resolved ---------------------------------------------------------------------------------------


def resolved_sentences(message: Message) -> Set[int]:
    """Sentences that say a symptom has passed, and the sentence before a "they're fine now"."""
    sentence, found = message.sentence, message.found
    resolved = _sentences_with(message, "_resolved")
    sentences_with_symptoms = {
        sentence[s]
        for concept, spans in found.items()
        if is_concept(concept) and concept not in GRAMMAR.not_deniable
        for s, _ in spans
    }
    # "my legs felt heavy after the massage. they're fine now": a sentence saying only that
    # "it" or "they" passed speaks of the sentence before it ("I fainted. feel ok now" does not).
    return resolved | {
        sentence[s] - 1
        for s, _ in found.get("_resolved", [])
        if sentence[s] > 0
        and sentence[s] in resolved
        and sentence[s] not in sentences_with_symptoms
        and _opening_word(message, sentence[s]) in GRAMMAR.symptom_pronouns
    }


def _opening_word(message: Message, number: int) -> str:
    words = [t for t in message.doc if message.sentence[t.i] == number and not t.is_punct and not t.is_space]
    return token_key(words[0]) if words else ""


# --- long ago ---------------------------------------------------------------------------------------


def _years_long_ago(message: Message) -> List[int]:
    """Tokens that are a year long past ("in 2015")."""
    latest = dt.date.today().year - YEARS_AGO
    return [t.i for t in message.doc if t.like_num and EARLIEST_YEAR <= number(t.text) <= latest]


def long_ago_sentences(message: Message) -> Set[int]:
    """Sentences dated long ago: past events in them (falls, injuries, surgery) do not count."""
    doc, sentence = message.doc, message.sentence
    young = {
        sentence[s] for s, e in message.found.get("_when_young", []) if number(doc[e - 1].text) < WHEN_YOUNG_BEFORE
    }
    return (
        _sentences_with(message, "_long_ago")
        | (_sentences_with(message, "_when_young") & young)
        | {sentence[i] for i in _years_long_ago(message)}
    )


def long_ago_clauses(message: Message) -> Set[int]:
    """Clauses dated long ago: no sign in them counts, except lasting history."""
    clause = message.clause
    return {clause[s] for s, _ in message.found.get("_long_ago", [])} | {clause[i] for i in _years_long_ago(message)}


# --- exertion and seat pressure -----------------------------------------------------------------


def exertion_sentences(message: Message) -> Set[int]:
    """Sentences where an activity explains leg sensations, unless they keep getting worse
    ("creeping up to my knees")."""
    sentence = message.sentence
    activity = {i for s, e in message.found.get("_exertion", []) for i in range(s, e)}
    worsening = {
        sentence[s]
        for s, e in message.found.get("worsening", [])
        if not is_denied(message, s, e) and not activity.intersection(range(s, e))  # "climbed" Snowdon
    }
    return _sentences_with(message, "_exertion") - worsening


def seat_pressure_clauses(message: Message) -> Set[int]:
    """A long drive explains a numb bottom in its own clause only ("sat for hours at work, now
    my groin is numb" is no explanation)."""
    clause = message.clause
    return {
        clause[s]
        for s, e in message.found.get("_seat_pressure", [])
        if not is_denied(message, s, ignored=_other_symptoms(message, s, e))
    }


# --- denied afterwards ----------------------------------------------------------------------------


def denied_later_in_sentence(message: Message, start: int, end: int, denied_after: Set[int]) -> bool:
    """ "numbness? tingling? ... and I said no to both": a denial after the symptom, in its
    sentence (``denied_after``: sentences holding one, from ``denied_after_sentences``)."""
    sentence = message.sentence
    return sentence[start] in denied_after and any(
        sentence[s] == sentence[start] and s >= end for s, _ in message.found.get("_denied_after", [])
    )


def denied_after_sentences(message: Message) -> Set[int]:
    return _sentences_with(message, "_denied_after")


# --- someone else ---------------------------------------------------------------------------------


def drop_other_peoples_history(evidence: Evidence, clause: List[int]) -> None:
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
    for concept in GRAMMAR.history:
        evidence.spans[concept] = [
            span for span in evidence.spans.get(concept, []) if clause[span[0]] not in family_clauses
        ]


# --- asked about, supposed, a goal -------------------------------------------------------------


def asked_about_clauses(message: Message) -> Set[int]:
    """Clauses that tell a question somebody asked ("the GP asked if I had any incontinence",
    "asked me whether my legs were numb"): a sign in them was asked about, not reported,
    unless a yes answers it in that sentence or the next ("... and I said yes")."""
    doc, clause, sentence = message.doc, message.clause, message.sentence
    answered_yes = {sentence[t.i] for t in doc if t.lower_ in GRAMMAR.answers_yes}
    asked: Set[int] = set()
    for token in doc:
        if token_key(token) not in GRAMMAR.asking_verbs or token.i in message.symptom_tokens:
            continue
        # "asked if", "asked me if", "asked him whether", "asked about"
        for complement in doc[token.i + 1 : token.i + 3]:
            if complement.lower_ in GRAMMAR.question_complements:
                if not {sentence[complement.i], sentence[complement.i] + 1} & answered_yes:
                    asked.add(clause[complement.i])
                break
    return asked


def overturned_suppositions(message: Message) -> Set[int]:
    """Sentences with a supposition in the past ("I thought I had a kidney infection", "I was
    worried it was my heart") that a later sentence overturns ("turns out it was a bulging
    disc", "they ruled it out"). A supposition nothing overturns still counts: "I thought I
    was having a heart attack" may be what is happening."""
    doc, sentence = message.doc, message.sentence
    overturned = [sentence[s] for s, _ in message.found.get("_overturned", [])]
    if not overturned:
        return set()
    return {
        sentence[t.i] for t in doc if t.lower_ in GRAMMAR.supposing_words and any(o > sentence[t.i] for o in overturned)
    }


def weight_loss_as_goal(message: Message, start: int) -> bool:
    """Weight loss that is advice or a goal ("the doctor suggested I lose 25 pounds", "I need to
    lose weight"): a word of advice, need or wish just before it in its clause."""
    doc, clause = message.doc, message.clause
    before = doc[max(start - GRAMMAR.irrealis_reach - 1, 0) : start]
    return any(token_key(t) in GRAMMAR.irrealis_words and clause[t.i] == clause[start] for t in before)


# --- hypothetical and general questions ---------------------------------------------------------


def is_hypothetical(found: Found) -> bool:
    """ "just curious", "I read about": unless the writer says it is theirs ("I think I have it")."""
    return bool(found.get("_hypothetical")) and not found.get("_reports")


def framed_as_hypothetical(message: Message) -> Set[int]:
    """The sentences a hypothetical frame covers: its own, the ones after it, and the questions
    just before it ("is numbness in both legs serious? just curious"). A report before it is
    not covered: "he has severe pain in his back and legs. what does that mean?" asks about
    what was reported."""
    if not is_hypothetical(message.found):
        return set()
    doc, sentence = message.doc, message.sentence
    first = min(sentence[start] for start, _ in message.found["_hypothetical"])
    covered = set(range(first, sentence[-1] + 1)) if sentence else set()
    for number in range(first - 1, -1, -1):
        words = [t for t in doc if sentence[t.i] == number and not (t.is_space or t.is_punct)]
        marks = [t for t in doc if sentence[t.i] == number and t.text == "?"]
        if not (marks or (words and words[0].lower_ in GRAMMAR.question_openers)):
            break
        covered.add(number)
    return covered


def is_general_question(doc: Doc, evidence: Evidence) -> bool:
    """A one-sentence question about a condition ("can massage help sciatica?"), not a report
    of one: anything more ("...? it started this week") counts as a report."""
    words = [t for t in doc if not t.is_punct and not t.is_space]
    text = doc.text.strip()
    asks = bool(words) and words[0].lower_ in GRAMMAR.question_openers and text.endswith("?")
    one_sentence = not any(mark in text[:-1] for mark in ".?!\n")
    return asks and one_sentence and not evidence.has("self_or_family")


# --- numbers ----------------------------------------------------------------------------------------


def number(text: str) -> float:
    match = re.match(r"\d+(\.\d+)?", text)
    return float(match.group()) if match else 0.0


def is_fever(value: float) -> bool:
    return 37.8 <= value <= 43 or 100 <= value <= 110  # Celsius or Fahrenheit


def fever_spans(message: Message) -> List[Span]:
    """Temperatures that are a fever ("temp 38.9", "102 degrees"), not denied, not "40.5 kg"."""
    doc = message.doc
    return [
        (start, end)
        for start, end in message.found.get("_fever_number", [])
        if any(t.like_num and is_fever(number(t.text)) for t in doc[start:end])
        and not is_denied(message, start)
        and not (end - start == 1 and end < len(doc) and doc[end].lower_ in GRAMMAR.not_temperature)
    ]


def old_age_spans(message: Message) -> List[Span]:
    """Ages of OLD_AGE or more, not denied, not in a simile ("like a 90 year old's")."""
    doc = message.doc
    return [
        (s, e)
        for s, e in message.found.get("_age", [])
        if any(t.like_num and number(t.text) >= GRAMMAR.old_age for t in doc[s:e])
        and not is_denied(message, s)
        and not message.idiom_tokens.intersection(range(s, e))
    ]
