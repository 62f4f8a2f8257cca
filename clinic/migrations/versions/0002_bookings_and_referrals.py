"""Booking requests and doctor / physiotherapist referral requests.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _request_columns():
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False, unique=True),
        sa.Column("request_key", sa.String(255), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32)),
        sa.Column("email", sa.String(320)),
    ]


def upgrade() -> None:
    op.create_table(
        "bookings",
        *_request_columns(),
        sa.Column("treatment", sa.String(100), nullable=False),
        sa.Column("preferred_day", sa.Date, nullable=False),
        sa.Column("preferred_time", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_table(
        "referrals",
        *_request_columns(),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("symptoms", sa.Text, nullable=False),
    )
    for table in ("bookings", "referrals"):
        op.create_index(f"ix_{table}_status", table, ["status"])
        op.create_index(f"ix_{table}_conversation_id", table, ["conversation_id"])


def downgrade() -> None:
    op.drop_table("referrals")
    op.drop_table("bookings")
