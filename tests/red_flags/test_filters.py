"""Each filter of red_flags/filters.py on its own: why a word of the lexicon may not count."""

from typing import List, Tuple

import pytest

from red_flags import filters
from red_flags.contract import EMERGENCY, URGENT
from red_flags.detector import detector_for
from red_flags.filters import Message
from red_flags.rules import Evidence
from settings import spacy_pipeline


@pytest.fixture(scope="module")
def detector():
    return detector_for(str(spacy_pipeline()))


def read(detector, text: str) -> Message:
    return detector.message(detector.nlp(text.lower()))


def span_of(message: Message, words: str) -> Tuple[int, int]:
    """The token span of ``words`` in the message."""
    tokens = [t.lower_ for t in message.doc]
    wanted = words.lower().split()
    for start in range(len(tokens) - len(wanted) + 1):
        if tokens[start : start + len(wanted)] == wanted:
            return start, start + len(wanted)
    raise AssertionError(f"{words!r} not in {tokens}")


def level_of(detector, text: str):
    """The tier the detector gives the message, or None."""
    finding = detector(text)
    return finding.level if finding else None


def sentence_of(message: Message, words: str) -> int:
    return message.sentence[span_of(message, words)[0]]


# --- cutting a message up ------------------------------------------------------------------------


def test_a_symptom_holding_and_starts_no_clause(detector):
    message = read(detector, "pins and needles down both legs")
    assert len(set(message.clause)) == 1


def test_but_starts_a_new_clause_and_a_full_stop_a_new_sentence(detector):
    message = read(detector, "my back aches but my legs are fine. i feel ok")
    assert message.clause[span_of(message, "aches")[0]] != message.clause[span_of(message, "legs")[0]]
    assert sentence_of(message, "legs") != sentence_of(message, "feel")


# --- negation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, symptom, denied",
    [
        ("no numbness in my legs", "numbness", True),
        ("i don't have any tingling in my feet", "tingling", True),
        ("nothing helps and both legs are numb", "numb", False),  # "and" ends the denial
        ("no pins and needles or anything down my legs", "pins and needles", True),  # not in a symptom
        ("not sure why but my legs are numb", "numb", False),  # "not sure" is no denial
    ],
)
def test_a_denial_counts_in_its_clause_before_the_symptom(detector, text, symptom, denied):
    message = read(detector, text)
    start, end = span_of(message, symptom)
    assert filters.is_denied(message, start, end) is denied


def test_the_not_inside_a_symptom_denies_nothing(detector):
    message = read(detector, "can't feel my legs")
    [whole] = [span for span in message.found["numb"] if span[0] == 0]  # "ca n't feel"
    assert not filters.is_denied(message, *whole)


@pytest.mark.parametrize(
    "text, symptom, answered",
    [
        ("chest pain? no.", "pain", True),
        ("'any numbness?' - no", "numbness", True),
        ("chest pain? no idea what it is", "pain", False),
        ("chest pain? yes", "pain", False),
    ],
)
def test_a_symptom_asked_about_and_answered_no(detector, text, symptom, answered):
    message = read(detector, text)
    assert filters.answered_no(message.doc, span_of(message, symptom)[1]) is answered


# --- idiom ----------------------------------------------------------------------------------------------


def test_a_word_wholly_inside_an_idiom_does_not_count(detector):
    message = read(detector, "i fell in love with deep tissue massage")
    assert filters.in_idiom(message, *span_of(message, "fell"))
    assert not filters.in_idiom(message, *span_of(message, "massage"))


# --- resolved ---------------------------------------------------------------------------------------------


def test_a_symptom_that_passed_in_its_sentence(detector):
    message = read(detector, "my foot went to sleep but it's fine now")
    assert sentence_of(message, "foot") in filters.resolved_sentences(message)


def test_they_are_fine_now_speaks_of_the_sentence_before(detector):
    message = read(detector, "my legs felt heavy after the massage. they're fine now")
    assert sentence_of(message, "legs") in filters.resolved_sentences(message)


def test_feeling_ok_now_does_not_undo_a_faint_in_the_sentence_before(detector):
    message = read(detector, "I fainted this morning. feel ok now")
    assert sentence_of(message, "fainted") not in filters.resolved_sentences(message)


def test_going_away_when_i_stop_is_a_pattern_not_a_recovery(detector):
    message = read(detector, "my legs go numb when i walk and it goes away when i stop")
    assert not filters.resolved_sentences(message)


# --- long ago ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, event",
    [
        ("fell off a horse as a child and my back has been stiff since", "fell"),
        ("i was in a car crash in 2015, my back aches today", "crash"),
        ("when i was 12 i fell off a roof, now my back aches", "fell"),
    ],
)
def test_an_event_dated_long_ago_is_history(detector, text, event):
    message = read(detector, text)
    assert sentence_of(message, event) in filters.long_ago_sentences(message)


def test_an_event_this_week_is_not_long_ago(detector):
    message = read(detector, "i fell off a ladder on monday and my back is agony")
    assert not filters.long_ago_sentences(message) and not filters.long_ago_clauses(message)


# --- exertion and seat pressure -------------------------------------------------------------------------


def test_an_activity_explains_tired_legs(detector):
    message = read(detector, "my legs are jelly after leg day")
    assert sentence_of(message, "legs") in filters.exertion_sentences(message)


def test_an_activity_does_not_explain_numbness_that_keeps_spreading(detector):
    message = read(detector, "both legs numb after my run and it's creeping up to my knees")
    assert not filters.exertion_sentences(message)


def test_a_simile_of_an_activity_explains_nothing(detector):
    message = read(detector, "heavy legs like after leg day, but i haven't trained")
    assert not filters.exertion_sentences(message)


def test_a_long_ride_explains_a_numb_bottom_in_its_own_clause_only(detector):
    explained = read(detector, "numb bum after a long bike ride")
    assert explained.clause[span_of(explained, "bum")[0]] in filters.seat_pressure_clauses(explained)
    not_explained = read(detector, "sat for hours at work, now my groin is numb")
    assert not_explained.clause[span_of(not_explained, "groin")[0]] not in filters.seat_pressure_clauses(not_explained)


# --- someone else ----------------------------------------------------------------------------------------


def evidence_of(message: Message, *concepts: str) -> Evidence:
    evidence = Evidence(message.doc)
    for concept in concepts:
        evidence.spans[concept] = list(message.found.get(concept, []))
    return evidence


def concepts_after_dropping_others_history(detector, text: str, concepts: List[str]) -> List[str]:
    message = read(detector, text)
    evidence = evidence_of(message, *concepts)
    filters.drop_other_peoples_history(evidence, message.clause)
    return [concept for concept in concepts if evidence.has(concept)]


def test_a_relatives_history_is_not_the_patients(detector):
    kept = concepts_after_dropping_others_history(
        detector, "my dad had cancer years ago, my back is stiff", ["cancer", "family", "first_person"]
    )
    assert "cancer" not in kept


def test_a_relatives_emergency_reported_for_them_still_counts(detector):
    kept = concepts_after_dropping_others_history(
        detector, "my dad had cancer and now he can't walk", ["cancer", "family", "third_person"]
    )
    assert "cancer" in kept


# --- hypothetical and general questions ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text, hypothetical",
    [
        ("just curious, can numbness between the legs come from the spine", True),
        ("i read about saddle anaesthesia and i think i have it", False),
    ],
)
def test_a_hypothetical_unless_the_writer_says_it_is_theirs(detector, text, hypothetical):
    assert filters.is_hypothetical(read(detector, text).found) is hypothetical


@pytest.mark.parametrize(
    "text, level",
    [
        # a question about what was just reported is no hypothetical: the report counts
        ("my dad had bowel cancer and now his lower back and legs are weak. what does that mean?", EMERGENCY),
        # the frame covers the question before it and everything after it
        ("is numbness in both legs serious? just curious, I'm fine", None),
        # the question mark ends its own sentence, which the frame after it covers
        ("I haven't seen it but is numbness in both legs serious? just curious", None),
        ("just curious. what if both legs go numb during a massage?", None),
    ],
)
def test_a_hypothetical_frame_covers_what_follows_it_not_a_report_before_it(detector, text, level):
    assert level_of(detector, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        # an event told as a comparison did not happen
        ("the sharp pain in my back feels kind of like when you miss a step on the stairs", None),
        ("my lower back is agony, it felt as if I had been hit by a car", None),
        # the same event, happening
        ("I missed a step on the stairs this morning and now my back hurts", URGENT),
    ],
)
def test_an_event_told_as_a_comparison_does_not_count(detector, text, level):
    assert level_of(detector, text) == level


@pytest.mark.parametrize(
    "text, general",
    [
        ("can massage help sciatica?", True),
        ("can massage help sciatica? it started this week", False),
        ("my sciatica is bad, can massage help?", False),
    ],
)
def test_a_one_sentence_question_is_general(detector, text, general):
    message = read(detector, text)
    assert filters.is_general_question(message.doc, Evidence(message.doc)) is general


# --- asked about, supposed, a goal ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, level",
    [
        # a sign somebody asked about is no report of it ...
        ("the physio asked whether I had numbness around my bottom, I told her no. my lower back is stiff", None),
        ("my GP asked me if I'd had any trouble controlling my bladder. my back still aches", None),
        # ... unless a yes answers the question
        ("the physio asked if I had numbness around my bottom and I said yes. my lower back aches", EMERGENCY),
        ("my GP asked if I'd had trouble controlling my bladder. yes, since Monday, and my back aches", EMERGENCY),
    ],
)
def test_a_sign_somebody_asked_about_is_not_reported(detector, text, level):
    assert level_of(detector, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        # a supposition overturned later in the message
        ("My back was agony and I was worried it was a kidney infection. It turned out to be a pulled muscle.", None),
        # nothing overturns it: it may be what is happening
        ("I thought I was having a heart attack, chest pain and sweating, and my back hurts", EMERGENCY),
        # what overturns it comes first: the later supposition still counts
        ("it turned out to be a disc last time. now I'm worried it's an infection, fever and back pain", URGENT),
    ],
)
def test_a_supposition_overturned_later_does_not_count(detector, text, level):
    assert level_of(detector, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        ("my lower back aches and the physio advised me to lose weight", None),
        ("my lower back aches and I need to lose weight", None),
        ("my lower back aches at night and I have lost weight without trying", URGENT),
    ],
)
def test_weight_loss_as_advice_or_a_goal_is_no_sign(detector, text, level):
    assert level_of(detector, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        # a denied frame frames nothing: what follows is a report
        ("you wouldn't believe it, I hurt my back at work last night", URGENT),
        ("I haven't read about it, but I hurt my back at work last night", URGENT),
        ("I read about it, when you hurt your back should you see a doctor", None),
    ],
)
def test_a_denied_hypothetical_frames_nothing(detector, text, level):
    assert level_of(detector, text) == level


# --- numbers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, fever",
    [("temp is 38.9 and my back aches", True), ("lost 40.5 kg and my back aches", False), ("no fever, 36.8", False)],
)
def test_a_temperature_that_is_a_fever(detector, text, fever):
    assert bool(filters.fever_spans(read(detector, text))) is fever


@pytest.mark.parametrize(
    "text, old",
    [("i'm 72 and my back aches", True), ("i'm 34 and my back aches", False), ("i walk like a 90 year old", False)],
)
def test_an_age_that_counts_as_older(detector, text, old):
    assert bool(filters.old_age_spans(read(detector, text))) is old
