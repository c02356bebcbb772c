"""order list indexes: dates, email in any case, flagged attempts

Revision ID: 5d2f9a3b7c81
Revises: 4e8a1c7f2b60
Create Date: 2026-11-29 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d2f9a3b7c81'
down_revision = '4e8a1c7f2b60'
branch_labels = None
depends_on = None


def upgrade():
    # Search by email in any case. PostgreSQL only: SQLite cannot reflect an index on an
    # expression (autogenerate would warn), and a SQLite shop is never large enough to need it.
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index('ix_orders_email_lower', 'orders', [sa.text('lower(email)')], unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_orders_paid_at', ['paid_at'], unique=False)
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_created_at', ['created_at'], unique=False)
        batch_op.create_index(
            'ix_payments_needs_review_order_id',
            ['order_id'],
            unique=False,
            sqlite_where=sa.text('needs_review = 1'),
            postgresql_where=sa.text('needs_review'),
        )


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_payments_needs_review_order_id',
            sqlite_where=sa.text('needs_review = 1'),
            postgresql_where=sa.text('needs_review'),
        )
        batch_op.drop_index('ix_payments_created_at')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_paid_at')
        batch_op.drop_index('ix_orders_created_at')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_orders_email_lower', table_name='orders')
