"""Daily and monthly figure counts: codes and numbers only, no personal data (bot/storage/figures.py)

Revision ID: f3a9c6e1d274
Revises: e5c81a7d3f42
Create Date: 2026-11-30 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f3a9c6e1d274"
down_revision: str | None = "e5c81a7d3f42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "figure_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("area", sa.String(length=20), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "event", "area", "dimension", "value"),
    )
    op.create_table(
        "figure_month_counts",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("area", sa.String(length=20), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "event", "area", "dimension", "value"),
    )


def downgrade() -> None:
    op.drop_table("figure_month_counts")
    op.drop_table("figure_counts")
