"""trust, round two: sessions, hold caps

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 02:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dashboard_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_sessions'))
    )
    with op.batch_alter_table('dashboard_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_dashboard_sessions_key_id', ['key_id'], unique=False)
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_hold_ttl_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('max_held_units', sa.Integer(), nullable=True))
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index('ix_holds_key_status', ['api_key_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index('ix_holds_key_status')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('max_held_units')
        batch_op.drop_column('max_hold_ttl_seconds')
    with op.batch_alter_table('dashboard_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_dashboard_sessions_key_id')
    op.drop_table('dashboard_sessions')
