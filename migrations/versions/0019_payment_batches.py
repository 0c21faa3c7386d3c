"""payment batches (lotes de pago) and their items: pain.001 files; a payment or advance in at most one
live batch (partial UNIQUE indexes WHERE live)

Revision ID: 0019_payment_batches
Revises: 0018_search_indexes
Create Date: 2026-12-06 18:10:44.242247

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_payment_batches'
down_revision = '0018_search_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('payment_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=35), nullable=True),
    sa.Column('debtor_account_id', sa.String(length=40), nullable=False),
    sa.Column('debtor_name', sa.String(length=140), nullable=False),
    sa.Column('debtor_account', sa.String(length=34), nullable=False),
    sa.Column('debtor_bank', sa.String(length=140), nullable=False),
    sa.Column('debtor_bic', sa.String(length=11), nullable=True),
    sa.Column('execution_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('control_sum', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('file_bytes', sa.LargeBinary(), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status != 'cancelled' OR (cancel_reason IS NOT NULL AND cancelled_by_id IS NOT NULL AND cancelled_at IS NOT NULL)", name=op.f('ck_payment_batches_cancelled_has_reason')),
    sa.CheckConstraint("status != 'issued' OR (file_sha256 IS NOT NULL AND file_bytes IS NOT NULL AND issued_at IS NOT NULL AND issued_by_id IS NOT NULL)", name=op.f('ck_payment_batches_issued_has_file')),
    sa.CheckConstraint("status IN ('open', 'issued', 'cancelled')", name=op.f('ck_payment_batches_status_known')),
    sa.CheckConstraint('(file_sha256 IS NULL) = (file_bytes IS NULL)', name=op.f('ck_payment_batches_file_and_hash_together')),
    sa.CheckConstraint('control_sum > 0', name=op.f('ck_payment_batches_control_sum_positive')),
    sa.CheckConstraint('item_count > 0', name=op.f('ck_payment_batches_not_empty')),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['users.id'], name=op.f('fk_payment_batches_cancelled_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_payment_batches_created_by_id_users')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_payment_batches_issued_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_batches')),
    sa.UniqueConstraint('number', name=op.f('uq_payment_batches_number'))
    )
    op.create_table('payment_batch_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('advance_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('creditor_name', sa.String(length=200), nullable=False),
    sa.Column('creditor_account', sa.String(length=34), nullable=False),
    sa.Column('creditor_bank', sa.String(length=120), nullable=False),
    sa.Column('remittance', sa.String(length=140), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.CheckConstraint("(kind = 'payment' AND payment_id IS NOT NULL AND advance_id IS NULL) OR (kind = 'advance' AND advance_id IS NOT NULL AND payment_id IS NULL)", name=op.f('ck_payment_batch_items_exactly_one_source')),
    sa.CheckConstraint("kind IN ('payment', 'advance')", name=op.f('ck_payment_batch_items_kind_known')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_batch_items_amount_positive')),
    sa.ForeignKeyConstraint(['advance_id'], ['advances.id'], name=op.f('fk_payment_batch_items_advance_id_advances')),
    sa.ForeignKeyConstraint(['batch_id'], ['payment_batches.id'], name=op.f('fk_payment_batch_items_batch_id_payment_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_batch_items_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_batch_items'))
    )
    with op.batch_alter_table('payment_batch_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_batch_items_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('ix_payment_batch_items_live_advance', ['advance_id'], unique=True, sqlite_where=sa.text('live'), postgresql_where=sa.text('live'))
        batch_op.create_index('ix_payment_batch_items_live_payment', ['payment_id'], unique=True, sqlite_where=sa.text('live'), postgresql_where=sa.text('live'))



def downgrade():
    with op.batch_alter_table('payment_batch_items', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_batch_items_live_payment', sqlite_where=sa.text('live'), postgresql_where=sa.text('live'))
        batch_op.drop_index('ix_payment_batch_items_live_advance', sqlite_where=sa.text('live'), postgresql_where=sa.text('live'))
        batch_op.drop_index(batch_op.f('ix_payment_batch_items_batch_id'))

    op.drop_table('payment_batch_items')
    op.drop_table('payment_batches')
