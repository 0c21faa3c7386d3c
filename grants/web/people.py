"""The registry of people across agreements (``/beneficiarios``): find a person by the beginning of
a name or by exact DUI, wherever they are enrolled — only in the reader's own organization's
agreements for an NGO, in every agreement for ministry staff.

It reuses the lists' search (``grants.web.search.search_args``, ``grants.services.search.registry``);
documents are always masked here (the agreement's page shows an NGO its own in full). A DUI search
is a POST and is written in the audit log like the per-agreement one (the DUI as its hash). With
neither a name nor a DUI the page lists no one: it never sorts the whole registry; and it counts up to
``COUNTED`` matches (a few letters may match tens of thousands: the page asks for more letters)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required

from grants.context import current_actor
from grants.labels import ENROLLMENT_STATE_LABELS
from grants.permissions import Permission
from grants.security import require
from grants.services import enrollments as enrollment_service
from grants.services import search
from grants.web.beneficiaries import DOCUMENT_LABELS, private, typed_dui
from grants.web.paging import page_of
from grants.web.search import search_args
from grants.workflows.enrollment import EnrollmentState

bp = Blueprint("people_pages", __name__)

PEOPLE_PAGE = 25
COUNTED = 1000  # a search of the whole registry counts up to this many: more, and the page says so


def _render(status: int = 200, dui: str | None = None, dui_error: str | None = None):
    require(current_user, Permission.BENEFICIARIES_READ)
    found = search_args(EnrollmentState)
    rows, paging = [], {"arg": "page", "page": 1, "total": 0, "pages": 1}
    if found.q or dui:
        people, paging = page_of(search.registry(current_user, {**found.filters, "dui": dui}), PEOPLE_PAGE,
                                 cap=COUNTED)
        if dui:
            search.record_registry_dui_search(current_actor(), current_user, dui, paging["total"])
        rows = [{"enrollment": e, "person": e.beneficiary,
                 "document": enrollment_service.mask_document(e.beneficiary.document_number)} for e in people]
    response = render_template("beneficiaries/registry.html", rows=rows, paging=paging, search=found,
                               searched=bool(found.q or dui), dui_searched=bool(dui), dui_error=dui_error,
                               enrollment_state_labels=ENROLLMENT_STATE_LABELS, document_labels=DOCUMENT_LABELS)
    return private(current_app.make_response((response, status)))


@bp.get("/beneficiarios")
@login_required
def registry():
    return _render()


@bp.post("/beneficiarios/dui")
@login_required
def registry_by_dui():
    """Everyone enrolled with this DUI (exact, normalized as the lists store it) that the reader
    may see; found or not, the search is written in the audit log."""
    require(current_user, Permission.BENEFICIARIES_READ)
    dui, error = typed_dui()
    return _render(422, dui_error=error) if error else _render(dui=dui)
