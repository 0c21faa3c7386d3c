"""indexes of the liquidation checks on the time axis: a statement's receipts by date
(receipt_before_disbursement), back-dated status periods (payment_basis_changed)

Revision ID: 0012_timeline_check_indexes
Revises: 0011_due_process
Create Date: 2026-12-06 03:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_timeline_check_indexes'
down_revision = '0011_due_process'
branch_labels = None
depends_on = None

# as grants/models/beneficiary.py writes them (LATE_PG, LATE_SQLITE): a migration never imports models
_LATE_PG = "status != 'active' AND recorded_at >= (CAST(valid_from + 1 AS timestamp) AT TIME ZONE 'UTC')"
_LATE_SQLITE = "status != 'active' AND recorded_at >= date(valid_from, '+1 day')"


def upgrade():
    with op.batch_alter_table('expense_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_expense_receipts_statement_issue', ['statement_id', 'issue_date'], unique=False)
        batch_op.drop_index('ix_expense_receipts_statement_id')
    with op.batch_alter_table('enrollment_periods', schema=None) as batch_op:
        batch_op.create_index('ix_enrollment_periods_late', ['enrollment_id'], unique=False,
                              sqlite_where=sa.text(_LATE_SQLITE), postgresql_where=sa.text(_LATE_PG))


def downgrade():
    with op.batch_alter_table('enrollment_periods', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollment_periods_late', sqlite_where=sa.text(_LATE_SQLITE),
                            postgresql_where=sa.text(_LATE_PG))
    with op.batch_alter_table('expense_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_expense_receipts_statement_id', ['statement_id'], unique=False)
        batch_op.drop_index('ix_expense_receipts_statement_issue')
