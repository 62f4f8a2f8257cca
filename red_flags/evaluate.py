"""Measures the red-flag detector on a labelled set of phrasings.

    python -m red_flags.evaluate SET.yml [--show-errors]                 # the lexicon alone
    python -m red_flags.evaluate SET.yml --model models/back-pain-assistant.tar.gz
                                                       # the trained NLU: lexicon and classifier

The set has `emergency:` and `urgent:` (by category), `weak_single_sign:` and `near_misses:`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import yaml

from red_flags.contract import CHECK, EMERGENCY, URGENT, finding_in
from red_flags.detector import Finding
from settings import spacy_pipeline

Detect = Callable[[str], Optional[Finding]]


@dataclass
class Report:
    emergency: List[Tuple[str, str, Optional[Finding]]] = field(default_factory=list)
    urgent: List[Tuple[str, str, Optional[Finding]]] = field(default_factory=list)
    weak: List[Tuple[str, Optional[Finding]]] = field(default_factory=list)
    near_misses: List[Tuple[str, Optional[Finding]]] = field(default_factory=list)

    @classmethod
    def merged(cls, reports: Sequence[Report]) -> Report:
        """One report over the messages of all ``reports``, without reading any again."""
        return cls(
            [row for report in reports for row in report.emergency],
            [row for report in reports for row in report.urgent],
            [row for report in reports for row in report.weak],
            [row for report in reports for row in report.near_misses],
        )

    @staticmethod
    def _rate(hits: int, total: int) -> float:
        return hits / total if total else 1.0

    @property
    def emergency_recall(self) -> float:
        return self._rate(sum(1 for _, _, f in self.emergency if f and f.level == EMERGENCY), len(self.emergency))

    @property
    def urgent_recall(self) -> float:
        """Urgent phrasings escalated at least to URGENT (EMERGENCY is more cautious, so safe)."""
        return self._rate(sum(1 for _, _, f in self.urgent if f and f.level in (URGENT, EMERGENCY)), len(self.urgent))

    @property
    def false_escalation(self) -> float:
        escalated = sum(1 for _, f in self.near_misses if f and f.level in (URGENT, EMERGENCY))
        return self._rate(escalated, len(self.near_misses)) if self.near_misses else 0.0

    @property
    def weak_followed_up(self) -> float:
        return self._rate(sum(1 for _, f in self.weak if f and f.level == CHECK), len(self.weak))

    def summary(self) -> str:
        return (
            f"EMERGENCY recall at the right tier: {self.emergency_recall:.1%} of {len(self.emergency)}\n"
            f"URGENT recall (urgent or emergency): {self.urgent_recall:.1%} of {len(self.urgent)}\n"
            f"false escalation on near misses:     {self.false_escalation:.1%} of {len(self.near_misses)}\n"
            f"weak single signs followed up:       {self.weak_followed_up:.1%} of {len(self.weak)}"
        )

    def errors(self) -> List[str]:
        lines = []
        lines += [
            f"MISSED emergency/{c}: {t!r} -> {f}" for c, t, f in self.emergency if not (f and f.level == EMERGENCY)
        ]
        lines += [
            f"MISSED urgent/{c}: {t!r} -> {f}" for c, t, f in self.urgent if not (f and f.level in (URGENT, EMERGENCY))
        ]
        lines += [f"FALSE ALARM: {t!r} -> {f}" for t, f in self.near_misses if f and f.level in (URGENT, EMERGENCY)]
        lines += [f"weak not followed up: {t!r} -> {f}" for t, f in self.weak if not (f and f.level == CHECK)]
        return lines


def load_set(path: Path) -> Dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def evaluate(labelled: Dict, detect: Detect) -> Report:
    report = Report()
    for category, texts in (labelled.get("emergency") or {}).items():
        report.emergency += [(category, text, detect(text)) for text in texts]
    for category, texts in (labelled.get("urgent") or {}).items():
        report.urgent += [(category, text, detect(text)) for text in texts]
    report.weak = [(text, detect(text)) for text in labelled.get("weak_single_sign") or []]
    report.near_misses = [(text, detect(text)) for text in labelled.get("near_misses") or []]
    return report


def finding_from_parse(parse: Dict) -> Optional[Finding]:
    """What the trained assistant's NLU found, from a /model/parse result."""
    found = finding_in(parse)
    return Finding(found["level"], found["category"], tuple(found["matched"])) if found else None


def trained_nlu(model_path: Path) -> Detect:
    import asyncio
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model_path))
    loop = asyncio.new_event_loop()
    return lambda text: finding_from_parse(loop.run_until_complete(agent.parse_message(text)))


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("labelled_set", type=Path)
    parser.add_argument("--pipeline", default=str(spacy_pipeline()))
    parser.add_argument("--model", type=Path, help="a trained model archive: measure its NLU instead")
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args(argv)
    if args.model:
        detect = trained_nlu(args.model)
    else:
        import spacy

        from red_flags.detector import RedFlagDetector

        detect = RedFlagDetector(spacy.load(args.pipeline))
    report = evaluate(load_set(args.labelled_set), detect)
    print(report.summary())
    if args.show_errors:
        print("\n".join(report.errors()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
