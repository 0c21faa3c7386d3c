"""Files built by a job (``services.generated_files``), for people: a download asked for answers
at once with the file if it is built, else with a page that refreshes itself until it is."""
from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, send_file, url_for
from flask_login import current_user, login_required

from grants.context import current_actor
from grants.services import generated_files as service
from grants.web.beneficiaries import private
from grants.workflows.generated_file import FileState

bp = Blueprint("file_pages", __name__)


def request_and_serve(kind: str, params: dict, localized: bool = False):
    """The file ``kind`` of ``params``: sent if built, else the page of the one being built.
    ``localized``: built in the reader's language (its column titles are UI text)."""
    file = service.request_file(current_actor(), kind, params, localized)
    if file.status == FileState.READY:
        return _send(file)
    return redirect(url_for("file_pages.file_page", file_id=file.id), 303)


def _send(file):
    _, path = service.readable_path(current_user, file.id)
    return private(send_file(path, mimetype=file.mimetype, as_attachment=True, download_name=file.filename))


@bp.get("/files/<int:file_id>")
@login_required
def file_page(file_id):
    file = service.readable(current_user, file_id)
    stalled = file.status == FileState.PENDING and service.looks_lost(file)
    return private(make_response(render_template("files/file.html", file=file, stalled=stalled)))


@bp.get("/files/<int:file_id>/download")
@login_required
def download(file_id):
    return _send(service.readable(current_user, file_id))
