"""outgoing mail: the receipts outbox the worker drains

Revision ID: c7a1e5d2f903
Revises: 6b3e0d4f8a21
Create Date: 2026-11-28 23:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7a1e5d2f903'
down_revision = '6b3e0d4f8a21'
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade():
    op.create_table('outgoing_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('payment_ref', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.String(length=1024), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('receipt')", name=op.f('ck_outgoing_mail_kind_known')),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f('ck_outgoing_mail_status_known')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_outgoing_mail_attempts_not_negative')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_outgoing_mail_order_id_orders')),
    sa.ForeignKeyConstraint(['payment_ref'], ['payments.id'], name=op.f('fk_outgoing_mail_payment_ref_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_mail'))
    )
    op.create_index('uq_outgoing_mail_order_id_kind', 'outgoing_mail', ['order_id', 'kind'], unique=True)
    op.create_index(
        'ix_outgoing_mail_pending_due', 'outgoing_mail', ['next_attempt_at'], unique=False,
        sqlite_where=PENDING, postgresql_where=PENDING,
    )


def downgrade():
    op.drop_index('ix_outgoing_mail_pending_due', table_name='outgoing_mail')
    op.drop_index('uq_outgoing_mail_order_id_kind', table_name='outgoing_mail')
    op.drop_table('outgoing_mail')
