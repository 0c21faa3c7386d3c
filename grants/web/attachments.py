"""Attachments for people: one download route for every document, shown to whoever sees the object
it belongs to (another organization's: 404). Uploading is an action of the object's own page."""
from __future__ import annotations

from flask import Blueprint, send_file
from flask_login import current_user, login_required

from grants.services import attachments

bp = Blueprint("attachment_pages", __name__)


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id):
    attachment = attachments.load_visible(current_user, attachment_id)
    response = send_file(attachments.path_of(attachment), mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.filename)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
