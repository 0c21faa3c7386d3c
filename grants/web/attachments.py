"""Attachments for people: one download route for every document, shown to whoever sees the object
it belongs to (another organization's: 404), and one upload route for the documents of invoices,
suppliers and follow-up reports (``grants.services.documents`` decides who may attach what).
Other objects take their files in their own forms (a refund's slip, an incident's reply)."""
from __future__ import annotations


from flask import Blueprint, abort, current_app, flash, make_response, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from grants import formats
from grants.context import current_actor
from grants.services import attachments, documents
from grants.domain_errors import ValidationFailed
from grants.web.actions import submit
from grants.web.forms import BAD_DAY

bp = Blueprint("attachment_pages", __name__)

# owner type in the URL → (the service call, the owner's page: endpoint and its argument)
_OWNERS = {
    "invoice": (lambda actor, i, kind, name, data, _exp: documents.attach_invoice_document(actor, i, kind, name, data),
                "money_pages.invoice_page", "invoice_id"),
    "supplier": (lambda actor, i, kind, name, data, exp: documents.attach_supplier_document(actor, i, kind, name,
                                                                                             data, exp),
                 "supplier_pages.supplier_page", "supplier_id"),
    "follow_up_report": (lambda actor, i, _kind, name, data, _exp: documents.attach_report_annex(actor, i, name, data),
                         "followup_pages.report_page", "report_id"),
}


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id):
    attachment = attachments.load_visible(current_user, attachment_id)
    response = send_file(attachments.path_of(attachment), mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.filename)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/documents/<owner_type>/<int:owner_id>")
@login_required
def upload(owner_type, owner_id):
    if owner_type not in _OWNERS:
        abort(404)
    attach, endpoint, argument = _OWNERS[owner_type]
    upload_ = request.files.get("file")

    def attach_file():
        expires = None
        if (request.form.get("expires_on") or "").strip():
            try:
                expires = formats.parse_day(request.form["expires_on"])
            except ValueError:
                raise ValidationFailed(errors={"expires_on": [BAD_DAY]}) from None
        kind = request.form.get("kind") or ""
        limit = attachments.kind_limit(kind if kind in attachments.KINDS else "followup_annex")
        data = upload_.read(limit + 1) if upload_ else b""  # over the limit: the service says so (413)
        attach(current_actor(), owner_id, kind, upload_.filename if upload_ else None, data, expires)

    def render(status, refused):
        # Refused (422, 409, or 413 for a file over its limit): the owner's page again, with the
        # reasons, under the refusal's status (as every upload form answers); nothing was stored.
        if refused:
            flash(refused, "error")
        response = make_response(current_app.view_functions[endpoint](**{argument: owner_id}))
        response.status_code = status
        return response

    def place(errors):
        for messages in errors.values():
            for message in messages:
                flash(message, "error")

    return submit(None, attach_file, done=_l("Documento adjuntado."), place_errors=place, render=render,
                  then=url_for(endpoint, **{argument: owner_id}) + "#documentos")
