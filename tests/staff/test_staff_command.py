"""`python -m staff`: what clinic staff see of bookings, referrals and escalations."""

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys

import pytest

from clinic import records
from settings import PROJECT_DIR

DAY = dt.date(2026, 11, 24)


@pytest.fixture
def stored(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    db = records.engine(url)
    kept = records.create_booking(
        "a", "c1", "rest", "sports massage", DAY, "15:00", "Ana Lima", "ana@example.com", '=HYPERLINK("x")', db=db
    )
    gone = records.create_booking(
        "b", "c2", "socketio", "relaxation massage", DAY, "morning", "Bo Chen", "+14155552671", db=db
    )
    records.cancel_booking(gone["reference"], "+14155552671", db=db)
    records.create_referral(
        "r", "c3", "rest", "urgent", "injury", "I fell off a ladder", "Cy Diaz", "+12125550187", db=db
    )
    records.record_escalation("c3", "rest", "urgent", "injury", ["fell"], "I fell off a ladder", db=db)
    db.dispose()
    records.engine.cache_clear()
    yield {"file": tmp_path / "clinic.db", "tracker": tmp_path / "conversations.db", "kept": kept, "gone": gone}


def staff(stored, *args, answer=""):
    env = dict(
        os.environ, CLINIC_SQLITE_FILE=str(stored["file"]), TRACKER_SQLITE_FILE=str(stored["tracker"]), DATABASE_URL=""
    )
    result = subprocess.run(
        [sys.executable, "-m", "staff", *args],
        cwd=PROJECT_DIR,
        env=env,
        input=answer,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result


def test_bookings_table_shows_what_the_clinic_acts_on(stored):
    out = staff(stored, "bookings").stdout
    assert stored["kept"]["reference"] in out and stored["gone"]["reference"] in out
    assert "sports massage" in out and "ana@example.com" in out and "2 bookings" in out


def test_status_and_day_filters(stored):
    out = staff(stored, "bookings", "--status", "requested").stdout
    assert stored["kept"]["reference"] in out and stored["gone"]["reference"] not in out
    today = dt.datetime.now(dt.timezone.utc).date()
    assert "0 bookings" in staff(stored, "bookings", "--since", str(today + dt.timedelta(days=1))).stdout
    assert "2 bookings" in staff(stored, "bookings", "--since", str(today), "--until", str(today)).stdout


def test_csv_export_has_every_field_and_defuses_formulas(stored):
    rows = list(csv.DictReader(io.StringIO(staff(stored, "bookings", "--csv").stdout)))
    assert [row["reference"] for row in rows] == [stored["kept"]["reference"], stored["gone"]["reference"]]
    assert rows[0]["reason"] == '\'=HYPERLINK("x")'
    assert rows[1]["phone"] == "+14155552671" and rows[1]["status"] == "cancelled"


def test_referrals_and_escalations(stored):
    assert "RF-" in staff(stored, "referrals").stdout
    escalations = list(csv.DictReader(io.StringIO(staff(stored, "escalations", "--csv").stdout)))
    assert escalations[0]["message"] == "I fell off a ladder" and escalations[0]["matched"] == "fell"


def test_bad_arguments_get_a_clear_message(stored):
    result = staff(stored, "bookings", "--since", "yesterday")
    assert result.returncode == 2 and "is not a date like" in result.stderr
    assert "unrecognized arguments: --status" in staff(stored, "escalations", "--status", "requested").stderr
    assert "invalid choice" in staff(stored, "bookings", "--status", "lost").stderr


def test_staff_record_what_they_decided(stored):
    reference = stored["kept"]["reference"]
    assert f"{reference} is now confirmed" in staff(stored, "mark", reference.lower(), "confirmed").stdout
    out = staff(stored, "bookings", "--status", "confirmed").stdout
    assert reference in out and "1 bookings" in out
    assert "referrals can be" in staff(stored, "mark", "RF-ZZZZ", "confirmed").stderr
    assert "no booking or referral has the reference" in staff(stored, "mark", "BK-ZZZZ", "confirmed").stderr
    assert stored["gone"]["reference"] in staff(stored, "bookings", "--status", "cancelled").stdout  # untouched


def test_data_export_prints_everything_held_about_the_person_as_json(stored):
    result = staff(stored, "data", "export", "--phone", "(212) 555-0187")
    held = json.loads(result.stdout)
    assert [row["name"] for row in held["referrals"]] == ["Cy Diaz"]
    assert held["bookings"] == []
    assert [row["message"] for row in held["escalations"]] == ["I fell off a ladder"]


def test_data_erase_asks_first_then_anonymises_and_names_what_was_kept(stored):
    refused = staff(stored, "data", "erase", "--email", "ana@example.com", answer="no\n")
    assert refused.returncode == 1 and "Nothing was erased" in refused.stdout
    assert "Ana Lima" in staff(stored, "bookings").stdout

    erased = staff(stored, "data", "erase", "--email", "ANA@example.com", "--yes")
    assert erased.returncode == 0
    assert f"Anonymised {stored['kept']['reference']}" in erased.stdout
    assert "Ana Lima" not in staff(stored, "bookings", "--csv").stdout
    assert "Bo Chen" in staff(stored, "bookings", "--csv").stdout


def test_data_commands_refuse_what_is_not_a_contact(stored):
    result = staff(stored, "data", "export", "--phone", "tomorrow")
    assert result.returncode == 2 and result.stdout == ""


def test_retention_anonymises_nothing_within_the_record_period(stored):
    result = staff(stored, "retention")
    assert result.stdout == "0 conversation(s) deleted, 0 request(s) and 0 escalation(s) anonymised\n"
    assert "Ana Lima" in staff(stored, "bookings").stdout
