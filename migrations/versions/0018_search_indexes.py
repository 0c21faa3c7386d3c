"""searching people by the beginning of their names, any case: lower(last_names) and
lower(first_names), with text_pattern_ops on PostgreSQL (LIKE 'text%' whatever the collation)

Revision ID: 0018_search_indexes
Revises: 0017_typed_states
Create Date: 2026-12-06 14:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_search_indexes'
down_revision = '0017_typed_states'
branch_labels = None
depends_on = None

COLUMNS = ('last_names', 'first_names')


def upgrade():
    ops = ' text_pattern_ops' if op.get_bind().dialect.name == 'postgresql' else ''
    for column in COLUMNS:
        op.create_index(f'ix_beneficiaries_{column}_lower', 'beneficiaries', [sa.text(f'lower({column}){ops}')],
                        unique=False)


def downgrade():
    for column in COLUMNS:
        op.drop_index(f'ix_beneficiaries_{column}_lower', table_name='beneficiaries')
