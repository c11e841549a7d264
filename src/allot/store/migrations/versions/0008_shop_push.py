"""availability pushed to the shop

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 02:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('shop_push_channels',
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('cursor', sa.BigInteger(), nullable=False),
    sa.Column('shop', sa.String(length=300), nullable=False),
    sa.Column('last_push_at', STAMP, nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('last_error_at', STAMP, nullable=True),
    sa.PrimaryKeyConstraint('channel', name=op.f('pk_shop_push_channels'))
    )
    op.create_table('shop_pushes',
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('wanted', sa.BigInteger(), nullable=False),
    sa.Column('pushed', sa.BigInteger(), nullable=False),
    sa.Column('claimed', sa.BigInteger(), nullable=True),
    sa.Column('lease_until', STAMP, nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', STAMP, nullable=False),
    sa.Column('shop_ref', sa.String(length=300), nullable=True),
    sa.Column('missing', sa.Boolean(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('pushed_at', STAMP, nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('channel', 'sku', name=op.f('pk_shop_pushes'))
    )
    with op.batch_alter_table('shop_pushes', schema=None) as batch_op:
        batch_op.create_index('ix_shop_pushes_due', ['next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shop_pushes', schema=None) as batch_op:
        batch_op.drop_index('ix_shop_pushes_due')
    op.drop_table('shop_pushes')
    op.drop_table('shop_push_channels')
