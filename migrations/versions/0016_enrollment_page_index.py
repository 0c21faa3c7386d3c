"""an agreement's enrollments in id order (the API's and the pages' lists): any page is an index
walk, never a sort of the whole list

Revision ID: 0016_enrollment_page_index
Revises: 0015_generated_files
Create Date: 2026-12-08 11:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016_enrollment_page_index'
down_revision = '0015_generated_files'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.create_index('ix_enrollments_agreement_id_id', ['agreement_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollments_agreement_id_id')
