"""A message's sentences and its questions (nlp/sentences.py), on the project's spaCy pipeline."""

import pytest
import spacy

from nlp.sentences import questions, sentences
from settings import spacy_pipeline


@pytest.fixture(scope="module")
def nlp():
    return spacy.load(spacy_pipeline())


def test_a_story_is_split_at_full_stops_question_marks_and_line_breaks(nlp):
    doc = nlp("I lifted a box on monday. my back went into spasm!\nhow long will it last? thanks")
    assert [s.text.strip() for s in sentences(doc)] == [
        "I lifted a box on monday.",
        "my back went into spasm!",
        "how long will it last?",
        "thanks",
    ]


def test_questions_are_found_with_or_without_a_question_mark(nlp):
    doc = nlp("I have had back pain for years. it never goes away. what can i do. Is massage any good?")
    assert [s.text for s in questions(doc)] == ["what can i do.", "Is massage any good?"]


def test_a_story_that_asks_nothing_has_no_question(nlp):
    assert questions(nlp("My back hurts. I sat at my desk all day.")) == []
