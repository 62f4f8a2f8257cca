"""Regression guard on the DEVELOPMENT sets (datasets/training/red_flags/).

The detector was built while looking at these, so passing here says little about unseen
messages: that is what tests/red_flags/test_held_out.py measures. These tests make sure a
lexicon change never loses what already worked.
"""

from pathlib import Path

import pytest

from red_flags.detector import detector_for
from red_flags.evaluate import Report, evaluate, load_set
from settings import PROJECT_DIR, spacy_pipeline

DEVELOPMENT_SETS = sorted((PROJECT_DIR / "datasets" / "training" / "red_flags").glob("*.yml"))


@pytest.fixture(scope="module")
def detect():
    return detector_for(str(spacy_pipeline()))


@pytest.mark.evaluation
def test_development_sets_stay_caught(detect):
    """Over all the sets together: the sets written later, by other authors in other styles
    (slang, other languages), are not all caught by the lexicon alone; the classifier beside
    it learns from them (red_flags/classifier.py)."""
    reports = []
    for path in DEVELOPMENT_SETS:
        reports.append(evaluate(load_set(path), detect))
        print(f"\n{Path(path).name}\n{reports[-1].summary()}")
    report = Report.merged(reports)
    print(f"\nall development sets\n{report.summary()}")
    assert report.emergency_recall >= 0.99
    assert report.urgent_recall >= 0.97
    assert report.false_escalation <= 0.03
