"""Files built by a job, asked for by a request (``grants.models.generated_file``).

A request calls ``request_file``: the reader's right to the file is checked, and either the file
built earlier from the same data (its fingerprint) is given, or one being built, or a new one is
recorded ``pending`` with a job to build it (committed with the request). The job
(``build_pending``) builds it outside any lock, stores it by its SHA-256 in the shared upload
folder and marks it ``ready`` once; a job killed mid-way is retried and builds it again. Any app
server hands it out (``readable_path``), checking the reader's right again.

Kinds of file (``KINDS``):
* ``import_errors_xlsx`` — a list's rejected rows as typed, plus the errors (the NGO that gave it);
* ``legislature_pdf`` / ``legislature_xlsx`` — the draft of a year's report to the Assembly, from
  the data as it stands (its version is the audit chain's head: any audited change makes the next
  request build a new one). A report already sent is served from its stored files, not from here.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from grants import jobs
from grants.audit import Actor
from grants.extensions import db
from grants.models import GeneratedFile
from grants.models.base import utcnow
from grants.services import files
from grants.domain_errors import Conflict, NotFound
from grants.workflows import generated_file as lifecycle
from grants.workflows.generated_file import LIVE_STATES, FileAction, FileState

FOLDER = "generated"
LOOKS_LOST = timedelta(minutes=15)  # a file pending this long lost its job: asking again builds it anew
KEEP_FOR = timedelta(days=7)        # then ``expire_files`` removes its content (the row stays)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class FileKind:
    name: str
    suffix: str
    mimetype: str
    check: Callable[[object, dict], None]  # the reader may have it (raises Forbidden / NotFound / …)
    version: Callable[[dict], str]          # what makes a file built earlier stale ("" = never)
    filename: Callable[[dict], str]
    build: Callable[[dict], Path | bytes]   # the content: bytes, or a temporary file (moved into storage)


KINDS: dict[str, FileKind] = {}


def _fingerprint(kind: str, params: dict, version: str) -> str:
    return hashlib.sha256(json.dumps([kind, params, version], sort_keys=True).encode()).hexdigest()


def _content_path(file: GeneratedFile) -> Path:
    return files.stored_path(FOLDER, file.sha256, KINDS[file.kind].suffix)


def request_file(actor: Actor, kind_name: str, params: dict, localized: bool = False) -> GeneratedFile:
    """The file ``kind_name`` built from ``params``: the one built (or being built) from the same
    data, or a new one recorded ``pending`` with its job deferred in the caller's transaction.
    ``localized``: built in the reader's language (its column titles are UI text), which is then
    part of what makes two asks the same file."""
    if localized:
        from flask_babel import get_locale

        params = {**params, "locale": str(get_locale() or "es")}
    kind = KINDS[kind_name]
    kind.check(actor.user, params)
    fingerprint = _fingerprint(kind_name, params, kind.version(params))
    latest = db.session.scalar(
        select(GeneratedFile).where(GeneratedFile.kind == kind_name, GeneratedFile.fingerprint == fingerprint,
                                    GeneratedFile.status.in_(LIVE_STATES))
        .order_by(GeneratedFile.id.desc()).limit(1))
    if latest is not None:
        if latest.status == FileState.READY and _content_path(latest).exists():
            return latest
        if latest.status == FileState.PENDING and not looks_lost(latest):
            return latest
    file = GeneratedFile(kind=kind_name, params=params, fingerprint=fingerprint, status=FileState.PENDING,
                         requested_by_id=actor.user_id, filename=kind.filename(params), mimetype=kind.mimetype,
                         created_at=utcnow())
    db.session.add(file)
    db.session.flush()
    jobs.defer("build_file", file_id=file.id, request_id=actor.request_id)
    return file


def looks_lost(file: GeneratedFile) -> bool:
    """Pending for longer than any build takes: its job was lost (asking again builds it anew)."""
    return file.status == FileState.PENDING and utcnow() - file.created_at >= LOOKS_LOST


def readable(user, file_id: int) -> GeneratedFile:
    """A generated file the user may read, checked again from what it was built from."""
    file = db.session.get(GeneratedFile, file_id)
    if file is None or file.kind not in KINDS:
        raise NotFound()
    KINDS[file.kind].check(user, file.params)
    return file


def readable_path(user, file_id: int) -> tuple[GeneratedFile, Path]:
    file = readable(user, file_id)
    if file.status != FileState.READY:
        raise Conflict(_l("El archivo todavía no está listo."), code="file_not_ready")
    path = _content_path(file)
    if not path.exists():
        raise NotFound()
    return file, path


def build_pending(file_id: int) -> str:
    """The job: build a pending file and mark it ready (once; a file no longer pending is left alone).
    The caller's unit of work commits; a failure is for ``fail`` to record."""
    file = db.session.get(GeneratedFile, file_id)
    if file is None or file.status != FileState.PENDING:
        return "nothing to do"
    kind, params = KINDS[file.kind], dict(file.params)
    content = kind.build(params)
    if isinstance(content, bytes):
        stored = files.store(content, FOLDER, kind.suffix)
    else:  # a large file written to disk: hashed and moved, never read into memory
        try:
            stored = files.store_path(content, FOLDER, kind.suffix)
        finally:
            content.unlink(missing_ok=True)
    done = db.session.execute(
        update(GeneratedFile).where(GeneratedFile.id == file_id, GeneratedFile.status == FileState.PENDING)
        .values(status=lifecycle.next_state(FileState.PENDING, FileAction.FINISH), sha256=stored.sha256, size=stored.size, finished_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    return "ready" if done else "nothing to do"


def fail(file_id: int, reason: str) -> None:
    db.session.execute(
        update(GeneratedFile).where(GeneratedFile.id == file_id, GeneratedFile.status == FileState.PENDING)
        .values(status=lifecycle.next_state(FileState.PENDING, FileAction.FAIL), failure=reason[:2000], finished_at=utcnow())
        .execution_options(synchronize_session=False))


def expire_files(older_than: timedelta = KEEP_FOR) -> int:
    """Files finished before ``older_than`` ago lose their content (``expired``; the row stays, and
    asking again builds a new one). A blob another live file shares (same bytes) is kept."""
    cutoff = utcnow() - older_than
    old = db.session.scalars(select(GeneratedFile).where(GeneratedFile.status.in_((FileState.READY, FileState.FAILED)),
                                                         GeneratedFile.created_at < cutoff)).all()
    for file in old:
        file.status = lifecycle.next_state(file.status, FileAction.EXPIRE)
    db.session.flush()
    for file in old:
        if file.sha256 and not db.session.scalar(select(GeneratedFile.id).where(
                GeneratedFile.sha256 == file.sha256, GeneratedFile.status == FileState.READY).limit(1)):
            _content_path(file).unlink(missing_ok=True)
    return len(old)


# --- kinds --------------------------------------------------------------------------------------

def _batch_for(user, params: dict):
    from grants.models import ImportBatch
    from grants.services import import_results

    batch = db.session.get(ImportBatch, int(params["batch_id"]))
    if batch is None:
        raise NotFound()
    import_results.check_error_rows_readable(user, batch)
    return batch


def _build_import_errors(params: dict) -> Path:
    from grants.models import ImportBatch
    from grants.reports.import_errors import errors_xlsx_file
    from grants.services import import_results

    batch = db.session.get(ImportBatch, int(params["batch_id"]))
    headers = [h or f"col{i + 1}" for i, h in enumerate(batch.headers or [])]
    with force_locale(params.get("locale") or "es"):
        return errors_xlsx_file(headers, import_results.error_rows(batch), str(_l("Errores")), str(_l("Fila")))


KINDS["import_errors_xlsx"] = FileKind(
    "import_errors_xlsx", ".xlsx", XLSX, check=_batch_for, version=lambda params: "",
    filename=lambda params: f"lista-{params['batch_id']}-errores.xlsx", build=_build_import_errors)


def _legislature_check(user, params: dict) -> None:
    from grants.permissions import Permission
    from grants.security import require
    from grants.services import legislature

    require(user, Permission.LEGISLATURE_REPORTS)
    legislature.check_year(params["year"])


def _audit_head(params: dict) -> str:
    from grants.models import AuditChainHead

    return str(db.session.scalar(select(AuditChainHead.seq).where(AuditChainHead.id == 1)))


def _legislature_kind(suffix: str, mimetype: str) -> FileKind:
    def build(params: dict) -> bytes:
        from grants.services import legislature

        return legislature.build_file(legislature.report_data(params["year"]), suffix)

    name = f"legislature_{suffix}"
    return FileKind(name, f".{suffix}", mimetype, check=_legislature_check, version=_audit_head,
                    filename=lambda params: f"informe-asamblea-{params['year']}.{suffix}", build=build)


KINDS["legislature_pdf"] = _legislature_kind("pdf", "application/pdf")
KINDS["legislature_xlsx"] = _legislature_kind("xlsx", XLSX)


def _list_export_kind(fmt: str, mimetype: str) -> FileKind:
    """A list's export with the page's filters (``services.exports``), for who asked; a new one
    once any audited change moved the data (the audit chain's head)."""
    def check(user, params: dict) -> None:
        from grants.services import exports

        exports.check_file(user, params)

    def build(params: dict) -> Path:
        from grants.services import exports

        return exports.build_file(params)

    def filename(params: dict) -> str:
        from grants.services import exports

        return exports.file_name(params)

    return FileKind(f"list_export_{fmt}", f".{fmt}", mimetype, check=check, version=_audit_head,
                    filename=filename, build=build)


KINDS["list_export_csv"] = _list_export_kind("csv", "text/csv")
KINDS["list_export_xlsx"] = _list_export_kind("xlsx", XLSX)
