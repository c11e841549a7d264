"""storefront connections, ingested deliveries, order emails and shop line ids

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 02:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('storefronts',
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('credentials', sa.Text(), nullable=False),
    sa.Column('api_base', sa.String(length=2000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel'], ['channels.name'], name=op.f('fk_storefronts_channel_channels')),
    sa.PrimaryKeyConstraint('channel', name=op.f('pk_storefronts'))
    )
    op.create_table('storefront_deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('delivery_id', sa.String(length=200), nullable=False),
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('order_ref', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_storefront_deliveries')),
    sa.UniqueConstraint('channel', 'delivery_id', name='uq_storefront_deliveries_channel_delivery')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('ignored_lines', sa.JSON(), nullable=True))

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=100), nullable=True))
        batch_op.create_index('ix_order_lines_external_id', ['external_id'], unique=False,
                              postgresql_where=sa.text('external_id IS NOT NULL'),
                              sqlite_where=sa.text('external_id IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_order_lines_external_id')
        batch_op.drop_column('external_id')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('ignored_lines')
        batch_op.drop_column('email')

    op.drop_table('storefront_deliveries')
    op.drop_table('storefronts')
