"""controls on the real timeline: advance invoices, treasury-confirmed refunds, advances on real dates

Revision ID: 0008_timeline_controls
Revises: 0007_document_key_indexes
Create Date: 2026-12-05 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_timeline_controls'
down_revision = '0007_document_key_indexes'
branch_labels = None
depends_on = None


def upgrade():
    # §1 an invoice billed before the service is over is an advance invoice, never paid directly
    # (a plain ADD COLUMN: rebuilding the table on SQLite would lose its expression index, 0007)
    op.add_column('invoices', sa.Column('advance_invoice', sa.Boolean(), server_default=sa.text('false'),
                                        nullable=False))

    # §5 one attachment mechanism for every document
    op.create_table(
        'attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_type', sa.String(length=30), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=True),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=60), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=True),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('length(sha256) = 64', name=op.f('ck_attachments_sha256_length')),
        sa.CheckConstraint('size > 0', name=op.f('ck_attachments_size_positive')),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_attachments_organization_id_organizations')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_attachments_uploaded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_attachments_owner', ['owner_type', 'owner_id', 'kind'], unique=False)

    # §3 a tranche may be advanced in parts (the service sums them under the tranche's row lock)
    with op.batch_alter_table('advances', schema=None) as batch_op:
        batch_op.drop_index('ix_advances_live_tranche')
        batch_op.create_index('ix_advances_live_tranche', ['agreement_id', 'tranche_id'], unique=False,
                              sqlite_where=sa.text("status != 'rejected'"),
                              postgresql_where=sa.text("status != 'rejected'"))

    # §3 the pre-financing clause
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prefinancing_days', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            'prefinancing_range', 'prefinancing_days IS NULL OR prefinancing_days BETWEEN 1 AND 180')

    # §2 refunds are declared by the NGO and count once treasury confirms them
    with op.batch_alter_table('agreement_balances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refunds_declared', sa.Numeric(precision=14, scale=2), server_default='0',
                                      nullable=False))
        batch_op.create_check_constraint('declared_not_negative', 'refunds_declared >= 0')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=10), server_default='declared', nullable=False))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rejection_reason', sa.Text(), nullable=True))
        batch_op.drop_constraint('uq_refunds_advance_id_bank_reference', type_='unique')
        batch_op.create_foreign_key(batch_op.f('fk_refunds_decided_by_id_users'), 'users', ['decided_by_id'], ['id'])
    # Refunds recorded before this revision counted at once: they stay counted, as confirmed on the day
    # they were recorded (by nobody: treasury did not confirm them).
    op.execute("UPDATE refunds SET status = 'confirmed', decided_at = recorded_at")
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_live_reference', ['advance_id', 'bank_reference'], unique=True,
                              sqlite_where=sa.text("status != 'rejected'"),
                              postgresql_where=sa.text("status != 'rejected'"))
        batch_op.create_check_constraint('status_known', "status IN ('declared', 'confirmed', 'rejected')")
        batch_op.create_check_constraint('decision_recorded', "status = 'declared' OR decided_at IS NOT NULL")
        batch_op.create_check_constraint('rejected_has_reason',
                                         "status != 'rejected' OR length(rejection_reason) > 0")
        batch_op.create_check_constraint('confirmer_not_declarer',
                                         'decided_by_id IS NULL OR decided_by_id != recorded_by_id')


def downgrade():
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        for name in ('confirmer_not_declarer', 'rejected_has_reason', 'decision_recorded', 'status_known'):
            batch_op.drop_constraint(name, type_='check')
        batch_op.drop_index('ix_refunds_live_reference')
        batch_op.drop_constraint(batch_op.f('fk_refunds_decided_by_id_users'), type_='foreignkey')
    op.execute("DELETE FROM refunds WHERE status != 'confirmed'")
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_refunds_advance_id_bank_reference', ['advance_id', 'bank_reference'])
        for column in ('rejection_reason', 'decided_at', 'decided_by_id', 'status', 'bank_name'):
            batch_op.drop_column(column)
    with op.batch_alter_table('agreement_balances', schema=None) as batch_op:
        batch_op.drop_constraint('declared_not_negative', type_='check')
        batch_op.drop_column('refunds_declared')
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_constraint('prefinancing_range', type_='check')
        batch_op.drop_column('prefinancing_days')
    with op.batch_alter_table('advances', schema=None) as batch_op:
        batch_op.drop_index('ix_advances_live_tranche')
        batch_op.create_index('ix_advances_live_tranche', ['agreement_id', 'tranche_id'], unique=True,
                              sqlite_where=sa.text("status != 'rejected'"),
                              postgresql_where=sa.text("status != 'rejected'"))
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_attachments_owner')
        batch_op.drop_index(batch_op.f('ix_attachments_organization_id'))
    op.drop_table('attachments')
    op.drop_column('invoices', 'advance_invoice')
