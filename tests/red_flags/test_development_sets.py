"""Regression guard on the DEVELOPMENT sets (evaluation/red_flags_dev*.yml).

The detector was built while looking at these, so passing here says little about unseen
messages: that is what tests/red_flags/test_held_out.py measures. These tests make sure a
lexicon change never loses what already worked.
"""
from pathlib import Path

import pytest

from red_flags.detector import detector_for
from red_flags.evaluate import evaluate, load_set
from tests.conftest import PROJECT_DIR

DEVELOPMENT_SETS = sorted((PROJECT_DIR / "evaluation").glob("red_flags_dev*.yml"))


@pytest.fixture(scope="module")
def detect():
    return detector_for(str(PROJECT_DIR / "build" / "spacy" / "en_back_pain"))


@pytest.mark.parametrize("path", DEVELOPMENT_SETS, ids=lambda path: Path(path).name)
def test_development_set_stays_caught(detect, path):
    report = evaluate(load_set(path), detect)
    print(f"\n{Path(path).name}\n{report.summary()}")
    assert report.emergency_recall >= 0.99
    assert report.urgent_recall >= 0.97
    assert report.false_escalation <= 0.03
