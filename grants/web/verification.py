"""The public verification page ``/verificar`` (no login): upload a PDF, read whether the ministry
issued it through Fondos and whether it is intact (``grants.services.verification``).

At most ``VERIFY_MAX_BYTES`` (20 MB), read once in memory and forgotten: nothing is stored, and the
check is not a read of personal data (nothing is audited). Any bytes get an answer — «no es un
PDF» included — never a 500. Each verdict is counted in ``/metrics``
(``fondos_document_verifications_total{result}``).
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField

from grants.metrics import count_verification
from grants.services import verification

bp = Blueprint("verification", __name__)


class VerifyForm(FlaskForm):
    document = FileField(_l("Documento PDF"), render_kw={"accept": "application/pdf,.pdf"},
                         description=_l("El archivo tal como lo recibió (máximo %(mb)s MB). No se guarda.", mb=20))


def _read(upload, limit: int) -> bytes:
    return upload.stream.read(limit + 1) if upload else b""


@bp.route("/verificar", methods=["GET", "POST"])
def verify_page():
    form = VerifyForm()
    limit = current_app.config["VERIFY_MAX_BYTES"]
    form.document.description = _l("El archivo tal como lo recibió (máximo %(mb)s MB). No se guarda.",
                                   mb=limit // (1024 * 1024))
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("verification/verify.html", form=form, verdict=None,
                               limit_mb=limit // (1024 * 1024)), 200 if request.method == "GET" else 400
    verification.limit_per_address()
    data = _read(request.files.get("document"), limit)
    status = 200
    if not data:
        form.document.errors = [str(_l("Adjunte el archivo PDF que quiere verificar."))]
        status = 422
    elif len(data) > limit:
        form.document.errors = [str(_l("El archivo supera el máximo de %(mb)s MB.", mb=limit // (1024 * 1024)))]
        status = 413
    if status != 200:
        return render_template("verification/verify.html", form=form, verdict=None,
                               limit_mb=limit // (1024 * 1024)), status
    verdict = verification.verify(data)
    count_verification(verdict.state)
    return render_template("verification/verify.html", form=VerifyForm(formdata=None), verdict=verdict,
                           describe=verification.describe, limit_mb=limit // (1024 * 1024))
