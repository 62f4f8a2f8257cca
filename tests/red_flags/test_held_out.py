"""The held-out red-flag set (tests/red_flags/held_out.yml), sent through the trained assistant.

Never used to build the detector. Prints the figures the README reports; asserts that the
set is large enough and that the running assistant applies the detector to every message.
The issue's targets (EMERGENCY recall 100%, URGENT >= 97%, false escalation <= 3%) are
reported, not yet met: see README "Red flags".
"""
from pathlib import Path


from red_flags.detector import Finding, detector_for
from red_flags.evaluate import evaluate, load_set
from tests.conftest import PROJECT_DIR

HELD_OUT = Path(__file__).with_name("held_out.yml")


def finding_from_parse(parse: dict):
    found = parse.get("red_flag") or parse.get("red_flag_check")
    return Finding(found["level"], found["category"], tuple(found["matched"])) if found else None


def test_held_out_set_is_large_enough():
    labelled = load_set(HELD_OUT)
    assert sum(map(len, labelled["emergency"].values())) >= 150
    assert sum(map(len, labelled["urgent"].values())) >= 100
    assert len(labelled["near_misses"]) >= 150
    assert len(labelled["emergency"]) == 8 and all(len(v) >= 15 for v in labelled["emergency"].values())


def test_held_out_set_through_the_trained_assistant(assistant):
    detector = detector_for(str(PROJECT_DIR / "build" / "spacy" / "en_back_pain"))
    report = evaluate(load_set(HELD_OUT), lambda text: finding_from_parse(assistant.parse(text)))
    print("\nheld-out red-flag set through the trained assistant:\n" + report.summary())
    def verdict(finding):
        return (finding.level, finding.category) if finding else None

    results = [(t, f) for _, t, f in report.emergency + report.urgent] + report.weak + report.near_misses
    for text, finding in results:
        assert verdict(finding) == verdict(detector(text)), text
