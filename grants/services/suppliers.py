"""Suppliers (proveedores) of an agreement (the debarment list: ``debarment.py``). Flush, never commit.

The NGO proposes the suppliers the ministry will pay directly; the automatic checks
(``grants.validation.supplier``) run on every proposal and change, and their results are stored
by name in ``Supplier.checks``:

* an invalid NIT/DUI or a NIT/DUI already proposed on the agreement is a field error: nothing
  is stored;
* a debarred supplier or a conflict of interest with the NGO is stored but flagged, and the
  financial reviewer cannot validate it (the checks run again at validation).

Versions: a proposed supplier is edited in place. **Any** change to a validated (or rejected)
supplier — its bank account and bank above all, but also its name, address, phone, NRC or
goods and prices — creates a new version (``version + 1``, ``supersedes_id``, status
``proposed``) and the previous one becomes ``superseded``: what the ministry pays is always
exactly what a reviewer validated. The NIT/DUI itself never changes across versions (that is a
different supplier: propose it anew); while version 1 is still proposed it may be corrected.

Segregation of duties: the reviewer who validates or rejects holds no NGO role, is not a user
of the organization and is not the person who proposed that version.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select

from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.labels import AGREEMENT_STATE_LABELS
from grants.models import Agreement, DebarredSupplier, Supplier, SupplierItem
from grants.models.base import utcnow
from grants.permissions import Permission, Role
from grants.domain_errors import Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from grants.money import parse_amount
from grants.services.notifications import notify, users_of_organization, users_with_role
from grants.validation import supplier as checks_
from grants.validation.identity import (
    IdentityError,
    check_person_name,
    normalize_nrc,
    normalize_phone,
    normalize_tax_id,
)
from grants.labels import SUPPLIER_STATE_LABELS
from grants.workflows import supplier as lifecycle
from grants.workflows.agreement import AgreementState
from grants.workflows.supplier import CURRENT_STATES, SupplierAction, SupplierState

# Agreement states in which the NGO proposes suppliers and the ministry validates them.
ACTIVE_AGREEMENT_STATES = (AgreementState.SIGNED, AgreementState.IN_EXECUTION, AgreementState.SUSPENDED)

FIELDS = ("tax_id", "nrc", "legal_name", "address", "phone", "bank_name", "bank_account")
LIMITS = {"legal_name": 200, "address": 300, "bank_name": 120}
ITEM_LIMITS = {"description": 300, "unit": 40}
MAX_ITEMS = 200



# --- loading and permissions -----------------------------------------------------------------

def _load(supplier_id: int, lock: bool = True) -> Supplier:
    supplier = db.session.get(Supplier, supplier_id, with_for_update=lock) if supplier_id else None
    if supplier is None:
        raise NotFound()
    return supplier


def _own_organization(actor: Actor, organization_id: int) -> None:
    """Only a user of the NGO that holds the agreement proposes and changes its suppliers."""
    user = actor.user
    if user is None or not user.can(Permission.SUPPLIERS_PROPOSE):
        raise Forbidden(_l("Solo la organización titular del convenio propone sus proveedores."))
    if user.organization_id != organization_id:
        raise NotFound()  # another organization's agreement or supplier does not exist for this user


def _active(agreement: Agreement) -> None:
    if agreement.status not in ACTIVE_AGREEMENT_STATES:
        raise Conflict(_l("El convenio está en estado «%(state)s»: los proveedores se proponen y validan con el "
                          "convenio firmado, en ejecución o suspendido.",
                          state=AGREEMENT_STATE_LABELS[agreement.status]), code="agreement_not_active")


def _reviewer(actor: Actor, supplier: Supplier, action: SupplierAction) -> None:
    """Segregation of duties (``Supplier.refusal_for``): not an NGO user, not of this organization,
    not the proposer. The state is checked when the supplier is locked (``_proposed``)."""
    refusal = supplier.refusal_for(actor.user, action)
    if refusal == "forbidden":
        raise Forbidden(_l("Solo la revisión financiera valida o rechaza proveedores."))
    if refusal == "own_organization":
        raise Forbidden(_l("Un usuario de la organización no decide sobre sus propios proveedores."))
    if refusal == "segregation_of_duties":
        raise Conflict(_l("Quien propuso el proveedor no puede validarlo ni rechazarlo (segregación de funciones)."),
                       code="segregation_of_duties")


# --- field validation ------------------------------------------------------------------------

def _text(data: dict, name: str, errors: FieldErrors, out: dict) -> None:
    raw = str(data.get(name) or "")
    value = " ".join(raw.split())
    if not value:
        errors.add(name, _l("Este campo es obligatorio."))
    elif len(value) > LIMITS[name]:
        errors.add(name, _l("Máximo %(n)s caracteres.", n=LIMITS[name]))
    elif name == "legal_name":
        try:
            check_person_name(raw)
        except IdentityError as exc:
            errors.add(name, exc.message)
    out[name] = value


def _items(raw, errors: FieldErrors) -> list[dict]:
    if not isinstance(raw, (list, tuple)) or not raw:
        errors.add("items", _l("Indique al menos un bien o servicio con su precio unitario."))
        return []
    if len(raw) > MAX_ITEMS:
        errors.add("items", _l("Máximo %(n)s bienes o servicios.", n=MAX_ITEMS))
        return []
    items = []
    for i, item in enumerate(raw):
        item = item if isinstance(item, dict) else {}
        clean = {}
        for name, limit in ITEM_LIMITS.items():
            value = " ".join(str(item.get(name) or "").split())
            if not value:
                errors.add(f"items.{i}.{name}", _l("Este campo es obligatorio."))
            elif len(value) > limit:
                errors.add(f"items.{i}.{name}", _l("Máximo %(n)s caracteres.", n=limit))
            clean[name] = value
        price = item.get("unit_price")
        try:
            if price is None or (isinstance(price, str) and not price.strip()):
                raise ValueError("missing")
            amount = parse_amount(price)
            if amount <= 0:
                raise ValueError("not positive")
            clean["unit_price"] = amount
        except ValueError:
            errors.add(f"items.{i}.unit_price",
                       _l("Indique un precio unitario mayor que cero, con dos decimales como máximo."))
            clean["unit_price"] = None
        items.append(clean)
    return items


def _clean(data: dict, errors: FieldErrors, current: Supplier | None) -> dict:
    """Every field (PATCH: those present; the rest come from ``current``), normalized."""
    def given(name: str) -> bool:
        return current is None or name in data

    out: dict = {}
    if given("tax_id"):
        try:
            out["tax_id"] = normalize_tax_id(data.get("tax_id"))
        except IdentityError as exc:
            errors.add("tax_id", exc.message)
    if given("nrc"):
        raw = str(data.get("nrc") or "").strip()
        try:
            out["nrc"] = normalize_nrc(raw) if raw else None
        except IdentityError as exc:
            errors.add("nrc", exc.message)
    for name in LIMITS:
        if given(name):
            _text(data, name, errors, out)
    if given("phone"):
        raw = str(data.get("phone") or "").strip()
        try:
            out["phone"] = normalize_phone(raw) if raw else None
        except IdentityError as exc:
            errors.add("phone", exc.message)
    if given("bank_account"):
        account = "".join(str(data.get("bank_account") or "").split()).upper()
        if not account or not checks_.account_key(account).isalnum() or len(account) > 34:
            errors.add("bank_account", _l("Indique un número de cuenta bancaria válido (hasta 34 caracteres)."))
        out["bank_account"] = account
    if given("items"):
        out["items"] = _items(data.get("items"), errors)
    return out


def _values_of(supplier: Supplier) -> dict:
    values = {name: getattr(supplier, name) for name in FIELDS}
    values["items"] = [{"description": i.description, "unit": i.unit, "unit_price": i.unit_price}
                       for i in supplier.items]
    return values


def _merged(current: Supplier, cleaned: dict) -> dict:
    values = _values_of(current)
    for name, value in cleaned.items():
        if name == "bank_account" and checks_.account_key(value) == checks_.account_key(current.bank_account):
            continue  # the same account written with other dashes or spaces is no change
        values[name] = value
    return values


def _item_rows(items: list[dict]) -> list[SupplierItem]:
    return [SupplierItem(description=i["description"], unit=i["unit"], unit_price=i["unit_price"]) for i in items]


# --- checks ----------------------------------------------------------------------------------

def _other_tax_ids(agreement_id: int, exclude_ids: set[int]) -> list[str]:
    query = select(Supplier.tax_id).where(Supplier.agreement_id == agreement_id,
                                          Supplier.status.in_(CURRENT_STATES))
    if exclude_ids:
        query = query.where(Supplier.id.not_in(exclude_ids))
    return list(db.session.scalars(query))


def _debarment(tax_id: str) -> DebarredSupplier | None:
    return db.session.scalar(select(DebarredSupplier).where(DebarredSupplier.tax_id == tax_id))


def _run_checks(values: dict, agreement: Agreement, exclude_ids: set[int]) -> dict:
    tax_id = values["tax_id"]
    return checks_.run_checks(values, agreement.organization, _other_tax_ids(agreement.id, exclude_ids),
                              _debarment(tax_id))


def _refuse_blocking(results: dict) -> None:
    """An invalid or duplicate NIT/DUI is a field error: the supplier is not stored."""
    for name in checks_.BLOCKING_CHECKS:
        if name in results and not results[name]["ok"]:
            raise ValidationFailed(errors={"tax_id": [results[name]["detail"]]})


def failed_checks(supplier: Supplier) -> list[str]:
    return checks_.failed(supplier.checks or {})


def audit_view(supplier: Supplier) -> dict:
    data = snapshot(supplier)
    data["items"] = [{"description": i.description, "unit": i.unit, "unit_price": i.unit_price}
                     for i in supplier.items]
    return data


def _notify_reviewers(supplier: Supplier, agreement: Agreement, title, body) -> None:
    flagged = failed_checks(supplier)
    if flagged:
        labels = ", ".join(str(checks_.CHECK_LABELS[n]) for n in flagged)
        body = _l("%(body)s Verificaciones no superadas: %(checks)s.", body=body, checks=labels)
    notify(users_with_role(Role.FINANCIAL_REVIEWER), "supplier.proposed", title, body,
           link=f"/suppliers/{supplier.id}")


# --- propose, update, version ----------------------------------------------------------------

def propose_supplier(actor: Actor, agreement_id: int, data: dict) -> Supplier:
    """The NGO proposes a supplier for one of its agreements (signed, in execution or suspended)."""
    agreement = db.session.get(Agreement, agreement_id, with_for_update=True) if agreement_id else None
    if agreement is None:
        raise NotFound()
    _own_organization(actor, agreement.organization_id)
    _active(agreement)
    errors = FieldErrors()
    values = _clean(data, errors, None)
    errors.raise_if_any()
    results = _run_checks(values, agreement, set())
    _refuse_blocking(results)
    supplier = Supplier(
        agreement_id=agreement.id, organization_id=agreement.organization_id, version=1,
        tax_id=values["tax_id"], tax_id_type=checks_.tax_id_kind(values["tax_id"]),
        **{name: values[name] for name in FIELDS if name != "tax_id"},
        status=SupplierState.PROPOSED, checks=checks_.storable(results), proposed_by_id=actor.user_id,
        items=_item_rows(values["items"]))
    db.session.add(supplier)
    db.session.flush()
    record_event(db.session, actor, "supplier.proposed", "supplier", supplier.id, after=audit_view(supplier),
                 organization_id=supplier.organization_id)
    _notify_reviewers(supplier, agreement,
                      _l("Proveedor por validar: %(name)s", name=supplier.legal_name),
                      _l("%(org)s propuso un proveedor para el convenio %(number)s.",
                         org=agreement.organization.legal_name, number=agreement.number))
    return supplier


def update_supplier(actor: Actor, supplier_id: int, data: dict) -> Supplier:
    """Change a supplier. Proposed: edited in place. Validated or rejected: a new version that
    needs validation again (the previous one is superseded). Returns the current version."""
    supplier = _load(supplier_id)
    _own_organization(actor, supplier.organization_id)
    agreement = db.session.get(Agreement, supplier.agreement_id, with_for_update=True)
    _active(agreement)
    if supplier.status == SupplierState.SUPERSEDED:
        raise Conflict(_l("Esta versión del proveedor fue reemplazada: modifique la versión vigente."),
                       code="supplier_superseded")
    errors = FieldErrors()
    cleaned = _clean(data, errors, supplier)
    if "tax_id" in cleaned and cleaned["tax_id"] != supplier.tax_id and (
            supplier.status != SupplierState.PROPOSED or supplier.version > 1):
        errors.add("tax_id", _l("El NIT o DUI de un proveedor no cambia entre versiones: proponga otro proveedor."))
    errors.raise_if_any()
    values = _merged(supplier, cleaned)
    if values == _values_of(supplier):
        return supplier  # nothing changed: no new version, no event
    if supplier.status == SupplierState.PROPOSED:
        return _edit_in_place(actor, supplier, agreement, values)
    return _new_version(actor, supplier, agreement, values)


def _edit_in_place(actor: Actor, supplier: Supplier, agreement: Agreement, values: dict) -> Supplier:
    results = _run_checks(values, agreement, {supplier.id})
    _refuse_blocking(results)
    before = audit_view(supplier)
    for name in FIELDS:
        setattr(supplier, name, values[name])
    supplier.tax_id_type = checks_.tax_id_kind(values["tax_id"])
    if values["items"] != _values_of(supplier)["items"]:
        supplier.items = _item_rows(values["items"])
    supplier.checks = checks_.storable(results)
    db.session.flush()
    record_event(db.session, actor, "supplier.updated", "supplier", supplier.id, before=before,
                 after=audit_view(supplier), organization_id=supplier.organization_id)
    return supplier


def _new_version(actor: Actor, previous: Supplier, agreement: Agreement, values: dict) -> Supplier:
    results = _run_checks(values, agreement, {previous.id})
    _refuse_blocking(results)
    before = audit_view(previous)
    bank_changed = (checks_.account_key(values["bank_account"]) != checks_.account_key(previous.bank_account)
                    or values["bank_name"] != previous.bank_name)
    previous.status = lifecycle.next_state(previous.status, SupplierAction.SUPERSEDE)
    db.session.flush()  # the unique index on (agreement, tax_id) skips superseded rows
    record_event(db.session, actor, "supplier.superseded", "supplier", previous.id, before=before,
                 after=audit_view(previous), organization_id=previous.organization_id)
    supplier = Supplier(
        agreement_id=previous.agreement_id, organization_id=previous.organization_id,
        version=previous.version + 1, supersedes_id=previous.id, tax_id=previous.tax_id,
        tax_id_type=previous.tax_id_type, **{name: values[name] for name in FIELDS if name != "tax_id"},
        status=SupplierState.PROPOSED, checks=checks_.storable(results), proposed_by_id=actor.user_id,
        items=_item_rows(values["items"]))
    db.session.add(supplier)
    db.session.flush()
    record_event(db.session, actor, "supplier.version_created", "supplier", supplier.id,
                 before={"supersedes_id": previous.id, "version": previous.version, "status": previous.status},
                 after={**audit_view(supplier), "bank_changed": bank_changed},
                 organization_id=supplier.organization_id)
    title = (_l("Cambio de cuenta bancaria por validar: %(name)s", name=supplier.legal_name) if bank_changed
             else _l("Cambios de un proveedor por validar: %(name)s", name=supplier.legal_name))
    _notify_reviewers(supplier, agreement, title,
                      _l("%(org)s modificó un proveedor del convenio %(number)s (versión %(n)s): debe validarse de nuevo.",
                         org=agreement.organization.legal_name, number=agreement.number, n=supplier.version))
    return supplier


# --- decisions -------------------------------------------------------------------------------

def _proposed(supplier: Supplier) -> None:
    if SupplierAction.VALIDATE not in lifecycle.allowed_actions(supplier.status):
        raise Conflict(_l("El proveedor está «%(state)s»: solo se decide sobre un proveedor propuesto.",
                          state=SUPPLIER_STATE_LABELS[supplier.status]), code="invalid_transition")


def validate_supplier(actor: Actor, supplier_id: int) -> Supplier:
    """The financial reviewer validates: the checks run again and must all pass."""
    supplier = _load(supplier_id)
    _reviewer(actor, supplier, SupplierAction.VALIDATE)
    _proposed(supplier)
    agreement = db.session.get(Agreement, supplier.agreement_id, with_for_update=True)
    _active(agreement)
    results = checks_.storable(_run_checks(_values_of(supplier), agreement, {supplier.id}))
    problems = checks_.failed(results)
    if problems:
        details = "; ".join(f"{checks_.CHECK_LABELS[n]}: {checks_.describe(n, results[n])['detail']}"
                            for n in problems)
        raise Conflict(_l("No se puede validar el proveedor: %(details)s", details=details), code="checks_failed")
    before = audit_view(supplier)
    supplier.checks = results
    supplier.status = lifecycle.next_state(supplier.status, SupplierAction.VALIDATE)
    supplier.decided_by_id = actor.user_id
    supplier.decided_at = utcnow()
    supplier.decision_reason = None
    db.session.flush()
    record_event(db.session, actor, "supplier.validated", "supplier", supplier.id, before=before,
                 after=audit_view(supplier), organization_id=supplier.organization_id)
    notify(users_of_organization(supplier.organization_id), "supplier.validated",
           _l("Proveedor validado: %(name)s", name=supplier.legal_name),
           _l("El ministerio puede pagar directamente a este proveedor en el convenio %(number)s.",
              number=agreement.number), link=f"/suppliers/{supplier.id}")
    return supplier


def reject_supplier(actor: Actor, supplier_id: int, reason: str | None) -> Supplier:
    supplier = _load(supplier_id)
    _reviewer(actor, supplier, SupplierAction.REJECT)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(errors={"reason": [_l("El rechazo necesita un motivo.")]})
    if len(reason) > 5000:
        raise ValidationFailed(errors={"reason": [_l("Máximo %(n)s caracteres.", n=5000)]})
    _proposed(supplier)
    before = audit_view(supplier)
    supplier.status = lifecycle.next_state(supplier.status, SupplierAction.REJECT)
    supplier.decision_reason = reason
    supplier.decided_by_id = actor.user_id
    supplier.decided_at = utcnow()
    db.session.flush()
    record_event(db.session, actor, "supplier.rejected", "supplier", supplier.id, before=before,
                 after=audit_view(supplier), organization_id=supplier.organization_id)
    notify(users_of_organization(supplier.organization_id), "supplier.rejected",
           _l("Proveedor rechazado: %(name)s", name=supplier.legal_name),
           _l("Motivo: %(reason)s", reason=reason), link=f"/suppliers/{supplier.id}")
    return supplier


def versions_of(supplier: Supplier) -> list[Supplier]:
    """Every version of this supplier, oldest first (following ``supersedes_id`` both ways)."""
    chain = [supplier]
    while chain[0].supersedes_id is not None:
        older = db.session.get(Supplier, chain[0].supersedes_id)
        if older is None:
            break
        chain.insert(0, older)
    while True:
        newer = db.session.scalar(select(Supplier).where(Supplier.supersedes_id == chain[-1].id))
        if newer is None:
            break
        chain.append(newer)
    return chain


def queue_order(query):
    """The suppliers' review queue, for both faces: proposed first, then oldest first."""
    return query.order_by(case((Supplier.status == SupplierState.PROPOSED, 0), else_=1), Supplier.created_at, Supplier.id)
