"""technical meetings (mesas técnicas): meetings, their participants and commitments

Revision ID: 0009_meetings
Revises: 0008_timeline_controls
Create Date: 2026-12-06 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_meetings'
down_revision = '0008_timeline_controls'
branch_labels = None
depends_on = None


def _set(column):
    return f"(CASE WHEN {column} IS NULL THEN 0 ELSE 1 END)"


def upgrade():
    # A meeting is recorded on exactly one record of the case: the allocation (before the plan),
    # the plan (before the agreement) or the agreement.
    op.create_table(
        'meetings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('allocation_id', sa.Integer(), nullable=True),
        sa.Column('plan_id', sa.Integer(), nullable=True),
        sa.Column('agreement_id', sa.Integer(), nullable=True),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('place', sa.String(length=200), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('minutes', sa.Text(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"{_set('allocation_id')} + {_set('plan_id')} + {_set('agreement_id')} = 1",
                           name=op.f('ck_meetings_one_record')),
        sa.CheckConstraint('length(place) > 0 AND length(subject) > 0 AND length(minutes) > 0',
                           name=op.f('ck_meetings_described')),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_meetings_organization_id_organizations')),
        sa.ForeignKeyConstraint(['allocation_id'], ['allocations.id'], name=op.f('fk_meetings_allocation_id_allocations')),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_meetings_plan_id_plans')),
        sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_meetings_agreement_id_agreements')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_meetings_recorded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings')),
        # the target of the commitments' composite foreign key (a commitment stays in its meeting's NGO)
        sa.UniqueConstraint('id', 'organization_id', name=op.f('uq_meetings_id_organization_id')),
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        for column in ('organization_id', 'allocation_id', 'plan_id', 'agreement_id'):
            batch_op.create_index(batch_op.f(f'ix_meetings_{column}'), [column], unique=False)

    op.create_table(
        'meeting_participants',
        sa.Column('meeting_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('name', sa.String(length=160), nullable=False),
        sa.Column('institution', sa.String(length=10), nullable=False),
        sa.Column('position', sa.String(length=160), nullable=False),
        sa.CheckConstraint("institution IN ('ministry', 'ngo')", name=op.f('ck_meeting_participants_institution_known')),
        sa.CheckConstraint('number > 0 AND length(name) > 0', name=op.f('ck_meeting_participants_named')),
        sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], ondelete='CASCADE',
                                name=op.f('fk_meeting_participants_meeting_id_meetings')),
        sa.PrimaryKeyConstraint('meeting_id', 'number', name=op.f('pk_meeting_participants')),
    )

    op.create_table(
        'commitments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('meeting_id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('close_note', sa.Text(), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('open', 'done', 'cancelled')", name=op.f('ck_commitments_status_known')),
        sa.CheckConstraint('length(description) > 0', name=op.f('ck_commitments_described')),
        sa.CheckConstraint("(status = 'open' AND closed_at IS NULL AND closed_by_id IS NULL) OR "
                           "(status != 'open' AND closed_at IS NOT NULL AND closed_by_id IS NOT NULL)",
                           name=op.f('ck_commitments_closed_when_not_open')),
        sa.CheckConstraint("status != 'cancelled' OR (close_note IS NOT NULL AND length(close_note) > 0)",
                           name=op.f('ck_commitments_cancel_has_note')),
        sa.ForeignKeyConstraint(['meeting_id', 'organization_id'], ['meetings.id', 'meetings.organization_id'],
                                name=op.f('fk_commitments_meeting_id_meetings')),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_commitments_owner_id_users')),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_commitments_closed_by_id_users')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_commitments_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_commitments')),
    )
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitments_meeting_id'), ['meeting_id'], unique=False)
        # the home page's "my overdue commitments": the owner's open ones by due date
        batch_op.create_index('ix_commitments_owner_status_due', ['owner_id', 'status', 'due_on'], unique=False)


def downgrade():
    op.drop_table('commitments')
    op.drop_table('meeting_participants')
    op.drop_table('meetings')
