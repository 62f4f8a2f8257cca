"""Held-out NLU test: phrasings the model never saw (tests/nlu/faq_holdout.yml), parsed by the
running assistant. The fallback threshold is tuned on datasets/tuning/, never on this set."""

from collections import Counter
from pathlib import Path

import yaml

HOLDOUT = Path(__file__).parent / "nlu" / "faq_holdout.yml"
MIN_FAQ_ACCURACY = 0.90
MIN_OUT_OF_SCOPE_CAUGHT = 0.80
NOT_ANSWERED = {"nlu_fallback", "out_of_scope"}
# The safety layer answers these instead of the FAQ, by design (tests/red_flags/ covers them).
SAFETY = {"red_flag_emergency", "red_flag_urgent", "red_flag_check"}


def held_out_examples():
    for block in yaml.safe_load(HOLDOUT.read_text())["nlu"]:
        for line in block["examples"].splitlines():
            yield block["intent"], line[2:].strip()


def answered_topic(parse: dict) -> str:
    """What the user would get: a FAQ topic key, or the intent when it is not a FAQ answer."""
    intent = parse["intent"]["name"]
    if intent != "faq":
        return intent
    return parse["response_selector"]["faq"]["response"]["intent_response_key"]


def test_held_out_faq_questions_get_the_right_answer(assistant):
    answered = [
        (expected, text, answered_topic(assistant.parse(text)))
        for expected, text in held_out_examples()
        if expected.startswith("faq/")
    ]
    results = [row for row in answered if row[2] not in SAFETY]
    wrong = [(expected, text, got) for expected, text, got in results if got != expected]
    accuracy = 1 - len(wrong) / len(results)
    print(
        f"\nFAQ held-out accuracy: {accuracy:.1%} of {len(results)} "
        f"({len(answered) - len(results)} more taken over by the red-flag safety layer)"
    )
    for expected, text, got in wrong:
        print(f"  {text!r}: expected {expected}, got {got}")
    assert accuracy >= MIN_FAQ_ACCURACY
    assert len(results) >= 0.9 * len(answered)  # the safety layer must not swallow the FAQ


def test_held_out_out_of_scope_questions_are_not_answered_as_faq(assistant):
    outcomes = Counter(
        answered_topic(assistant.parse(text)) in NOT_ANSWERED
        for expected, text in held_out_examples()
        if expected == "out_of_scope"
    )
    caught = outcomes[True] / sum(outcomes.values())
    print(f"\nout-of-scope caught: {caught:.1%} of {sum(outcomes.values())}")
    assert caught >= MIN_OUT_OF_SCOPE_CAUGHT
