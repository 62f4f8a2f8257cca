"""No personal data in logs at INFO or above, whoever logs it (clinic/log_privacy.py)."""

import io
import logging

import pytest
import sqlalchemy as sa

from clinic import log_privacy


@pytest.fixture
def log():
    log_privacy.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("some.library")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.removeHandler(handler)


def test_contacts_are_replaced_in_info_and_above(log):
    logger, stream = log
    logger.info("booking for %s at %s", "ann.lee@example.com", "+1 (415) 555-2671")
    logger.warning("call me on +44 20 7946 0958 or 415.555.0199 please")
    written = stream.getvalue()
    assert "ann.lee" not in written and "555-2671" not in written and "7946" not in written and "0199" not in written
    assert "booking for <e-mail> at <phone>" in written


def test_debug_lines_and_ordinary_numbers_are_left_alone(log):
    logger, stream = log
    logger.debug("debug keeps %s", "ann.lee@example.com")
    logger.info("Loaded model 20261204-133700 in 12.5 s on port 5005")
    assert stream.getvalue() == "debug keeps ann.lee@example.com\nLoaded model 20261204-133700 in 12.5 s on port 5005\n"


def test_a_failed_statement_does_not_quote_its_row(log, tmp_path):
    logger, stream = log
    person = "Maria " + "Quill"  # not spelt whole here: the traceback quotes this file's lines
    db = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with db.begin() as connection:
        connection.execute(sa.text("CREATE TABLE people (name TEXT UNIQUE)"))
        connection.execute(sa.text("INSERT INTO people VALUES (:name)"), {"name": person})
    try:
        with db.begin() as connection:
            connection.execute(sa.text("INSERT INTO people VALUES (:name)"), {"name": person})
    except sa.exc.IntegrityError:
        logger.exception("Could not store")
    written = stream.getvalue()
    assert "UNIQUE constraint failed" in written and person not in written
