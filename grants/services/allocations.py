"""Allocations (asignaciones legislativas): create and update, audited."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.models import Allocation, Organization
from grants.domain_errors import FieldErrors, NotFound
from grants.money import MAX_AMOUNT, parse_amount

FIELDS = ("decree_number", "fiscal_year", "budget_line_code", "organization_id", "amount", "purpose")


def _clean(data: dict, errors: FieldErrors, partial: bool) -> dict:
    out: dict = {}
    for name in ("decree_number", "budget_line_code", "purpose"):
        if name in data or not partial:
            value = (data.get(name) or "").strip()
            if not value:
                errors.add(name, _l("Este campo es obligatorio."))
            out[name] = value
    if "fiscal_year" in data or not partial:
        try:
            year = int(data.get("fiscal_year"))
            if not 2000 <= year <= 2100:
                raise ValueError
            out["fiscal_year"] = year
        except (TypeError, ValueError):
            errors.add("fiscal_year", _l("Indique un año fiscal entre 2000 y 2100."))
    if "amount" in data or not partial:
        try:
            amount = parse_amount(data.get("amount"))
            if amount <= 0 or amount > MAX_AMOUNT:
                raise ValueError
            out["amount"] = amount
        except ValueError:
            errors.add("amount", _l("Indique un monto positivo en dólares, con dos decimales como máximo."))
    if "organization_id" in data or not partial:
        org = db.session.get(Organization, data.get("organization_id")) if data.get("organization_id") else None
        if org is None:
            errors.add("organization_id", _l("La organización no existe."))
        elif not org.active:
            errors.add("organization_id", _l("La organización está inactiva."))
        else:
            out["organization_id"] = org.id
    return out


def _check_unique(values: dict, errors: FieldErrors, current: Allocation | None) -> None:
    key = {f: values.get(f, getattr(current, f, None))
           for f in ("fiscal_year", "decree_number", "organization_id", "budget_line_code")}
    if None in key.values():
        return
    query = select(func.count()).select_from(Allocation).filter_by(**key)
    if current is not None:
        query = query.where(Allocation.id != current.id)
    if db.session.scalar(query):
        errors.add("decree_number", _l(
            "Ya existe una asignación de este decreto para la organización y la línea presupuestaria."))


def create_allocation(actor: Actor, data: dict) -> Allocation:
    errors = FieldErrors()
    values = _clean(data, errors, partial=False)
    _check_unique(values, errors, None)
    errors.raise_if_any()
    allocation = Allocation(**values)
    db.session.add(allocation)
    db.session.flush()
    record_event(db.session, actor, "allocation.created", "allocation", allocation.id,
                 after=snapshot(allocation), organization_id=allocation.organization_id)
    return allocation


def update_allocation(actor: Actor, allocation_id: int, data: dict) -> Allocation:
    allocation = db.session.get(Allocation, allocation_id, with_for_update=True)
    if allocation is None:
        raise NotFound()
    before = snapshot(allocation)
    errors = FieldErrors()
    values = _clean(data, errors, partial=True)
    _check_unique(values, errors, allocation)
    errors.raise_if_any()
    for key, value in values.items():
        setattr(allocation, key, value)
    db.session.flush()
    after = snapshot(allocation)
    if after != before:
        record_event(db.session, actor, "allocation.updated", "allocation", allocation.id,
                     before=before, after=after, organization_id=allocation.organization_id)
    return allocation
