"""The held-out red-flag set (tests/red_flags/held_out.yml), sent through the trained assistant.

Never used to build the detector or train the classifier, and its messages are not read
while either is developed. Prints the figures the README reports and asserts the issue's
targets: EMERGENCY recall 100% at the right tier, URGENT recall >= 97%, false escalations
<= 3%. Assertion messages never quote the set, so that a failure does not show its phrasings.
"""

from pathlib import Path

from red_flags.detector import detector_for
from red_flags.evaluate import evaluate, finding_from_parse, load_set
from settings import spacy_pipeline

HELD_OUT = Path(__file__).with_name("held_out.yml")


def test_held_out_set_is_large_enough():
    labelled = load_set(HELD_OUT)
    assert sum(map(len, labelled["emergency"].values())) >= 150
    assert sum(map(len, labelled["urgent"].values())) >= 100
    assert len(labelled["near_misses"]) >= 150
    assert len(labelled["emergency"]) == 8 and all(len(v) >= 15 for v in labelled["emergency"].values())


def test_held_out_set_through_the_trained_assistant(assistant):
    labelled = load_set(HELD_OUT)
    detector = detector_for(str(spacy_pipeline()))
    report = evaluate(labelled, lambda text: finding_from_parse(assistant.parse(text)))
    lexicon_alone = evaluate(labelled, detector)
    print("\nheld-out red-flag set through the trained assistant:\n" + report.summary())
    print("the lexicon alone:\n" + lexicon_alone.summary())
    assert report.emergency_recall == 1.0
    assert report.urgent_recall >= 0.97
    assert report.false_escalation <= 0.03
