"""The clinic's records, against SQLite and a real PostgreSQL server."""

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clinic import records
from staff import accounts, audit

DAY = dt.date(2026, 11, 24)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def db(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'clinic.db'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    engine = records.engine(url)
    yield engine
    engine.dispose()
    records.engine.cache_clear()


def book(db, key="conversation-1:booking_form:1", **changes):
    values = dict(
        request_key=key,
        conversation_id="conversation-1",
        channel="rest",
        treatment="deep tissue massage",
        preferred_day=DAY,
        preferred_time="afternoon",
        name="Maria O'Neill",
        contact="+14155552671",
        reason="stiff lower back",
        db=db,
    )
    values.update(changes)
    return records.create_booking(**values)


def test_migrations_build_exactly_the_schema_the_code_uses(db):
    # The clinic's tables and the staff console's (staff/accounts.py, staff/audit.py) share the migrations.
    described = [records.metadata, accounts.metadata, audit.metadata]
    with db.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), described) == []


def test_a_booking_is_stored_with_a_reference(db):
    booking = book(db)
    assert booking["reference"].startswith("BK-") and booking["status"] == "requested"
    [row] = records.list_records("bookings", db=db)
    assert row["name"] == "Maria O'Neill" and row["phone"] == "+14155552671" and row["email"] is None
    assert row["preferred_day"] == DAY and row["preferred_time"] == "afternoon"


def test_a_repeated_confirm_returns_the_same_booking(db):
    first = book(db)
    again = book(db)
    assert again["reference"] == first["reference"]
    assert len(records.list_records("bookings", db=db)) == 1


def test_parallel_confirms_of_one_request_store_one_booking(db):
    references = []

    def confirm():
        references.append(book(db)["reference"])

    threads = [threading.Thread(target=confirm) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(references)) == 1 and len(references) == 8
    assert len(records.list_records("bookings", db=db)) == 1


def test_a_taken_reference_is_never_reused(db, monkeypatch):
    first = book(db, key="a")
    offered = iter([first["reference"], first["reference"], "BK-NEW2"])
    monkeypatch.setattr(records, "new_reference", lambda prefix: next(offered))
    second = book(db, key="b")
    assert second["reference"] == "BK-NEW2"
    assert len(records.list_records("bookings", db=db)) == 2


def test_many_bookings_get_unique_references(db):
    references = {book(db, key=f"k{i}")["reference"] for i in range(150)}
    assert len(references) == 150


def test_cancel_needs_the_contact_given_with_the_booking(db):
    booking = book(db, contact="anna@example.com")
    assert records.cancel_booking(booking["reference"], "+14155552671", db=db) is None
    assert records.cancel_booking("BK-ZZZZ", "anna@example.com", db=db) is None
    assert records.list_records("bookings", db=db)[0]["status"] == "requested"
    cancelled = records.cancel_booking(booking["reference"], "anna@example.com", db=db)
    assert cancelled["status"] == "cancelled"
    assert records.list_records("bookings", status="cancelled", db=db)[0]["reference"] == booking["reference"]


def test_hostile_text_is_stored_as_text(db):
    symptoms = "'); DROP TABLE referrals; -- <script>alert(1)</script> 🙂 \u0645\u0631\u062d\u0628\u0627"
    referral = records.create_referral(
        request_key="r1",
        conversation_id="c",
        channel="socketio",
        level="urgent",
        category="injury",
        symptoms=symptoms,
        name="Ana",
        contact="ana@example.com",
        db=db,
    )
    assert referral["reference"].startswith("RF-")
    assert records.list_records("referrals", db=db)[0]["symptoms"] == symptoms
    assert len(records.list_records("bookings", db=db)) == 0  # the tables are all still there


def test_listing_filters_by_day_and_status(db):
    book(db, key="a")
    book(db, key="b")
    today = dt.datetime.now(dt.timezone.utc).date()
    assert len(records.list_records("bookings", since=today, until=today, db=db)) == 2
    assert records.list_records("bookings", since=today + dt.timedelta(days=1), db=db) == []
    assert records.list_records("bookings", until=today - dt.timedelta(days=1), db=db) == []
    assert records.list_records("bookings", status="cancelled", db=db) == []


def test_a_database_from_before_migrations_is_adopted(tmp_path):
    """var/clinic.db files made by earlier versions (escalations only, no version table)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = sa.create_engine(url)
    with old.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE escalations (id INTEGER PRIMARY KEY, created_at DATETIME NOT NULL, "
                "conversation_id VARCHAR(255) NOT NULL, channel VARCHAR(64) NOT NULL, level VARCHAR(16) NOT NULL, "
                "category VARCHAR(64) NOT NULL, matched TEXT NOT NULL, message TEXT NOT NULL)"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO escalations VALUES "
                """(1, '2026-11-01 10:00:00', 'c', 'rest', 'urgent', 'injury', '["fell"]', 'I fell')"""
            )
        )
    try:
        db = records.engine(url)
        assert records.list_records("escalations", db=db)[0]["message"] == "I fell"
        assert book(db)["reference"].startswith("BK-")
    finally:
        records.engine.cache_clear()


def test_staff_set_a_status_within_the_allowed_ones(db):
    booking = book(db)
    assert records.set_status(booking["reference"].lower(), "confirmed", db=db)["status"] == "confirmed"
    with pytest.raises(ValueError):
        records.set_status(booking["reference"], "arranged", db=db)
    assert records.set_status("BK-ZZZZ", "confirmed", db=db) is None
    assert records.set_status("XX-1234", "confirmed", db=db) is None
    assert records.list_records("bookings", status="confirmed", db=db)[0]["reference"] == booking["reference"]
