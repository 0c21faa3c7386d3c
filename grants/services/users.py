"""Accounts and roles. Segregation rules live here: an NGO user holds no ministry role."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.models import ApiToken, Organization, User, UserRole
from grants.models.base import utcnow
from grants.permissions import ORGANIZATION_BOUND_ROLES, Role, incompatible_pairs
from grants.security import MIN_PASSWORD_LENGTH, hash_password
from grants.domain_errors import FieldErrors, NotFound

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def audit_view(user: User) -> dict:
    data = snapshot(user)
    data.pop("password_hash", None)
    data["roles"] = sorted(str(r) for r in user.roles)
    return data


def _check_password(password, errors: FieldErrors, field: str = "password") -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        errors.add(field, _l("La contraseña debe tener al menos %(n)s caracteres.", n=MIN_PASSWORD_LENGTH))
    elif len(password) > 256:
        errors.add(field, _l("La contraseña es demasiado larga."))


def _clean(data: dict, errors: FieldErrors, current: User | None) -> dict:
    out: dict = {}
    if "email" in data or current is None:
        email = (data.get("email") or "").strip().lower()
        if not _EMAIL.match(email):
            errors.add("email", _l("Indique un correo electrónico válido."))
        else:
            query = select(func.count()).select_from(User).where(User.email == email)
            if current is not None:
                query = query.where(User.id != current.id)
            if db.session.scalar(query):
                errors.add("email", _l("Ya existe un usuario con este correo."))
        out["email"] = email
    if "full_name" in data or current is None:
        name = (data.get("full_name") or "").strip()
        if not name:
            errors.add("full_name", _l("Este campo es obligatorio."))
        out["full_name"] = name
    if "locale" in data:
        locale = data.get("locale") or None
        if locale not in (None, "es", "en"):
            errors.add("locale", _l("Idioma no disponible."))
        out["locale"] = locale
    if "active" in data:
        out["active"] = bool(data["active"])

    roles = current.roles if current is not None else []
    if "roles" in data or current is None:
        roles = []
        for raw in data.get("roles") or []:
            try:
                role = Role(raw)
            except ValueError:
                errors.add("roles", _l("Rol desconocido: %(role)s", role=raw))
                continue
            if role not in roles:
                roles.append(role)
        if not roles and "roles" not in errors.errors:
            errors.add("roles", _l("Asigne al menos un rol."))
        for a, b in incompatible_pairs(roles):
            errors.add("roles", _l("Los roles %(a)s y %(b)s no pueden recaer en la misma persona.", a=a, b=b))
        out["roles"] = roles

    organization_id = data.get("organization_id") if "organization_id" in data else (
        current.organization_id if current is not None else None)
    bound = any(r in ORGANIZATION_BOUND_ROLES for r in roles)
    if bound:
        if not organization_id or db.session.get(Organization, organization_id) is None:
            errors.add("organization_id", _l("Un usuario de ONG debe pertenecer a una organización existente."))
    elif organization_id:
        errors.add("organization_id", _l("Solo los usuarios de ONG pertenecen a una organización."))
    out["organization_id"] = organization_id or None
    return out


def _set_roles(user: User, roles: list[Role]) -> None:
    existing = {r.role: r for r in user.role_rows}
    user.role_rows = [existing.get(str(r)) or UserRole(role=str(r)) for r in sorted(roles)]


def create_user(actor: Actor, data: dict) -> User:
    errors = FieldErrors()
    values = _clean(data, errors, None)
    _check_password(data.get("password"), errors)
    errors.raise_if_any()
    roles = values.pop("roles")
    user = User(password_hash=hash_password(data["password"]), **values)
    _set_roles(user, roles)
    db.session.add(user)
    db.session.flush()
    record_event(db.session, actor, "user.created", "user", user.id,
                 after=audit_view(user), organization_id=user.organization_id)
    return user


def update_user(actor: Actor, user_id: int, data: dict) -> User:
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound()
    before = audit_view(user)
    errors = FieldErrors()
    values = _clean(data, errors, user)
    if actor.user_id == user.id:
        if values.get("active") is False:
            errors.add("active", _l("No puede desactivar su propia cuenta."))
        if "roles" in values and Role.ADMIN in user.roles and Role.ADMIN not in values["roles"]:
            errors.add("roles", _l("No puede quitarse a sí mismo el rol de administrador."))
    errors.raise_if_any()
    roles = values.pop("roles", None)
    for key, value in values.items():
        setattr(user, key, value)
    if roles is not None:
        _set_roles(user, roles)
    if before["active"] and not user.active:
        _invalidate_sessions(user)
    db.session.flush()
    after = audit_view(user)
    if after != before:
        record_event(db.session, actor, "user.updated", "user", user.id,
                     before=before, after=after, organization_id=user.organization_id)
    return user


def set_password(actor: Actor, user_id: int, password: str) -> User:
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound()
    errors = FieldErrors()
    _check_password(password, errors)
    errors.raise_if_any()
    user.password_hash = hash_password(password)
    _invalidate_sessions(user)
    db.session.flush()
    record_event(db.session, actor, "user.password_changed", "user", user.id,
                 after={"session_version": user.session_version}, organization_id=user.organization_id)
    return user


def _invalidate_sessions(user: User) -> None:
    """Every session cookie and API token issued so far stops working."""
    user.session_version = (user.session_version or 1) + 1
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
