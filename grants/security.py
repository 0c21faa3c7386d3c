"""Authentication helpers and the one place where permissions and visibility are checked."""
from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import Select

from grants.permissions import Permission
from grants.domain_errors import Forbidden, NotFound

MIN_PASSWORD_LENGTH = 8


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
    )


def password_hasher() -> PasswordHasher:
    cfg = current_app.config
    return _hasher(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists (a dummy hash is verified)."""
    hasher = password_hasher()
    target = password_hash or _dummy_hash()
    try:
        ok = hasher.verify(target, password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return password_hasher().check_needs_rehash(password_hash)


def _dummy_hash() -> str:
    cfg = current_app.config
    key = "_FONDOS_DUMMY_HASH"
    if key not in cfg:
        cfg[key] = password_hasher().hash(secrets.token_urlsafe(16))
    return cfg[key]


def new_token() -> tuple[str, str]:
    """(raw token shown once, its SHA-256 stored)."""
    raw = "fnd_" + secrets.token_urlsafe(32)
    return raw, token_digest(raw)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def require(user, permission: Permission) -> None:
    """Refuse (403) a user lacking a named permission."""
    if user is None or not user.is_authenticated or not user.can(permission):
        raise Forbidden()


def visible(user, obj):
    """The object if this user may see it; otherwise 404, never 403 (G5)."""
    if obj is None or not obj.is_visible_to(user):
        raise NotFound()
    return obj


def scope_to_user(user, query: Select, organization_column) -> Select:
    """Restrict a list query to the user's organization when the user is bound to one."""
    if user.sees_all_organizations:
        return query
    return query.where(organization_column == user.organization_id)
