"""Admin pages: organizations, allocations, users. Staff may read organizations and allocations."""
from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import SelectChoice
from sqlalchemy import func, select

from grants.context import current_actor
from grants.extensions import db
from grants.models import Allocation, Organization, User
from grants.permissions import Permission
from grants.security import require, scope_to_user, visible
from grants.services import allocations as allocation_service
from grants.services import organizations as organization_service
from grants.services import search
from grants.services import users as user_service
from grants.validation.territory import municipalities
from grants.web.actions import submit
from grants.web.search import search_args
from grants.web.paging import int_arg, page_of
from grants.web.forms import AllocationForm, OrganizationForm, UserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

def _submit(form, save, template: str, **context):
    """The form (GET: empty, 200), or ``save()`` (service calls; returns where to go next) through
    ``actions.submit``: refused, the form again with the errors next to its fields."""
    def render(status, refused):
        if refused:
            flash(refused, "error")
        return render_template(template, form=form, **context), (status if request.method == "POST" else 200)

    return submit(form, save, done=None, then=lambda url: url, render=render)


def _municipality_choices():
    return [SelectChoice("", "—")] + [
        SelectChoice(m["code"], f"{m['name']} ({m['department_name']})")
        for m in sorted(municipalities().values(), key=lambda m: (m["department_name"], m["name"]))
    ]


def _organization_choices(blank=None):
    orgs = db.session.scalars(select(Organization).where(Organization.active).order_by(Organization.legal_name))
    choices = [SelectChoice(o.id, o.legal_name) for o in orgs]
    return ([SelectChoice(0, blank)] if blank else []) + choices


def _organization_form_data(org: Organization) -> dict:
    data = {c: getattr(org, c) for c in (
        "legal_name", "nit", "registry_number", "legal_rep_name", "legal_rep_dui", "address",
        "municipality_code", "bank_name", "bank_account", "email", "active")}
    data["phones"] = ", ".join(org.phone_numbers)
    data["board_members"] = [
        {"name": m.name, "dui": m.dui, "position": m.position} for m in org.board_members
    ] + [{}, {}]
    return data


# --- organizations ---------------------------------------------------------------------------

@bp.get("/organizations")
@login_required
def organizations():
    require(current_user, Permission.ORGANIZATIONS_READ)
    found = search_args()
    items, pager = page_of(search.organizations(current_user, found.filters))
    return render_template("admin/organizations.html", organizations=items, paging=pager, search=found)


@bp.get("/organizations/<int:org_id>")
@login_required
def organization(org_id):
    require(current_user, Permission.ORGANIZATIONS_READ)
    org = visible(current_user, db.session.get(Organization, org_id))
    return render_template("admin/organization.html", org=org)


@bp.route("/organizations/new", methods=["GET", "POST"], defaults={"org_id": None})
@bp.route("/organizations/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def organization_form(org_id):
    require(current_user, Permission.ORGANIZATIONS_MANAGE)
    org = visible(current_user, db.session.get(Organization, org_id)) if org_id else None
    if request.method == "GET" and org:
        form = OrganizationForm(data=_organization_form_data(org))
    else:
        form = OrganizationForm()
    form.municipality_code.choices = _municipality_choices()

    def save():
        data = form.to_data()
        if org is None:
            created = organization_service.create_organization(current_actor(), data)
            flash(_l("Organización registrada."), "success")
            return url_for("admin.organization", org_id=created.id)
        data["active"] = form.active.data
        organization_service.update_organization(current_actor(), org.id, data)
        flash(_l("Organización actualizada."), "success")
        return url_for("admin.organization", org_id=org.id)

    return _submit(form, save, "admin/organization_form.html", org=org)


# --- allocations -----------------------------------------------------------------------------

@bp.get("/allocations")
@login_required
def allocations():
    require(current_user, Permission.ALLOCATIONS_READ)
    year = int_arg("year")
    query = select(Allocation).join(Allocation.organization).order_by(
        Allocation.fiscal_year.desc(), Organization.legal_name, Allocation.id)
    if year:
        query = query.where(Allocation.fiscal_year == year)
    query = scope_to_user(current_user, query, Allocation.organization_id)
    items, pager = page_of(query)
    years = db.session.scalars(select(Allocation.fiscal_year).distinct().order_by(Allocation.fiscal_year.desc())).all()
    sum_query = select(func.coalesce(func.sum(Allocation.amount), 0))
    if year:
        sum_query = sum_query.where(Allocation.fiscal_year == year)
    total = db.session.scalar(scope_to_user(current_user, sum_query, Allocation.organization_id))
    return render_template("admin/allocations.html", allocations=items, paging=pager, year=year,
                           years=years, total=total)


@bp.route("/allocations/new", methods=["GET", "POST"], defaults={"allocation_id": None})
@bp.route("/allocations/<int:allocation_id>/edit", methods=["GET", "POST"])
@login_required
def allocation_form(allocation_id):
    require(current_user, Permission.ALLOCATIONS_MANAGE)
    allocation = visible(current_user, db.session.get(Allocation, allocation_id)) if allocation_id else None
    form = AllocationForm(obj=allocation) if request.method == "GET" and allocation else AllocationForm()
    if request.method == "GET" and allocation:
        form.amount.data = f"{allocation.amount:.2f}"
    form.organization_id.choices = _organization_choices()

    def save():
        if allocation is None:
            allocation_service.create_allocation(current_actor(), form.to_data())
            flash(_l("Asignación registrada."), "success")
        else:
            allocation_service.update_allocation(current_actor(), allocation.id, form.to_data())
            flash(_l("Asignación actualizada."), "success")
        return url_for("admin.allocations")

    return _submit(form, save, "admin/allocation_form.html", allocation=allocation)


# --- users -----------------------------------------------------------------------------------

@bp.get("/users")
@login_required
def users():
    require(current_user, Permission.USERS_MANAGE)
    items, pager = page_of(select(User).order_by(User.email))
    return render_template("admin/users.html", users=items, paging=pager)


@bp.route("/users/new", methods=["GET", "POST"], defaults={"user_id": None})
@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@login_required
def user_form(user_id):
    require(current_user, Permission.USERS_MANAGE)
    user = db.session.get(User, user_id) if user_id else None
    if user_id and user is None:
        abort(404)
    form = UserForm(obj=user) if request.method == "GET" and user else UserForm()
    if request.method == "GET" and user:
        form.roles.data = [str(r) for r in user.roles]
        form.organization_id.data = user.organization_id or 0
        form.locale.data = user.locale or ""
    form.organization_id.choices = _organization_choices(blank="—")

    def save():
        data = form.to_data()
        if user is None:
            data["password"] = form.password.data
            user_service.create_user(current_actor(), data)
            flash(_l("Usuario creado."), "success")
        else:
            data["active"] = form.active.data
            user_service.update_user(current_actor(), user.id, data)
            if form.password.data:
                user_service.set_password(current_actor(), user.id, form.password.data)
            flash(_l("Usuario actualizado."), "success")
        return url_for("admin.users")

    return _submit(form, save, "admin/user_form.html", user=user)
