"""A trained second opinion beside the lexicon, for wordings the lexicon does not know.

A logistic regression over character and word n-grams of the lemmatised message, trained
when the assistant is trained on the development sets (evaluation/red_flags_dev*.yml: each
category, weak signs, near misses) plus every other training phrasing of the assistant as
"no red flag". It only speaks when the lexicon found nothing to escalate and the message has
no hedging words (``RedFlagDetector.hedged``): denials, resolved or long-ago symptoms and
idioms are the lexicon's to judge, and n-grams cannot read them.

The thresholds were chosen with leave-one-set-out cross-validation on the development sets
(``python -m red_flags.classifier``), never on the test set in tests/red_flags/.
"""
from __future__ import annotations

import glob
import sys
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline, make_union
from spacy.tokens import Doc

from red_flags.detector import EMERGENCY, URGENT

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEVELOPMENT_SETS = "evaluation/red_flags_dev*.yml"
NO_RED_FLAG = "none"
# Probability mass on EMERGENCY categories for an emergency; on EMERGENCY and URGENT together
# for an urgent escalation. Leave-one-set-out on the development sets (5 sets): with these, the
# classifier alone catches about 88% of emergencies and 82% of urgent messages it never saw,
# with 1.4% false alarms on near misses and weak signs.
EMERGENCY_THRESHOLD = 0.6
URGENT_THRESHOLD = 0.9

Example = Tuple[str, str]  # (message, "emergency:<category>" | "urgent:<category>" | "none")


def normalise(doc: Doc) -> str:
    """Lemmas, after the spelling fixes of the spaCy pipeline ("numbnes" -> "numbness")."""
    return " ".join(token.lemma_ or token.lower_ for token in doc)


def development_examples(pattern: str = DEVELOPMENT_SETS) -> List[Example]:
    examples: List[Example] = []
    for path in sorted(glob.glob(str(PROJECT_DIR / pattern))):
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        for level in (EMERGENCY, URGENT):
            for category, messages in data[level].items():
                examples += [(message, f"{level}:{category}") for message in messages]
        examples += [(message, NO_RED_FLAG) for message in data["near_misses"] + data["weak_single_sign"]]
    return examples


class RedFlagModel:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str]) -> "RedFlagModel":
        features = make_union(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
        )
        pipeline = make_pipeline(features, LogisticRegression(C=10, max_iter=3000, class_weight="balanced"))
        pipeline.fit(list(texts), list(labels))
        return cls(pipeline)

    def probabilities(self, texts: Sequence[str]) -> List[Tuple[float, float, str, str]]:
        """Per text: P(emergency), P(urgent), the likeliest emergency and urgent category."""
        classes = list(self.pipeline.classes_)
        emergency = [i for i, c in enumerate(classes) if c.startswith(EMERGENCY + ":")]
        urgent = [i for i, c in enumerate(classes) if c.startswith(URGENT + ":")]
        rows = []
        for p in self.pipeline.predict_proba(list(texts)):
            best_emergency = max(emergency, key=lambda i: p[i])
            best_urgent = max(urgent, key=lambda i: p[i])
            rows.append((
                float(sum(p[i] for i in emergency)),
                float(sum(p[i] for i in urgent)),
                classes[best_emergency].split(":", 1)[1],
                classes[best_urgent].split(":", 1)[1],
            ))
        return rows

    def assess(self, text: str) -> Optional[Tuple[str, str]]:
        """(level, category) when the message reads as a red flag, else None."""
        [(p_emergency, p_urgent, emergency_category, urgent_category)] = self.probabilities([text])
        return decide(p_emergency, p_urgent, emergency_category, urgent_category)


def decide(p_emergency: float, p_urgent: float, emergency_category: str, urgent_category: str,
           emergency_threshold: float = EMERGENCY_THRESHOLD, urgent_threshold: float = URGENT_THRESHOLD):
    if p_emergency >= emergency_threshold:
        return EMERGENCY, emergency_category
    if p_emergency + p_urgent >= urgent_threshold:
        return (EMERGENCY, emergency_category) if p_emergency > p_urgent else (URGENT, urgent_category)
    return None


def cross_validate(nlp, other_phrasings: Iterable[str]) -> None:
    """Leave-one-set-out on the development sets: train on four sets (and the assistant's
    other phrasings), measure on the fifth, for a grid of thresholds."""
    from red_flags.detector import RedFlagDetector

    detector = RedFlagDetector(nlp)
    sets = {path: development_examples(Path(path).relative_to(PROJECT_DIR).as_posix())
            for path in sorted(glob.glob(str(PROJECT_DIR / DEVELOPMENT_SETS)))}
    negatives = [(text, NO_RED_FLAG) for text in other_phrasings]
    docs = {text: nlp(text.lower()) for rows in sets.values() for text, _ in rows}
    docs.update({text: nlp(text.lower()) for text, _ in negatives})
    scored = []
    for held_out, test in sets.items():
        train = [row for path, rows in sets.items() if path != held_out for row in rows] + negatives
        model = RedFlagModel.train([normalise(docs[t]) for t, _ in train], [label for _, label in train])
        for (text, label), probabilities in zip(test, model.probabilities([normalise(docs[t]) for t, _ in test])):
            scored.append((label, detector.hedged(docs[text]), probabilities))
    print("classifier alone, on the set it did not see (hedged messages left to the lexicon)")
    print("emergency  urgent  |  EMERGENCY recall  URGENT recall  false escalation")
    for emergency_threshold in (0.4, 0.5, 0.6, 0.7, 0.8):
        for urgent_threshold in (0.6, 0.7, 0.8, 0.9):
            hits = {EMERGENCY: 0, URGENT: 0, NO_RED_FLAG: 0}
            totals = {EMERGENCY: 0, URGENT: 0, NO_RED_FLAG: 0}
            for label, hedged, probabilities in scored:
                kind = label.split(":")[0]
                totals[kind] += 1
                verdict = None if hedged else decide(*probabilities, emergency_threshold, urgent_threshold)
                level = verdict[0] if verdict else None
                hits[kind] += (level == EMERGENCY) if kind == EMERGENCY else (level is not None)
            print(f"  {emergency_threshold:.1f}      {urgent_threshold:.1f}   |  "
                  f"{hits[EMERGENCY] / totals[EMERGENCY]:14.1%}  {hits[URGENT] / totals[URGENT]:12.1%}  "
                  f"{hits[NO_RED_FLAG] / totals[NO_RED_FLAG]:15.1%}")


if __name__ == "__main__":
    import spacy
    from rasa.shared.nlu.training_data.loading import load_data

    pipeline = sys.argv[1] if len(sys.argv) > 1 else str(PROJECT_DIR / "build/spacy/en_back_pain")
    phrasings = [
        example.get("text")
        for path in sorted((PROJECT_DIR / "data").rglob("nlu.yml"))
        for example in load_data(str(path)).intent_examples
    ]
    cross_validate(spacy.load(pipeline), phrasings)
