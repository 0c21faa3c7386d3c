"""the job queue (procrastinate's schema, PostgreSQL only) and the progress of list imports

Revision ID: 0014_job_queue
Revises: 0013_login_throttle
Create Date: 2026-12-10 09:00:00

procrastinate ships its schema (tables procrastinate_*, their types, functions and triggers);
it is applied here as the version pinned in requirements.txt has it, in the schema the connection's
search_path names first (the tests' per-session schemas included). A later procrastinate release
comes with its own SQL migrations (procrastinate/sql/migrations): apply them in a new revision.
On SQLite there is no queue (jobs run in the web process): nothing to create.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_job_queue'
down_revision = '0013_login_throttle'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_batch_progress',
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('rows_read', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'],
                                name=op.f('fk_import_batch_progress_batch_id_import_batches'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_import_batch_progress')),
    )
    if op.get_bind().dialect.name != 'postgresql':
        return
    from procrastinate.schema import SchemaManager

    # the driver's connection: the schema is many statements, with % and :: that SQLAlchemy would parse
    op.get_bind().connection.driver_connection.execute(SchemaManager.get_schema())


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            DO $$ DECLARE item record; BEGIN
              FOR item IN SELECT tablename FROM pg_tables
                          WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%' LOOP
                EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
              END LOOP;
              FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                          JOIN pg_namespace n ON n.oid = p.pronamespace
                          WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
                EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', item.signature);
              END LOOP;
              FOR item IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                          WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
                            AND t.typtype IN ('e', 'c') LOOP
                EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
              END LOOP;
            END $$""")
    op.drop_table('import_batch_progress')
