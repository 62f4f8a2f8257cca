"""Staff console accounts, their sign-in sessions and sign-in attempts (staff/accounts.py).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("staff_accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "staff_sign_in_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_name", sa.String(64), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
    )
    op.create_index(
        "ix_staff_sign_in_attempts_account_name", "staff_sign_in_attempts", ["account_name", "attempted_at"]
    )
    op.create_index(
        "ix_staff_sign_in_attempts_client_address", "staff_sign_in_attempts", ["client_address", "attempted_at"]
    )


def downgrade() -> None:
    op.drop_table("staff_sign_in_attempts")
    op.drop_table("staff_sessions")
    op.drop_table("staff_accounts")
