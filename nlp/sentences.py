"""A message's sentences, and which of them ask something.

The project's spaCy pipeline has no parser, so sentences end at a full stop, question or
exclamation mark, or a line break. A sentence asks something when it ends with a question
mark or, as people type without one, opens the way questions open ("how long will it last",
"can massage help", "any advice").
"""

from __future__ import annotations

from typing import List

from spacy.tokens import Doc, Span

SENTENCE_ENDS = {".", "!", "?", "...", "…"}
QUESTION_OPENINGS = {
    "what", "how", "why", "when", "where", "which", "who", "whats", "hw", "wat", "y",
    "is", "are", "am", "can", "could", "should", "would", "will", "do", "does", "did", "has", "have", "any",
}  # fmt: skip


def sentences(doc: Doc) -> List[Span]:
    spans: List[Span] = []
    start = 0
    for token in doc:
        if token.text in SENTENCE_ENDS or "\n" in token.text:
            if any(t.is_alpha for t in doc[start : token.i + 1]):
                spans.append(doc[start : token.i + 1])
            start = token.i + 1
    if any(t.is_alpha for t in doc[start:]):
        spans.append(doc[start:])
    return spans


def asks(sentence: Span) -> bool:
    words = [token for token in sentence if not (token.is_punct or token.is_space)]
    if not words:
        return False
    return sentence[-1].text == "?" or words[0].lower_ in QUESTION_OPENINGS


def questions(doc: Doc) -> List[Span]:
    """The sentences that ask something, in order."""
    return [sentence for sentence in sentences(doc) if asks(sentence)]
