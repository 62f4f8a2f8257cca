"""Names, phone numbers, e-mail addresses, treatments, reasons and references."""

import pytest

from booking import details

SERVICES = (
    "therapeutic massage",
    "deep tissue massage",
    "sports massage",
    "relaxation massage",
    "physiotherapy assessment",
)


@pytest.mark.parametrize(
    "text, service",
    [
        ("deep tissue please", "deep tissue massage"),
        ("Deep-tissue", "deep tissue massage"),
        ("a relaxing one", "relaxation massage"),
        ("sport massage", "sports massage"),
        ("physio", "physiotherapy assessment"),
        ("Therapeutic massage", "therapeutic massage"),
        ("massage", None),  # which one?
        ("hot stones", None),
        ("", None),
    ],
)
def test_treatments_are_matched_to_the_clinic_services(text, service):
    assert details.match_treatment(text, SERVICES) == service


@pytest.mark.parametrize(
    "text, name",
    [
        ("Anna Smith", "Anna Smith"),
        ("my name is Maria O'Neill", "Maria O'Neill"),
        ("I'm Jean-Luc", "Jean-Luc"),
        ("  Zoë   Brontë ", "Zoë Brontë"),
        ("李小龙", "李小龙"),
        ("Dr. K. Patel", "Dr. K. Patel"),
    ],
)
def test_names_are_accepted_and_cleaned(text, name):
    assert details.check_name(text) == (name, None)


@pytest.mark.parametrize(
    "text, problem_says",
    [
        ("A" * 5000, "longer than a name"),
        ("Robert'); DROP TABLE bookings;--", "made of letters"),
        ("<script>alert(1)</script>", "made of letters"),
        ("R2D2", "made of letters"),
        ("", "didn't catch"),
        ("\x00\x00", "didn't catch"),
    ],
)
def test_bad_names_get_a_clear_problem_and_no_value(text, problem_says):
    name, problem = details.check_name(text)
    assert name is None and problem_says in problem


@pytest.mark.parametrize(
    "text, contact",
    [
        ("(415) 555-2671", "+14155552671"),
        ("call me on 212-555-0187 thanks", "+12125550187"),
        ("+1 202 456 1111", "+12024561111"),
        ("Anna@Example.com", "Anna@example.com"),
        ("it's anna.smith@mail.example.org", "anna.smith@mail.example.org"),
    ],
)
def test_phone_numbers_and_emails_are_normalised(text, contact):
    assert details.check_contact(text, "US") == (contact, None)


@pytest.mark.parametrize(
    "text, problem_says",
    [
        ("12345", "I need a phone number or an e-mail"),
        ("555 0100 2", "doesn't look complete"),
        ("anna@@example.com", "e-mail address doesn't look right"),
        ("bob@localhost", "e-mail address doesn't look right"),
        ("tomorrow", "I need a phone number or an e-mail"),
        ("x@y.com' OR '1'='1", "just a phone number"),
        ("9" * 5000, "just a phone number"),
    ],
)
def test_bad_contacts_get_a_clear_problem(text, problem_says):
    contact, problem = details.check_contact(text, "US")
    assert contact is None and problem_says in problem


def test_reason_is_optional_and_checked():
    assert details.check_reason("skip") == ("", None)
    assert details.check_reason("No.") == ("", None)
    assert details.check_reason("stiff neck after work") == ("stiff neck after work", None)
    assert details.check_reason("x" * 501)[0] is None
    assert details.check_reason("<b>pain</b>")[0] is None
    assert details.check_reason("'; DELETE FROM bookings; --")[0] is None
