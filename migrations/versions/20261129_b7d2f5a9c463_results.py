"""results: result categories (seeded, editable) and each inspection's result

The categories are the publicity system's list from DOMAIN.md §5 (no official list was found, so
they are reference data an admin can edit), each flagged is_problem / needs_follow_up /
ends_without_inspection. A result may carry several; withholding a result from publication needs a
leader's decision, kept with its reason.

Revision ID: b7d2f5a9c463
Revises: a1c4e7f20b31
Create Date: 2026-11-29 15:01:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7d2f5a9c463"
down_revision = "a1c4e7f20b31"
branch_labels = None
depends_on = None

# (code, name, English, is_problem, needs_follow_up, ends_without_inspection). The codes of the
# special outcomes match the phone's outcome codes (sync/records.py OUTCOME_CODES).
CATEGORIES = [
    ("no_problem", "未发现问题", "No problem found", False, False, False),
    ("not_disclosed", "未按规定公示应当公示的信息", "Required information not disclosed", True, True, False),
    ("false_disclosure", "公示信息隐瞒真实情况、弄虚作假", "Disclosed information concealed or falsified", True, True, False),
    ("no_contact", "通过登记的住所（经营场所）无法联系", "Cannot be contacted at the registered address", True, True, True),
    ("no_activity", "未发现开展本次抽查涉及的经营活动", "No business activity covered by this check", False, False, True),
    ("refused_cooperation", "不配合检查，情节严重", "Seriously refused to cooperate", True, True, True),
    ("corrected", "发现问题已责令改正", "Problem found, correction ordered", True, True, False),
    ("pending", "发现问题待后续处理", "Problem found, pending follow-up", True, True, False),
    ("closed_or_liquidating", "已关闭停业或正在组织清算", "Closed or in liquidation", False, False, True),
    ("deregistered", "已注销", "Deregistered", False, False, True),
    ("licence_revoked", "被吊销营业执照", "Business licence revoked", False, False, True),
    ("registration_revoked", "被撤销登记", "Registration revoked", False, False, True),
    ("moved_out", "已迁出", "Moved out of the jurisdiction", False, False, True),
]


def upgrade():
    category = op.create_table(
        "result_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("is_problem", sa.Boolean(), nullable=False),
        sa.Column("needs_follow_up", sa.Boolean(), nullable=False),
        sa.Column("ends_without_inspection", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_category")),
        sa.UniqueConstraint("code", name=op.f("uq_result_category_code")),
    )
    op.bulk_insert(
        category,
        [
            {
                "code": code,
                "name": name,
                "name_en": name_en,
                "is_problem": problem,
                "needs_follow_up": follow,
                "ends_without_inspection": ends,
                "position": (n + 1) * 10,
                "active": True,
            }
            for n, (code, name, name_en, problem, follow, ends) in enumerate(CATEGORIES)
        ],
    )
    op.create_table(
        "inspection_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("publish", sa.Boolean(), nullable=False),
        sa.Column("withhold_status", sa.String(length=16), nullable=False),
        sa.Column("withhold_reason", sa.Text(), nullable=False),
        sa.Column("withhold_decided_by_id", sa.Integer(), nullable=True),
        sa.Column("withhold_decided_at", sa.DateTime(), nullable=True),
        sa.Column("withhold_decision_note", sa.Text(), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "withhold_status IN ('none', 'requested', 'approved', 'rejected')",
            name=op.f("ck_inspection_result_withhold_status"),
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["account.id"], name=op.f("fk_inspection_result_entered_by_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"], ["inspection.id"], name=op.f("fk_inspection_result_inspection_id_inspection")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["inspection_version.id"],
            name=op.f("fk_inspection_result_version_id_inspection_version"),
        ),
        sa.ForeignKeyConstraint(
            ["withhold_decided_by_id"],
            ["account.id"],
            name=op.f("fk_inspection_result_withhold_decided_by_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_result")),
        sa.UniqueConstraint("inspection_id", name=op.f("uq_inspection_result_inspection_id")),
    )
    op.create_table(
        "inspection_result_category",
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["result_category.id"],
            name=op.f("fk_inspection_result_category_category_id_result_category"),
        ),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["inspection_result.id"],
            name=op.f("fk_inspection_result_category_result_id_inspection_result"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("result_id", "category_id", name=op.f("pk_inspection_result_category")),
    )


def downgrade():
    op.drop_table("inspection_result_category")
    op.drop_table("inspection_result")
    op.drop_table("result_category")
