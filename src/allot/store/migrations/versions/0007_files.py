"""CSV files: sales history, import jobs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 02:30:00
"""
import sqlalchemy as sa
from alembic import op

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales_history",
        sa.Column("id", ID, nullable=False),
        sa.Column("sku_id", ID, nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("qty", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name="fk_sales_history_sku_id_skus"),
        sa.PrimaryKeyConstraint("id", name="pk_sales_history"),
        sa.UniqueConstraint("sku_id", "channel", "date", name="uq_sales_history_sku_channel_date"),
    )
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rows_total", sa.Integer),
        sa.Column("rows_done", sa.Integer, nullable=False),
        sa.Column("errors", sa.JSON, nullable=False),
        sa.Column("result", sa.JSON),
        sa.Column("api_key_id", sa.BigInteger),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_import_jobs"),
    )


def downgrade() -> None:
    op.drop_table("import_jobs")
    op.drop_table("sales_history")
