"""Supplier pages: the NGO's suppliers per agreement and its propose/edit form (rows of goods
and services added and removed with buttons, no script needed), the supplier page with the
financial reviewer's validate/reject forms, the reviewers' queue, and the admins' debarment
list with its CSV upload. Routes are thin: the services validate and write."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l, lazy_ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import or_, select
from wtforms import FieldList, Form, FormField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from grants.context import current_actor
from grants.extensions import db
from grants.models import Agreement, DebarredSupplier, Supplier, User
from grants.permissions import Permission
from grants.security import require, scope_to_user, visible
from grants.services import debarment
from grants.services import documents
from grants.services import suppliers as supplier_service
from grants.services import search
from grants.domain_errors import Conflict, ValidationFailed
from grants.validation.supplier import CHECK_NAMES, describe
from grants.web.forms import person_name
from grants.web.actions import submit
from grants.web.paging import page_of
from grants.web.search import search_args
from grants.workflows.supplier import SupplierAction, SupplierState
from grants.labels import SUPPLIER_STATE_LABELS

bp = Blueprint("supplier_pages", __name__)

S = SupplierState
STATE_CLASSES = {S.PROPOSED: "submitted", S.VALIDATED: "approved", S.REJECTED: "rejected", S.SUPERSEDED: "closing"}
QUEUE_STATES = tuple(s.value for s in SupplierState)
DEBARMENT_COLUMNS = {"tax_id": _l("NIT o DUI"), "name": _l("Nombre"), "reason": _l("Motivo"),
                     "listed_on": _l("Fecha"), "source": _l("Fuente")}


# --- forms -----------------------------------------------------------------------------------

class SupplierItemForm(Form):
    description = StringField(_l("Bien o servicio"), validators=[Optional(), Length(max=300)])
    unit = StringField(_l("Unidad"), validators=[Optional(), Length(max=40)])
    unit_price = StringField(_l("Precio unitario (US$)"), validators=[Optional(), Length(max=20)],
                             render_kw={"inputmode": "decimal"})

    def is_blank(self) -> bool:
        return not any(str(f.data or "").strip() for f in (self.description, self.unit, self.unit_price))

    def to_data(self) -> dict:
        return {"description": self.description.data, "unit": self.unit.data, "unit_price": self.unit_price.data}


class SupplierForm(FlaskForm):
    tax_id = StringField(_l("NIT o DUI"), validators=[Optional(), Length(max=20)],
                         description=_l("NIT de 14 dígitos (0614-050707-104-8) o DUI de persona natural (00000000-0)."))
    nrc = StringField(_l("NRC"), validators=[Optional(), Length(max=10)],
                      description=_l("Número de registro de contribuyente, si lo tiene."))
    legal_name = StringField(_l("Nombre o razón social"), validators=[Optional(), Length(max=200), person_name])
    address = StringField(_l("Dirección"), validators=[Optional(), Length(max=300)])
    phone = StringField(_l("Teléfono"), validators=[Optional(), Length(max=30)])
    bank_name = StringField(_l("Banco"), validators=[Optional(), Length(max=120)])
    bank_account = StringField(_l("Cuenta bancaria"), validators=[Optional(), Length(max=60)],
                               description=_l("A la que el ministerio pagará directamente."))
    items = FieldList(FormField(SupplierItemForm), min_entries=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.list_errors: list[str] = []

    def rows(self) -> list[SupplierItemForm]:
        return [entry.form for entry in self.items if not entry.form.is_blank()]

    def to_data(self) -> dict:
        data = {name: getattr(self, name).data or "" for name in supplier_service.FIELDS}
        data["items"] = [row.to_data() for row in self.rows()]
        return data

    def apply_row_action(self, formdata) -> bool:
        """``add_item`` / ``remove_item-3`` buttons: change the rows, save nothing."""
        if "add_item" in formdata:
            self.items.append_entry()
            return True
        for key in formdata:
            if key.startswith("remove_item-") and key[12:].isdigit():
                index = int(key[12:])
                if index < len(self.items.entries):
                    self.items.pop_entry(index)
                if not self.items.entries:
                    self.items.append_entry()
                return True
        return False

    def apply_errors(self, errors: dict) -> None:
        leftover: list[str] = []
        rows = self.rows()
        for key, messages in errors.items():
            texts = [str(m) for m in messages]
            parts = key.split(".")
            target = None
            if key == "items":
                self.list_errors.extend(texts)
                continue
            if parts[0] == "items" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
                target = getattr(rows[int(parts[1])], parts[2], None)
            elif len(parts) == 1 and key in supplier_service.FIELDS:
                target = getattr(self, key)
            if target is None:
                leftover.extend(texts)
                continue
            target.errors = list(target.errors) + texts
        if leftover:
            self.form_errors = list(getattr(self, "form_errors", [])) + leftover


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Motivo del rechazo"), validators=[Optional(), Length(max=5000)])


class DebarmentForm(FlaskForm):
    file = FileField(_l("Archivo CSV"), render_kw={"accept": ".csv,text/csv"},
                     description=_l("Columnas: NIT (o DUI), nombre, motivo, fecha (dd/mm/aaaa o AAAA-MM-DD) y fuente; "
                                    "separadas por coma o punto y coma."))


# --- helpers ---------------------------------------------------------------------------------

def _agreement(agreement_id: int) -> Agreement:
    require(current_user, Permission.SUPPLIERS_READ)
    require(current_user, Permission.AGREEMENTS_READ)
    return visible(current_user, db.session.get(Agreement, agreement_id))


def _supplier(supplier_id: int) -> Supplier:
    require(current_user, Permission.SUPPLIERS_READ)
    return visible(current_user, db.session.get(Supplier, supplier_id))


def _is_owner(organization_id: int) -> bool:
    return current_user.can(Permission.SUPPLIERS_PROPOSE) and current_user.acts_for(organization_id)


def _active(agreement: Agreement) -> bool:
    return agreement.status in supplier_service.ACTIVE_AGREEMENT_STATES


def checks_of(supplier: Supplier) -> list[dict]:
    stored = supplier.checks or {}
    return [describe(name, stored.get(name)) for name in CHECK_NAMES]


def _users(ids) -> dict[int, User]:
    ids = {i for i in ids if i}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _labels() -> dict:
    return {"supplier_state_labels": SUPPLIER_STATE_LABELS, "state_classes": STATE_CLASSES,
            "checks_of": checks_of}


# --- the agreement's suppliers ---------------------------------------------------------------

@bp.get("/agreements/<int:agreement_id>/suppliers")
@login_required
def agreement_suppliers(agreement_id):
    agreement = _agreement(agreement_id)
    found = search_args(SupplierState)
    show_all = request.args.get("all") == "1"
    if show_all:
        found.filters["all"] = found.args["all"] = 1
    found.filters["agreement_id"] = agreement.id
    items, pager = page_of(search.suppliers(current_user, found.filters))
    return render_template("suppliers/list.html", agreement=agreement, suppliers=items, paging=pager,
                           show_all=show_all, search=found, can_propose=_is_owner(agreement.organization_id) and _active(agreement),
                           **_labels())


def _render_form(form: SupplierForm, agreement: Agreement, supplier: Supplier | None, status: int = 200):
    action = (url_for("supplier_pages.edit_supplier", supplier_id=supplier.id) if supplier is not None
              else url_for("supplier_pages.new_supplier", agreement_id=agreement.id))
    return render_template("suppliers/form.html", form=form, agreement=agreement, supplier=supplier,
                           action=action, **_labels()), status


def _form_post(form: SupplierForm, agreement: Agreement, supplier: Supplier | None):
    if form.apply_row_action(request.form):
        return _render_form(form, agreement, supplier)  # nothing saved, nothing validated
    agreement_id, supplier_id = agreement.id, supplier.id if supplier is not None else None
    said = []

    def save():
        if supplier is None:
            said.append(_l("Proveedor propuesto: la revisión financiera lo validará."))
            return supplier_service.propose_supplier(current_actor(), agreement_id, form.to_data())
        before = supplier_service.audit_view(supplier)
        result = supplier_service.update_supplier(current_actor(), supplier_id, form.to_data())
        if result.id != supplier_id:
            said.append(_l("Se creó la versión %(n)s del proveedor: debe validarse de nuevo.", n=result.version))
        elif supplier_service.audit_view(result) == before:
            said.append((_l("No hubo cambios."), "info"))
        else:
            said.append(_l("Proveedor actualizado."))
        return result

    def render(status, refused):  # the stored state, not what the refused call touched
        if refused:
            flash(refused, "error")
        return _render_form(form, db.session.get(Agreement, agreement_id),
                            db.session.get(Supplier, supplier_id) if supplier_id is not None else None, status)

    return submit(form, save, done=lambda _: said[-1], place_errors=form.apply_errors, render=render,
                  then=lambda result: url_for("supplier_pages.supplier_page", supplier_id=result.id))


@bp.route("/agreements/<int:agreement_id>/suppliers/new", methods=["GET", "POST"])
@login_required
def new_supplier(agreement_id):
    agreement = _agreement(agreement_id)
    require(current_user, Permission.SUPPLIERS_PROPOSE)
    if not _active(agreement):
        raise Conflict(_l("Los proveedores se proponen con el convenio firmado, en ejecución o suspendido."),
                       code="agreement_not_active")
    if request.method == "POST":
        return _form_post(SupplierForm(), agreement, None)
    return _render_form(SupplierForm(formdata=None), agreement, None)


@bp.route("/suppliers/<int:supplier_id>/edit", methods=["GET", "POST"])
@login_required
def edit_supplier(supplier_id):
    supplier = _supplier(supplier_id)
    require(current_user, Permission.SUPPLIERS_PROPOSE)
    if supplier.status == S.SUPERSEDED:
        current = supplier_service.versions_of(supplier)[-1]
        flash(_l("Esa versión fue reemplazada: esta es la vigente."), "info")
        return redirect(url_for("supplier_pages.edit_supplier", supplier_id=current.id))
    if request.method == "POST":
        return _form_post(SupplierForm(), supplier.agreement, supplier)
    data = {name: getattr(supplier, name) or "" for name in supplier_service.FIELDS}
    data["items"] = [{"description": i.description, "unit": i.unit, "unit_price": f"{i.unit_price:.2f}"}
                     for i in supplier.items]
    return _render_form(SupplierForm(formdata=None, data=data), supplier.agreement, supplier)


# --- supplier page and decisions -------------------------------------------------------------

def _render_page(supplier: Supplier, status: int = 200, reject_form: RejectForm | None = None,
                 conflict=None):
    versions = supplier_service.versions_of(supplier)
    people = _users([supplier.proposed_by_id, supplier.decided_by_id] + [v.proposed_by_id for v in versions])
    can_decide = supplier.can(current_user, SupplierAction.VALIDATE)
    return render_template(
        "suppliers/detail.html", supplier=supplier, agreement=supplier.agreement, versions=versions,
        current_version=versions[-1], people=people, checks=checks_of(supplier),
        failed=supplier_service.failed_checks(supplier), can_decide=can_decide,
        can_edit=_is_owner(supplier.organization_id) and supplier.status != S.SUPERSEDED
        and _active(supplier.agreement),
        reject_form=reject_form or RejectForm(formdata=None), conflict=conflict,
        documents=documents.supplier_documents(supplier), solvency_expired=documents.solvency_expired(supplier),
        may_attach=_is_owner(supplier.organization_id) and supplier.status != S.SUPERSEDED,
        document_kinds=documents.SUPPLIER_KINDS, **_labels()), status


@bp.get("/suppliers/<int:supplier_id>")
@login_required
def supplier_page(supplier_id):
    return _render_page(_supplier(supplier_id))


@bp.post("/suppliers/<int:supplier_id>/validate")
@login_required
def validate(supplier_id):
    supplier = _supplier(supplier_id)
    require(current_user, Permission.SUPPLIERS_VALIDATE)
    return submit(None, lambda: supplier_service.validate_supplier(current_actor(), supplier.id),
                  done=_l("Proveedor validado: el ministerio puede pagarle directamente."),
                  then=url_for("supplier_pages.supplier_page", supplier_id=supplier.id),
                  render=lambda status, refused: _render_page(db.session.get(Supplier, supplier_id), status,
                                                              conflict=refused))


@bp.post("/suppliers/<int:supplier_id>/reject")
@login_required
def reject(supplier_id):
    supplier = _supplier(supplier_id)
    require(current_user, Permission.SUPPLIERS_VALIDATE)
    form = RejectForm()
    return submit(form, lambda: supplier_service.reject_supplier(current_actor(), supplier.id, form.reason.data),
                  done=_l("Proveedor rechazado."), then=url_for("supplier_pages.supplier_page", supplier_id=supplier.id),
                  render=lambda status, refused: _render_page(db.session.get(Supplier, supplier_id), status,
                                                              reject_form=form, conflict=refused))


# --- the reviewers' queue --------------------------------------------------------------------

@bp.get("/suppliers/queue")
@login_required
def queue():
    require(current_user, Permission.SUPPLIERS_VALIDATE)
    state = request.args.get("state", S.PROPOSED.value)
    query = select(Supplier)
    if state in QUEUE_STATES:
        query = query.where(Supplier.status == state)
    else:
        state = "all"
    items, pager = page_of(supplier_service.queue_order(scope_to_user(current_user, query, Supplier.organization_id)))
    return render_template("suppliers/queue.html", suppliers=items, paging=pager, state=state,
                           states=QUEUE_STATES, **_labels())


# --- debarment list --------------------------------------------------------------------------

def _render_debarred(form: DebarmentForm, status: int = 200, general=(), row_errors=(), summary=None):
    q = (request.args.get("q") or "").strip()[:200]
    query = select(DebarredSupplier).order_by(DebarredSupplier.listed_on.desc(), DebarredSupplier.id)
    if q:
        like = f"%{q}%"
        query = query.where(or_(DebarredSupplier.tax_id.ilike(like), DebarredSupplier.name.ilike(like)))
    items, pager = page_of(query)
    return render_template("suppliers/debarred.html", form=form, entries=items, paging=pager, q=q,
                           general=list(general), row_errors=list(row_errors), summary=summary,
                           columns=DEBARMENT_COLUMNS,
                           can_import=current_user.can(Permission.DEBARMENT_MANAGE)), status


@bp.route("/debarred-suppliers", methods=["GET", "POST"])
@login_required
def debarred():
    if not (current_user.can(Permission.DEBARMENT_MANAGE) or current_user.can(Permission.SUPPLIERS_VALIDATE)):
        abort(403)
    if request.method == "GET":
        return _render_debarred(DebarmentForm(formdata=None))
    require(current_user, Permission.DEBARMENT_MANAGE)
    form, upload, placed = DebarmentForm(), request.files.get("file"), {}

    def place(exc: ValidationFailed) -> None:   # the list's rows in a table, the rest above it
        placed["general"], placed["row_errors"] = debarment.debarment_row_errors(exc.errors)

    return submit(form, lambda: debarment.import_debarred(current_actor(), upload.read() if upload else b""),
                  done=lambda summary: lazy_ngettext(
                      "Lista importada: %(num)s fila. Nuevas: %(created)s; actualizadas: %(updated)s; sin cambios: "
                      "%(unchanged)s; proveedores señalados: %(flagged)s.",
                      "Lista importada: %(num)s filas. Nuevas: %(created)s; actualizadas: %(updated)s; sin cambios: "
                      "%(unchanged)s; proveedores señalados: %(flagged)s.", summary["rows"],
                      created=summary["created"], updated=summary["updated"], unchanged=summary["unchanged"],
                      flagged=summary["suppliers_flagged"]),
                  then=url_for("supplier_pages.debarred"), place_refusal=place,
                  render=lambda status, refused: _render_debarred(
                      form, status, **(placed or {"general": [refused] if refused else []})))
