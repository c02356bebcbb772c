"""back office: staff, events, review resolutions, payment links

Revision ID: 4e8a1c7f2b60
Revises: b3f1c8e2d9a7
Create Date: 2026-11-28 19:35:12.891592

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4e8a1c7f2b60'
down_revision = 'b3f1c8e2d9a7'
branch_labels = None
depends_on = None

# The history is append-only: the database itself refuses to change or remove a line of it.
POSTGRESQL_GUARD = """
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
"""
SQLITE_GUARDS = (
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
)


def upgrade():
    op.create_table('staff_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_sign_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('viewer', 'operator', 'owner')", name=op.f('ck_staff_users_role_known')),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_staff_users_email_lower')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_users')),
    sa.UniqueConstraint('email', name=op.f('uq_staff_users_email'))
    )
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('payment_ref', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.String(length=1024), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('order_created', 'create_sent', 'create_failed', 'callback', 'info_read', 'cancel', 'confirm', 'review_resolved', 'staff_changed')", name=op.f('ck_events_kind_known')),
    sa.CheckConstraint("source IN ('customer', 'highhelp', 'reconciler', 'staff')", name=op.f('ck_events_source_known')),
    sa.ForeignKeyConstraint(['alert_id'], ['callback_alerts.id'], name=op.f('fk_events_alert_id_callback_alerts')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_events_order_id_orders')),
    sa.ForeignKeyConstraint(['payment_ref'], ['payments.id'], name=op.f('fk_events_payment_ref_payments')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_events_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index('ix_events_order_id_id', ['order_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_payment_ref'), ['payment_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_staff_id'), ['staff_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(POSTGRESQL_GUARD)
    else:
        for guard in SQLITE_GUARDS:
            op.execute(guard)

    op.create_table('review_resolutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=512), nullable=False),
    sa.Column('payment_ref', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['callback_alerts.id'], name=op.f('fk_review_resolutions_alert_id_callback_alerts')),
    sa.ForeignKeyConstraint(['payment_ref'], ['payments.id'], name=op.f('fk_review_resolutions_payment_ref_payments')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_review_resolutions_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_resolutions')),
    sa.UniqueConstraint('item_key', name=op.f('uq_review_resolutions_item_key'))
    )
    with op.batch_alter_table('review_resolutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_resolutions_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_resolutions_payment_ref'), ['payment_ref'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_orders_created_by_id_staff_users'), 'staff_users', ['created_by_id'], ['id'])



def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_orders_created_by_id_staff_users'), type_='foreignkey')
        batch_op.drop_column('created_by_id')

    with op.batch_alter_table('review_resolutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_resolutions_payment_ref'))
        batch_op.drop_index(batch_op.f('ix_review_resolutions_alert_id'))

    op.drop_table('review_resolutions')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_staff_id'))
        batch_op.drop_index(batch_op.f('ix_events_payment_ref'))
        batch_op.drop_index('ix_events_order_id_id')
        batch_op.drop_index(batch_op.f('ix_events_alert_id'))

    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER events_no_update ON events")
        op.execute("DROP FUNCTION events_append_only()")
    op.drop_table('events')
    op.drop_table('staff_users')
