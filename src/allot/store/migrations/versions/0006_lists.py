"""lists and availability out

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 02:30:00
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


INDEXES = (
    ("orders", "ix_orders_channel_id", ["channel", "id"]),
    ("orders", "ix_orders_customer_id", ["customer", "id"]),
    ("order_lines", "ix_order_lines_state_order", ["state", "order_id"]),
    ("stock_moves", "ix_stock_moves_reason_id", ["reason", "id"]),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
