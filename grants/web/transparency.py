"""The public transparency portal (``/transparencia``, no login): per fiscal year the decrees, NGOs,
agreements, amounts assigned, executed and not executed, direct payments by supplier, verdicts of
the final liquidations, the files of the report sent to the Assembly and the OCDS open-data file.
Public data only: no beneficiary is ever named or identified."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, send_file, url_for

from grants.services import legislature, transparency
from grants.web.closing import MIMETYPES

bp = Blueprint("transparency", __name__)


@bp.get("/transparencia")
def index():
    years = transparency.years()
    if years:
        return redirect(url_for("transparency.year_page", year=years[0]))
    return render_template("transparency/year.html", years=[], page=None)


@bp.get("/transparencia/<int:year>")
def year_page(year):
    years = transparency.years()
    if year not in years:
        abort(404)
    return render_template("transparency/year.html", years=years, page=transparency.year_page(year),
                           verdict_words=transparency.VERDICT_WORDS)


@bp.get("/transparencia/<int:year>/informe-asamblea.<any(pdf, xlsx, json):kind>")
def report_file(year, kind):
    """A file of the report as it was sent to the Assembly; nothing before it is sent."""
    sent = legislature.sent_report(legislature.check_year(year)) if year in transparency.years() else None
    if sent is None:
        abort(404)
    response = send_file(legislature.stored_file(sent, kind), mimetype=MIMETYPES[kind], as_attachment=kind != "json",
                         download_name=f"informe-asamblea-{year}.{kind}")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
