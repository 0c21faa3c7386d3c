"""Beneficiary list pages: the upload of lists (enrollments or status changes) and their report
(errors, warnings, downloads, confirm / discard / validate / retry), and monitoring's queue of lists.

Routes of the ``beneficiary_pages`` blueprint, defined in :mod:`grants.web.beneficiaries` (an
agreement's enrollments, where the upload form lives).

Uploads are stored and the list's processing is deferred in the same transaction
(``grants.jobs``): a worker of the PostgreSQL job queue processes it, or, inline (SQLite, tests),
this process once the response is sent. The rows read so far are in ``import_batch_progress``
(written by the job, seen by every server); a batch whose processing has not moved for five
minutes is shown as interrupted and its owner may ask for it again (a job already waiting is not
duplicated; a batch already processed is left as it is).
Routes are thin: the services validate and write.
"""
from __future__ import annotations

import io
import logging
from datetime import timedelta

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import lazy_gettext as _l, lazy_ngettext
from flask_login import current_user, login_required
from sqlalchemy import case, func, select
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from grants import formats
from grants import jobs
from grants.context import current_actor, request_id
from grants.extensions import db
from grants.labels import BATCH_STATE_LABELS
from grants.models import Agreement, Enrollment, ImportBatch, ImportBatchProgress, ImportRow
from grants.models.base import utcnow
from grants.permissions import Permission
from grants.reports.import_errors import errors_csv_stream
from grants.security import require, scope_to_user, visible
from grants.services import beneficiary_imports as imports
from grants.services import import_results
from grants.services import enrollments as enrollment_service
from grants.domain_errors import FileTooLarge, ValidationFailed
from grants.web.actions import press, submit
from grants.web.beneficiaries import (
    KIND_LABELS,
    UploadForm,
    bp,
    is_owner_ngo,
    load_agreement,
    private,
    render_beneficiaries,
)
from grants.web.generated_files import request_and_serve
from grants.web.paging import page_of
from grants.web.confirm import unconfirmed
from grants.web.forms import BAD_DAY
from grants.workflows.enrollment import EnrollmentState
from grants.workflows.import_batch import BatchAction, BatchState

log = logging.getLogger(__name__)

STALLED_AFTER = timedelta(minutes=5)

REPORT_PAGE = 50

TEMPLATE_HEADERS = {
    "enrollment": ("Tipo de documento", "Número de documento", "Nombres", "Apellidos", "Fecha de nacimiento",
                   "Sexo", "Municipio", "Fecha de inscripción"),
    "status": ("Tipo de documento", "Número de documento", "Estado", "Fecha efectiva", "Motivo"),
}
FAILURES = {"missing_columns": _l("Faltan columnas obligatorias: %(detail)s.")}


# --- helpers ---------------------------------------------------------------------------------

def _load_batch(batch_id: int) -> ImportBatch:
    require(current_user, Permission.BENEFICIARIES_READ)
    return visible(current_user, db.session.get(ImportBatch, batch_id))


def failure_text(batch: ImportBatch) -> str:
    """The stored ``code: message`` of a failed batch, for people."""
    code, _, detail = (batch.failure or "").partition(": ")
    if code in FAILURES:
        return str(FAILURES[code]) % {"detail": detail}
    return detail or code


def progress_of(batch: ImportBatch) -> dict:
    """Rows read so far (the job's progress row), and whether a ``processing`` batch looks
    interrupted: nothing moved for five minutes (its worker died and no other took the job yet)."""
    found = db.session.get(ImportBatchProgress, batch.id) if batch.status == BatchState.PROCESSING else None
    rows = found.rows_read if found is not None else (batch.progress_rows or 0)
    at = found.updated_at if found is not None else None
    last = max(t for t in (at, batch.progress_at, batch.created_at) if t is not None)
    interrupted = batch.status == BatchState.PROCESSING and utcnow() - last > STALLED_AFTER
    return {"rows": rows, "interrupted": interrupted, "running": batch.status == BatchState.PROCESSING and not interrupted}


def error_messages(row: ImportRow, document_column: str) -> list[tuple[str, str]]:
    """(column, message) of a rejected row, in the reader's language."""
    return [(m["column"] or "", m["message"]) for m in import_results.row_messages(row, document_column)]


def warning_messages(row: ImportRow, document_column: str) -> list[tuple[str, str]]:
    """(column, message) of a row kept with a warning (the document column, for the person)."""
    return [(m["column"] or "", m["message"]) for m in import_results.row_messages(row, document_column)]


# --- processing ------------------------------------------------------------------------------

def _process(batch_id: int, user_id: int) -> None:
    """Ask for the batch's processing: a job committed with this request's work."""
    jobs.defer("process_beneficiary_list", batch_id=batch_id, user_id=user_id, request_id=request_id(),
               remote_addr=request.remote_addr)


# --- upload ----------------------------------------------------------------------------------

@bp.get("/beneficiary-imports/template.csv")
@login_required
def template_csv():
    require(current_user, Permission.BENEFICIARIES_READ)
    kind = request.args.get("kind") if request.args.get("kind") in TEMPLATE_HEADERS else "enrollment"
    data = ("\ufeff" + ",".join(TEMPLATE_HEADERS[kind]) + "\r\n").encode("utf-8")
    name = "plantilla-inscripcion.csv" if kind == "enrollment" else "plantilla-cambios-de-estado.csv"
    return send_file(io.BytesIO(data), mimetype="text/csv", as_attachment=True, download_name=name)


@bp.errorhandler(RequestEntityTooLarge)
def _request_too_large(_exc):
    """The whole request is over MAX_CONTENT_LENGTH (found before any view runs).

    The body is never parsed: the page's forms (the logout form of every page) must not try
    again, or rendering would raise the same 413 (see the report on grants/web/auth.py)."""
    db.session.rollback()
    body = request._get_current_object().__dict__
    body["form"], body["files"] = ImmutableMultiDict(), ImmutableMultiDict()
    limit = min(v for v in (current_app.config.get("MAX_CONTENT_LENGTH"), imports.max_upload_bytes()) if v)
    detail = _l("Las listas de beneficiarios pueden pesar hasta %(mb)s MB. Divida el archivo o quite las "
                "columnas que no se usan y vuelva a subirlo.", mb=max(limit // (1024 * 1024), 1))
    return render_template("errors/error.html", status=413, title=FileTooLarge.title, detail=detail), 413


@bp.post("/agreements/<int:agreement_id>/beneficiaries/upload")
@login_required
def upload(agreement_id):
    agreement = load_agreement(agreement_id)
    require(current_user, Permission.BENEFICIARIES_IMPORT)
    form = UploadForm()
    if not form.validate_on_submit():
        return render_beneficiaries(agreement, 422, upload_form=form)
    limit = imports.max_upload_bytes()
    upload_file = request.files.get("file")
    data = upload_file.read(limit + 1) if upload_file else b""  # over the limit: the service's 413
    def start():
        batch = imports.start_import(current_actor(), agreement.id, upload_file.filename if upload_file else "",
                                     data, form.kind.data)
        _process(batch.id, current_user.id)  # the job, committed with the upload (after_request)
        return batch

    def place(errors):  # whatever is wrong with the list is said next to the file
        form.file.errors = list(form.file.errors or []) + [str(m) for m in errors.get("file") or errors.get("kind")
                                                           or [m for ms in errors.values() for m in ms]]

    def render(status, refused):
        if refused:
            form.file.errors = list(form.file.errors or []) + [str(refused)]
        return render_beneficiaries(db.session.get(Agreement, agreement_id), status, upload_form=form)

    return submit(None, start, done=None, place_errors=place, render=render,
                  then=lambda batch: url_for("beneficiary_pages.batch_page", batch_id=batch.id))


# --- a batch: report, downloads, decisions ---------------------------------------------------

@bp.get("/beneficiary-imports/<int:batch_id>")
@login_required
def batch_page(batch_id):
    batch = _load_batch(batch_id)
    progress = progress_of(batch)
    document_column = import_results.document_column(batch)
    error_rows, error_paging = page_of(select(ImportRow).where(
        ImportRow.batch_id == batch.id, ImportRow.outcome == "error").order_by(ImportRow.row_number),
        REPORT_PAGE, "errors_page")
    warning_rows, warning_paging = page_of(select(ImportRow).where(
        ImportRow.batch_id == batch.id, ImportRow.outcome == "warning").order_by(ImportRow.row_number),
        REPORT_PAGE, "warnings_page")
    owner = is_owner_ngo(batch.organization_id)
    response = render_template(
        "beneficiaries/batch.html", batch=batch, progress=progress, failure=failure_text(batch),
        errors=[(row, error_messages(row, document_column)) for row in error_rows], error_paging=error_paging,
        warnings=[(row, warning_messages(row, document_column)) for row in warning_rows], warning_paging=warning_paging,
        batch_state_labels=BATCH_STATE_LABELS, kind_labels=KIND_LABELS,
        may_download=batch.rows_readable_by(current_user),
        may_confirm=batch.can(current_user, BatchAction.CONFIRM), may_discard=batch.can(current_user, BatchAction.DISCARD),
        may_retry=owner and batch.status == BatchState.PROCESSING and progress["interrupted"],
        may_validate=batch.refusal_for(current_user, BatchAction.VALIDATE) in (None, "own_upload"),
        validated_waiting=db.session.scalar(select(func.count()).select_from(Enrollment).where(
            Enrollment.batch_id == batch.id, Enrollment.status == EnrollmentState.VALIDATED)) if batch.status == BatchState.VALIDATED else 0,
        may_activate=batch.status == BatchState.VALIDATED and (
            current_user.can(Permission.BENEFICIARIES_VALIDATE)
            or (owner and current_user.can(Permission.BENEFICIARIES_IMPORT))),
        today=imports.today().isoformat(),
        own_upload=current_user.id in (batch.uploaded_by_id, batch.confirmed_by_id))
    return private(current_app.make_response(response))


@bp.get("/beneficiary-imports/<int:batch_id>/errors.csv")
@login_required
def errors_as_csv(batch_id):
    """The rejected rows, streamed: read through a connection of their own after this request's
    work is done (never inside its transaction), closed when the client leaves."""
    batch = _load_batch(batch_id)
    rows = import_results.readable_error_rows(current_user, batch)  # the rows are the organization's personal data
    headers = [h or f"col{i + 1}" for i, h in enumerate(batch.headers or [])]
    body = errors_csv_stream(headers, rows, str(_l("Errores")), str(_l("Fila")))
    return private(current_app.response_class(stream_with_context(body), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="lista-{batch.id}-errores.csv"'}))


@bp.get("/beneficiary-imports/<int:batch_id>/errors.xlsx")
@login_required
def errors_as_xlsx(batch_id):
    """A workbook takes long to write for a large list: a job builds it (once per list and language)."""
    batch = _load_batch(batch_id)
    return request_and_serve("import_errors_xlsx", {"batch_id": batch.id}, localized=True)


def _decide(batch_id: int, call, done):
    batch = _load_batch(batch_id)
    return press(lambda: call(current_actor(), batch.id), done=done,
                 then=url_for("beneficiary_pages.batch_page", batch_id=batch_id))


@bp.post("/beneficiary-imports/<int:batch_id>/confirm")
@login_required
def confirm(batch_id):
    if (refused := unconfirmed(url_for("beneficiary_pages.batch_page", batch_id=batch_id))) is not None:
        return refused
    return _decide(batch_id, imports.confirm_batch,
                   _l("Lista confirmada: las personas quedan inscritas como pendientes de validación."))


@bp.post("/beneficiary-imports/<int:batch_id>/discard")
@login_required
def discard(batch_id):
    return _decide(batch_id, imports.discard_batch, _l("Lista descartada."))


def _form_day(name: str):
    """(the date in the form field ``name`` or None when blank, the error message or None)."""
    text = (request.form.get(name) or "").strip()
    if not text:
        return None, None
    try:
        return formats.parse_day(text), None
    except ValueError:
        return None, BAD_DAY


@bp.post("/beneficiary-imports/<int:batch_id>/validate")
@login_required
def validate(batch_id):
    require(current_user, Permission.BENEFICIARIES_VALIDATE)
    day, problem = _form_day("effective")
    if problem:
        flash(problem, "error")
        return redirect(url_for("beneficiary_pages.batch_page", batch_id=batch_id))
    return _decide(batch_id, lambda actor, batch: imports.validate_batch(actor, batch, day),
                   _l("Lista validada desde la fecha de inscripción de cada persona.") if day is None
                   else _l("Lista validada desde el %(day)s (o desde la inscripción de quien se inscribió después).",
                           day=formats.day(day)))


@bp.post("/beneficiary-imports/<int:batch_id>/activate")
@login_required
def activate(batch_id):
    """Every validated person of the list, active from a day (monitoring, or the NGO)."""
    batch = _load_batch(batch_id)
    day, problem = _form_day("since")

    def activate_all():
        if day is None:
            raise ValidationFailed(errors={"since": [problem or _l("Indique desde qué día.")]})
        return enrollment_service.activate_validated(current_actor(), batch.agreement_id, day,
                                                     request.form.get("reason"), batch_id=batch.id)

    return press(activate_all, done=lambda result: lazy_ngettext(
                     "%(num)s persona activa desde el %(day)s (%(late)s desde su validación, posterior).",
                     "%(num)s personas activas desde el %(day)s (%(late)s desde su validación, posterior).",
                     result["activated"], day=formats.day(day), late=result["from_validation"]),
                 then=url_for("beneficiary_pages.batch_page", batch_id=batch_id))


@bp.post("/beneficiary-imports/<int:batch_id>/retry")
@login_required
def retry(batch_id):
    """Process again a batch whose processing was interrupted (its thread died)."""
    batch = _load_batch(batch_id)
    if not is_owner_ngo(batch.organization_id):
        abort(403)
    if batch.status != BatchState.PROCESSING or not progress_of(batch)["interrupted"]:
        flash(_l("La lista no está interrumpida."), "error")
    else:
        _process(batch.id, current_user.id)
    return redirect(url_for("beneficiary_pages.batch_page", batch_id=batch_id))


# --- monitoring ------------------------------------------------------------------------------

@bp.get("/beneficiary-imports")
@login_required
def import_queue():
    require(current_user, Permission.BENEFICIARIES_READ)
    state = request.args.get("state") or ""
    query = select(ImportBatch).order_by(case((ImportBatch.status == BatchState.CONFIRMED, 0), else_=1),
                                         ImportBatch.created_at, ImportBatch.id)
    if state in BATCH_STATE_LABELS:
        query = query.where(ImportBatch.status == state)
    else:
        state = ""
    batches, paging = page_of(scope_to_user(current_user, query, ImportBatch.organization_id), 25)
    pending = db.session.scalar(select(func.count()).select_from(Enrollment).where(
        Enrollment.double_enrollment == "pending")) if current_user.can(Permission.BENEFICIARIES_VALIDATE) else 0
    return render_template("beneficiaries/queue.html", batches=batches, paging=paging, state=state,
                           batch_state_labels=BATCH_STATE_LABELS, kind_labels=KIND_LABELS, double_pending=pending)
