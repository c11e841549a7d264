"""drops: skus.wake_at, so that the sweeper offers units when a window opens

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 09:30:00
"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)
SKUS = sa.table('skus', sa.column('id', sa.BigInteger()), sa.column('summary', sa.JSON()),
                sa.column('wake_at', Stamp))


def upgrade() -> None:
    with op.batch_alter_table('skus', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wake_at', Stamp, nullable=True))
        batch_op.create_index('ix_skus_wake_at', ['wake_at'], unique=False,
                              postgresql_where=sa.text('wake_at IS NOT NULL'),
                              sqlite_where=sa.text('wake_at IS NOT NULL'))
    # SKUs already waiting for an opening: their summaries say when.
    conn = op.get_bind()
    opening = SKUS.c.summary['next_opening'].as_string()
    due = conn.execute(sa.select(SKUS.c.id, opening).where(opening.is_not(None))).all()
    for sku_id, when in due:
        conn.execute(sa.update(SKUS).where(SKUS.c.id == sku_id).values(wake_at=datetime.fromisoformat(when)))


def downgrade() -> None:
    with op.batch_alter_table('skus', schema=None) as batch_op:
        batch_op.drop_index('ix_skus_wake_at', postgresql_where=sa.text('wake_at IS NOT NULL'),
                            sqlite_where=sa.text('wake_at IS NOT NULL'))
        batch_op.drop_column('wake_at')
