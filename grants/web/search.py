"""The search box of the lists and their exports: one reader of the query string for every list.

``search_args`` reads ``q`` (text, cut to 100 characters), ``state`` (checked against the list's
lifecycle Enum: an unknown value is ignored with a message, never a query), ``year`` and
``agreement_id`` (integers in range). ``Search.filters`` goes to the list's query
(``grants.services.search``), ``Search.args`` back into the pager's and the export's links, so
every page and the file keep the filters. ``export`` answers ``/exports/<list>.<csv|xlsx>``:
the file at once when small, else a file built by the job queue (``grants.web.generated_files``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from flask import Blueprint, Response, abort, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from grants.reports.table_export import CSV_MIME, XLSX_MIME
from grants.services import exports
from grants.web.paging import int_arg

bp = Blueprint("search_pages", __name__)

MAX_TEXT = 100
YEARS = range(2000, 2101)


@dataclass
class Search:
    filters: dict = field(default_factory=dict)
    args: dict = field(default_factory=dict)      # for url_for: the filters as typed
    messages: list = field(default_factory=list)  # why a value was left out

    @property
    def q(self) -> str:
        return self.args.get("q", "")

    @property
    def state(self) -> str:
        return self.args.get("state") or self.args.get("status", "")


def search_args(states: type[Enum] | None = None, *, default_state: Enum | None = None,
                year: bool = False, agreement: bool = False, state_arg: str = "state", source=None) -> Search:
    """The filters of the query string (or ``source``); ``state_arg``: the name the page gives its
    state (the beneficiaries' list says ``status``)."""
    args = request.args if source is None else source
    found = Search()
    text = " ".join((args.get("q") or "").split())[:MAX_TEXT]
    if text:
        found.filters["q"] = found.args["q"] = text
    raw_state = (args.get(state_arg) or "").strip()
    if states is not None:
        try:
            member = states(raw_state) if raw_state else default_state
        except ValueError:
            member = default_state
            found.messages.append(_l("Estado desconocido: se muestran todos los estados."))
        if member is not None:
            found.filters["state"] = member
            found.args[state_arg] = member.value
    if year:
        number = int_arg("year", source=args)
        if number in YEARS:
            found.filters["year"] = found.args["year"] = number
        elif (args.get("year") or "").strip():
            found.messages.append(_l("Año no válido: se muestran todos los años."))
    if agreement:
        number = int_arg("agreement_id", source=args)
        if number:
            found.filters["agreement_id"] = found.args["agreement_id"] = number
    return found


# --- exports -------------------------------------------------------------------------------------

# the filters each export reads, as its page does
EXPORT_ARGS = {"agreements": {"year": True}, "plans": {"year": True}}


def _day_arg(name: str):
    try:
        return date.fromisoformat((request.args.get(name) or "").strip())
    except ValueError:
        return None


@bp.get("/exports/<name>.<fmt>")
@login_required
def export(name, fmt):
    """A list as CSV or XLSX with the query string's filters (the page's own)."""
    if fmt not in ("csv", "xlsx") or name not in exports.LISTS:
        abort(404)
    spec = exports.check(current_user, name)
    found = search_args(spec.states, agreement=True, state_arg="status" if name == "registry" else "state",
                        **EXPORT_ARGS.get(name, {}))
    if request.args.get("all") == "1":
        found.filters["all"] = 1
    if name == "registry" and _day_arg("active_on"):
        found.filters["active_on"] = _day_arg("active_on")
    return send_export(name, fmt, found.filters)


def send_export(name: str, fmt: str, filters: dict):
    """The file now (a small list), or the page of a file being built by the job queue."""
    from grants.web.beneficiaries import private  # (beneficiaries reads its filters here)
    from grants.web.generated_files import request_and_serve

    if exports.needs_job(current_user, name, filters):
        return request_and_serve(f"list_export_{fmt}", exports.file_params(current_user, name, filters, fmt),
                                 localized=True)
    body = exports.inline_file(current_user, name, filters, fmt)
    response = Response(body, mimetype=CSV_MIME if fmt == "csv" else XLSX_MIME)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return private(response)
