"""Organizations: create and update, with identity checks and an audit event for each change."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.models import BoardMember, Organization, OrganizationPhone
from grants.domain_errors import FieldErrors, NotFound
from grants.validation.identity import (
    IdentityError,
    normalize_dui,
    normalize_nit,
    normalize_phone,
)
from grants.validation.territory import find_municipality

TEXT_FIELDS = ("legal_name", "registry_number", "legal_rep_name", "address", "bank_name")


def _clean(data: dict, errors: FieldErrors, partial: bool) -> dict:
    out: dict = {}
    for name in TEXT_FIELDS:
        if name in data or not partial:
            value = (data.get(name) or "").strip()
            if not value:
                errors.add(name, _l("Este campo es obligatorio."))
            out[name] = value
    if "email" in data:
        out["email"] = (data.get("email") or "").strip().lower() or None
    if "nit" in data or not partial:
        try:
            out["nit"] = normalize_nit(data.get("nit"))
        except IdentityError as exc:
            errors.add("nit", exc.message)
    if "legal_rep_dui" in data or not partial:
        try:
            out["legal_rep_dui"] = normalize_dui(data.get("legal_rep_dui"))
        except IdentityError as exc:
            errors.add("legal_rep_dui", exc.message)
    if "bank_account" in data or not partial:
        account = "".join((data.get("bank_account") or "").split())
        if not account or not account.replace("-", "").isalnum() or len(account) > 34:
            errors.add("bank_account", _l("Indique un número de cuenta bancaria válido."))
        out["bank_account"] = account
    if "municipality_code" in data or not partial:
        muni = find_municipality(data.get("municipality_code") or "")
        if muni is None:
            errors.add("municipality_code", _l("El municipio no existe."))
        else:
            out["municipality_code"] = muni["code"]
    if "phones" in data or not partial:
        phones = []
        for i, raw in enumerate(data.get("phones") or []):
            try:
                number = normalize_phone(raw)
            except IdentityError as exc:
                errors.add(f"phones.{i}", exc.message)
                continue
            if number not in phones:
                phones.append(number)
        if not phones and not errors.errors.get("phones.0"):
            errors.add("phones", _l("Indique al menos un teléfono."))
        out["phones"] = phones
    if "board_members" in data or not partial:
        members = []
        seen = set()
        for i, member in enumerate(data.get("board_members") or []):
            name = (member.get("name") or "").strip()
            position = (member.get("position") or "").strip()
            if not name:
                errors.add(f"board_members.{i}.name", _l("Este campo es obligatorio."))
            if not position:
                errors.add(f"board_members.{i}.position", _l("Este campo es obligatorio."))
            try:
                dui = normalize_dui(member.get("dui"))
            except IdentityError as exc:
                errors.add(f"board_members.{i}.dui", exc.message)
                continue
            if dui in seen:
                errors.add(f"board_members.{i}.dui", _l("Este DUI ya figura en la junta directiva."))
            seen.add(dui)
            members.append({"name": name, "dui": dui, "position": position})
        if not members and not any(k.startswith("board_members.") for k in errors.errors):
            errors.add("board_members", _l("Indique al menos un miembro de la junta directiva."))
        out["board_members"] = members
    return out


def _check_unique(values: dict, errors: FieldErrors, exclude_id: int | None) -> None:
    for field, label in (("nit", _l("Ya existe una organización con este NIT.")),
                         ("registry_number", _l("Ya existe una organización con este número de registro."))):
        if field not in values:
            continue
        query = select(func.count()).select_from(Organization).where(
            getattr(Organization, field) == values[field]
        )
        if exclude_id is not None:
            query = query.where(Organization.id != exclude_id)
        if db.session.scalar(query):
            errors.add(field, label)


def _apply(org: Organization, values: dict) -> None:
    """Set fields; child rows are matched by their natural key so unchanged rows stay put."""
    for key, value in values.items():
        if key == "phones":
            kept = {p.number: p for p in org.phones if p.number in value}
            org.phones = [kept.get(n) or OrganizationPhone(number=n) for n in value]
        elif key == "board_members":
            by_dui = {m.dui: m for m in org.board_members}
            members = []
            for i, item in enumerate(value):
                member = by_dui.get(item["dui"]) or BoardMember(dui=item["dui"])
                member.name, member.position, member.position_order = (
                    item["name"], item["position"], i,
                )
                members.append(member)
            org.board_members = members
        else:
            setattr(org, key, value)


def audit_view(org: Organization) -> dict:
    data = snapshot(org)
    data["phones"] = org.phone_numbers
    data["board_members"] = [
        {"name": m.name, "dui": m.dui, "position": m.position} for m in org.board_members
    ]
    return data


def create_organization(actor: Actor, data: dict) -> Organization:
    errors = FieldErrors()
    values = _clean(data, errors, partial=False)
    _check_unique(values, errors, None)
    errors.raise_if_any()
    org = Organization()
    _apply(org, values)
    db.session.add(org)
    db.session.flush()
    record_event(db.session, actor, "organization.created", "organization", org.id,
                 after=audit_view(org), organization_id=org.id)
    return org


def update_organization(actor: Actor, org_id: int, data: dict) -> Organization:
    org = db.session.get(Organization, org_id, with_for_update=True)
    if org is None:
        raise NotFound()
    before = audit_view(org)
    errors = FieldErrors()
    values = _clean(data, errors, partial=True)
    if "active" in data:
        values["active"] = bool(data["active"])
    _check_unique(values, errors, org.id)
    errors.raise_if_any()
    _apply(org, values)
    db.session.flush()
    after = audit_view(org)
    if after != before:
        record_event(db.session, actor, "organization.updated", "organization", org.id,
                     before=before, after=after, organization_id=org.id)
    return org
