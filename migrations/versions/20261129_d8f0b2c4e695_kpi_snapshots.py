"""reports: daily KPI snapshots per department and in total

Revision ID: d8f0b2c4e695
Revises: c6e8a0b2d473
Create Date: 2026-11-29 15:15:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d8f0b2c4e695"
down_revision = "c6e8a0b2d473"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kpi_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_kpi_snapshot_department_id_department")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_snapshot")),
    )
    with op.batch_alter_table("kpi_snapshot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kpi_snapshot_year_department_id_taken_on", ["year", "department_id", "taken_on"], unique=False
        )


def downgrade():
    with op.batch_alter_table("kpi_snapshot", schema=None) as batch_op:
        batch_op.drop_index("ix_kpi_snapshot_year_department_id_taken_on")
    op.drop_table("kpi_snapshot")
