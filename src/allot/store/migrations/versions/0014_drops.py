"""drops: per-customer limits, waitlist, rate limits, windows

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 05:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('skus', schema=None) as batch_op:
        batch_op.add_column(sa.Column('per_customer_limit', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('offer_ttl_seconds', sa.Integer(), nullable=True))
    with op.batch_alter_table('sku_channels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opens_at', Stamp, nullable=True))
        batch_op.add_column(sa.Column('closes_at', Stamp, nullable=True))
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_holds_sku_customer', ['sku_id', 'customer'], unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_customer', ['customer'], unique=False)
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rate_per_second', sa.Integer(), nullable=True))
    op.create_table('rate_windows',
    sa.Column('key_id', sa.BigInteger(), nullable=False),
    sa.Column('second', sa.BigInteger(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key_id', 'second', name=op.f('pk_rate_windows'))
    )
    op.create_table('waitlist',
    sa.Column('id', Id, nullable=False),
    sa.Column('sku_id', Id, nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('hold_id', sa.String(length=40), nullable=True),
    sa.Column('offered_at', Stamp, nullable=True),
    sa.Column('api_key_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', Stamp, nullable=False),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_waitlist_sku_id_skus')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist'))
    )
    with op.batch_alter_table('waitlist', schema=None) as batch_op:
        batch_op.create_index('ix_waitlist_sku_status', ['sku_id', 'status', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('waitlist', schema=None) as batch_op:
        batch_op.drop_index('ix_waitlist_sku_status')
    op.drop_table('waitlist')
    op.drop_table('rate_windows')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('rate_per_second')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_customer')
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index('ix_holds_sku_customer')
        batch_op.drop_column('customer')
    with op.batch_alter_table('sku_channels', schema=None) as batch_op:
        batch_op.drop_column('closes_at')
        batch_op.drop_column('opens_at')
    with op.batch_alter_table('skus', schema=None) as batch_op:
        batch_op.drop_column('offer_ttl_seconds')
        batch_op.drop_column('per_customer_limit')
