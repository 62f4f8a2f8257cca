"""The staff console's audit log: who changed which project file, when, with the diff (staff/audit.py).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_name", sa.String(64), nullable=False),
        sa.Column("summary", sa.String(255), nullable=False),
        sa.Column("path", sa.String(255), nullable=False),
        sa.Column("diff", sa.Text, nullable=False),
    )
    op.create_index("ix_staff_changes_changed_at", "staff_changes", ["changed_at"])


def downgrade() -> None:
    op.drop_table("staff_changes")
