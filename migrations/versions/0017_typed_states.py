"""every lifecycle's states listed by the database: the agreement history's from/to and a status
list's rows get the CHECK the other state columns have (issue 13 §4)

Revision ID: 0017_typed_states
Revises: 0016_enrollment_page_index
Create Date: 2026-12-06 11:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017_typed_states'
down_revision = '0016_enrollment_page_index'
branch_labels = None
depends_on = None

AGREEMENT_STATES = ("'draft', 'signed', 'in_execution', 'suspended', 'terminated', 'closing', 'liquidated', "
                    "'reported'")
ENROLLMENT_STATES = "'pending', 'validated', 'active', 'inactive', 'withdrawn'"


def upgrade():
    with op.batch_alter_table('agreement_status_changes', schema=None) as batch_op:
        batch_op.create_check_constraint('from_status_known', f"from_status IN ({AGREEMENT_STATES})")
        batch_op.create_check_constraint('to_status_known', f"to_status IN ({AGREEMENT_STATES})")
    with op.batch_alter_table('import_rows', schema=None) as batch_op:
        batch_op.create_check_constraint('status_known', f"status IN ({ENROLLMENT_STATES})")


def downgrade():
    with op.batch_alter_table('import_rows', schema=None) as batch_op:
        batch_op.drop_constraint('status_known', type_='check')
    with op.batch_alter_table('agreement_status_changes', schema=None) as batch_op:
        batch_op.drop_constraint('to_status_known', type_='check')
        batch_op.drop_constraint('from_status_known', type_='check')
