"""When would the person like to come? Free text to a day and a time, checked against the
clinic's opening hours.

dateparser reads the dates ("3 December", "in two weeks", "the 30th"). It misses some everyday
forms ("next Tuesday", "tmrw", "at 3", "afternoon"), so those are handled here before it. A
time is either exact ("15:00") or a part of the day ("afternoon", "any time").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Optional, Tuple

from dateparser.date import DateDataParser
from dateparser.search import search_dates

from clinic.details import WEEKDAYS, Clinic

ANY_TIME = "any time"
# Part of the day -> the start times it covers (clipped to the opening hours of the day).
PARTS_OF_DAY = {
    "morning": (dt.time(0, 0), dt.time(12, 0)),
    "afternoon": (dt.time(12, 0), dt.time(17, 0)),
    "evening": (dt.time(17, 0), dt.time(23, 59)),
    ANY_TIME: (dt.time(0, 0), dt.time(23, 59)),
}
# Text-speak and short forms -> the words the parsers know.
_SHORT_FORMS = {
    r"tmrw|tmr|tmw|tomoz|2moro|2morrow|tomorow|tommorow|tommorrow": "tomorrow",
    r"arvo": "afternoon",
    r"mon": "monday",
    r"tue|tues": "tuesday",
    r"wed|weds": "wednesday",
    r"thu|thur|thurs": "thursday",
    r"fri": "friday",
    r"sat": "saturday",
    r"sun": "sunday",
    r"anytime|whenever|flexible|any time is fine|any time works": ANY_TIME,
    r"noon|midday|lunchtime|lunch time": "12:00",
}
_SHORT_FORM_PATTERNS = [
    (re.compile(rf"\b(?:{pattern})\b"), replacement) for pattern, replacement in _SHORT_FORMS.items()
]
_ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
_CLOCK_WITH_MERIDIEM = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)(?=\W|$)")
_CLOCK_24H = re.compile(r"\b([01]?\d|2[0-3])[:h]([0-5]\d)\b")
_BARE_HOUR = re.compile(r"\b(?:at|@|around|about|for)\s+(\d{1,2})(?:\s*o'?\s*clock)?\b(?!\s*(?:st|nd|rd|th|/|-|\.\d))")
_PART_OF_DAY = re.compile(r"\b(morning|afternoon|evening|tonight|any time)\b")
_WEEKDAY = re.compile(r"\b(?:(next|this|coming|on)\s+)?(" + "|".join(WEEKDAYS) + r")\b")
_DAY_OF_MONTH_ONLY = re.compile(
    r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)?\b(?!\s*(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))"
)
# Afternoon hours people say without am/pm: "at 3" means 15:00 in a clinic.
_LATEST_AMBIGUOUS_PM_HOUR = 7


@dataclass(frozen=True)
class When:
    """What a message said about the day and the time, each possibly missing."""

    day: Optional[dt.date] = None
    time: Optional[str] = None  # "HH:MM", a part of the day, or ANY_TIME
    vague_day: bool = False  # mentioned a week or a month, but no particular day


def _normalise(text: str) -> str:
    text = " " + text.lower().replace("’", "'") + " "
    for pattern, replacement in _SHORT_FORM_PATTERNS:
        text = pattern.sub(replacement, text)
    for word, number in _ORDINAL_WORDS.items():
        text = re.sub(rf"\bthe {word}\b", f"the {number}", text)
    return re.sub(r"\s+", " ", text)


def _take_time(text: str) -> Tuple[Optional[str], str]:
    """Finds a time in ``text``; returns it and the text without it."""
    match = _CLOCK_WITH_MERIDIEM.search(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None, text
        is_pm = match.group(3).startswith("p")
        hour = hour % 12 + (12 if is_pm else 0)
        return f"{hour:02d}:{minute:02d}", text[: match.start()] + " " + text[match.end() :]
    match = _CLOCK_24H.search(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour <= _LATEST_AMBIGUOUS_PM_HOUR and hour != 0:
            hour += 12
        return f"{hour:02d}:{minute:02d}", text[: match.start()] + " " + text[match.end() :]
    match = _BARE_HOUR.search(text)
    if match and 1 <= int(match.group(1)) <= 12:
        hour = int(match.group(1))
        if hour <= _LATEST_AMBIGUOUS_PM_HOUR:
            hour += 12
        return f"{hour:02d}:00", text[: match.start()] + " " + text[match.end() :]
    match = _PART_OF_DAY.search(text)
    if match:
        part = "evening" if match.group(1) == "tonight" else match.group(1)
        remaining = text[: match.start()] + " " + text[match.end() :]
        if match.group(1) == "tonight":
            remaining += " today"
        return part, remaining
    return None, text


def _next_weekday(today: dt.date, weekday: str) -> dt.date:
    days_ahead = (WEEKDAYS.index(weekday) - today.weekday()) % 7
    return today + dt.timedelta(days=days_ahead or 7)


def _next_day_of_month(today: dt.date, day_of_month: int) -> Optional[dt.date]:
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = dt.date(year, month, day_of_month)
        except ValueError:
            candidate = None
        if candidate and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _take_day(text: str, now: dt.datetime) -> Tuple[Optional[dt.date], bool]:
    """Finds a day in ``text``: (the day, whether only a vague week or month was given)."""
    today = now.date()
    if re.search(r"\bday after tomorrow\b", text):
        return today + dt.timedelta(days=2), False
    if re.search(r"\btoday\b", text):
        return today, False
    if re.search(r"\btomorrow\b", text):
        return today + dt.timedelta(days=1), False
    match = _WEEKDAY.search(text)
    if match:
        # "next Tuesday" and "Tuesday" both mean the coming one; the read-back shows the date.
        return _next_weekday(today, match.group(2)), False
    match = _DAY_OF_MONTH_ONLY.search(text)
    if match:
        return _next_day_of_month(today, int(match.group(1))), False
    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": now, "RETURN_TIME_AS_PERIOD": True}
    found = search_dates(text, languages=["en"], settings=settings) or []
    parser = DateDataParser(languages=["en"], settings=settings)
    for phrase, _ in found:
        data = parser.get_date_data(phrase)
        if data.date_obj is None:
            continue
        if data.period in ("day", "time"):
            return data.date_obj.date(), False
        return None, True
    return None, False


def parse_when(text: str, now: dt.datetime) -> When:
    """Reads a day and a time from what the person wrote (``now`` is the clinic's local time)."""
    normalised = _normalise(text)
    time, remaining = _take_time(normalised)
    day, vague = _take_day(remaining, now)
    return When(day=day, time=time, vague_day=vague)


def describe(day: dt.date, time: Optional[str], this_year: Optional[int] = None) -> str:
    """E.g. "Tuesday 24 November at 3:00 pm" or "Friday 27 November, morning"."""
    text = f"{day:%A} {day.day} {day:%B}"
    if this_year is not None and day.year != this_year:
        text += f" {day.year}"
    if not time:
        return text
    if time in PARTS_OF_DAY:
        return f"{text}, {time}"
    clock = dt.time.fromisoformat(time)
    return f"{text} at {_clock(clock)}"


def _clock(value: dt.time) -> str:
    return f"{value.hour % 12 or 12}:{value.minute:02d} {'am' if value.hour < 12 else 'pm'}"


def problem_with_day(day: dt.date, clinic: Clinic, now: dt.datetime) -> Optional[str]:
    """Why the clinic can't take a request for ``day``, or None when it can."""
    if day < now.date():
        return f"{describe(day, None, now.year)} has already passed."
    if day > now.date() + dt.timedelta(days=clinic.days_ahead):
        return f"We take requests up to {clinic.days_ahead} days ahead."
    if clinic.hours_on(day) is None:
        open_days = [d.capitalize() + "s" for d in WEEKDAYS if clinic.opening_hours[d] != "closed"]
        return f"We're closed on {day:%A}s. We're open {', '.join(open_days[:-1])} and {open_days[-1]}."
    return None


def problem_with_time(day: dt.date, time: str, clinic: Clinic, now: dt.datetime) -> Optional[str]:
    """Why ``time`` on ``day`` doesn't work (outside opening hours, already gone), or None."""
    hours = clinic.hours_on(day)
    if hours is None:
        return problem_with_day(day, clinic, now)
    opens, closes = hours
    last_start = (
        dt.datetime.combine(day, closes) - dt.timedelta(minutes=clinic.last_start_before_closing_minutes)
    ).time()
    hours_text = f"On {day:%A}s we take appointments from {_clock(opens)} to {_clock(last_start)}."
    if time in PARTS_OF_DAY:
        window_start, window_end = PARTS_OF_DAY[time]
        earliest = max(window_start, opens)
        latest = min(window_end, last_start)
        if day == now.date():
            earliest = max(earliest, now.time())
        if earliest > latest:
            if day == now.date() and max(window_start, opens) <= latest:
                return f"That part of today has already gone. {hours_text}"
            return f"We're not open {'then' if time == ANY_TIME else 'in the ' + time} on that day. {hours_text}"
        return None
    start = dt.time.fromisoformat(time)
    if not opens <= start <= last_start:
        return f"{_clock(start)} is outside our hours. {hours_text}"
    if day == now.date() and start <= now.time():
        return f"{_clock(start)} today has already passed."
    return None
