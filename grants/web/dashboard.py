"""The ministry's dashboard (``/tablero``): a fiscal year at a glance for reviewers, treasury, internal
audit and the administration — execution by NGO and department, advances overdue for liquidation,
payments in flight, people reached, findings — with server-side SVG charts (no JavaScript) and a
link from each figure to the list behind it. NGO users never see it (403)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from grants.labels import FINDING_STATE_LABELS
from grants.permissions import Permission
from grants.security import require
from grants.services import dashboard
from grants.web.closing import _year_arg, _years

bp = Blueprint("dashboard", __name__)


@bp.get("/tablero")
@login_required
def index():
    require(current_user, Permission.DASHBOARD_READ)
    years = _years()
    year = _year_arg(years)
    return render_template("dashboard/index.html", years=years, data=dashboard.dashboard(year),
                           year=year, can_payments=current_user.can(Permission.MONEY_READ),
                           can_findings=current_user.can(Permission.AUDIT_READ),
                           finding_state_labels=FINDING_STATE_LABELS)
