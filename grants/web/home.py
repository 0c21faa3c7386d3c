"""Home page per role, and the audit log page."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l, lazy_ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, select

from grants.audit import verify_chain
from grants.extensions import db
from grants.models import (
    Advance,
    Agreement,
    AuditFinding,
    Allocation,
    AuditEvent,
    ExpenseStatement,
    Invoice,
    Notification,
    Organization,
    Plan,
    User,
)
from grants import clock
from grants.permissions import Permission, Role
from grants.security import require, scope_to_user
from grants.services import final_liquidation, meetings, notifications
from grants.web import plans as plan_pages
from grants.web import work_queues
from grants.web.paging import int_arg, page_of
from grants.workflows.advance import COMMITTED_STATES, AdvanceState, StatementState
from grants.workflows.audit_check import FindingState
from grants.workflows.payment import InvoiceState

bp = Blueprint("home", __name__)

TREASURY_QUEUES = {
    "invoices_to_pay": _l("facturas certificadas por pagar"), "payments_to_authorize": _l("pagos por autorizar"),
    "payments_to_execute": _l("pagos por ejecutar"), "advances_to_prepare": _l("anticipos por preparar"),
    "advances_to_disburse": _l("anticipos por desembolsar"), "refunds_to_confirm": _l("reintegros por confirmar"),
}

ROLE_ORDER = list(Role)


def _allocations_of_year(user, year: int):
    query = (
        select(Allocation)
        .join(Allocation.organization)
        .where(Allocation.fiscal_year == year)
        .order_by(Organization.legal_name, Allocation.id)
    )
    return db.session.scalars(scope_to_user(user, query, Allocation.organization_id)).all()


@bp.get("/")
@login_required
def index():
    user = current_user
    year = int_arg("year") or clock.today().year
    allocations = _allocations_of_year(user, year)
    context = {
        "year": year,
        "roles": sorted(user.roles, key=ROLE_ORDER.index),
        "allocations": allocations,
        "allocations_total": sum((a.amount for a in allocations), start=0),
        # whoever owns overdue commitments of technical meetings sees them first, whatever their role
        "overdue_commitments": meetings.overdue_commitments(user),
        "today": clock.today(),
    }
    if Role.ADMIN in user.roles:
        context["counts"] = {
            "organizations": db.session.scalar(select(func.count()).select_from(Organization)),
            "users": db.session.scalar(select(func.count()).select_from(User).where(User.active)),
            "allocations": len(allocations),
        }
    if user.can(Permission.AUDIT_READ):
        context["recent_events"] = db.session.scalars(
            select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(10)
        ).all()
    if Role.AUDITOR in user.roles:
        context["chain"] = verify_chain(db.session)
        context["findings_open"] = _count(AuditFinding, AuditFinding.status == FindingState.OPEN)
        context["findings_confirmed"] = _count(AuditFinding, AuditFinding.status == FindingState.CONFIRMED)
    if Role.NGO in user.roles:
        context["organization"] = user.organization
        context["own_plans"] = db.session.scalars(scope_to_user(
            user, select(Plan).order_by(Plan.updated_at.desc(), Plan.id.desc()), Plan.organization_id)).all()
        context["open_allocations"] = plan_pages.allocations_without_plan(user)
    if user.can(Permission.PLANS_REVIEW):
        context["waiting"] = {d: plan_pages.waiting_count([d]) for d in plan_pages.user_disciplines(user)}
    if Role.LEGAL_REVIEWER in user.roles:
        context["approved_plans"] = plan_pages.approved_without_agreement()
    if Role.ADMINISTRATOR in user.roles:
        context["administered"] = db.session.scalars(
            select(Agreement).where(Agreement.administrator_id == user.id).order_by(Agreement.number)).all()
    context["money"] = _money_queues(user)
    context["closing"] = _closing_queues(user)
    return render_template("home/index.html", **context)


def _closing_queues(user) -> dict:
    """Final liquidations waiting for the user: per discipline they review, the proposed revisions
    without that discipline's sign-off; for an administrator, the revisions sent back to them."""
    queues: dict = {"verdict_labels": final_liquidation.VERDICT_LABELS}
    if user.can(Permission.LIQUIDATION_SIGN_OFF):
        queues["to_sign"] = {d: final_liquidation.waiting_for([d], limit=20)
                             for d in plan_pages.user_disciplines(user)}
    if Role.ADMINISTRATOR in user.roles:
        queues["returned"] = final_liquidation.returned_to(user.id)
    return queues


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _money_queues(user) -> dict:
    """Per-role counts of money work waiting (each links to where it is done)."""
    queues: dict = {}
    if Role.TREASURY in user.roles:  # the counts of «Mi trabajo»'s lists, each linking to its list
        queues["counts"] = {key: (label, work_queues.count(work_queues.BY_KEY[key], user))
                            for key, label in TREASURY_QUEUES.items() if work_queues.BY_KEY[key].applies(user)}
        queues["advances_waiting"] = db.session.scalars(select(Advance).where(
            Advance.status.in_(COMMITTED_STATES)).order_by(Advance.id).limit(10)).all()
    if Role.FINANCIAL_REVIEWER in user.roles:
        queues["advances_to_approve"] = db.session.scalars(select(Advance).where(
            Advance.status == AdvanceState.REQUESTED).order_by(Advance.id).limit(10)).all()
        queues["statements_to_review"] = db.session.scalars(select(ExpenseStatement).where(
            ExpenseStatement.status == StatementState.SUBMITTED).order_by(ExpenseStatement.id).limit(10)).all()
    if Role.ADMINISTRATOR in user.roles:
        queues["invoices_to_certify"] = db.session.scalars(
            select(Invoice).join(Agreement, Agreement.id == Invoice.agreement_id)
            .where(Agreement.administrator_id == user.id, Invoice.status == InvoiceState.REGISTERED)
            .order_by(Invoice.id).limit(10)).all()
    if Role.NGO in user.roles and user.organization_id:
        queues["statements_due"] = db.session.scalars(select(Advance).where(
            Advance.organization_id == user.organization_id, Advance.status == AdvanceState.DISBURSED)
            .order_by(Advance.liquidation_due, Advance.id)).all()
    return queues


@bp.get("/audit")
@login_required
def audit_log():
    require(current_user, Permission.AUDIT_READ)
    entity_type = request.args.get("entity_type") or None
    query = select(AuditEvent).order_by(AuditEvent.seq.desc())
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    events, paging = page_of(query, size=50)
    chain = verify_chain(db.session) if current_user.can(Permission.AUDIT_VERIFY) else None
    return render_template("home/audit.html", events=events, paging=paging,
                           entity_type=entity_type, chain=chain)


# --- inbox -----------------------------------------------------------------------------------
# There is no notifications service for reading: marking one's own notification read is not an
# audited change (Notification has no audit type), so the page does it directly.

@bp.get("/inbox")
@login_required
def inbox():
    query = (select(Notification).where(Notification.user_id == current_user.id)
             .order_by(Notification.created_at.desc(), Notification.id.desc()))
    items, paging = page_of(query)
    return render_template("home/inbox.html", notifications=items, paging=paging)


@bp.post("/inbox/<int:notification_id>/read")
@login_required
def mark_read(notification_id):
    notifications.mark_read(current_user, notification_id)
    return redirect(url_for("home.inbox", page=int_arg("page") or None))


@bp.post("/inbox/read-all")
@login_required
def mark_all_read():
    count = notifications.mark_all_read(current_user)
    flash(lazy_ngettext("%(num)s notificación marcada como leída.", "%(num)s notificaciones marcadas como leídas.",
                        count), "success")
    return redirect(url_for("home.inbox"))
