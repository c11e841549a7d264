"""storefront connections, ingested deliveries, order emails and shop line ids

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 02:30:00
"""
import sqlalchemy as sa  # noqa: F401 - used once the revision has content
from alembic import op  # noqa: F401

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
