"""Is a serious sign told in a story happening now?

In a story of several sentences, "I couldn't walk", "I lost feeling in my legs", told in the
past with nothing saying when, may be over (an episode last year) or going on (written the
morning after). The assistant cannot tell, so it asks ("Is that happening now?") instead of
either escalating a past episode or ignoring a present one; a yes counts as the sign
(data/red_flags/rules.yml). A short message reports what is happening: it escalates.

Only leg symptoms, states a person recovers from, are asked about. Events (a fall, fainting,
tearing pain) are told in the past by nature, and any episode of bladder or bowel trouble or
of numbness in the saddle area with back pain needs emergency care whenever it was, so those
escalate as before. Signs dated long ago are already dropped by the detector's filters.
"""

from __future__ import annotations

from typing import Optional

from spacy.tokens import Doc, Span, Token

from red_flags.contract import ASK_NOW, ESCALATION_LEVELS
from red_flags.filters import segments
from red_flags.grammar import GRAMMAR
from red_flags.rules import Finding

ASKED_WHEN = frozenset({"both_legs_or_worsening_weakness", "one_leg_nerve"})
# Words before the sign's own that may carry its tense: "I was unable to walk".
TENSE_REACH = 3


def _is_past(token: Token) -> bool:
    word = token.lower_
    return word in GRAMMAR.past_forms or (word.endswith("ed") and token.lemma_.lower() not in ("", word))


def _is_now(token: Token) -> bool:
    # The word itself, not its lemma: "could" has the lemma "can".
    return token.lower_ in GRAMMAR.now_words


def _span_of(doc: Doc, words: str) -> Optional[Span]:
    """Where the person's quoted words stand in the message."""
    start = doc.text.find(words.lower())
    return doc.char_span(start, start + len(words), alignment_mode="expand") if start >= 0 else None


def told_only_in_the_past(doc: Doc, finding: Finding) -> bool:
    """The sign's words are in the past tense ("couldn't walk", "was numb"), and no sentence
    they stand in has a word of the present or of the last day or so."""
    _, sentence = segments(doc, set())
    spans = [span for span in (_span_of(doc, words) for words in finding.matched) if span is not None]
    if not spans:
        return False
    past = any(_is_past(token) for span in spans for token in doc[max(span.start - TENSE_REACH, 0) : span.end])
    where = {sentence[token.i] for span in spans for token in span}
    now = any(_is_now(token) for token in doc if sentence[token.i] in where)
    return past and not now


def in_time(doc: Doc, finding: Finding, story: bool) -> Finding:
    """The finding, or in a story a question whether it is happening now (ASK_NOW) when it
    may be over."""
    if (
        story
        and finding.level in ESCALATION_LEVELS
        and finding.category in ASKED_WHEN
        and told_only_in_the_past(doc, finding)
    ):
        return Finding(ASK_NOW, finding.category, finding.matched)
    return finding
