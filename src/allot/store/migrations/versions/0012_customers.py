"""customers: messages, customer links, payment terms

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 05:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channel_messages',
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('from_addr', sa.String(length=320), nullable=False),
    sa.Column('reply_to', sa.String(length=320), nullable=True),
    sa.Column('send', sa.JSON(), nullable=False),
    sa.Column('customer_cancel', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', name=op.f('pk_channel_messages'))
    )
    op.create_table('mail_cursor',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_mail_cursor'))
    )
    op.create_table('message_templates',
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'kind', name=op.f('pk_message_templates'))
    )
    op.create_table('messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('order_ref', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('to_addr', sa.String(length=320), nullable=False),
    sa.Column('from_addr', sa.String(length=320), nullable=False),
    sa.Column('reply_to', sa.String(length=320), nullable=True),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('key', name=op.f('uq_messages_key'))
    )
    op.create_index(op.f('ix_messages_order_ref'), 'messages', ['order_ref'], unique=False)
    op.create_index('ix_messages_status_next', 'messages', ['status', 'next_attempt_at'], unique=False)
    op.create_table('order_payments',
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('terms', sa.String(length=20), nullable=False),
    sa.Column('deposit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_payments_order_id_orders')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_order_payments'))
    )
    op.create_table('line_payments',
    sa.Column('order_line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('deposit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('balance_due', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('balance_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_line_payments_order_line_id_order_lines')),
    sa.PrimaryKeyConstraint('order_line_id', name=op.f('pk_line_payments'))
    )


def downgrade() -> None:
    op.drop_table('line_payments')
    op.drop_table('order_payments')
    op.drop_index('ix_messages_status_next', table_name='messages')
    op.drop_index(op.f('ix_messages_order_ref'), table_name='messages')
    op.drop_table('messages')
    op.drop_table('message_templates')
    op.drop_table('mail_cursor')
    op.drop_table('channel_messages')
