"""indexes for the liquidation check document_reused: receipts and invoices by normalized document key

Revision ID: 0007_document_key_indexes
Revises: 0006_check_indexes
Create Date: 2026-11-25 03:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_document_key_indexes'
down_revision = '0006_check_indexes'
branch_labels = None
depends_on = None

_KIND = "CASE WHEN document_type IN ('factura', 'ccf') THEN 'fiscal' ELSE document_type END"


def upgrade():
    with op.batch_alter_table('expense_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_expense_receipts_document_key',
                              ['supplier_tax_id', sa.text(f'({_KIND})'), sa.text('upper(trim(document_number))')],
                              unique=False, postgresql_include=['document_type', 'document_number'],
                              sqlite_where=sa.text("status != 'rejected'"),
                              postgresql_where=sa.text("status != 'rejected'"))

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_document_key', ['supplier_tax_id', sa.text('upper(trim(number))')],
                              unique=False, postgresql_include=['number'],
                              sqlite_where=sa.text("status != 'voided'"),
                              postgresql_where=sa.text("status != 'voided'"))


def downgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_document_key')

    with op.batch_alter_table('expense_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_expense_receipts_document_key')
