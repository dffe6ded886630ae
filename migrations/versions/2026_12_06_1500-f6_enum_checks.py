"""CHECK constraints on every enum column, and on the string columns that hold an enum in practice

Revision ID: f6_enum_checks
Revises: e6_creds_mass
Create Date: 2026-12-06 15:00:00

Enum columns are stored as VARCHAR(32) (non-native enums, common/db.py); from here on each has a
CHECK constraint listing its values, named by the naming convention (``ck_<table>_<enum type>``,
e.g. ``ck_contents_contentstatus``; ``ck_<table>_<column>`` for the string columns
``job_runs.status`` and ``account_events.from_status``/``to_status``). The value lists are spelled
out here as they stand today, not imported from the models: a migration is a fixed step.

A new enum member therefore needs a migration that drops and re-creates its constraint(s) with
the new list (docs/architecture.md); tests/foundation/test_enum_checks.py fails until it exists.
On SQLite each table is rebuilt (batch mode; migrations/env.py turns foreign keys off around it).
"""

import sqlalchemy as sa
from alembic import op

revision = "f6_enum_checks"
down_revision = "e6_creds_mass"
branch_labels = None
depends_on = None

PLATFORMS = (
    "weibo",
    "wechat",
    "douyin",
    "toutiao",
    "kuaishou",
    "bilibili",
    "xiaohongshu",
    "channels",
    "baijiahao",
    "app",
    "miniprogram",
    "other",
)
ACCOUNT_STATUSES = (
    "applying",
    "active",
    "changing",
    "suspended",
    "closing",
    "closed_on_platform",
    "closed",
    "rejected",
)
CONTENT_STATUSES = (
    "draft",
    "review_1",
    "review_2",
    "review_3",
    "approved",
    "scheduled",
    "publishing",
    "published",
    "partly_failed",
    "failed",
    "withdrawn",
    "rejected",
)
FINDING_KINDS = (
    "unregistered",
    "closed_but_active",
    "inactive_14d",
    "zombie_90d",
    "name_mismatch",
    "subject_mismatch",
    "duplicate",
    "reopened",
    "inactive_warning",
    "filing_overdue",
    "unreviewed_post",
    "post_check_hit",
    "tampered",
    "post_removed",
    "account_unavailable",
    "interaction_overdue",
    "no_interaction_channel",
)
DELIVERY_STATUSES = ("pending", "sending", "sent", "retrying", "failed", "withdrawn", "cancelled", "manual", "held")

#: table -> [(constraint name, column, allowed values)]
CHECKS = {
    "units": [("ck_units_unitkind", "kind", ("government", "department", "town", "institution", "other"))],
    "accounts": [
        ("ck_accounts_platform", "platform", PLATFORMS),
        ("ck_accounts_accountstatus", "status", ACCOUNT_STATUSES),
    ],
    "account_events": [
        ("ck_account_events_from_status", "from_status", ACCOUNT_STATUSES),
        ("ck_account_events_to_status", "to_status", ACCOUNT_STATUSES),
    ],
    "discovered_accounts": [("ck_discovered_accounts_platform", "platform", PLATFORMS)],
    "user_roles": [
        ("ck_user_roles_role", "role", ("operator", "reviewer_1", "reviewer_2", "reviewer_3", "auditor", "admin"))
    ],
    "contents": [
        ("ck_contents_contentkind", "kind", ("news", "policy", "interpretation")),
        ("ck_contents_contentstatus", "status", CONTENT_STATUSES),
        ("ck_contents_disclosure", "disclosure", ("active", "on_request", "withheld")),
    ],
    "reviews": [("ck_reviews_reviewdecision", "decision", ("submit", "approve", "reject"))],
    "deliveries": [("ck_deliveries_deliverystatus", "status", DELIVERY_STATUSES)],
    "findings": [
        ("ck_findings_findingkind", "kind", FINDING_KINDS),
        ("ck_findings_findingstatus", "status", ("open", "confirmed", "dismissed", "resolved")),
    ],
    "job_runs": [("ck_job_runs_status", "status", ("queued", "running", "done", "failed"))],
    "live_posts": [
        ("ck_live_posts_postsource", "source", ("ours", "found")),
        ("ck_live_posts_poststate", "state", ("live", "removed")),
    ],
    "interaction_items": [
        ("ck_interaction_items_itemkind", "kind", ("comment", "message")),
        ("ck_interaction_items_platform", "platform", PLATFORMS),
    ],
}


def upgrade():
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, column, values in checks:
                batch_op.create_check_constraint(op.f(name), sa.column(column).in_(values))


def downgrade():
    for table, checks in reversed(CHECKS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _column, _values in reversed(checks):
                batch_op.drop_constraint(op.f(name), type_="check")
