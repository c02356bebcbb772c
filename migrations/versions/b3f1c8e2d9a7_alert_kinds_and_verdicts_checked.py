"""callback alerts: kind and verdict checked by the database; a same-state report is "unchanged"

Revision ID: b3f1c8e2d9a7
Revises: 7c2e5a9d4b10
Create Date: 2026-11-28 18:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b3f1c8e2d9a7'
down_revision = '7c2e5a9d4b10'
branch_labels = None
depends_on = None

# Written out rather than imported, so this migration means the same thing forever.
KINDS = "kind IN ('info', 'success', 'decline')"
VERDICTS = (
    "verdict IN ('received', 'applied', 'unchanged', 'stale', 'final_kept', 'conflict', 'orphan')"
)


def upgrade():
    # "duplicate" used to mean two things; stored, it was always a report of the state already held.
    op.execute("UPDATE callback_alerts SET verdict = 'unchanged' WHERE verdict = 'duplicate'")
    with op.batch_alter_table('callback_alerts', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_callback_alerts_kind_known'), KINDS)
        batch_op.create_check_constraint(op.f('ck_callback_alerts_verdict_known'), VERDICTS)


def downgrade():
    with op.batch_alter_table('callback_alerts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_callback_alerts_verdict_known'), type_='check')
        batch_op.drop_constraint(op.f('ck_callback_alerts_kind_known'), type_='check')
    op.execute("UPDATE callback_alerts SET verdict = 'duplicate' WHERE verdict = 'unchanged'")
