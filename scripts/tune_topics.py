"""Compares TopicRetrieval's weights and the TopicConfidenceFallback threshold (config.yml) on the
development posts of real patients and our held-out FAQ set (`make tune-topics`); never on the
held-out posts.

Each message is parsed once by the trained model with the topic-confidence fallback off, and
the scores TopicRetrieval fuses (selector, word overlap, embedding) are kept; every combination
of weights and threshold is then replayed from them as the pipeline answers (the fused ranking,
"did you mean" below the threshold), and measured with `make evaluate`'s functions. DIET, the
response selector and the red-flag layer do not depend on these settings, so one parse is
enough. Printed: the figures of the model as configured, and every combination that gives no
more development FAQ questions another topic's answer, answers no fewer out-of-scope and clinic
questions honestly and keeps our held-out FAQ set at 92% or above, best first. Copy the chosen
one into config.yml and retrain (README, "Real patients' messages").

    make tune-topics
    python -m scripts.tune_topics --model path/to/model.tar.gz --lexical 1,2 --embedding 0,2
"""

from __future__ import annotations

import argparse
import copy
import itertools
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

from red_flags.contract import INTENT_FOR_LEVEL
from scripts import evaluate
from settings import MODEL_FILE, RASA_CONFIG

MIN_OURS = 0.92
THRESHOLDS = [round(0.10 + 0.01 * i, 2) for i in range(31)]
Signals = List[Tuple[Dict[str, float], float]]
Figures = Tuple[float, float, float, float, float, float]  # right, offered, another, honest, ours, caught
RED_FLAG_INTENTS = frozenset(INTENT_FOR_LEVEL.values())


def parse_once(model: Path) -> Dict[str, Tuple[Dict[str, Any], Optional[Signals]]]:
    """Every message's parse without the topic-confidence fallback, with the fused signals."""
    import rasa_plugins.topic_retrieval as topic_retrieval
    from knowledge.retrieval import fuse
    from rasa_plugins.topic_confidence import TopicConfidenceFallback

    captured: Dict[str, Signals] = {}

    def keep(signals: Signals) -> Any:
        captured["signals"] = [(dict(scores), weight) for scores, weight in signals]
        return fuse(signals)

    topic_retrieval.fuse = keep  # type: ignore[assignment]
    TopicConfidenceFallback.process = lambda self, messages: messages  # type: ignore[method-assign]
    parse = evaluate.trained_parser(model)
    texts = [entry["text"] for entry in yaml.safe_load(development().read_text(encoding="utf-8"))["messages"]]
    for block in yaml.safe_load(evaluate.FAQ_HOLDOUT.read_text(encoding="utf-8"))["nlu"]:
        texts += [line[2:].strip() for line in block["examples"].splitlines()]
    parsed = {}
    for text in texts:
        captured.clear()
        parsed[text] = (parse(text), captured.get("signals"))
    return parsed


def development() -> Path:
    return evaluate.REAL_PATIENTS / "development.yml"


def replay(parsed: Tuple[Dict[str, Any], Optional[Signals]], weights: Sequence[float], threshold: float) -> Dict:
    """The parse the pipeline would give with these weights (selector first) and threshold."""
    from knowledge.retrieval import fuse

    parse, signals = parsed
    if not signals:
        return parse
    parse = copy.deepcopy(parse)
    # A model trained with embedding_weight 0 kept no centroids: its messages have two signals.
    ranking = fuse([(scores, weight) for (scores, _), weight in zip(signals, weights, strict=False)])[:10]
    key, confidence = ranking[0]
    selected = parse["response_selector"]["faq"]
    selected["response"].update(intent_response_key=key, confidence=confidence)
    selected["ranking"] = [{"intent_response_key": k, "confidence": c} for k, c in ranking]
    if confidence < threshold:
        # As TopicConfidenceFallback: the fallback goes before "faq" in the ranking, which the
        # red-flag layer after it may have headed with its own intent (its follow-up question
        # then reads what was asked from the ranking's second entry).
        ranking_entries = parse.get("intent_ranking") or [parse["intent"]]
        position = 1 if parse["intent"]["name"] in RED_FLAG_INTENTS else 0
        if len(ranking_entries) > position and ranking_entries[position]["name"] == "faq":
            fallback = {"name": "nlu_fallback", "confidence": confidence}
            parse["intent_ranking"] = [*ranking_entries[:position], fallback, *ranking_entries[position:]]
            if position == 0:
                parse["intent"] = fallback
    return parse


def figures(parsed: Dict, weights: Sequence[float], threshold: float) -> Figures:
    def parse(text: str) -> Dict:
        return replay(parsed[text], weights, threshold)

    dev = dict(evaluate.measure_real_messages(development(), parse).rows())
    ours = dict(evaluate.faq_holdout_rows(parse))

    def rate(value: str) -> float:
        return float(value.strip().split("%")[0]) / 100

    return (
        rate(dev["FAQ questions answered with the right topic"]),
        rate(dev["  ... or offering it in a 'did you mean'"]),
        rate(dev["FAQ questions given another topic's answer"]),
        rate(dev["out-of-scope and clinic questions answered honestly"]),
        rate(ours["FAQ questions answered with the right topic"]),
        rate(ours["out-of-scope messages caught"]),
    )


def configured() -> Tuple[List[float], float]:
    pipeline = yaml.safe_load(RASA_CONFIG.read_text(encoding="utf-8"))["pipeline"]
    by_name = {component["name"].rsplit(".", 1)[-1]: component for component in pipeline}
    retrieval = by_name["TopicRetrieval"]
    weights = [1.0, float(retrieval.get("lexical_weight", 0.0)), float(retrieval.get("embedding_weight", 0.0))]
    return weights, float(by_name["TopicConfidenceFallback"]["threshold"])


def line(weights: Sequence[float], threshold: float, row: Figures) -> str:
    return f"  {weights[1]:5.2f} {weights[2]:5.2f}  {threshold:.2f}  " + "  ".join(f"{value:6.1%}" for value in row)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODEL_FILE)
    parser.add_argument("--lexical", default="1,1.5,2,3", help="word-overlap weights to compare")
    parser.add_argument("--embedding", default="0,1,1.5,2,3", help="embedding weights to compare")
    args = parser.parse_args(argv)
    parsed = parse_once(args.model)
    header = "  words  embed  thr.   right offered another  honest    ours  caught"
    weights, threshold = configured()
    now = figures(parsed, weights, threshold)
    print(f"development posts (right, offered, another, honest) and our held-out FAQ set (right, caught)\n{header}")
    print(line(weights, threshold, now) + "  <- config.yml")
    feasible = []
    for lexical, embedding in itertools.product(args.lexical.split(","), args.embedding.split(",")):
        candidate = [1.0, float(lexical), float(embedding)]
        for threshold in THRESHOLDS:
            row = figures(parsed, candidate, threshold)
            if row[2] <= now[2] and row[3] >= now[3] and row[4] >= MIN_OURS:
                feasible.append((candidate, threshold, row))
    feasible.sort(key=lambda item: (-item[2][0], item[2][2], -item[2][1], -item[2][4]))
    print(f"\nno more another topic's answers, no fewer honest answers, ours >= {MIN_OURS:.0%}; best first:\n{header}")
    for candidate, threshold, row in feasible[:25]:
        print(line(candidate, threshold, row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
