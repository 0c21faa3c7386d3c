"""bank_statements, bank_statement_lines: bank statements (ISO 20022 camt.053.001.08 or CSV) uploaded by
treasury and their lines, matched to payments, disbursements, refunds and fine deposits
(grants/services/bank_statements.py); each record matched by at most one line.

Revision ID: 0020_bank_statements
Revises: 0019_payment_batches
Create Date: 2026-12-06 18:10:53.700526

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_bank_statements'
down_revision = '0019_payment_batches'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bank_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=34), nullable=False),
    sa.Column('statement_ref', sa.String(length=35), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=True),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at_bank', sa.DateTime(timezone=True), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('opening_balance', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('closing_balance', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('total_debits', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total_credits', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("format IN ('camt053', 'csv')", name=op.f('ck_bank_statements_format_known')),
    sa.CheckConstraint('period_end IS NULL OR period_start IS NULL OR period_end >= period_start', name=op.f('ck_bank_statements_period_ordered')),
    sa.CheckConstraint('total_debits >= 0 AND total_credits >= 0 AND line_count >= 0', name=op.f('ck_bank_statements_totals_not_negative')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_bank_statements_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statements')),
    sa.UniqueConstraint('account', 'statement_ref', name=op.f('uq_bank_statements_account_statement_ref')),
    sa.UniqueConstraint('sha256', name=op.f('uq_bank_statements_sha256'))
    )
    with op.batch_alter_table('bank_statements', schema=None) as batch_op:
        batch_op.create_index('ix_bank_statements_uploaded_at', ['uploaded_at'], unique=False)

    op.create_table('bank_statement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=True),
    sa.Column('direction', sa.String(length=6), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=True),
    sa.Column('bank_reference', sa.String(length=60), nullable=True),
    sa.Column('remittance', sa.Text(), nullable=True),
    sa.Column('counterparty', sa.String(length=140), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason_code', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('advance_id', sa.Integer(), nullable=True),
    sa.Column('refund_id', sa.Integer(), nullable=True),
    sa.Column('fine_payment_id', sa.Integer(), nullable=True),
    sa.Column('match_method', sa.String(length=20), nullable=True),
    sa.Column('manual_reason', sa.Text(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status != 'ignored' AND (match_method IS NULL OR match_method != 'manual')) = (resolved_by_id IS NULL AND resolved_at IS NULL)", name=op.f('ck_bank_statement_lines_resolution_recorded')),
    sa.CheckConstraint("direction IN ('debit', 'credit')", name=op.f('ck_bank_statement_lines_direction_known')),
    sa.CheckConstraint("match_method != 'manual' OR length(manual_reason) > 0", name=op.f('ck_bank_statement_lines_manual_has_reason')),
    sa.CheckConstraint("match_method IS NULL OR match_method IN ('e2e', 'amount_reference', 'manual')", name=op.f('ck_bank_statement_lines_method_known')),
    sa.CheckConstraint("status != 'ignored' OR length(manual_reason) > 0", name=op.f('ck_bank_statement_lines_ignored_has_reason')),
    sa.CheckConstraint("status != 'matched' OR ((CASE WHEN payment_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN advance_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN refund_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN fine_payment_id IS NULL THEN 0 ELSE 1 END) = 1 AND match_method IS NOT NULL)", name=op.f('ck_bank_statement_lines_matched_has_target')),
    sa.CheckConstraint("status != 'unmatched' OR (reason_code IS NOT NULL AND reason IS NOT NULL)", name=op.f('ck_bank_statement_lines_unmatched_has_reason')),
    sa.CheckConstraint("status = 'matched' OR ((CASE WHEN payment_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN advance_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN refund_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN fine_payment_id IS NULL THEN 0 ELSE 1 END) = 0 AND match_method IS NULL)", name=op.f('ck_bank_statement_lines_target_only_when_matched')),
    sa.CheckConstraint("status IN ('matched', 'unmatched', 'ignored')", name=op.f('ck_bank_statement_lines_status_known')),
    sa.CheckConstraint('(CASE WHEN payment_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN advance_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN refund_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN fine_payment_id IS NULL THEN 0 ELSE 1 END) <= 1', name=op.f('ck_bank_statement_lines_one_target')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_bank_statement_lines_amount_not_negative')),
    sa.ForeignKeyConstraint(['advance_id'], ['advances.id'], name=op.f('fk_bank_statement_lines_advance_id_advances')),
    sa.ForeignKeyConstraint(['fine_payment_id'], ['fine_payments.id'], name=op.f('fk_bank_statement_lines_fine_payment_id_fine_payments')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_bank_statement_lines_payment_id_payments')),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_bank_statement_lines_refund_id_refunds')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_bank_statement_lines_resolved_by_id_users')),
    sa.ForeignKeyConstraint(['statement_id'], ['bank_statements.id'], name=op.f('fk_bank_statement_lines_statement_id_bank_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statement_lines')),
    sa.UniqueConstraint('statement_id', 'line_number', name=op.f('uq_bank_statement_lines_statement_id_line_number'))
    )
    with op.batch_alter_table('bank_statement_lines', schema=None) as batch_op:
        batch_op.create_index('ix_bank_statement_lines_booking_date', ['booking_date'], unique=False)
        batch_op.create_index('ix_bank_statement_lines_one_advance_id', ['advance_id'], unique=True, sqlite_where=sa.text('advance_id IS NOT NULL'), postgresql_where=sa.text('advance_id IS NOT NULL'))
        batch_op.create_index('ix_bank_statement_lines_one_fine_payment_id', ['fine_payment_id'], unique=True, sqlite_where=sa.text('fine_payment_id IS NOT NULL'), postgresql_where=sa.text('fine_payment_id IS NOT NULL'))
        batch_op.create_index('ix_bank_statement_lines_one_payment_id', ['payment_id'], unique=True, sqlite_where=sa.text('payment_id IS NOT NULL'), postgresql_where=sa.text('payment_id IS NOT NULL'))
        batch_op.create_index('ix_bank_statement_lines_one_refund_id', ['refund_id'], unique=True, sqlite_where=sa.text('refund_id IS NOT NULL'), postgresql_where=sa.text('refund_id IS NOT NULL'))



def downgrade():
    with op.batch_alter_table('bank_statement_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_statement_lines_one_refund_id', sqlite_where=sa.text('refund_id IS NOT NULL'), postgresql_where=sa.text('refund_id IS NOT NULL'))
        batch_op.drop_index('ix_bank_statement_lines_one_payment_id', sqlite_where=sa.text('payment_id IS NOT NULL'), postgresql_where=sa.text('payment_id IS NOT NULL'))
        batch_op.drop_index('ix_bank_statement_lines_one_fine_payment_id', sqlite_where=sa.text('fine_payment_id IS NOT NULL'), postgresql_where=sa.text('fine_payment_id IS NOT NULL'))
        batch_op.drop_index('ix_bank_statement_lines_one_advance_id', sqlite_where=sa.text('advance_id IS NOT NULL'), postgresql_where=sa.text('advance_id IS NOT NULL'))
        batch_op.drop_index('ix_bank_statement_lines_booking_date')

    op.drop_table('bank_statement_lines')
    with op.batch_alter_table('bank_statements', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_statements_uploaded_at')

    op.drop_table('bank_statements')
