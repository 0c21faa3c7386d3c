"""the final liquidation is decided by the three disciplines: revisions and sign-offs

Revision ID: 0010_closing_signoffs
Revises: 0009_meetings
Create Date: 2026-12-05 12:00:00

Each row of ``final_liquidations`` becomes one revision (``revision``, ``status``,
``prepared_by_id``/``prepared_at``, ``closed_at``); the administrator proposes, and legal, financial
and monitoring each sign off (``final_liquidation_signoffs``), one person one discipline per
agreement (``final_liquidation_signers``). Final liquidations recorded before this revision were
decided by the administrator alone: they stay valid as ``recorded`` revisions 1, closed when they
were recorded, with no sign-offs.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_closing_signoffs'
down_revision = '0009_meetings'
branch_labels = None
depends_on = None

STATES = "'proposed', 'returned', 'approved', 'recorded'"
DISCIPLINES = "'legal', 'financial', 'monitoring'"


def upgrade():
    with op.batch_alter_table('final_liquidations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('status', sa.String(length=10), server_default='recorded', nullable=False))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('fk_final_liquidations_decided_by_id_users', type_='foreignkey')
        batch_op.alter_column('decided_by_id', new_column_name='prepared_by_id', existing_type=sa.Integer(),
                              existing_nullable=False)
        batch_op.alter_column('decided_at', new_column_name='prepared_at', existing_type=sa.DateTime(timezone=True),
                              existing_nullable=False)
        batch_op.drop_constraint('uq_final_liquidations_agreement_id', type_='unique')
    # Recorded before the sign-offs existed: closed when the administrator recorded them.
    op.execute("UPDATE final_liquidations SET closed_at = prepared_at")
    with op.batch_alter_table('final_liquidations', schema=None) as batch_op:
        batch_op.alter_column('revision', server_default=None, existing_type=sa.Integer(), existing_nullable=False)
        batch_op.alter_column('status', server_default=None, existing_type=sa.String(length=10),
                              existing_nullable=False)
        batch_op.create_foreign_key('fk_final_liquidations_prepared_by_id_users', 'users', ['prepared_by_id'], ['id'])
        batch_op.create_unique_constraint('uq_final_liquidations_agreement_id_revision', ['agreement_id', 'revision'])
        batch_op.create_unique_constraint('uq_final_liquidations_id_agreement_id_prepared_by_id',
                                          ['id', 'agreement_id', 'prepared_by_id'])
        batch_op.create_index('ix_final_liquidations_live', ['agreement_id'], unique=True,
                              sqlite_where=sa.text("status != 'returned'"),
                              postgresql_where=sa.text("status != 'returned'"))
        batch_op.create_check_constraint('ck_final_liquidations_status_known', f"status IN ({STATES})")
        batch_op.create_check_constraint('ck_final_liquidations_revision_positive', 'revision >= 1')
        batch_op.create_check_constraint('ck_final_liquidations_closed_unless_proposed',
                                         "(status = 'proposed') = (closed_at IS NULL)")

    op.create_table(
        'final_liquidation_signers',
        sa.Column('agreement_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('discipline', sa.String(length=20), nullable=False),
        sa.Column('first_liquidation_id', sa.Integer(), nullable=False),
        sa.CheckConstraint(f"discipline IN ({DISCIPLINES})", name=op.f('ck_final_liquidation_signers_discipline_known')),
        sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'],
                                name=op.f('fk_final_liquidation_signers_agreement_id_agreements')),
        sa.ForeignKeyConstraint(['first_liquidation_id'], ['final_liquidations.id'],
                                name='fk_final_liquidation_signers_first_liquidation'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_final_liquidation_signers_user_id_users')),
        sa.PrimaryKeyConstraint('agreement_id', 'user_id', name=op.f('pk_final_liquidation_signers')),
        sa.UniqueConstraint('agreement_id', 'user_id', 'discipline',
                            name=op.f('uq_final_liquidation_signers_agreement_id_user_id_discipline')),
    )
    op.create_table(
        'final_liquidation_signoffs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('final_liquidation_id', sa.Integer(), nullable=False),
        sa.Column('agreement_id', sa.Integer(), nullable=False),
        sa.Column('preparer_id', sa.Integer(), nullable=False),
        sa.Column('discipline', sa.String(length=20), nullable=False),
        sa.Column('reviewer_id', sa.Integer(), nullable=False),
        sa.Column('decision', sa.String(length=10), nullable=False),
        sa.Column('observations', sa.Text(), nullable=True),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("decision != 'send_back' OR (observations IS NOT NULL AND length(observations) > 0)",
                           name=op.f('ck_final_liquidation_signoffs_send_back_observed')),
        sa.CheckConstraint("decision IN ('approve', 'send_back')",
                           name=op.f('ck_final_liquidation_signoffs_decision_known')),
        sa.CheckConstraint(f"discipline IN ({DISCIPLINES})", name=op.f('ck_final_liquidation_signoffs_discipline_known')),
        sa.CheckConstraint('reviewer_id != preparer_id', name=op.f('ck_final_liquidation_signoffs_not_the_preparer')),
        sa.ForeignKeyConstraint(['agreement_id', 'reviewer_id', 'discipline'],
                                ['final_liquidation_signers.agreement_id', 'final_liquidation_signers.user_id',
                                 'final_liquidation_signers.discipline'],
                                name='fk_final_liquidation_signoffs_signer'),
        sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'],
                                name=op.f('fk_final_liquidation_signoffs_agreement_id_agreements')),
        sa.ForeignKeyConstraint(['final_liquidation_id', 'agreement_id', 'preparer_id'],
                                ['final_liquidations.id', 'final_liquidations.agreement_id',
                                 'final_liquidations.prepared_by_id'],
                                name='fk_final_liquidation_signoffs_revision'),
        sa.ForeignKeyConstraint(['preparer_id'], ['users.id'], name=op.f('fk_final_liquidation_signoffs_preparer_id_users')),
        sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_final_liquidation_signoffs_reviewer_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_final_liquidation_signoffs')),
        sa.UniqueConstraint('final_liquidation_id', 'discipline',
                            name=op.f('uq_final_liquidation_signoffs_final_liquidation_id_discipline')),
        sa.UniqueConstraint('final_liquidation_id', 'reviewer_id',
                            name=op.f('uq_final_liquidation_signoffs_final_liquidation_id_reviewer_id')),
    )
    with op.batch_alter_table('final_liquidation_signoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_final_liquidation_signoffs_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_final_liquidation_signoffs_reviewer_id'), ['reviewer_id'], unique=False)


def downgrade():
    with op.batch_alter_table('final_liquidation_signoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_final_liquidation_signoffs_reviewer_id'))
        batch_op.drop_index(batch_op.f('ix_final_liquidation_signoffs_agreement_id'))
    op.drop_table('final_liquidation_signoffs')
    op.drop_table('final_liquidation_signers')
    # Before this revision a final liquidation existed only once decided: proposals and revisions sent
    # back have no place in the older schema (their history stays in the audit chain).
    op.execute("DELETE FROM final_liquidations WHERE status NOT IN ('approved', 'recorded')")
    with op.batch_alter_table('final_liquidations', schema=None) as batch_op:
        batch_op.drop_constraint('ck_final_liquidations_closed_unless_proposed', type_='check')
        batch_op.drop_constraint('ck_final_liquidations_revision_positive', type_='check')
        batch_op.drop_constraint('ck_final_liquidations_status_known', type_='check')
        batch_op.drop_index('ix_final_liquidations_live')
        batch_op.drop_constraint('uq_final_liquidations_id_agreement_id_prepared_by_id', type_='unique')
        batch_op.drop_constraint('uq_final_liquidations_agreement_id_revision', type_='unique')
        batch_op.drop_constraint('fk_final_liquidations_prepared_by_id_users', type_='foreignkey')
        batch_op.alter_column('prepared_at', new_column_name='decided_at', existing_type=sa.DateTime(timezone=True),
                              existing_nullable=False)
        batch_op.alter_column('prepared_by_id', new_column_name='decided_by_id', existing_type=sa.Integer(),
                              existing_nullable=False)
        batch_op.drop_column('closed_at')
        batch_op.drop_column('status')
        batch_op.drop_column('revision')
    with op.batch_alter_table('final_liquidations', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_final_liquidations_decided_by_id_users', 'users', ['decided_by_id'], ['id'])
        batch_op.create_unique_constraint('uq_final_liquidations_agreement_id', ['agreement_id'])
