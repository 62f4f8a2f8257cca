"""Lists or exports what patients asked the clinic for: booking requests, referral requests
and red-flag escalations, from the same database the assistant writes (clinic/records.py),
and records what staff decided about a request.

    python -m staff bookings                          # a table of every booking request
    python -m staff bookings --status requested --since 2026-11-01
    python -m staff referrals --csv > referrals.csv   # CSV for a spreadsheet
    python -m staff escalations --since 2026-11-20 --until 2026-11-21
    python -m staff mark BK-7Q2M confirmed            # after calling the person back
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from typing import Any, Dict, List, Sequence, TextIO

from tabulate import tabulate

from clinic import records

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
    commands = parser.add_subparsers(dest="command", required=True, metavar="{bookings,referrals,escalations,mark}")
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
    return parser


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
