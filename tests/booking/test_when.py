"""Days and times in everyday words, checked against the clinic's opening hours."""

import datetime as dt

import pytest

from booking.when import describe, parse_when, problem_with_day, problem_with_time
from clinic.details import load_clinic

# A Saturday morning; the clinic (clinic/details.yml) is open 10:00-14:00 on Saturdays,
# closed on Sundays, 09:00-19:00 Monday to Thursday and 09:00-17:00 on Fridays.
NOW = dt.datetime(2026, 11, 21, 10, 30)
CLINIC = load_clinic()


@pytest.mark.parametrize(
    "text, day, time",
    [
        ("next Tuesday afternoon", "2026-11-24", "afternoon"),
        ("tomorrow at 3", "2026-11-22", "15:00"),
        ("Friday morning", "2026-11-27", "morning"),
        ("tmrw 3pm", "2026-11-22", "15:00"),
        ("monday 10am", "2026-11-23", "10:00"),
        ("24 nov at 2pm", "2026-11-24", "14:00"),
        ("1st of december 4:30pm", "2026-12-01", "16:30"),
        ("tues arvo", "2026-11-24", "afternoon"),
        ("could I come in next thursday evening please", "2026-11-26", "evening"),
        ("I'm free Wednesday around 2", "2026-11-25", "14:00"),
        ("the 30th", "2026-11-30", None),
        ("on the 2nd", "2026-12-02", None),
        ("December 3", "2026-12-03", None),
        ("in 2 days", "2026-11-23", None),
        ("next monday at 10:30", "2026-11-23", "10:30"),
        ("any time on thursday", "2026-11-26", "any time"),
        ("at noon on friday", "2026-11-27", "12:00"),
    ],
)
def test_everyday_phrases_give_a_day_and_a_time(text, day, time):
    said = parse_when(text, NOW)
    assert (said.day and said.day.isoformat(), said.time) == (day, time)


@pytest.mark.parametrize(
    "text", ["what is deep tissue massage", "Anna Smith", "asdf", "how often should i get a massage", ""]
)
def test_text_without_a_day_gives_none(text):
    said = parse_when(text, NOW)
    assert said.day is None and said.time is None


def test_a_week_or_month_without_a_day_is_vague():
    assert parse_when("sometime next week", NOW).vague_day
    assert parse_when("sometime next week", NOW).day is None


def test_a_day_in_the_past_is_refused():
    problem = problem_with_day(parse_when("yesterday", NOW).day, CLINIC, NOW)
    assert "already passed" in problem
    assert "already passed" in problem_with_day(dt.date(2020, 1, 1), CLINIC, NOW)
    assert "2020" in problem_with_day(dt.date(2020, 1, 1), CLINIC, NOW)


def test_a_closed_day_is_refused_with_the_open_days():
    problem = problem_with_day(dt.date(2026, 11, 22), CLINIC, NOW)  # Sunday
    assert "closed on Sundays" in problem and "Mondays" in problem


def test_too_far_ahead_is_refused():
    assert "days ahead" in problem_with_day(NOW.date() + dt.timedelta(days=400), CLINIC, NOW)


@pytest.mark.parametrize(
    "day, time, expected",
    [
        ("2026-11-24", "15:00", None),
        ("2026-11-24", "08:00", "outside our hours"),
        ("2026-11-24", "18:30", "outside our hours"),  # last start an hour before 19:00
        ("2026-11-27", "17:00", "outside our hours"),  # Friday closes at 17:00
        ("2026-11-21", "evening", "not open in the evening"),  # Saturday closes at 14:00
        ("2026-11-21", "10:00", "already passed"),  # today, earlier than now
        ("2026-11-21", "12:00", None),
        ("2026-11-21", "afternoon", None),
        ("2026-11-28", "morning", None),
    ],
)
def test_times_are_checked_against_the_hours_of_that_day(day, time, expected):
    problem = problem_with_time(dt.date.fromisoformat(day), time, CLINIC, NOW)
    assert (problem is None) if expected is None else (expected in problem)


def test_describe_reads_naturally():
    assert describe(dt.date(2026, 11, 24), "15:00") == "Tuesday 24 November at 3:00 pm"
    assert describe(dt.date(2026, 11, 27), "morning") == "Friday 27 November, morning"
