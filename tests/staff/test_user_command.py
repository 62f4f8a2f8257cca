"""`python -m staff user ...`: the staff console's accounts, as the clinic's administrator makes them."""

import os
import pty
import select
import subprocess
import sys
import time

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


def staff_at_a_terminal(clinic_db, *args, answers=()):
    """Runs the command in a terminal of its own (getpass reads the terminal, not stdin), typing
    each answer once its prompt appears; returns what the terminal showed and the exit code."""
    env = dict(os.environ, CLINIC_SQLITE_FILE=str(clinic_db), DATABASE_URL="")
    pid, terminal = pty.fork()
    if pid == 0:  # the command, in the new terminal; never back into pytest
        try:
            os.chdir(PROJECT_DIR)
            os.execve(sys.executable, [sys.executable, "-m", "staff", *args], env)
        finally:
            os._exit(127)
    shown, pending, answered_up_to = b"", list(answers), 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not select.select([terminal], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(terminal, 1024)
        except OSError:  # the command has ended and closed the terminal
            break
        shown += chunk
        if pending and shown[answered_up_to:].endswith(b": "):
            os.write(terminal, pending.pop(0).encode() + b"\n")
            answered_up_to = len(shown)
    os.close(terminal)
    _, status = os.waitpid(pid, 0)
    return shown.decode(), os.waitstatus_to_exitcode(status)


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


def test_user_add_asks_for_the_password_twice_without_showing_it(clinic_db):
    shown, code = staff_at_a_terminal(clinic_db, "user", "add", "ana", "--role", "editor", answers=[PASSWORD, PASSWORD])
    assert code == 0 and "Password (at least 12 characters):" in shown and "The same password again:" in shown
    assert "Added ana (editor)" in shown and PASSWORD not in shown  # not echoed
    shown, code = staff_at_a_terminal(clinic_db, "user", "add", "bo", "--role", "editor", answers=[PASSWORD, "typo"])
    assert code == 2 and "the two passwords differ" in shown
    assert [row["name"] for row in stored_accounts(clinic_db)] == ["ana"]


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
