"""What reviewers see of a message: names, phone numbers and e-mail addresses hidden, the rest as written."""

import pytest

from staff.console.masking import Masker

mask = Masker(["Ana Lima"], "US")


@pytest.mark.parametrize(
    "written, shown",
    [
        ("my name is Ana Lima", "my name is [name hidden]"),
        ("ANA here, Lima is my surname", "[name hidden] here, [name hidden] is my surname"),
        ("my name is bo chen and my back hurts", "my name is [name hidden] and my back hurts"),
        ("Hi, I'm Bo Chen", "Hi, I'm [name hidden]"),
        ("call me Jo please", "call me [name hidden] please"),
        ("call me on +1 415 555 2671", "call me on [phone hidden]"),
        ("(415) 555-2671 is best", "[phone hidden] is best"),
        ("my mobile is 07700 900123", "my mobile is [phone hidden]"),
        ("write to ana.lima@example.com.", "write to [e-mail hidden]."),
        ("or bo@clinic", "or [e-mail hidden]"),
    ],
)
def test_who_the_person_is_is_hidden(written, shown):
    assert mask(written) == shown


@pytest.mark.parametrize(
    "written",
    [
        "I'm worried about my lower back",
        "call me back tomorrow",
        "can I come on 2026-11-24 at 15:00 or 24/11/2026?",
        "pain is 8/10, I'm 67 and had surgery in 2019",
        "Anatomy of the spine",
    ],
)
def test_the_rest_is_shown_as_written(written):
    assert mask(written) == written
