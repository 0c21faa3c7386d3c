"""Beneficiary lists: upload → process (rows checked and stored whole, or not at all) → the NGO
confirms → monitoring validates. Status lists (active/inactive/withdrawn) follow the same path.

Row checks run in Python while streaming the file; checks across rows and against the database
run as a few set-based SQL statements after the rows are stored. Flush, never commit.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l, lazy_ngettext
from sqlalchemy import func, select, text

from grants import formats
from grants.audit import Actor, record_event
from grants.clock import today  # module attribute: tests patch ``beneficiary_imports.today``
from grants.extensions import db
from grants.models import Agreement, Enrollment, EnrollmentPeriod, ImportBatch, ImportRow
from grants.models.base import utcnow
from grants.permissions import Role
from grants.services import attachments, files
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from grants.services.notifications import notify, users_with_role
from grants.services.row_store import RowWriter
from grants.validation.beneficiary_rows import (
    AgreementFrame,
    check_status_row,
    control_check,
    enrollment_checker,
    map_headers,
)
from grants.validation.tabular import UnreadableFile, open_table
from grants.workflows import import_batch as lifecycle
from grants.workflows.agreement import AgreementState
from grants.workflows.enrollment import NGO_REPORTABLE, allowed
from grants.workflows.import_batch import BatchAction, BatchKind, BatchState

log = logging.getLogger(__name__)
FOLDER = "beneficiary-lists"
IMPORTABLE_STATES = (AgreementState.IN_EXECUTION, AgreementState.SIGNED)


def _audit_batch(batch: ImportBatch) -> dict:
    return {"agreement_id": batch.agreement_id, "kind": batch.kind, "status": batch.status,
            "filename": batch.filename, "file_sha256": batch.file_sha256, "rows_total": batch.rows_total,
            "rows_valid": batch.rows_valid, "rows_warning": batch.rows_warning, "rows_error": batch.rows_error,
            "failure": batch.failure}


def _frame(agreement: Agreement) -> AgreementFrame:
    version = agreement.plan_version
    return AgreementFrame(start=agreement.start_date, end=agreement.end_date,
                          territory=frozenset(version.territory or ()), age_min=version.beneficiaries_age_min,
                          age_max=version.beneficiaries_age_max, today=today())


# --- upload -----------------------------------------------------------------------------------

def start_import(actor: Actor, agreement_id: int, filename: str, data: bytes, kind: str = BatchKind.ENROLLMENT) -> ImportBatch:
    """Store the uploaded file and open a batch (status ``processing``)."""
    agreement = db.session.get(Agreement, agreement_id)
    user = actor.user
    if agreement is None or user is None or not agreement.is_visible_to(user):
        raise NotFound()
    if not user.acts_for(agreement.organization_id):
        raise Forbidden(_l("Solo la organización del convenio sube sus listas."))
    if agreement.status not in IMPORTABLE_STATES:
        raise Conflict(_l("Las listas se reciben solo para convenios firmados o en ejecución."),
                       code="agreement_not_in_execution")
    if kind not in tuple(BatchKind):
        raise ValidationFailed(errors={"kind": [_l("Tipo de lista desconocido.")]})
    # What the list is comes from its bytes (the one upload check), never from its name.
    found = attachments.check_file(data, attachments.TABLES, max_upload_bytes())
    suffix = found.suffix
    stored = files.store(data, FOLDER, suffix)
    batch = ImportBatch(agreement_id=agreement.id, organization_id=agreement.organization_id, kind=kind,
                        status=BatchState.PROCESSING, filename=attachments.clean_filename(filename, suffix, "lista"),
                        file_sha256=stored.sha256,
                        file_size=stored.size, file_format=suffix.lstrip("."), uploaded_by_id=user.id,
                        headers=[])
    db.session.add(batch)
    db.session.flush()
    record_event(db.session, actor, "beneficiary_import.uploaded", "import_batch", batch.id,
                 after=_audit_batch(batch), organization_id=batch.organization_id)
    return batch


def stored_file(batch: ImportBatch) -> Path:
    return files.stored_path(FOLDER, batch.file_sha256, f".{batch.file_format}")


# --- processing -------------------------------------------------------------------------------

def process_batch(actor: Actor, batch_id: int, progress: Callable[[int], None] | None = None) -> ImportBatch:
    """Read, check and store every row, then run the set-based checks. One transaction."""
    # FOR NO KEY UPDATE: a second processor waits here; the job's progress row (a foreign key to
    # the batch) is still written from another connection meanwhile
    batch = db.session.get(ImportBatch, batch_id, with_for_update={"key_share": True})
    if batch is None:
        raise NotFound()
    if batch.status != BatchState.PROCESSING:
        raise Conflict(_l("Esta lista ya fue procesada."), code="batch_processed")
    agreement = batch.agreement
    frame = _frame(agreement)
    try:
        table = open_table(stored_file(batch), batch.filename)
    except UnreadableFile as exc:
        return _fail(actor, batch, exc.code, str(exc.message))
    mapping, missing = map_headers(table.headers, batch.kind)
    batch.headers = [str(h) for h in table.headers]
    if missing:
        return _fail(actor, batch, "missing_columns", "; ".join(m["params"]["column"] for m in missing))
    check = control_check(table.headers, enrollment_checker(mapping, table.headers, frame) if batch.kind == BatchKind.ENROLLMENT
                          else partial(check_status_row, mapping=mapping, headers=table.headers, frame=frame))
    current = _current_states(agreement.id) if batch.kind == BatchKind.STATUS else None
    writer = RowWriter(batch.id, chunk=20_000)
    count = 0
    try:
        for number, cells in table.rows:
            values = check(cells)
            errors = values.pop("errors")
            existing = None
            if current is not None:
                existing = _check_status_change(values, current, errors, mapping, table.headers)
                values["enrollment_date"] = values.pop("effective_date")  # the row's date column
            writer.add(number, "error" if errors else "valid", errors, values, existing)
            count += 1
            if progress and count % 2000 == 0:
                progress(count)
        writer.flush()
    except UnreadableFile as exc:
        db.session.execute(text("DELETE FROM import_rows WHERE batch_id = :b"), {"b": batch.id})
        return _fail(actor, batch, exc.code, str(exc.message))
    if count == 0:
        return _fail(actor, batch, "empty", str(_l("El archivo no tiene filas de datos.")))
    _cross_check(batch, agreement.id)
    counts = dict(db.session.execute(
        select(ImportRow.outcome, func.count()).where(ImportRow.batch_id == batch.id).group_by(ImportRow.outcome)
    ).all())
    batch.rows_valid, batch.rows_warning, batch.rows_error = (
        counts.get("valid", 0), counts.get("warning", 0), counts.get("error", 0))
    batch.rows_total = count
    batch.status = lifecycle.next_state(batch.status, BatchAction.FINISH)
    batch.progress_rows, batch.progress_at = count, utcnow()
    db.session.flush()
    record_event(db.session, actor, "beneficiary_import.processed", "import_batch", batch.id,
                 after=_audit_batch(batch), organization_id=batch.organization_id)
    if progress:
        progress(count)
    return batch


def _fail(actor: Actor, batch: ImportBatch, code: str, message: str) -> ImportBatch:
    batch.status = lifecycle.next_state(batch.status, BatchAction.FAIL)
    batch.failure = f"{code}: {message}"[:2000]
    db.session.flush()
    record_event(db.session, actor, "beneficiary_import.failed", "import_batch", batch.id,
                 after=_audit_batch(batch), organization_id=batch.organization_id)
    return batch


def _cross_check(batch: ImportBatch, agreement_id: int) -> None:
    params = {"b": batch.id, "a": agreement_id}
    # the same person twice in the file: later rows are errors pointing at the first. PostgreSQL sorts on
    # a hash of the number first: the same partitions, integer comparisons (half the time of the strings)
    person = ("hashtextextended(document_number, 0), " if db.session.get_bind().dialect.name == "postgresql"
              else "") + "document_type, document_number"
    db.session.execute(text(f"""
        WITH ranked AS (
            SELECT row_number,
                   MIN(row_number) OVER (PARTITION BY {person}) AS first_row
            FROM import_rows WHERE batch_id = :b AND document_number IS NOT NULL)
        UPDATE import_rows SET duplicate_of_row = ranked.first_row, outcome = 'error'
        FROM ranked WHERE import_rows.batch_id = :b AND import_rows.row_number = ranked.row_number
          AND ranked.first_row < ranked.row_number"""), params)
    if batch.kind == BatchKind.ENROLLMENT:
        # a good row that either check flags becomes a warning (set in the same statements)
        warn = "outcome = CASE WHEN outcome = 'valid' THEN 'warning' ELSE outcome END"
        # already enrolled in this agreement: the row updates, it does not enroll twice
        db.session.execute(text(f"""
            UPDATE import_rows SET existing_enrollment_id = e.id, {warn}
            FROM beneficiaries b JOIN enrollments e ON e.beneficiary_id = b.id AND e.agreement_id = :a
            WHERE import_rows.batch_id = :b AND b.document_type = import_rows.document_type
              AND b.document_number = import_rows.document_number"""), params)
        # active in another agreement today: flagged, kept pending until monitoring decides
        db.session.execute(text(f"""
            UPDATE import_rows SET double_enrollment = TRUE, {warn}
            WHERE batch_id = :b AND outcome <> 'error' AND EXISTS (
                SELECT 1 FROM beneficiaries b
                JOIN enrollments e ON e.beneficiary_id = b.id AND e.agreement_id <> :a
                JOIN enrollment_periods p ON p.enrollment_id = e.id AND p.valid_to IS NULL AND p.status = 'active'
                WHERE b.document_type = import_rows.document_type
                  AND b.document_number = import_rows.document_number)"""), params)


def _current_states(agreement_id: int) -> dict[tuple[str, str], tuple[int, str, date]]:
    """(document type, number) → (enrollment id, status, since) for the agreement. One query."""
    from grants.models import Beneficiary

    rows = db.session.execute(
        select(Beneficiary.document_type, Beneficiary.document_number, Enrollment.id, Enrollment.status,
               EnrollmentPeriod.valid_from)
        .join(Enrollment, Enrollment.beneficiary_id == Beneficiary.id)
        .join(EnrollmentPeriod, (EnrollmentPeriod.enrollment_id == Enrollment.id) & EnrollmentPeriod.valid_to.is_(None))
        .where(Enrollment.agreement_id == agreement_id)
    ).all()
    return {(t, n): (eid, status, since) for t, n, eid, status, since in rows}


def _check_status_change(values, current, errors, mapping, headers) -> int | None:
    key = (values["document_type"], values["document_number"])
    column = headers[mapping["document_number"]]
    if values["document_number"] is None:
        return None
    found = current.get(key)
    if found is None:
        errors.append({"column": column, "code": "not_enrolled"})
        return None
    enrollment_id, status, since = found
    target = values.get("status")
    if target and (target not in NGO_REPORTABLE or not allowed(status, target)):
        errors.append({"column": headers[mapping["status"]], "code": "transition_refused",
                       "params": {"from": status, "to": target}})
    if values.get("effective_date") and values["effective_date"] < since:
        errors.append({"column": headers[mapping["effective_date"]], "code": "effective_before_current",
                       "params": {"since": since.isoformat()}})
    return enrollment_id


# --- confirmation and validation --------------------------------------------------------------

def _own_batch(actor: Actor, batch_id: int, lock: bool = True) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id, with_for_update=lock)
    if batch is None or actor.user is None or not batch.is_visible_to(actor.user):
        raise NotFound()
    return batch


def confirm_batch(actor: Actor, batch_id: int) -> ImportBatch:
    """The NGO confirms: valid rows (and warnings) become enrollments or status changes."""
    batch = _own_batch(actor, batch_id)
    refusal = batch.refusal_for(actor.user, BatchAction.CONFIRM)
    if refusal == "forbidden":
        raise Forbidden(_l("Solo la organización del convenio confirma sus listas."))
    if refusal == "invalid_transition":
        raise Conflict(_l("Solo se confirma una lista procesada y no confirmada."), code="batch_not_ready")
    if refusal == "empty":
        raise Conflict(_l("La lista no tiene filas válidas."), code="batch_empty")
    if batch.agreement.status not in IMPORTABLE_STATES:
        raise Conflict(_l("Las listas se reciben solo para convenios firmados o en ejecución."),
                       code="agreement_not_in_execution")
    now, params = utcnow(), {"b": batch.id, "a": batch.agreement_id, "org": batch.organization_id,
                             "actor": actor.user_id}
    params["now"] = now
    if batch.kind == BatchKind.ENROLLMENT:
        applied = _confirm_enrollments(params)
    else:
        applied = _confirm_status_changes(batch, params)
    batch.status = lifecycle.next_state(batch.status, BatchAction.CONFIRM)
    batch.confirmed_by_id, batch.confirmed_at = actor.user_id, now
    db.session.flush()
    record_event(db.session, actor, "beneficiary_import.confirmed", "import_batch", batch.id,
                 after={**_audit_batch(batch), **applied}, organization_id=batch.organization_id)
    notify(users_with_role(Role.MONITORING_REVIEWER), "beneficiaries.confirmed",
           lazy_ngettext("Lista de beneficiarios confirmada: %(org)s (%(num)s fila)",
                         "Lista de beneficiarios confirmada: %(org)s (%(num)s filas)",
                         batch.rows_valid + batch.rows_warning, org=batch.agreement.organization.legal_name),
           _l("Valide la lista del convenio %(number)s.", number=batch.agreement.number),
           link=f"/beneficiary-imports/{batch.id}")
    return batch


def _confirm_enrollments(params: dict) -> dict:
    ok_rows = "r.batch_id = :b AND r.outcome <> 'error'"
    new_people = db.session.execute(text(f"""
        INSERT INTO beneficiaries (document_type, document_number, first_names, last_names, birth_date, sex,
                                   municipality_code, created_at, updated_at)
        SELECT r.document_type, r.document_number, r.first_names, r.last_names, r.birth_date, r.sex,
               r.municipality_code, :now, :now
        FROM import_rows r WHERE {ok_rows} AND NOT EXISTS (
            SELECT 1 FROM beneficiaries b
            WHERE b.document_type = r.document_type AND b.document_number = r.document_number)"""), params).rowcount
    updated_people = db.session.execute(text(f"""
        UPDATE beneficiaries SET first_names = r.first_names, last_names = r.last_names, birth_date = r.birth_date,
               sex = r.sex, municipality_code = r.municipality_code, updated_at = :now
        FROM import_rows r
        WHERE {ok_rows} AND beneficiaries.document_type = r.document_type
          AND beneficiaries.document_number = r.document_number AND beneficiaries.created_at <> :now
          AND (beneficiaries.first_names <> r.first_names OR beneficiaries.last_names <> r.last_names
               OR beneficiaries.birth_date <> r.birth_date OR beneficiaries.sex <> r.sex
               OR beneficiaries.municipality_code <> r.municipality_code)"""), params).rowcount
    enrolled = db.session.execute(text(f"""
        INSERT INTO enrollments (agreement_id, organization_id, beneficiary_id, status, enrolled_on, batch_id,
                                 double_enrollment, created_at, updated_at)
        SELECT :a, :org, b.id, 'pending', r.enrollment_date, :b,
               CASE WHEN r.double_enrollment THEN 'pending' ELSE NULL END, :now, :now
        FROM import_rows r
        JOIN beneficiaries b ON b.document_type = r.document_type AND b.document_number = r.document_number
        WHERE {ok_rows} AND NOT EXISTS (
            SELECT 1 FROM enrollments e WHERE e.agreement_id = :a AND e.beneficiary_id = b.id)"""), params).rowcount
    db.session.execute(text("""
        INSERT INTO enrollment_periods (enrollment_id, status, valid_from, batch_id, actor_id, recorded_at)
        SELECT e.id, 'pending', e.enrolled_on, :b, :actor, :now FROM enrollments e
        WHERE e.batch_id = :b AND NOT EXISTS (SELECT 1 FROM enrollment_periods p WHERE p.enrollment_id = e.id)"""),
        params)
    return {"beneficiaries_created": new_people, "beneficiaries_updated": updated_people,
            "enrollments_created": enrolled}


def _confirm_status_changes(batch: ImportBatch, params: dict) -> dict:
    # the list must still match the current states (another list may have changed them)
    current = _current_states(batch.agreement_id)
    rows = db.session.execute(select(ImportRow.document_type, ImportRow.document_number, ImportRow.status,
                                     ImportRow.enrollment_date, ImportRow.existing_enrollment_id)
                              .where(ImportRow.batch_id == batch.id, ImportRow.outcome != "error")).all()
    for doc_type, number, status, effective, enrollment_id in rows:
        found = current.get((doc_type, number))
        if found is None or found[0] != enrollment_id or not allowed(found[1], status) or effective < found[2]:
            raise Conflict(_l("La lista quedó desactualizada: el estado de alguna persona cambió. Súbala de nuevo."),
                           code="batch_stale")
    ok_rows = "r.batch_id = :b AND r.outcome <> 'error'"
    db.session.execute(text(f"""
        UPDATE enrollment_periods SET valid_to = r.enrollment_date
        FROM import_rows r WHERE {ok_rows} AND enrollment_periods.enrollment_id = r.existing_enrollment_id
          AND enrollment_periods.valid_to IS NULL"""), params)
    changed = db.session.execute(text(f"""
        INSERT INTO enrollment_periods (enrollment_id, status, valid_from, reason, batch_id, actor_id, recorded_at)
        SELECT r.existing_enrollment_id, r.status, r.enrollment_date, r.status_reason, :b, :actor, :now
        FROM import_rows r WHERE {ok_rows}"""), params).rowcount
    db.session.execute(text(f"""
        UPDATE enrollments SET status = r.status, updated_at = :now
        FROM import_rows r WHERE {ok_rows} AND enrollments.id = r.existing_enrollment_id"""), params)
    return {"status_changes": changed}


def validate_batch(actor: Actor, batch_id: int, effective: date | None = None) -> ImportBatch:
    """Monitoring validates a confirmed enrollment list: its pending enrollments become validated
    (those flagged as double enrollment wait for their own decision).

    The validation takes effect on ``effective`` (the day the documents were checked) for every
    person enrolled by then, and on each person's enrollment date for those enrolled later: never
    before a person's enrollment. Without ``effective``, each person is validated from their own
    enrollment date. Never in the future, never outside the agreement's term."""
    batch = _own_batch(actor, batch_id)
    refusal = batch.refusal_for(actor.user, BatchAction.VALIDATE)
    if refusal == "forbidden":
        raise Forbidden()
    if refusal == "own_upload":
        raise Forbidden(_l("Nadie valida lo que subió o confirmó."))
    if refusal == "invalid_transition":
        raise Conflict(_l("Solo se valida una lista de inscripción confirmada."), code="batch_not_confirmed")
    agreement = batch.agreement
    if effective is not None and effective > today():
        raise ValidationFailed(errors={"effective": [_l("La fecha de validación no puede ser futura.")]})
    if effective is not None and not agreement.start_date <= effective <= agreement.end_date:
        raise ValidationFailed(errors={"effective": [_l(
            "La fecha de validación debe estar dentro del plazo del convenio (%(start)s a %(end)s).",
            start=formats.day(agreement.start_date), end=formats.day(agreement.end_date))]})
    params = {"b": batch.id, "day": effective, "actor": actor.user_id, "now": utcnow()}
    # Each person's day: the later of the validation day and their enrollment (their enrollment
    # date when no day is given).
    since = "e.enrolled_on" if effective is None else "CASE WHEN e.enrolled_on > :day THEN e.enrolled_on ELSE :day END"
    eligible = ("SELECT id FROM enrollments WHERE batch_id = :b AND status = 'pending' "
                "AND (double_enrollment IS NULL OR double_enrollment = 'allowed')")
    db.session.execute(text(f"""
        UPDATE enrollment_periods SET valid_to = (
            SELECT CASE WHEN enrollment_periods.valid_from > ({since}) THEN enrollment_periods.valid_from
                        ELSE ({since}) END
            FROM enrollments e WHERE e.id = enrollment_periods.enrollment_id)
        WHERE valid_to IS NULL AND enrollment_id IN ({eligible})"""), params)
    validated = db.session.execute(text(f"""
        INSERT INTO enrollment_periods (enrollment_id, status, valid_from, batch_id, actor_id, recorded_at)
        SELECT e.id, 'validated', {since}, :b, :actor, :now
        FROM enrollments e WHERE e.id IN ({eligible})"""), params).rowcount
    db.session.execute(text(f"""
        UPDATE enrollments SET status = 'validated', updated_at = :now WHERE id IN ({eligible})"""), params)
    batch.status = lifecycle.next_state(batch.status, BatchAction.VALIDATE)
    batch.validated_by_id, batch.validated_at = actor.user_id, params["now"]
    db.session.flush()
    record_event(db.session, actor, "beneficiary_import.validated", "import_batch", batch.id,
                 after={**_audit_batch(batch), "enrollments_validated": validated,
                        "effective": effective or "enrollment date of each person"},
                 organization_id=batch.organization_id)
    return batch


def discard_batch(actor: Actor, batch_id: int) -> ImportBatch:
    batch = _own_batch(actor, batch_id)
    refusal = batch.refusal_for(actor.user, BatchAction.DISCARD)
    if refusal == "forbidden":
        raise Forbidden()
    if refusal == "invalid_transition":
        raise Conflict(_l("Solo se descarta una lista no confirmada."), code="batch_not_ready")
    batch.status = lifecycle.next_state(batch.status, BatchAction.DISCARD)
    db.session.flush()
    record_event(db.session, actor, "beneficiary_import.discarded", "import_batch", batch.id,
                 after=_audit_batch(batch), organization_id=batch.organization_id)
    return batch


def import_file(actor: Actor, agreement_id: int, filename: str, data: bytes, kind: str = BatchKind.ENROLLMENT,
                progress: Callable[[int], None] | None = None) -> ImportBatch:
    """Upload and process in one unit of work (API, CLI, tests)."""
    batch = start_import(actor, agreement_id, filename, data, kind)
    return process_batch(actor, batch.id, progress)


def max_upload_bytes() -> int:
    return current_app.config["BENEFICIARY_LIST_MAX_BYTES"]
