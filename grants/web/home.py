"""Home page per role, and the audit log page."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, select

from grants.audit import verify_chain
from grants.extensions import db
from grants.models import Allocation, AuditEvent, Organization, User
from grants.models.base import utcnow
from grants.permissions import Permission, Role
from grants.security import require, scope_to_user
from grants.web.paging import page_of

bp = Blueprint("home", __name__)

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
    year = request.args.get("year", type=int) or utcnow().year
    allocations = _allocations_of_year(user, year)
    context = {
        "year": year,
        "roles": sorted(user.roles, key=ROLE_ORDER.index),
        "allocations": allocations,
        "allocations_total": sum((a.amount for a in allocations), start=0),
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
    if Role.NGO in user.roles:
        context["organization"] = user.organization
    return render_template("home/index.html", **context)


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
