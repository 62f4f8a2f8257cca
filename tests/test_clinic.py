"""Clinic details: one file, read by every response."""
import asyncio

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from clinic import ClinicDetailsError, load_clinic, parse_details
from clinic.response_generator import ClinicResponseGenerator
from tests.conftest import PROJECT_DIR


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
    ],
)
def test_incomplete_details_are_refused(overrides, complaint):
    with pytest.raises(ClinicDetailsError, match=complaint):
        parse_details(details(**overrides))


def test_opening_hours_are_listed_monday_to_sunday():
    lines = parse_details(details()).opening_hours_text().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
    ]


async def _render(response_name: str) -> str:
    domain = Domain.load(str(PROJECT_DIR / "domain.yml"))
    generator = ClinicResponseGenerator(domain=domain)
    tracker = DialogueStateTracker.from_events("someone", [])
    message = await generator.generate(response_name, tracker, "rest")
    return message["text"]


@pytest.mark.parametrize("response_name", sorted(Domain.load(str(PROJECT_DIR / "domain.yml")).responses))
def test_every_response_has_its_placeholders_filled(response_name):
    text = asyncio.run(_render(response_name))
    assert "{" not in text and "}" not in text, text


def test_contact_reply_carries_the_configured_details():
    clinic = load_clinic()
    text = asyncio.run(_render("utter_clinic_contact"))
    for value in (clinic.phone, clinic.email, clinic.website, clinic.address):
        assert value in text


def test_replies_follow_the_details_file(tmp_path, monkeypatch):
    other = tmp_path / "details.yml"
    other.write_text(yaml.safe_dump(details(name="Lakeside Spine Care", emergency_number="112")))
    monkeypatch.setenv("CLINIC_DETAILS_FILE", str(other))
    load_clinic.cache_clear()
    try:
        text = asyncio.run(_render("utter_greet"))
    finally:
        load_clinic.cache_clear()
    assert "Lakeside Spine Care" in text and "112" in text


def test_every_documented_placeholder_has_a_value():
    from clinic import PLACEHOLDERS

    values = load_clinic().placeholders()
    assert set(values) == set(PLACEHOLDERS) and all(values.values())
