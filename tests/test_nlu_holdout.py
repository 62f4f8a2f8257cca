"""Held-out NLU test: phrasings the model never saw (tests/nlu/faq_holdout.yml, and the long
stories of tests/nlu/long_stories.yml), parsed by the running assistant. The fallback threshold
is tuned on datasets/tuning/, never on these sets."""

from collections import Counter

from scripts.evaluate import FAQ_HOLDOUT, LONG_STORIES, another_topic, held_out_examples, measure_real_messages

MIN_FAQ_ACCURACY = 0.90
MIN_OUT_OF_SCOPE_CAUGHT = 0.80
# Our long stories, measured at 80.0% right, 2.8% another topic's answer, 3.3% escalated.
MIN_LONG_STORIES_RIGHT = 0.75
MAX_LONG_STORIES_ANOTHER_TOPIC = 0.05
MAX_LONG_STORIES_ESCALATED = 0.05
NOT_ANSWERED = {"nlu_fallback", "out_of_scope"}
# The safety layer answers these instead of the FAQ, by design (tests/red_flags/ covers them).
SAFETY = {"red_flag_emergency", "red_flag_urgent", "red_flag_check"}


def answered_topic(parse: dict) -> str:
    """What the user would get: a FAQ topic key, or the intent when it is not a FAQ answer."""
    intent = parse["intent"]["name"]
    if intent != "faq":
        return intent
    return parse["response_selector"]["faq"]["response"]["intent_response_key"]


def test_held_out_faq_questions_get_the_right_answer(assistant):
    answered = [
        (expected, text, answered_topic(assistant.parse(text)))
        for expected, text in held_out_examples(FAQ_HOLDOUT)
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
        for expected, text in held_out_examples(FAQ_HOLDOUT)
        if expected == "out_of_scope"
    )
    caught = outcomes[True] / sum(outcomes.values())
    print(f"\nout-of-scope caught: {caught:.1%} of {sum(outcomes.values())}")
    assert caught >= MIN_OUT_OF_SCOPE_CAUGHT


def test_long_stories_get_their_topic_and_no_alarm(assistant):
    """A story first, then the question, as patients write: the topic's answer, not another
    topic's, and no red-flag reply to an ordinary story."""
    outcomes = measure_real_messages(LONG_STORIES, assistant.parse).outcomes
    faq = [o for o in outcomes if o.kind == "faq"]
    right = [o for o in faq if o.answered in o.expected]
    wrong = [o for o in faq if another_topic(o)]
    escalated = [o for o in outcomes if o.escalated]
    print(f"\nlong stories: {len(right)} of {len(faq)} right, {len(wrong)} another topic, {len(escalated)} escalated")
    for outcome in wrong + escalated:
        print(f"  {outcome.expected} -> {outcome.answered} ({outcome.level}): {outcome.text[:100]!r}")
    assert len(right) >= MIN_LONG_STORIES_RIGHT * len(faq)
    assert len(wrong) <= MAX_LONG_STORIES_ANOTHER_TOPIC * len(faq)
    assert len(escalated) <= MAX_LONG_STORIES_ESCALATED * len(outcomes)
