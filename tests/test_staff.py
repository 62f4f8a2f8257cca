"""`python -m staff`: what clinic staff see of bookings, referrals and escalations."""
import csv
import datetime as dt
import io
import os
import subprocess
import sys

import pytest

from actions import store
from tests.conftest import PROJECT_DIR

DAY = dt.date(2026, 11, 24)


@pytest.fixture
def records(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    db = store.engine(url)
    kept = store.create_booking("a", "c1", "rest", "sports massage", DAY, "15:00", "Ana Lima", "ana@example.com", "=HYPERLINK(\"x\")", db=db)
    gone = store.create_booking("b", "c2", "socketio", "relaxation massage", DAY, "morning", "Bo Chen", "+14155552671", db=db)
    store.cancel_booking(gone["reference"], "+14155552671", db=db)
    store.create_referral("r", "c3", "rest", "urgent", "injury", "I fell off a ladder", "Cy Diaz", "+12125550187", db=db)
    store.record_escalation("c3", "rest", "urgent", "injury", ["fell"], "I fell off a ladder", db=db)
    db.dispose()
    store.engine.cache_clear()
    yield {"file": tmp_path / "clinic.db", "kept": kept, "gone": gone}


def staff(records, *args):
    env = dict(os.environ, CLINIC_SQLITE_FILE=str(records["file"]), DATABASE_URL="")
    result = subprocess.run([sys.executable, "-m", "staff", *args], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True, timeout=120)
    return result


def test_bookings_table_shows_what_the_clinic_acts_on(records):
    out = staff(records, "bookings").stdout
    assert records["kept"]["reference"] in out and records["gone"]["reference"] in out
    assert "sports massage" in out and "ana@example.com" in out and "2 bookings" in out


def test_status_and_day_filters(records):
    out = staff(records, "bookings", "--status", "requested").stdout
    assert records["kept"]["reference"] in out and records["gone"]["reference"] not in out
    today = dt.datetime.now(dt.timezone.utc).date()
    assert "0 bookings" in staff(records, "bookings", "--since", str(today + dt.timedelta(days=1))).stdout
    assert "2 bookings" in staff(records, "bookings", "--since", str(today), "--until", str(today)).stdout


def test_csv_export_has_every_field_and_defuses_formulas(records):
    rows = list(csv.DictReader(io.StringIO(staff(records, "bookings", "--csv").stdout)))
    assert [row["reference"] for row in rows] == [records["kept"]["reference"], records["gone"]["reference"]]
    assert rows[0]["reason"] == "'=HYPERLINK(\"x\")"
    assert rows[1]["phone"] == "+14155552671" and rows[1]["status"] == "cancelled"


def test_referrals_and_escalations(records):
    assert "RF-" in staff(records, "referrals").stdout
    escalations = list(csv.DictReader(io.StringIO(staff(records, "escalations", "--csv").stdout)))
    assert escalations[0]["message"] == "I fell off a ladder" and escalations[0]["matched"] == "fell"


def test_bad_arguments_get_a_clear_message(records):
    result = staff(records, "bookings", "--since", "yesterday")
    assert result.returncode == 2 and "is not a date like" in result.stderr
    assert "unrecognized arguments: --status" in staff(records, "escalations", "--status", "requested").stderr
    assert "invalid choice" in staff(records, "bookings", "--status", "lost").stderr


def test_staff_record_what_they_decided(records):
    reference = records["kept"]["reference"]
    assert f"{reference} is now confirmed" in staff(records, "mark", reference.lower(), "confirmed").stdout
    out = staff(records, "bookings", "--status", "confirmed").stdout
    assert reference in out and "1 bookings" in out
    assert "referrals can be" in staff(records, "mark", "RF-ZZZZ", "confirmed").stderr
    assert "no booking or referral has the reference" in staff(records, "mark", "BK-ZZZZ", "confirmed").stderr
    assert records["gone"]["reference"] in staff(records, "bookings", "--status", "cancelled").stdout  # untouched
