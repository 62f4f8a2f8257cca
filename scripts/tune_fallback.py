"""Chooses the fallback thresholds on their own validation set (datasets/tuning/): the
FallbackClassifier's (the intent's confidence), then, with it, the TopicConfidenceFallback's
(the FAQ topic's confidence, rasa_plugins/topic_confidence.py).

For each candidate threshold it counts, on phrasings the model never saw:
  - FAQ questions that would still get the right answer (not sent to the fallback), and
  - out-of-scope messages that would be caught (out_of_scope intent, or below the threshold).
It prints a table per threshold and the one with the best sum of the two rates (the middle of
the range when several tie); copy them into config.yml and retrain. The test set in tests/nlu/ is never used.

    make tune-fallback                                  # the current model
    python -m scripts.tune_fallback path/to/model.tar.gz  # another one
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Callable, List, Tuple

import yaml
from rasa.core.agent import Agent

from settings import MODEL_FILE, PROJECT_DIR

VALIDATION_SET = PROJECT_DIR / "datasets" / "tuning" / "fallback_threshold.yml"
# DIET is confident on most inputs, so the upper end is sampled finely.
CANDIDATES = [round(0.10 + 0.05 * i, 2) for i in range(17)] + [0.93, 0.95, 0.97, 0.99]


def validation_examples() -> List[Tuple[str, str]]:
    examples = []
    for block in yaml.safe_load(VALIDATION_SET.read_text())["nlu"]:
        examples += [(block["intent"], line[2:].strip()) for line in block["examples"].splitlines()]
    return examples


# Set by the deterministic red-flag layer, not by the classifier's confidence.
NOT_CLASSIFIER = {"nlu_fallback", "red_flag_emergency", "red_flag_urgent", "red_flag_check"}


Row = Tuple[str, str, float, str, float]  # expected, intent, its confidence, topic, its confidence


def top_prediction(parse: dict) -> Tuple[str, float, str, float]:
    """The classifier's best intent, its confidence, the FAQ topic picked and its confidence."""
    ranking = [r for r in parse["intent_ranking"] if r["name"] not in NOT_CLASSIFIER]
    best = ranking[0]
    topic, topic_confidence = "", 0.0
    if best["name"] == "faq":
        response = parse["response_selector"]["faq"]["response"]
        topic, topic_confidence = response["intent_response_key"], response["confidence"]
    return best["name"], best["confidence"], topic, topic_confidence


async def predictions(model: Path) -> List[Row]:
    agent = Agent.load(str(model))
    rows = []
    for expected, text in validation_examples():
        rows.append((expected, *top_prediction(await agent.parse_message(text))))
    return rows


def score(rows: List[Row], threshold: float, topic_threshold: float = 0.0) -> Tuple[float, float]:
    faq = [r for r in rows if r[0].startswith("faq/")]
    out_of_scope = [r for r in rows if r[0] == "out_of_scope"]

    def answered(conf: float, topic_conf: float) -> bool:
        return conf >= threshold and topic_conf >= topic_threshold

    answered_right = sum(1 for expected, _, conf, topic, tc in faq if answered(conf, tc) and topic == expected)
    caught = sum(1 for _, intent, conf, _, tc in out_of_scope if intent == "out_of_scope" or not answered(conf, tc))
    return answered_right / len(faq), caught / len(out_of_scope)


def choose(rows: List[Row], scored: Callable[[float], Tuple[float, float]], name: str) -> float:
    print(f"\n{name}  FAQ answered right  out-of-scope caught")
    best_score = max(sum(scored(t)) for t in CANDIDATES)
    plateau = [t for t in CANDIDATES if sum(scored(t)) == best_score]
    # Several thresholds tie on a small set: the middle of their range is the least likely
    # to tip over when a retrained model's confidences shift a little.
    middle = (plateau[0] + plateau[-1]) / 2
    best = min(plateau, key=lambda t: abs(t - middle))
    for threshold in CANDIDATES:
        faq_rate, caught_rate = scored(threshold)
        marker = "  <- best" if threshold == best else ""
        print(f"  {threshold:.2f}         {faq_rate:6.1%}            {caught_rate:6.1%}{marker}")
    return best


def main() -> None:
    rows = asyncio.run(predictions(Path(sys.argv[1]) if len(sys.argv) > 1 else MODEL_FILE))
    print(f"validation set: {VALIDATION_SET.relative_to(PROJECT_DIR)} ({len(rows)} phrasings)")
    intent = choose(rows, lambda t: score(rows, t), "intent threshold")
    topic = choose(rows, lambda t: score(rows, intent, t), "topic threshold ")
    print(
        f"\nSet FallbackClassifier threshold: {intent} and TopicConfidenceFallback threshold: {topic}"
        " in config.yml, then `make train`."
    )


if __name__ == "__main__":
    main()
