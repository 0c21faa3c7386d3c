"""due process: incident replies and measures, sanctions with fines (deposits and deductions), one
attachment mechanism for incident evidence and receipt scans

Revision ID: 0011_due_process
Revises: 0010_closing_signoffs
Create Date: 2026-12-06 09:00:00

"""
import shutil
from pathlib import Path

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_due_process'
down_revision = '0010_closing_signoffs'
branch_labels = None
depends_on = None

_SCANS = (('.pdf', 'application/pdf'), ('.jpg', 'image/jpeg'), ('.png', 'image/png'))


def _upload_dir():
    """The storage every process sees (config UPLOAD_DIR), when the migration runs inside the app."""
    try:
        from flask import current_app

        return Path(current_app.config["UPLOAD_DIR"])
    except (ImportError, RuntimeError, KeyError):
        return None


def _move_to_attachments(conn, rows, folder: str, owner_type: str, kind: str) -> None:
    """Existing files (content-addressed, ``<folder>/<sha><suffix>``) become attachments: the file is
    copied to ``attachments/`` (same name: same content) and an attachment row names its owner."""
    uploads = _upload_dir()
    for owner_id, organization_id, sha, filename, at in rows:
        found = None
        for suffix, content_type in _SCANS:
            path = uploads / folder / f"{sha}{suffix}" if uploads else None
            if path is not None and path.exists():
                found = (path, suffix, content_type)
                break
        if found is None:  # a reference without its file: kept in the audit trail, nothing to serve
            continue
        path, suffix, content_type = found
        target = uploads / "attachments" / f"{sha}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copyfile(path, target)
        conn.execute(sa.text(
            "INSERT INTO attachments (owner_type, owner_id, kind, organization_id, filename, content_type, sha256, "
            "size, uploaded_at) VALUES (:t, :o, :k, :org, :f, :c, :s, :n, :at)"),
            {"t": owner_type, "o": owner_id, "k": kind, "org": organization_id, "f": filename or f"{sha[:12]}{suffix}",
             "c": content_type, "s": sha, "n": path.stat().st_size, "at": at})


def upgrade():
    op.create_table('fine_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('bank_name', sa.String(length=120), nullable=True),
    sa.Column('bank_reference', sa.String(length=60), nullable=True),
    sa.Column('deposited_on', sa.Date(), nullable=True),
    sa.Column('advance_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("decided_by_id IS NULL OR decided_by_id != recorded_by_id OR method = 'deduction'", name=op.f('ck_fine_payments_confirmer_not_declarer')),
    sa.CheckConstraint("method != 'deduction' OR (advance_id IS NOT NULL AND status = 'confirmed')", name=op.f('ck_fine_payments_deduction_from_an_advance')),
    sa.CheckConstraint("method != 'deposit' OR (bank_reference IS NOT NULL AND deposited_on IS NOT NULL)", name=op.f('ck_fine_payments_deposit_has_bank_data')),
    sa.CheckConstraint("method IN ('deposit', 'deduction')", name=op.f('ck_fine_payments_method_known')),
    sa.CheckConstraint("status != 'rejected' OR length(rejection_reason) > 0", name=op.f('ck_fine_payments_rejected_has_reason')),
    sa.CheckConstraint("status = 'declared' OR decided_at IS NOT NULL", name=op.f('ck_fine_payments_decision_recorded')),
    sa.CheckConstraint("status IN ('declared', 'confirmed', 'rejected')", name=op.f('ck_fine_payments_status_known')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_fine_payments_amount_positive')),
    sa.ForeignKeyConstraint(['advance_id'], ['advances.id'], name=op.f('fk_fine_payments_advance_id_advances')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_fine_payments_agreement_id_agreements')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_fine_payments_decided_by_id_users')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_fine_payments_incident_id_incidents')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_fine_payments_organization_id_organizations')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_fine_payments_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fine_payments'))
    )
    with op.batch_alter_table('fine_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fine_payments_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fine_payments_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('ix_fine_payments_live_reference', ['incident_id', 'bank_reference'], unique=True, sqlite_where=sa.text("status != 'rejected' AND method = 'deposit'"), postgresql_where=sa.text("status != 'rejected' AND method = 'deposit'"))

    op.create_table('incident_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(text) > 0', name=op.f('ck_incident_replies_has_text')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_replies_incident_id_incidents')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_incident_replies_organization_id_organizations')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_incident_replies_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_replies')),
    sa.UniqueConstraint('incident_id', name=op.f('uq_incident_replies_incident_id'))
    )
    with op.batch_alter_table('advances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fine_withheld', sa.Numeric(precision=14, scale=2), server_default='0',
                                      nullable=False))
        batch_op.create_check_constraint('withheld_not_negative', 'fine_withheld >= 0')

    with op.batch_alter_table('agreement_balances', schema=None) as batch_op:
        for column in ('fines_assessed', 'fines_declared', 'fines_collected'):
            batch_op.add_column(sa.Column(column, sa.Numeric(precision=14, scale=2), server_default='0',
                                          nullable=False))
        batch_op.create_check_constraint(
            'fines_within_assessed',
            'fines_declared >= 0 AND fines_collected >= 0 AND ROUND(fines_collected + fines_declared, 2) <= fines_assessed')

    # Evidence and receipt scans join the one attachment mechanism (their files are copied as they are).
    conn = op.get_bind()
    _move_to_attachments(conn, conn.execute(sa.text(
        "SELECT id, organization_id, evidence_sha256, evidence_filename, created_at FROM incidents "
        "WHERE evidence_sha256 IS NOT NULL")).all(), "incidents", "incident", "incident_evidence")
    _move_to_attachments(conn, conn.execute(sa.text(
        "SELECT r.id, a.organization_id, r.scan_sha256, NULL, s.submitted_at FROM expense_receipts r "
        "JOIN expense_statements s ON s.id = r.statement_id JOIN advances a ON a.id = s.advance_id "
        "WHERE r.scan_sha256 IS NOT NULL")).all(), "receipt-scans", "receipt", "receipt_scan")
    # (plain DROP COLUMN: rebuilding expense_receipts on SQLite would lose its expression index, 0007)
    op.drop_column('expense_receipts', 'scan_sha256')

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('evidence_filename')
        batch_op.drop_column('evidence_sha256')
        batch_op.add_column(sa.Column('measure_status', sa.String(length=14), server_default='in_effect',
                                      nullable=False))
        batch_op.add_column(sa.Column('urgent', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.add_column(sa.Column('urgent_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('reply_due', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('measure_decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('measure_decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('measure_decision_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('sanction_type', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('fine_amount', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('deduction_accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deduction_accepted_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_incidents_measure_decided_by_id_users'), 'users',
                                    ['measure_decided_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_incidents_deduction_accepted_by_id_users'), 'users',
                                    ['deduction_accepted_by_id'], ['id'])
    # Sanctions recorded before due process existed were warnings (no amount): they stay in effect as such.
    op.execute("UPDATE incidents SET sanction_type = 'written_warning' WHERE measure = 'sanction'")
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_check_constraint('measure_status_known',
                                         "measure_status IN ('pending_reply', 'in_effect', 'withdrawn')")
        batch_op.create_check_constraint('observation_at_once',
                                         "measure != 'observation' OR measure_status = 'in_effect'")
        batch_op.create_check_constraint('pending_has_deadline',
                                         "measure_status != 'pending_reply' OR reply_due IS NOT NULL")
        batch_op.create_check_constraint('urgency_explained', 'NOT urgent OR length(urgent_reason) > 0')
        batch_op.create_check_constraint('sanction_fields_only_for_sanctions',
                                         "measure = 'sanction' OR (sanction_type IS NULL AND fine_amount IS NULL)")
        batch_op.create_check_constraint('sanction_type_known',
                                         "measure != 'sanction' OR sanction_type IN ('written_warning', 'fine')")
        batch_op.create_check_constraint('fine_has_amount',
                                         "(sanction_type = 'fine') = (fine_amount IS NOT NULL AND fine_amount > 0)")
        batch_op.create_check_constraint('deduction_of_a_fine',
                                         "deduction_accepted_at IS NULL OR sanction_type = 'fine'")


def downgrade():
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        for name in ('deduction_of_a_fine', 'fine_has_amount', 'sanction_type_known',
                     'sanction_fields_only_for_sanctions', 'urgency_explained', 'pending_has_deadline',
                     'observation_at_once', 'measure_status_known'):
            batch_op.drop_constraint(name, type_='check')
        batch_op.drop_constraint(batch_op.f('fk_incidents_deduction_accepted_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_incidents_measure_decided_by_id_users'), type_='foreignkey')
        for column in ('deduction_accepted_by_id', 'deduction_accepted_at', 'fine_amount', 'sanction_type',
                       'measure_decision_note', 'measure_decided_at', 'measure_decided_by_id', 'reply_due',
                       'urgent_reason', 'urgent', 'measure_status'):
            batch_op.drop_column(column)
        batch_op.add_column(sa.Column('evidence_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('evidence_filename', sa.String(length=200), nullable=True))
    op.add_column('expense_receipts', sa.Column('scan_sha256', sa.String(length=64), nullable=True))
    op.execute("UPDATE expense_receipts SET scan_sha256 = (SELECT a.sha256 FROM attachments a WHERE "
               "a.owner_type = 'receipt' AND a.owner_id = expense_receipts.id ORDER BY a.id LIMIT 1)")
    op.execute("UPDATE incidents SET evidence_sha256 = (SELECT a.sha256 FROM attachments a WHERE "
               "a.owner_type = 'incident' AND a.owner_id = incidents.id ORDER BY a.id LIMIT 1), evidence_filename = "
               "(SELECT a.filename FROM attachments a WHERE a.owner_type = 'incident' AND a.owner_id = incidents.id "
               "ORDER BY a.id LIMIT 1)")
    op.execute("DELETE FROM attachments WHERE owner_type IN ('receipt', 'incident', 'incident_reply', "
               "'fine_payment')")
    with op.batch_alter_table('agreement_balances', schema=None) as batch_op:
        batch_op.drop_constraint('fines_within_assessed', type_='check')
        for column in ('fines_collected', 'fines_declared', 'fines_assessed'):
            batch_op.drop_column(column)
    with op.batch_alter_table('advances', schema=None) as batch_op:
        batch_op.drop_constraint('withheld_not_negative', type_='check')
        batch_op.drop_column('fine_withheld')
    op.drop_table('incident_replies')
    with op.batch_alter_table('fine_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_fine_payments_live_reference')
        batch_op.drop_index(batch_op.f('ix_fine_payments_incident_id'))
        batch_op.drop_index(batch_op.f('ix_fine_payments_agreement_id'))
    op.drop_table('fine_payments')
