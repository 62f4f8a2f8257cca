"""`python -m staff user ...`: the staff console's accounts, as the clinic's administrator makes them."""

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from settings import PROJECT_DIR
from staff import accounts

PASSWORD = "correct horse battery"


@pytest.fixture
def clinic_db(tmp_path):
    return tmp_path / "clinic.db"


def staff(clinic_db, *args, password=None):
    env = dict(os.environ, CLINIC_SQLITE_FILE=str(clinic_db), DATABASE_URL="")
    return subprocess.run(
        [sys.executable, "-m", "staff", *args],
        cwd=PROJECT_DIR,
        env=env,
        input=None if password is None else password + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )


def stored_accounts(clinic_db):
    db = sa.create_engine(f"sqlite:///{clinic_db}", future=True)
    with db.connect() as connection:
        rows = [dict(row) for row in connection.execute(sa.text("SELECT * FROM staff_accounts")).mappings()]
    db.dispose()
    return rows


def test_user_add_stores_a_hash_not_the_password(clinic_db):
    result = staff(clinic_db, "user", "add", "Maria", "--role", "reviewer", "--password-stdin", password=PASSWORD)
    assert result.returncode == 0 and "Added maria (reviewer)" in result.stdout
    [row] = stored_accounts(clinic_db)
    assert row["name"] == "maria" and row["role"] == "reviewer"
    assert row["password_hash"].startswith("$argon2id$") and PASSWORD not in row["password_hash"]
    assert PASSWORD not in result.stdout + result.stderr


def test_short_passwords_unknown_roles_and_repeated_names_are_refused(clinic_db):
    short = staff(clinic_db, "user", "add", "tom", "--role", "editor", "--password-stdin", password="elevenchars")
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    wrong_role = staff(clinic_db, "user", "add", "tom", "--role", "admin", "--password-stdin", password=PASSWORD)
    assert wrong_role.returncode == 2 and "invalid choice: 'admin'" in wrong_role.stderr
    added = staff(clinic_db, "user", "add", "tom", "--role", "editor", "--password-stdin", password=PASSWORD)
    assert added.returncode == 0
    again = staff(clinic_db, "user", "add", "Tom", "--role", "publisher", "--password-stdin", password=PASSWORD)
    assert again.returncode == 2 and "an account named tom exists already" in again.stderr
    assert [(row["name"], row["role"]) for row in stored_accounts(clinic_db)] == [("tom", "editor")]


def test_list_and_remove(clinic_db):
    for name, role in (("ana", "publisher"), ("bo", "reviewer")):
        staff(clinic_db, "user", "add", name, "--role", role, "--password-stdin", password=PASSWORD)
    db = sa.create_engine(f"sqlite:///{clinic_db}", future=True)
    bo = accounts.check_sign_in("bo", PASSWORD, "127.0.0.1", db=db).account
    assert bo is not None and bo.role == "reviewer"
    token = accounts.start_session(bo, db=db)
    listing = staff(clinic_db, "user", "list").stdout
    assert "ana" in listing and "publisher" in listing and "bo" in listing and "reviewer" in listing
    assert "Removed bo" in staff(clinic_db, "user", "remove", "bo").stdout
    assert accounts.session_account(token, db=db) is None  # signed out with the account
    assert "bo" not in staff(clinic_db, "user", "list").stdout.split()
    assert "there is no account named bo" in staff(clinic_db, "user", "remove", "bo").stderr
    db.dispose()
