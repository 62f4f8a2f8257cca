"""Clinic details: one file, read by every response."""

import pytest
import yaml

from clinic.details import PLACEHOLDERS, ClinicDetailsError, load_clinic, parse_details
from settings import PROJECT_DIR


def details(**overrides):
    raw = yaml.safe_load((PROJECT_DIR / "clinic" / "details.yml").read_text())
    raw.update(overrides)
    return raw


@pytest.mark.parametrize(
    "overrides, complaint",
    [
        ({"phone": ""}, "phone"),
        ({"emergency_number": None}, "emergency_number"),
        ({"opening_hours": {"monday": "9-5"}}, "weekday"),
        ({"services": []}, "services"),
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": "90 days"}, "retention_days"),
        ({"records_kept_days": -1}, "records_kept_days"),
    ],
)
def test_incomplete_details_are_refused(overrides, complaint):
    with pytest.raises(ClinicDetailsError, match=complaint):
        parse_details(details(**overrides))


def test_opening_hours_are_listed_monday_to_sunday():
    lines = parse_details(details()).opening_hours_text().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]


def test_every_documented_placeholder_has_a_value():
    values = load_clinic().placeholders()
    assert set(values) == set(PLACEHOLDERS) and all(values.values())


def test_an_answer_the_clinic_has_not_filled_in_sends_people_to_the_clinic():
    clinic = parse_details(details(answers={"tipping": "Tipping is never expected.", "parking": ""}))
    values = clinic.placeholders()
    assert values["clinic_answer_tipping"] == "Tipping is never expected."
    for unanswered in ("clinic_answer_parking", "clinic_answer_insurance"):
        assert clinic.phone in values[unanswered] and clinic.email in values[unanswered]
        assert "don't have that information" in values[unanswered]


def test_answers_to_questions_the_assistant_does_not_know_are_refused():
    with pytest.raises(ClinicDetailsError, match="not for opening_times"):
        parse_details(details(answers={"opening_times": "9 to 5"}))


def test_how_long_personal_data_is_kept_comes_from_the_details():
    clinic = parse_details(details(retention_days=30, records_kept_days=3650))
    assert (clinic.retention_days, clinic.records_kept_days) == (30, 3650)
    assert (load_clinic().retention_days, load_clinic().records_kept_days) == (90, 2555)


def test_the_clinics_answers_may_use_its_details_and_keep_other_braces():
    raw = details(retention_days=30)
    raw["answers"]["tipping"] = "Call {clinic_phone}; {not_a_detail} stays; kept {clinic_retention_days} days"
    clinic = parse_details(raw)
    assert (
        clinic.placeholders()["clinic_answer_tipping"] == f"Call {clinic.phone}; {{not_a_detail}} stays; kept 30 days"
    )
