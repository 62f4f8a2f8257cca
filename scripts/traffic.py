"""The conversations the benchmark and the per-message profile send: each assistant's own
traffic, and the same FAQ questions for both.

- Ours: patients' FAQ questions (the held-out test phrasings, tests/nlu/faq_holdout.yml), a
  whole booking, small talk and a red flag (from the red-flag classifier's training sets,
  datasets/training/red_flags/), mixed in every conversation as patients mix them.
- The stock `rasa init` bot: its own domain (greetings, moods, "are you a bot?"), in phrasings
  written here, not copied from its training data.
- The same FAQ questions for both (what docs/benchmarks.md compared before): the held-out
  phrasings and some small talk.

Deterministic: the same conversations every run, so rounds and branches compare.
"""

from __future__ import annotations

import itertools
from typing import Dict, Iterator, List

import yaml

from settings import PROJECT_DIR

Conversation = List[str]

FAQ_HOLDOUT = PROJECT_DIR / "tests" / "nlu" / "faq_holdout.yml"
RED_FLAG_SETS = sorted((PROJECT_DIR / "datasets" / "training" / "red_flags").glob("set_*.yml"))

# A booking as a patient types it (tests/booking/test_booking_conversations.py walks the same path).
BOOKING = [
    "I'd like to book a deep tissue massage next Tuesday afternoon",
    "Maria O'Neill",
    "(415) 555-2671",
    "skip",
    "/confirm_booking",
]

STOCK_GREETINGS = ["hello there", "hey", "good morning", "hi!", "hey, how's it going"]
STOCK_MOODS_GOOD = ["I'm feeling great today", "pretty good, thanks", "I am happy", "doing really well"]
STOCK_MOODS_BAD = ["I feel sad", "not great to be honest", "I'm pretty unhappy today", "feeling down"]
STOCK_ANSWERS = ["yes it did", "no, not really", "yeah, thanks", "nope"]
STOCK_CHALLENGES = ["are you a bot?", "am I talking to a human?", "are you a real person", "is this a robot"]
STOCK_GOODBYES = ["bye", "see you later", "goodbye!", "have a nice day"]


def faq_questions() -> List[str]:
    holdout = yaml.safe_load(FAQ_HOLDOUT.read_text(encoding="utf-8"))
    return [line[2:] for block in holdout["nlu"] for line in block["examples"].splitlines()]


def red_flag_messages() -> List[str]:
    """One phrasing of each category of every training set: signs of every kind and wording."""
    messages: List[str] = []
    for path in RED_FLAG_SETS:
        data: Dict[str, Dict[str, List[str]]] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for categories in data.values():
            if isinstance(categories, dict):
                messages += [phrasings[0] for phrasings in categories.values() if phrasings]
    return messages


def our_conversations(count: int) -> List[Conversation]:
    """Patients' conversations: a greeting, FAQ questions, a booking, thanks and a red flag."""
    questions = itertools.cycle(faq_questions())
    red_flags = itertools.cycle(red_flag_messages())
    return [
        ["hi", next(questions), next(questions), *BOOKING, next(questions), "thanks", next(red_flags)]
        for _ in range(count)
    ]


def stock_conversations(count: int) -> List[Conversation]:
    """The stock bot's own domain: a greeting, a mood (and whether the picture helped), the
    bot challenge, goodbye; as many messages per conversation as ours, roughly."""
    pick = _cyclers(STOCK_GREETINGS, STOCK_MOODS_GOOD, STOCK_MOODS_BAD, STOCK_ANSWERS, STOCK_CHALLENGES, STOCK_GOODBYES)
    greeting, good, bad, answer, challenge, goodbye = pick
    return [
        [
            next(greeting),
            next(bad),
            next(answer),
            next(challenge),
            next(greeting),
            next(good),
            next(challenge),
            next(bad),
            next(answer),
            next(goodbye),
        ]
        for _ in range(count)
    ]


def same_faq_conversations(count: int) -> List[Conversation]:
    """The FAQ questions and some small talk, for both bots, dealt into ``count`` conversations."""
    messages = ["hi", "thanks", "what can you do?", "bye", *faq_questions()]
    return [messages[start::count] for start in range(count)]


def _cyclers(*phrasings: List[str]) -> List[Iterator[str]]:
    return [itertools.cycle(options) for options in phrasings]
