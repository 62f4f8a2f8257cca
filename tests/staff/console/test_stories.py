"""Conversation paths built in the console without YAML (staff/console/stories.py): what they
write into the project copy, read back with Rasa's own readers, and what they refuse."""

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.training_data.loading import load_data

from settings import PROJECT_DIR
from tests.support.console import BIKE_PARKING, StaffConsole

PASSWORD = "a long clinic password"


@pytest.fixture
def builder(console: StaffConsole) -> StaffConsole:
    console.add_user("eddie", "editor", PASSWORD)
    console.add_user("rita", "reviewer", PASSWORD)
    return console


def build(console: StaffConsole, name: str, **fields: str):
    browser = console.browser()
    console.sign_in(browser, name, PASSWORD)
    form = browser.get(f"{console.url}/stories/new", timeout=30)
    if form.status_code != 200:
        return form
    return console.post_form(browser, form, "/stories/new", **fields)


def test_a_new_reply_with_buttons_becomes_an_intent_a_response_and_a_rule(builder):
    saved = build(
        builder,
        "eddie",
        phrasings="\n".join(BIKE_PARKING),
        kind="new",
        intent="bike_parking",
        description="where to leave a bike",
        text="There is a bike rack right by our door at {clinic_address}.",
        buttons="Opening hours = clinic_hours\nContact the clinic = clinic_contact",
    )
    assert saved.url.endswith("/changes") and "intent bike_parking and utter_bike_parking" in saved.text
    project = builder.project_dir
    nlu = load_data(str(project / "data/staff/nlu.yml"))
    assert sorted(e.get("text") for e in nlu.intent_examples) == sorted(BIKE_PARKING)
    domain = Domain.load(str(project / "domain.yml"))
    assert "bike_parking" in domain.intents
    [reply] = domain.responses["utter_bike_parking"]
    assert reply["text"] == "There is a bike rack right by our door at {clinic_address}."
    assert reply["buttons"] == [
        {"title": "Opening hours", "payload": "/clinic_hours"},
        {"title": "Contact the clinic", "payload": "/clinic_contact"},
    ]
    rules = (project / "data/staff/rules.yml").read_text()
    assert "- rule: where to leave a bike\n" in rules and "- intent: bike_parking\n" in rules
    assert "- action: utter_bike_parking\n" in rules
    # The domain's own layout stays: the new intent sits under its own heading, before the red flags.
    domain_text = (project / "domain.yml").read_text()
    assert "  # --- built in the staff console (data/staff/)" in domain_text
    assert domain_text.index("  - bike_parking\n") < domain_text.index("  - red_flag_emergency\n")


def test_a_booking_path_joins_the_booking_intent_so_the_red_flag_gates_still_apply(builder):
    saved = build(builder, "eddie", phrasings="can u fit me in for a rub down thursday", kind="booking")
    assert saved.status_code == 200
    nlu = load_data(str(builder.project_dir / "data/staff/nlu.yml"))
    assert [(e.get("intent"), e.get("text")) for e in nlu.intent_examples] == [
        ("book_appointment", "can u fit me in for a rub down thursday")
    ]
    # No new intent: "no massage booking after an emergency" is written for book_appointment.
    assert not (builder.project_dir / "data/staff/rules.yml").exists()
    assert (builder.project_dir / "domain.yml").read_text() == (PROJECT_DIR / "domain.yml").read_text()


@pytest.mark.parametrize(
    "fields, complaint",
    [
        (dict(phrasings="\n".join(BIKE_PARKING[:3]), kind="new", intent="bike_parking", text="x"), "at least 10"),
        (
            dict(phrasings="\n".join(BIKE_PARKING), kind="existing", intent="greet", response="utter_greet"),
            "already has an intent named greet",
        ),
        (dict(phrasings="Book me in", kind="booking"), "is already an example of book_appointment"),
        (dict(phrasings="book me for ana, 415 555 2671", kind="booking"), "contains a phone number"),
        (
            dict(
                phrasings="\n".join([*BIKE_PARKING[:9], "I can't feel anything down there and I wet myself"]),
                kind="existing",
                intent="bike_parking",
                response="utter_clinic_location",
            ),
            "describes a red flag (emergency)",
        ),
        (
            dict(
                phrasings="\n".join(BIKE_PARKING),
                kind="existing",
                intent="bike_parking",
                response="utter_red_flag_emergency",
            ),
            "Choose one of the assistant",
        ),
    ],
)
def test_what_a_path_may_not_be(builder, fields, complaint):
    before = (builder.project_dir / "domain.yml").read_text()
    refused = build(builder, "eddie", **fields)
    assert refused.status_code == 400 and complaint in refused.text
    assert (builder.project_dir / "domain.yml").read_text() == before
    assert not (builder.project_dir / "data/staff").exists()


def test_reviewers_cannot_build_paths(builder):
    assert build(builder, "rita", phrasings="hi", kind="booking").status_code == 403
