"""trust, round two: sessions, hold caps

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 02:30:00
"""
import sqlalchemy as sa  # noqa: F401 - used once the revision has content
from alembic import op  # noqa: F401

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
