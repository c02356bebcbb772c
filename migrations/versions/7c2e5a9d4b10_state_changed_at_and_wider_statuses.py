"""payments.state_changed_at; statuses as long as HighHelp may send; alert keys as signed

Revision ID: 7c2e5a9d4b10
Revises: 15291726b7d4
Create Date: 2026-11-28 17:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c2e5a9d4b10'
down_revision = '15291726b7d4'
branch_labels = None
depends_on = None

# Written out rather than imported, so this migration means the same thing forever.
OLD_STATE, NEW_STATE = 80, 257
OLD_KEY, NEW_KEY = 400, 550
NULL_TEXT = "None"


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('state', existing_type=sa.String(OLD_STATE), type_=sa.String(NEW_STATE))
        batch_op.alter_column('decline_step', existing_type=sa.String(OLD_STATE), type_=sa.String(NEW_STATE))
    # Until now the last change of any kind is the best record of the last change of state.
    op.execute("UPDATE payments SET state_changed_at = updated_at")
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.alter_column('state_changed_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index(
            'ix_payments_open_state_changed_at',
            ['state_changed_at'],
            unique=False,
            sqlite_where=sa.text('is_open = 1'),
            postgresql_where=sa.text('is_open'),
        )

    with op.batch_alter_table('callback_alerts', schema=None) as batch_op:
        batch_op.alter_column('idempotency_key', existing_type=sa.String(OLD_KEY), type_=sa.String(NEW_KEY))
        batch_op.alter_column('state', existing_type=sa.String(OLD_STATE), type_=sa.String(NEW_STATE))
    _rewrite_null_sub_status_keys("", NULL_TEXT)


def downgrade():
    _rewrite_null_sub_status_keys(NULL_TEXT, "")
    with op.batch_alter_table('callback_alerts', schema=None) as batch_op:
        batch_op.alter_column('state', existing_type=sa.String(NEW_STATE), type_=sa.String(OLD_STATE))
        batch_op.alter_column('idempotency_key', existing_type=sa.String(NEW_KEY), type_=sa.String(OLD_KEY))
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_payments_open_state_changed_at',
            sqlite_where=sa.text('is_open = 1'),
            postgresql_where=sa.text('is_open'),
        )
        batch_op.alter_column('decline_step', existing_type=sa.String(NEW_STATE), type_=sa.String(OLD_STATE))
        batch_op.alter_column('state', existing_type=sa.String(NEW_STATE), type_=sa.String(OLD_STATE))
        batch_op.drop_column('state_changed_at')


def _rewrite_null_sub_status_keys(old_text, new_text):
    """Write a null sub_status in stored keys as the signature does ("None"), or back ("")."""
    connection = op.get_bind()
    alerts = sa.table('callback_alerts', sa.column('id'), sa.column('idempotency_key'), sa.column('body', sa.JSON))
    taken = set(connection.execute(sa.select(alerts.c.idempotency_key)).scalars())
    for alert_id, key, body in connection.execute(sa.select(alerts.c.id, alerts.c.idempotency_key, alerts.c.body)):
        null_sub_status = ((body or {}).get('status') or {}).get('sub_status') is None
        if not null_sub_status or not key.endswith(f":{old_text}"):
            continue
        new_key = key[: len(key) - len(old_text)] + new_text
        # A repeat stored under both spellings keeps its old key: the first row is the alert.
        if new_key not in taken:
            connection.execute(sa.update(alerts).where(alerts.c.id == alert_id).values(idempotency_key=new_key))
            taken.discard(key)
            taken.add(new_key)
