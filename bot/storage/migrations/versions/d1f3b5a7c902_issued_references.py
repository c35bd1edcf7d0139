"""References are never given twice, even after their request is deleted

Revision ID: d1f3b5a7c902
Revises: c4a9d2e81b35
Create Date: 2026-11-30 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d1f3b5a7c902"
down_revision: str | None = "c4a9d2e81b35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "issued_references",
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("reference"),
    )
    op.execute("INSERT INTO issued_references (reference) SELECT reference FROM callback_requests")


def downgrade() -> None:
    op.drop_table("issued_references")
