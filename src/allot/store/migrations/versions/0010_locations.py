"""locations: stock, POs, transfers and allocations per location

Everything that exists moves to the location `main`: its ledger rows and POs by the column
default. Its on hand needs no row: stock_levels holds only the other locations, and `main` has the
rest of skus.on_hand (services/book_rows.py `levels`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 05:30:00
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    locations = op.create_table('locations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('handling_days', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_locations')),
    sa.UniqueConstraint('code', name=op.f('uq_locations_code'))
    )
    op.create_table('stock_levels',
    sa.Column('sku_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('location', sa.String(length=100), nullable=False),
    sa.Column('on_hand', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_stock_levels_sku_id_skus')),
    sa.PrimaryKeyConstraint('sku_id', 'location', name=op.f('pk_stock_levels'))
    )
    op.create_table('transfers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ref', sa.String(length=100), nullable=False),
    sa.Column('from_location', sa.String(length=100), nullable=False),
    sa.Column('to_location', sa.String(length=100), nullable=False),
    sa.Column('expected_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers')),
    sa.UniqueConstraint('ref', name=op.f('uq_transfers_ref'))
    )
    op.create_table('transfer_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('transfer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_transfer_lines_sku_id_skus')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_transfer_lines_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_lines')),
    sa.UniqueConstraint('transfer_id', 'line', name='uq_transfer_lines_transfer_line')
    )
    with op.batch_alter_table('transfer_lines', schema=None) as batch_op:
        batch_op.create_index('ix_transfer_lines_sku_open', ['sku_id', 'closed'], unique=False)
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locations', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('split', sa.String(length=10), server_default='allow', nullable=False))
    with op.batch_alter_table('stock_moves', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location', sa.String(length=100), server_default='main', nullable=False))
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location', sa.String(length=100), server_default='main', nullable=False))
    op.bulk_insert(locations, [{'code': 'main', 'name': 'Main', 'handling_days': 0, 'created_at': datetime.now(UTC)}])


def downgrade() -> None:
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_column('location')
    with op.batch_alter_table('stock_moves', schema=None) as batch_op:
        batch_op.drop_column('location')
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_column('split')
        batch_op.drop_column('locations')
    with op.batch_alter_table('transfer_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_transfer_lines_sku_open')
    op.drop_table('transfer_lines')
    op.drop_table('transfers')
    op.drop_table('stock_levels')
    op.drop_table('locations')
