"""Whether a serious sign told in a story is happening now (red_flags/timing.py)."""

import pytest

from red_flags.contract import ASK_NOW, EMERGENCY, URGENT, confirmed_sign
from red_flags.detector import detector_for
from red_flags.timing import in_time
from tests.red_flags.test_detector import SPACY_PIPELINE

BACKGROUND = "My back has been bad on and off for years. I work at a desk. "


@pytest.fixture(scope="module")
def detector():
    return detector_for(SPACY_PIPELINE)


def verdict(detector, text, story=True):
    doc = detector.nlp(text.lower())
    finding = detector.read(doc).finding
    assert finding is not None, text
    return in_time(doc, finding, story)


@pytest.mark.parametrize(
    "sentence",
    [
        "One day I couldn't walk at all.",
        "At one point I lost feeling in both legs.",
        "Both my legs were numb and weak.",
        "I had pins and needles all down my left leg.",
    ],
)
def test_a_leg_sign_told_only_in_the_past_of_a_story_is_asked_about(detector, sentence):
    finding = verdict(detector, BACKGROUND + sentence + " Would massage help?")
    assert finding.level == ASK_NOW


@pytest.mark.parametrize(
    "sentence, level",
    [
        ("Since this morning I can't walk.", EMERGENCY),  # now
        ("Yesterday I couldn't walk at all.", EMERGENCY),  # the last day or so
        ("I still can't feel both my legs.", EMERGENCY),
        ("Last night I wet myself without noticing.", EMERGENCY),  # bladder: whenever it was
        ("I had pins and needles down my left leg and it is still there.", URGENT),
    ],
)
def test_a_sign_happening_now_or_that_matters_whenever_it_was_escalates(detector, sentence, level):
    assert verdict(detector, BACKGROUND + sentence + " Would massage help?").level == level


def test_a_short_message_reports_what_is_happening(detector):
    assert verdict(detector, "couldn't walk and my back is agony", story=False).level == EMERGENCY


def test_a_yes_right_after_the_question_confirms_the_sign_at_its_tier():
    asked = {"red_flag_check": {"level": ASK_NOW, "category": "one_leg_nerve", "matched": ["pins and needles"]}}
    yes = {"intent": {"name": "affirm"}}
    assert confirmed_sign([asked, yes], URGENT) == {**asked["red_flag_check"], "level": URGENT}
    assert confirmed_sign([asked, yes, yes], URGENT) is None  # a later yes answers something else
    assert confirmed_sign([yes, yes], URGENT) is None
