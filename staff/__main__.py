"""Lists or exports what patients asked the clinic for: booking requests, referral requests
and red-flag escalations, from the same database the assistant writes (clinic/records.py),
records what staff decided about a request, and runs the staff console and its accounts.

    python -m staff bookings                          # a table of every booking request
    python -m staff bookings --status requested --since 2026-11-01
    python -m staff referrals --csv > referrals.csv   # CSV for a spreadsheet
    python -m staff escalations --since 2026-11-20 --until 2026-11-21
    python -m staff mark BK-7Q2M confirmed            # after calling the person back
    python -m staff user add maria --role reviewer    # asks for the password twice
    python -m staff user list
    python -m staff user remove maria
    python -m staff console                           # the web console on STAFF_PORT (5002)
    python -m staff train [--full]                    # check, then train a candidate; prints its id last
    python -m staff gate ID                           # compare it with the live version; 0 passed, 3 refused
    python -m staff publish ID                        # put it live (refused unless its gate passed)
    python -m staff rollback [VERSION]                # back to the previous (or the named) published version
    python -m staff versions
    python -m staff data export --phone "+1 555 0100 222"   # an access request: everything held, as JSON
    python -m staff data erase --email ann@example.com       # an erasure request (asks first; --yes to skip)
    python -m staff retention                         # delete and anonymise what is past clinic/details.yml's periods
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import getpass
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence, TextIO

from tabulate import tabulate

from clinic import records
from settings import MODEL_FILE
from staff import accounts, data_requests, releases

# The columns of the table view, most useful first; CSV has every stored field.
TABLE_COLUMNS = {
    "bookings": [
        "reference",
        "created_at",
        "status",
        "treatment",
        "preferred_day",
        "preferred_time",
        "name",
        "phone",
        "email",
        "reason",
    ],
    "referrals": ["reference", "created_at", "status", "level", "category", "name", "phone", "email", "symptoms"],
    "escalations": ["created_at", "level", "category", "channel", "conversation_id", "matched", "message"],
}
MAX_CELL_WIDTH = 60
# A spreadsheet runs a cell starting with one of these as a formula; free text never should.
FORMULA_STARTS = ("=", "+", "-", "@")
FREE_TEXT = {"name", "reason", "symptoms", "message", "matched", "conversation_id"}


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-30") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m staff", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="{bookings,referrals,escalations,mark,user,console,train,gate,publish,rollback,versions,live-model,"
        "data,retention}",
    )
    for kind in TABLE_COLUMNS:
        listing = commands.add_parser(kind, help=f"list {kind}")
        listing.add_argument("--since", type=_day, help="created on or after this day (YYYY-MM-DD; times are UTC)")
        listing.add_argument("--until", type=_day, help="created on or before this day (YYYY-MM-DD, UTC)")
        if kind in records.STATUSES:
            listing.add_argument("--status", choices=records.STATUSES[kind], help="only requests in this status")
        listing.add_argument("--csv", action="store_true", help="every field as CSV instead of a table")
    mark = commands.add_parser("mark", help="set the status of a booking or referral")
    mark.add_argument("reference", help="BK-... or RF-...")
    mark.add_argument(
        "status",
        help="bookings: "
        + ", ".join(records.STATUSES["bookings"])
        + "; referrals: "
        + ", ".join(records.STATUSES["referrals"]),
    )
    user = commands.add_parser("user", help="add, list or remove staff console accounts")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="{add,list,remove}")
    add = user_commands.add_parser("add", help="create an account (asks for its password)")
    add.add_argument("name")
    add.add_argument(
        "--role",
        required=True,
        choices=accounts.ROLES,
        help="reviewer: reads conversations with names and contacts hidden; editor: also sees them, teaches "
        "the assistant and trains candidates; publisher: also publishes and rolls back",
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin (for scripts)"
    )
    user_commands.add_parser("list", help="list the accounts")
    remove = user_commands.add_parser("remove", help="remove an account and end its sessions")
    remove.add_argument("name")
    commands.add_parser("console", help="run the staff console, a web app on STAFF_PORT")
    releases_by = argparse.ArgumentParser(add_help=False)
    releases_by.add_argument("--by", default=getpass.getuser(), help="who does it, for the record (default: you)")
    train = commands.add_parser("train", parents=[releases_by], help="check the files, then train a candidate version")
    train.add_argument(
        "--full", action="store_true", help="train from scratch even when fine-tuning the live model would do"
    )
    commands.add_parser("gate", help="compare a candidate with the live version").add_argument("id")
    commands.add_parser("publish", parents=[releases_by], help="put a version that passed its gate live").add_argument(
        "id"
    )
    commands.add_parser("rollback", parents=[releases_by], help="go back to an earlier published version").add_argument(
        "version", nargs="?"
    )
    commands.add_parser("versions", help="list the versions")
    data = commands.add_parser("data", help="export or erase one person's data (access and erasure requests)")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="{export,erase}")
    for name, what in (
        ("export", "print everything held about the person as JSON"),
        ("erase", "anonymise their requests and delete their conversations"),
    ):
        data_command = data_commands.add_parser(name, parents=[releases_by], help=what)
        person = data_command.add_mutually_exclusive_group(required=True)
        person.add_argument("--phone", help="the phone number they gave")
        person.add_argument("--email", help="the e-mail address they gave")
        if name == "erase":
            data_command.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    commands.add_parser("retention", help="delete old conversations and anonymise old requests (clinic/details.yml)")
    live_model = commands.add_parser("live-model", help="print the model file the assistant should run")
    live_model.add_argument("--default", type=Path, default=MODEL_FILE, help="when no version is published")
    return parser


def _release_command(args: argparse.Namespace, out: TextIO) -> int:
    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        if args.command == "train":
            out.write(releases.train(args.by, progress, full=args.full).id + "\n")
        elif args.command == "gate":
            report = releases.gate(args.id, progress)
            out.write(json.dumps(report, indent=2) + "\n")
            out.write(("PASSED" if report["passed"] else "REFUSED: " + "; ".join(report["reasons"])) + "\n")
            return 0 if report["passed"] else releases.GATE_REFUSED_EXIT
        elif args.command == "publish":
            out.write(f"{releases.publish(args.id, args.by).id} is live\n")
        elif args.command == "rollback":
            out.write(f"{releases.rollback(args.by, args.version).id} is live again\n")
        else:
            out.write(tabulate(releases.describe(releases.all_versions()), headers="keys") + "\n")
    except releases.ReleaseError as problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    try:
        password = getpass.getpass(f"Password (at least {accounts.MIN_PASSWORD_LENGTH} characters): ")
        repeated = getpass.getpass("The same password again: ")
    except EOFError:
        raise accounts.AccountError("no password was typed") from None
    if repeated != password:
        raise accounts.AccountError("the two passwords differ")
    return password


def _user_command(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    try:
        if args.user_command == "add":
            account = accounts.add_account(args.name, args.role, _new_password(args.password_stdin))
            out.write(f"Added {account.name} ({account.role})\n")
        elif args.user_command == "list":
            rows = accounts.list_accounts()
            out.write(
                tabulate(
                    [[r["name"], r["role"], _shorten(r["created_at"])] for r in rows],
                    headers=["name", "role", "created_at"],
                )
                + "\n"
            )
        elif not accounts.remove_account(args.name):
            parser.error(f"there is no account named {args.name}")
        else:
            out.write(f"Removed {accounts.normalise_name(args.name)}\n")
    except accounts.AccountError as problem:
        parser.error(str(problem))
    return 0


def _data_command(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    contact = args.phone or args.email
    db = records.engine()
    try:
        if args.data_command == "export":
            out.write(json.dumps(data_requests.export(contact, args.by, db), indent=2, ensure_ascii=False) + "\n")
            return 0
        data_requests.contact_of(contact)  # a typing mistake is reported before the question
        if not args.yes:
            answer = input("Anonymise this person's requests and delete their conversations? Type yes: ")
            if answer.strip().lower() != "yes":
                out.write("Nothing was erased.\n")
                return 1
        out.write(data_requests.describe(data_requests.erase(contact, args.by, db)) + "\n")
    except data_requests.ContactError as problem:
        parser.error(str(problem))
    return 0


def _shorten(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    text = "" if value is None else ", ".join(value) if isinstance(value, list) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL_WIDTH else text[: MAX_CELL_WIDTH - 1] + "…"


def write_table(kind: str, rows: List[Dict[str, Any]], out: TextIO) -> None:
    columns = TABLE_COLUMNS[kind]
    out.write(tabulate([[_shorten(row.get(c)) for c in columns] for row in rows], headers=columns) + "\n")
    out.write(f"{len(rows)} {kind}\n")


def _csv_cell(column: str, value: Any) -> Any:
    if isinstance(value, list):
        value = "; ".join(value)
    if column in FREE_TEXT and isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(rows: List[Dict[str, Any]], out: TextIO) -> None:
    plain = [records.as_plain(row) for row in rows]
    if not plain:
        return
    writer = csv.DictWriter(out, fieldnames=list(plain[0]))
    writer.writeheader()
    for row in plain:
        writer.writerow({column: _csv_cell(column, value) for column, value in row.items()})


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "user":
        return _user_command(args, parser, out)
    if args.command == "live-model":
        current = releases.live()
        out.write(f"{current.model if current else args.default}\n")
        return 0
    if args.command in ("train", "gate", "publish", "rollback", "versions"):
        return _release_command(args, out)
    if args.command == "data":
        return _data_command(args, parser, out)
    if args.command == "retention":
        done = data_requests.retention()
        out.write(
            f"{done.conversations_deleted} conversation(s) deleted, {done.requests_anonymised} request(s) and "
            f"{done.escalations_anonymised} escalation(s) anonymised\n"
        )
        return 0
    if args.command == "console":
        from staff.console.app import serve  # Sanic and the templates only for this command

        serve()
        return 0
    if args.command == "mark":
        try:
            row = records.set_status(args.reference, args.status)
        except ValueError as problem:
            parser.error(str(problem))
        if row is None:
            parser.error(f"no booking or referral has the reference {args.reference}")
        out.write(f"{row['reference']} is now {row['status']}\n")
        return 0
    rows = records.list_records(args.command, since=args.since, until=args.until, status=getattr(args, "status", None))
    if args.csv:
        write_csv(rows, out)
    else:
        write_table(args.command, rows, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
