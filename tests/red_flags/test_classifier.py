"""The trained red-flag classifier beside the lexicon (red_flags/classifier.py)."""

import pytest

from red_flags.classifier import (
    NO_RED_FLAG,
    UNSPECIFIED,
    RedFlagModel,
    combine,
    decide,
    development_examples,
    normalise,
    pieces,
)
from red_flags.contract import CHECK, EMERGENCY, URGENT
from red_flags.detector import Finding, Reading, detector_for
from tests.red_flags.test_detector import SPACY_PIPELINE


@pytest.fixture(scope="module")
def detector():
    return detector_for(SPACY_PIPELINE)


@pytest.mark.parametrize(
    "text, hedged",
    [
        ("no numbness between my legs", True),
        ("i dont have any tingling in my legs", True),
        ("I fell in love with deep tissue", True),
        ("my foot fell asleep but its fine now", True),
        ("what is cauda equina?", True),
        ("can weight loss help back pain? I'm trying to lose 5 kg", True),  # weight lost on purpose
        ("my back is killing me and I cant pee", False),  # the "not" is part of the symptom
        ("back is wrecked and my todger wont work since tuesday", False),
    ],
)
def test_messages_with_denials_idioms_or_general_questions_are_hedged(detector, text, hedged):
    assert detector.read(detector.nlp(text.lower())).hedged is hedged


@pytest.mark.evaluation
def test_on_a_development_set_it_never_saw_it_catches_emergencies_with_few_false_alarms(detector):
    """Trained on the other development sets, measured on one it never saw (as `python -m
    red_flags.classifier` does for each), with the thresholds in use, beside the lexicon."""
    unseen = development_examples("datasets/training/red_flags/set_01_more.yml")
    seen = [row for row in development_examples() if row not in unseen]
    nlp = detector.nlp
    model = RedFlagModel.train([normalise(nlp(t.lower())) for t, _ in seen], [label for _, label in seen])
    docs = [nlp(text.lower()) for text, _ in unseen]
    alone, together = [], []
    for (text, label), doc, probabilities in zip(
        unseen, docs, model.probabilities([normalise(d) for d in docs]), strict=True
    ):
        reading = detector.read(doc)
        alone.append((label, combine(Reading(None, reading.hedged), probabilities, (text,))))
        together.append((label, combine(reading, probabilities, (text,))))

    def rates(verdicts):
        emergencies = [found for label, found in verdicts if label.startswith(EMERGENCY)]
        others = [found for label, found in verdicts if label == NO_RED_FLAG]
        recall = sum(1 for f in emergencies if f and f.level == EMERGENCY) / len(emergencies)
        return recall, sum(1 for f in others if f and f.level in (EMERGENCY, URGENT)) / len(others)

    (recall, false_alarms), (recall_together, false_alarms_together) = rates(alone), rates(together)
    print(
        f"\nclassifier alone on an unseen development set: EMERGENCY recall {recall:.1%}, "
        f"false escalation {false_alarms:.1%}; with the lexicon: {recall_together:.1%}, {false_alarms_together:.1%}"
    )
    assert recall >= 0.5 and false_alarms <= 0.03
    assert recall_together >= recall


def test_decision_thresholds():
    assert decide(0.7, 0.1, "bladder_bowel", "injury_onset") == ("emergency", "bladder_bowel")
    assert decide(0.3, 0.65, "bladder_bowel", "injury_onset") == ("urgent", "injury_onset")
    assert decide(0.3, 0.3, "bladder_bowel", "injury_onset") is None


LEXICON_URGENT = Finding(URGENT, "injury_onset", ("fell",))
FOUND_URGENT = Reading(LEXICON_URGENT, hedged=False)
QUOTE = ("the message",)


def test_the_classifier_raises_an_urgent_finding_it_reads_as_an_emergency():
    raised = combine(FOUND_URGENT, (0.8, 0.15, "major_trauma", "injury_onset"), QUOTE)
    assert raised == Finding(EMERGENCY, "major_trauma", ("fell",))
    assert combine(FOUND_URGENT, (0.3, 0.6, "major_trauma", "injury_onset"), QUOTE) == LEXICON_URGENT


def test_the_classifier_raises_only_to_an_emergency_it_can_name():
    # unsure which emergency: one numb leg stays the lexicon's urgent finding
    assert combine(FOUND_URGENT, (0.8, 0.15, UNSPECIFIED, "injury_onset"), QUOTE) == LEXICON_URGENT


def test_the_classifier_never_calms_a_finding_down():
    emergency = Finding(EMERGENCY, "bladder_bowel", ("can't pee",))
    assert combine(Reading(emergency, False), (0.0, 0.0, UNSPECIFIED, UNSPECIFIED), QUOTE) == emergency
    assert combine(FOUND_URGENT, (0.0, 0.0, UNSPECIFIED, UNSPECIFIED), QUOTE) == LEXICON_URGENT


def test_in_a_hedged_message_the_classifier_must_be_surer():
    likely = (0.7, 0.1, "major_trauma", "injury_onset")
    assert combine(Reading(None, False), likely, QUOTE) == Finding(EMERGENCY, "major_trauma", QUOTE)
    assert combine(Reading(None, True), likely, QUOTE) is None
    sure = (0.9, 0.05, "major_trauma", "injury_onset")
    assert combine(Reading(None, True), sure, QUOTE) == Finding(EMERGENCY, "major_trauma", QUOTE)


def test_a_short_message_is_read_whole(detector):
    doc = detector.nlp("my back is killing me. i cant feel my legs")
    [piece] = pieces(doc)
    assert piece.text == doc.text


def test_a_long_story_is_read_two_sentences_at_a_time(detector):
    doc = detector.nlp(
        "i threw my back out moving a sofa on sunday. it was agony for two days. "
        "heat helped a bit. now i can't feel my bum when i sit on the toilet."
    )
    parts = [part.text for part in pieces(doc)]
    assert len(parts) == 3
    assert parts[0].startswith("i threw my back out") and "agony" in parts[0] and "heat" not in parts[0]
    assert parts[-1] == "heat helped a bit. now i can't feel my bum when i sit on the toilet."


def test_in_a_story_the_classifier_alone_only_asks_the_follow_up_question():
    likely = (0.9, 0.05, "saddle_numbness", "injury_onset")
    asked = combine(Reading(None, False), likely, QUOTE, story=True)
    assert asked == Finding(CHECK, UNSPECIFIED, QUOTE)
    # What the lexicon itself read in a story still counts, and may still be raised.
    assert combine(FOUND_URGENT, (0.8, 0.15, "major_trauma", "injury_onset"), QUOTE, story=True).level == EMERGENCY


def test_fine_tuning_from_the_live_model_reaches_what_a_training_from_zero_reaches(detector):
    """When the assistant is fine-tuned, the classifier starts from the live model's weights:
    with a new training phrasing as "no red flag", it gives the probabilities a training from
    zero gives (the problem is convex), in fewer iterations."""
    examples = development_examples("datasets/training/red_flags/set_01_more.yml")
    texts, labels = [normalise(detector.nlp(t.lower())) for t, _ in examples], [label for _, label in examples]
    live = RedFlagModel.train(texts, labels)
    texts.append(normalise(detector.nlp("will my back feel bruised the day after a deep massage")))
    labels.append(NO_RED_FLAG)
    fine_tuned, from_zero = RedFlagModel.train(texts, labels, start=live), RedFlagModel.train(texts, labels)
    messages = texts[:50] + [normalise(detector.nlp("i cant feel my legs and i wet myself"))]
    for tuned, zero in zip(fine_tuned.probabilities(messages), from_zero.probabilities(messages), strict=True):
        assert tuned[:2] == pytest.approx(zero[:2], abs=0.01)
        assert tuned[2:] == zero[2:]  # the likeliest emergency and urgent category
    iterations = (fine_tuned.pipeline.steps[-1][1].n_iter_[0], from_zero.pipeline.steps[-1][1].n_iter_[0])
    assert iterations[0] < iterations[1]
