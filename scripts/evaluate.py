"""Measures the trained assistant's understanding on every labelled set and prints the figures
(`make evaluate`): real patients' posts (development and held out), the held-out FAQ set, our
long stories and the held-out red-flag set.

Each message is parsed by the trained model in this process (no servers needed); what a person
would get is read from the parse as the dialogue rules answer it (``answered``). Held-out sets
print figures only; `--show-errors` lists the misses of the development set, never of a
held-out one.

    make evaluate
    python -m scripts.evaluate --show-errors
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import yaml

from actions.fallback import MAX_SUGGESTIONS
from rasa_plugins.topic_confidence import asked_but_not_understood, asked_topic
from red_flags.contract import CHECK, EMERGENCY, ESCALATION_LEVELS, INTENT_FOR_LEVEL, QUESTION_LEVELS, finding_in
from red_flags.evaluate import evaluate as evaluate_red_flags
from red_flags.evaluate import finding_from_parse, load_set
from settings import MODEL_FILE, PROJECT_DIR

REAL_PATIENTS = PROJECT_DIR / "datasets" / "measuring" / "real_patients"
FAQ_HOLDOUT = PROJECT_DIR / "tests" / "nlu" / "faq_holdout.yml"
# Booking, referral and the other intents, in patients' words, written by someone who never saw
# the training data; never trained on.
INTENT_HOLDOUT = PROJECT_DIR / "tests" / "nlu" / "intents_holdout.yml"
LONG_STORIES = PROJECT_DIR / "tests" / "nlu" / "long_stories.yml"
RED_FLAG_HOLDOUT = PROJECT_DIR / "tests" / "red_flags" / "held_out.yml"
# What a person gets instead of an answer: an honest "I can't answer that" or "did you mean".
NOT_ANSWERED = {"nlu_fallback", "out_of_scope"}
# Kinds of real messages that are ordinary questions: none of them should escalate.
ORDINARY = ("faq", "clinic_question", "out_of_scope")

Parse = Callable[[str], Dict[str, Any]]


def answered(parse: Dict[str, Any]) -> str:
    """What the person would get: a FAQ topic id, or the intent when it is not a FAQ answer. A
    weak sign's follow-up question comes after the answer to the topic asked, when it is known,
    or after "I can't answer that" for a question no topic answers
    (rasa_plugins/response_generator.py)."""
    intent = parse["intent"]["name"]
    if intent == INTENT_FOR_LEVEL[CHECK]:
        if asked_but_not_understood(parse):
            return "nlu_fallback"  # "I can't answer that", with the clinic's contact
        return asked_topic(parse) or intent
    if intent != "faq":
        return intent
    return parse["response_selector"]["faq"]["response"]["intent_response_key"].split("/", 1)[-1]


def offered(parse: Dict[str, Any]) -> Tuple[str, ...]:
    """The topics a "did you mean" would offer (actions/fallback.py): the response selector's top ones."""
    if parse["intent"]["name"] != "nlu_fallback":
        return ()
    ranking = (parse.get("response_selector") or {}).get("faq", {}).get("ranking") or []
    return tuple(str(r["intent_response_key"]).split("/", 1)[-1] for r in ranking[:MAX_SUGGESTIONS])


def escalation_level(parse: Dict[str, Any]) -> Optional[str]:
    finding = finding_in(parse)
    return finding["level"] if finding else None


@dataclass
class Outcome:
    text: str
    kind: str
    expected: Tuple[str, ...]  # acceptable topic ids, for FAQ questions
    answered: str
    level: Optional[str]  # emergency, urgent, check, ask_now or None
    offered: Tuple[str, ...] = ()  # the topics of a "did you mean"
    # The tier a clinician gives the message under the clinic's red-flag rules (emergency,
    # urgent, ask or none), labelled blind to the assistant's answers; `kind` says what it asks.
    tier: Optional[str] = None

    @property
    def escalated(self) -> bool:
        return self.level in ESCALATION_LEVELS


@dataclass
class RealMessages:
    """Figures on real patients' messages, by what the issue's targets ask."""

    outcomes: List[Outcome] = field(default_factory=list)

    def of(self, *kinds: str) -> List[Outcome]:
        return [o for o in self.outcomes if o.kind in kinds]

    def rows(self) -> List[Tuple[str, str]]:
        faq = self.of("faq")
        not_ours = self.of("out_of_scope", "clinic_question")
        ordinary = self.of(*ORDINARY)
        calm = self.tiered("none")
        return [
            ("FAQ questions answered with the right topic", rate(sum(o.answered in o.expected for o in faq), len(faq))),
            (
                "  ... or offering it in a 'did you mean'",
                rate(sum(o.answered in o.expected or bool(set(o.offered) & set(o.expected)) for o in faq), len(faq)),
            ),
            (
                "FAQ questions given another topic's answer",
                rate(sum(another_topic(o) for o in faq), len(faq)),
            ),
            (
                "  ... of those not escalated",
                rate(
                    sum(o.answered in o.expected for o in faq if not o.escalated),
                    sum(not o.escalated for o in faq),
                ),
            ),
            (
                "out-of-scope and clinic questions answered honestly",
                rate(sum(honest(o) for o in not_ours), len(not_ours)),
            ),
            ("no red flag (clinician): wrongly escalated", rate(sum(o.escalated for o in calm), len(calm))),
            ("  ... asked a follow-up question", rate(sum(o.level in QUESTION_LEVELS for o in calm), len(calm))),
            ("emergency (clinician): recognised", self._caught("emergency", lambda o: o.level == EMERGENCY)),
            ("urgent (clinician): escalated", self._caught("urgent", lambda o: o.escalated)),
            ("past, is it now? (clinician): asked or escalated", self._caught("ask", lambda o: o.level is not None)),
            (
                "ordinary questions escalated (collector's kinds)",
                rate(sum(o.escalated for o in ordinary), len(ordinary)),
            ),
        ]

    def tiered(self, tier: str) -> List[Outcome]:
        return [o for o in self.outcomes if o.tier == tier]

    def _caught(self, tier: str, caught: Callable[[Outcome], bool]) -> str:
        outcomes = self.tiered(tier)
        return rate(sum(caught(o) for o in outcomes), len(outcomes))

    def errors(self) -> List[str]:
        lines = []
        for o in self.outcomes:
            if o.kind == "faq" and o.answered not in o.expected:
                lines.append(f"FAQ {o.expected} -> {o.answered} ({o.level}): {o.text[:160]!r}")
            elif o.kind in ("out_of_scope", "clinic_question") and not honest(o):
                lines.append(f"{o.kind} -> {o.answered} ({o.level}): {o.text[:160]!r}")
            if o.tier == "none" and o.escalated:
                lines.append(f"ESCALATED, no red flag -> {o.level}: {o.text[:160]!r}")
            if o.tier == "emergency" and o.level != EMERGENCY:
                lines.append(f"MISSED emergency -> {o.level}: {o.text[:160]!r}")
            if o.tier == "urgent" and not o.escalated:
                lines.append(f"MISSED urgent sign -> {o.level}: {o.text[:160]!r}")
            if o.tier == "ask" and o.level is None:
                lines.append(f"NOT ASKED past sign: {o.text[:160]!r}")
        return lines


def rate(hits: int, total: int) -> str:
    return f"{hits / total:6.1%} of {total}" if total else "   n/a"


def another_topic(outcome: Outcome) -> bool:
    """A topic's answer that is not one of the expected ones (no red-flag reply instead; a weak
    sign's follow-up question counts with the answer it comes after)."""
    red_flag_reply = outcome.level in ESCALATION_LEVELS or outcome.answered.startswith("red_flag_")
    return outcome.answered not in outcome.expected and outcome.answered not in NOT_ANSWERED and not red_flag_reply


def honest(outcome: Outcome) -> bool:
    """No unrelated topic's answer: "I can't answer that", "did you mean", or for a clinic
    question the clinic's own answer to it (knowledge/clinic.yml)."""
    return outcome.answered in NOT_ANSWERED or outcome.answered in outcome.expected


def measure_real_messages(path: Path, parse: Parse) -> RealMessages:
    report = RealMessages()
    for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]:
        parsed = parse(entry["text"])
        expected = tuple(entry.get("topics") or ()) + ((entry["also_asks"],) if entry.get("also_asks") else ())
        if entry["kind"] == "clinic_question":
            expected += (f"clinic_{entry.get('about')}",)
        report.outcomes.append(
            Outcome(
                entry["text"],
                entry["kind"],
                expected,
                answered(parsed),
                escalation_level(parsed),
                offered(parsed),
                entry.get("reviewed_tier"),
            )
        )
    return report


def held_out_examples(path: Path) -> Iterator[Tuple[str, str]]:
    """(intent, phrasing) of a held-out set in Rasa's NLU format."""
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        for line in block["examples"].splitlines():
            if line.strip():
                yield block["intent"], line.strip()[2:].strip()


def faq_holdout_rows(parse: Parse) -> List[Tuple[str, str]]:
    answers: Counter = Counter()
    for intent, text in held_out_examples(FAQ_HOLDOUT):
        expected = intent.split("/", 1)[-1]
        parsed = parse(text)
        kind = "faq" if intent.startswith("faq/") else intent
        got = answered(parsed)
        level = escalation_level(parsed)
        answers[kind, "total"] += 1
        if kind == "faq":
            answers[kind, "safety"] += level in (*ESCALATION_LEVELS, *QUESTION_LEVELS)
            answers[kind, "right"] += got == expected
        else:
            answers[kind, "right"] += got in NOT_ANSWERED
    faq_answered = answers["faq", "total"] - answers["faq", "safety"]
    return [
        (
            "FAQ questions answered with the right topic",
            f"{answers['faq', 'right'] / max(faq_answered, 1):6.1%} of {faq_answered} "
            f"({answers['faq', 'safety']} more taken by the red-flag layer)",
        ),
        (
            "out-of-scope messages caught",
            f"{answers['out_of_scope', 'right'] / max(answers['out_of_scope', 'total'], 1):6.1%} "
            f"of {answers['out_of_scope', 'total']}",
        ),
    ]


def intent_holdout(parse: Parse) -> Dict[str, bool]:
    """Per held-out phrasing of the intents other than FAQ topics: is it given its intent?"""
    return {
        f"{intent}: {text}": parse(text)["intent"]["name"] == intent
        for intent, text in held_out_examples(INTENT_HOLDOUT)
    }


def intent_holdout_rows(parse: Parse) -> List[Tuple[str, str]]:
    results = intent_holdout(parse)
    booking = {key: ok for key, ok in results.items() if key.startswith("book_appointment:")}
    return [
        ("messages given their intent", rate(sum(results.values()), len(results))),
        ("... of them booking requests", rate(sum(booking.values()), len(booking))),
    ]


def two_question_rows(parse: Parse, pairs: int = 60) -> List[Tuple[str, str]]:
    """Two held-out FAQ phrasings of different topics sent as one message: is one answered, and
    the other offered as a button (``also_asked``)?"""
    phrasings = []
    for block in yaml.safe_load(FAQ_HOLDOUT.read_text(encoding="utf-8"))["nlu"]:
        if block["intent"].startswith("faq/"):
            phrasings += [(block["intent"], line[2:].strip()) for line in block["examples"].splitlines()]
    # Each phrasing with the one a third of the set further on: a fixed, varied choice of pairs.
    step = len(phrasings) // 3
    combined = [(phrasings[i], phrasings[(i + step) % len(phrasings)]) for i in range(len(phrasings))]
    combined = [(a, b) for a, b in combined if a[0] != b[0]][:pairs]
    one = both = 0
    for (first_topic, first), (second_topic, second) in combined:
        parsed = parse(f"{first.rstrip('?. ')}? {second}")
        got = "faq/" + answered(parsed)
        one += got in (first_topic, second_topic)
        both += got in (first_topic, second_topic) and parsed.get("also_asked") in ({first_topic, second_topic} - {got})
    return [
        ("one of the two answered", f"{one / len(combined):6.1%} of {len(combined)}"),
        ("  ... and the other offered as a button", f"{both / len(combined):6.1%} of {len(combined)}"),
    ]


def trained_parser(model: Path) -> Parse:
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))
    loop = asyncio.new_event_loop()
    return lambda text: loop.run_until_complete(agent.parse_message(text))


def red_flag_levels(model: Path) -> Callable[[Sequence[str]], List[Optional[str]]]:
    """The escalation level ``trained_parser(model)`` gives each message (``escalation_level``),
    read by the only two of its components that level depends on: spaCy (SpacyNLP) and the
    red-flag classifier, the pipeline's last, which reads nothing the others wrote (config.yml).
    About a fifth of a whole parse's time: the gate reads thousands of red-flag messages.
    tests/staff/test_releases.py checks that both readings agree."""
    import tempfile

    from rasa.engine.graph import ExecutionContext
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.nlu.utils.spacy_utils import SpacyNLP
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    from rasa_plugins.red_flag_nlu import RedFlagClassifier

    with tempfile.TemporaryDirectory() as scratch:
        storage, metadata = LocalModelStorage.from_model_archive(Path(scratch), model)
        schema = metadata.predict_schema
        context = ExecutionContext(schema, metadata.model_id)

        def component(kind: type, fn: str) -> Any:
            [node] = [node for node in schema.nodes.values() if node.uses is kind and node.fn == fn]
            return getattr(node.uses, node.constructor_name)(node.config, storage, node.resource, context)

        spacy_model = component(SpacyNLP, "provide").provide()
        spacy_nlp = component(SpacyNLP, "process")
        red_flags = component(RedFlagClassifier, "process")

    def levels(texts: Sequence[str]) -> List[Optional[str]]:
        messages = [Message(data={TEXT: text}) for text in texts]
        read = red_flags.process(spacy_nlp.process(messages, spacy_model))
        return [escalation_level(message.as_dict(only_output_properties=True)) for message in read]

    return levels


def print_table(title: str, rows: Sequence[Tuple[str, str]]) -> None:
    print(f"\n{title}")
    for label, value in rows:
        print(f"  {label:<52} {value}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODEL_FILE)
    parser.add_argument("--show-errors", action="store_true", help="list the development set's misses")
    args = parser.parse_args(argv)
    parse = trained_parser(args.model)

    development = measure_real_messages(REAL_PATIENTS / "development.yml", parse)
    print_table("real patients' messages, development set (read while developing)", development.rows())
    held_out = measure_real_messages(REAL_PATIENTS / "held_out.yml", parse)
    print_table("real patients' messages, held-out set (figures only)", held_out.rows())
    print_table("our held-out FAQ set (tests/nlu/faq_holdout.yml)", faq_holdout_rows(parse))
    print_table("two held-out FAQ questions in one message", two_question_rows(parse))
    print_table("our held-out set of the other intents (tests/nlu/intents_holdout.yml)", intent_holdout_rows(parse))
    long_stories = measure_real_messages(LONG_STORIES, parse)
    print_table(
        "our long stories, no red flag in any (tests/nlu/long_stories.yml)",
        [(label, value) for label, value in long_stories.rows() if "n/a" not in value],
    )
    red_flags = evaluate_red_flags(load_set(RED_FLAG_HOLDOUT), lambda text: finding_from_parse(parse(text)))
    print(f"\nour held-out red-flag set (tests/red_flags/held_out.yml)\n{red_flags.summary()}")
    if args.show_errors:
        print("\nmisses on the development set of real patients' messages:")
        for line in development.errors():
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
