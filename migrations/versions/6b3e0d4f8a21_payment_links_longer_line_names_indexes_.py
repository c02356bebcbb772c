"""payment links: longer line names, indexes for the links page and the audit trail

Revision ID: 6b3e0d4f8a21
Revises: 5d2f9a3b7c81
Create Date: 2026-11-28 20:09:56.605343

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6b3e0d4f8a21'
down_revision = '5d2f9a3b7c81'
branch_labels = None
depends_on = None

STAFF_MADE = sa.text('created_by_id IS NOT NULL')


def upgrade():
    # Plain CREATE INDEX, not batch mode: on SQLite a batch could rebuild `events` and drop the
    # triggers that keep it append-only.
    op.create_index('ix_events_kind_id', 'events', ['kind', 'id'], unique=False)
    op.create_index(
        'ix_orders_payment_links', 'orders', ['id'], unique=False,
        sqlite_where=STAFF_MADE, postgresql_where=STAFF_MADE,
    )
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.alter_column('name',
               existing_type=sa.VARCHAR(length=120),
               type_=sa.String(length=255),
               existing_nullable=False)


def downgrade():
    # A payment link's line may be named with up to 255 characters: shorten it to fit again.
    op.execute("UPDATE order_lines SET name = substr(name, 1, 120) WHERE length(name) > 120")
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.alter_column('name',
               existing_type=sa.String(length=255),
               type_=sa.VARCHAR(length=120),
               existing_nullable=False)
    op.drop_index('ix_orders_payment_links', table_name='orders')
    op.drop_index('ix_events_kind_id', table_name='events')
