"""documents Fondos issued as the ministry (signed PDFs), one row per version

Revision ID: 0021_issued_documents
Revises: 0020_bank_statements
Create Date: 2026-12-06 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_issued_documents'
down_revision = '0020_bank_statements'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('issued_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_key', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('covered_sha256', sa.String(length=64), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('signed', sa.Boolean(), nullable=False),
    sa.Column('signer_subject', sa.String(length=300), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('agreement', 'payment_order', 'final_liquidation_acta', 'findings', "
                       "'legislature_report')", name=op.f('ck_issued_documents_kind_known')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_issued_documents_version_positive')),
    sa.CheckConstraint('size > 0', name=op.f('ck_issued_documents_size_positive')),
    sa.CheckConstraint('NOT signed OR signer_subject IS NOT NULL', name=op.f('ck_issued_documents_signed_has_signer')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_issued_documents_issued_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_documents')),
    sa.UniqueConstraint('sha256', name=op.f('uq_issued_documents_sha256')),
    sa.UniqueConstraint('kind', 'object_type', 'object_key', 'version',
                        name=op.f('uq_issued_documents_kind_object_type_object_key_version'))
    )
    with op.batch_alter_table('issued_documents', schema=None) as batch_op:
        batch_op.create_index('ix_issued_documents_content', ['kind', 'object_type', 'object_key', 'content_sha256'],
                              unique=False)
        batch_op.create_index('ix_issued_documents_covered_sha256', ['covered_sha256'], unique=False)


def downgrade():
    with op.batch_alter_table('issued_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_issued_documents_covered_sha256')
        batch_op.drop_index('ix_issued_documents_content')
    op.drop_table('issued_documents')
