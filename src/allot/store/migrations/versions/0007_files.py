"""CSV files: sales history, import jobs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 02:30:00
"""
import sqlalchemy as sa  # noqa: F401 - used once the revision has content
from alembic import op  # noqa: F401

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
