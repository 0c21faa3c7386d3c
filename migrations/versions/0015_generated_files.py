"""generated_files: files built by a job (a list's rejected rows as XLSX, a draft of the Assembly
report), asked for by a request, handed out by any app server (grants/services/generated_files.py)

Revision ID: 0015_generated_files
Revises: 0014_job_queue
Create Date: 2026-12-08 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_generated_files'
down_revision = '0014_job_queue'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('generated_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('mimetype', sa.String(length=100), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('failure', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status <> 'ready' OR (sha256 IS NOT NULL AND size IS NOT NULL AND finished_at IS NOT NULL)", name=op.f('ck_generated_files_ready_has_content')),
    sa.CheckConstraint("status IN ('pending', 'ready', 'failed', 'expired')", name=op.f('ck_generated_files_status_known')),
    sa.CheckConstraint('size IS NULL OR size >= 0', name=op.f('ck_generated_files_size_not_negative')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_generated_files_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_generated_files'))
    )
    with op.batch_alter_table('generated_files', schema=None) as batch_op:
        batch_op.create_index('ix_generated_files_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_generated_files_kind_fingerprint', ['kind', 'fingerprint'], unique=False)



def downgrade():
    with op.batch_alter_table('generated_files', schema=None) as batch_op:
        batch_op.drop_index('ix_generated_files_kind_fingerprint')
        batch_op.drop_index('ix_generated_files_created_at')

    op.drop_table('generated_files')
