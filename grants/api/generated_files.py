"""/api/v1/files: files built by a job (``services.generated_files``). An endpoint that hands one
out answers ``200`` with the file when it is built, else ``202 Accepted`` with the file's record
(``Location``: here; ``Retry-After``); ask the same URL again, or follow ``download`` once ready."""
from __future__ import annotations

from flask import send_file, url_for
from marshmallow import Schema, fields

from grants.api.blueprint import Blueprint
from grants.context import acting_user, current_actor
from grants.workflows.generated_file import FileState
from grants.services import generated_files as service

blp = Blueprint("files", __name__, url_prefix="/api/v1/files",
                description="Archivos preparados en segundo plano (listas de errores, borradores de informes)")

RETRY_AFTER_SECONDS = 2


class GeneratedFileSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True, metadata={"enum": sorted(service.KINDS)})
    status = fields.String(dump_only=True, metadata={"enum": [s.value for s in FileState]})
    filename = fields.String(dump_only=True)
    mimetype = fields.String(dump_only=True)
    size = fields.Integer(dump_only=True, allow_none=True, metadata={"description": "Bytes, once ready"})
    sha256 = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    finished_at = fields.DateTime(dump_only=True, allow_none=True)
    failure = fields.String(dump_only=True, allow_none=True, metadata={"description": "Why it could not be built"})
    download = fields.Method("_download", dump_only=True, allow_none=True,
                             metadata={"description": "Where the content is, once ready"})

    def _download(self, file):
        return url_for("files.file_content", file_id=file.id) if file.status == FileState.READY else None


def _send(file):
    _, path = service.readable_path(acting_user(), file.id)
    response = send_file(path, mimetype=file.mimetype, as_attachment=True, download_name=file.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def request_and_serve(kind: str, params: dict, localized: bool = False):
    """The file if built (200), else 202 with its record and where to look for it."""
    file = service.request_file(current_actor(), kind, params, localized)
    if file.status == FileState.READY:
        return _send(file)
    body = GeneratedFileSchema().dump(file)
    return body, 202, {"Location": url_for("files.get_file", file_id=file.id),
                       "Retry-After": str(RETRY_AFTER_SECONDS)}


@blp.route("/<int:file_id>")
@blp.response(200, GeneratedFileSchema)
def get_file(file_id):
    """A generated file's record: ``pending`` (being built), ``ready`` (see ``download``), ``failed``
    (``failure`` says why; ask again) or ``expired`` (kept seven days; ask again)."""
    return service.readable(acting_user(), file_id)


@blp.route("/<int:file_id>/content")
@blp.response(200, content_type="application/octet-stream")
def file_content(file_id):
    """The file's bytes (its own media type), to whoever may read what it was built from; 409
    ``file_not_ready`` while it is being built, or once it has expired."""
    return _send(service.readable(acting_user(), file_id))
