"""Automatic checks of a proposed supplier, each reported by name.

Pure functions over plain values and the organization: no database access (the service looks
up the debarment entry and the agreement's other suppliers and passes them in).

Each check returns ``{"ok": bool, "detail": <lazy string>, ...}``; a conflict of interest also
lists its ``matches`` (``{"code", "params", "detail"}``) so a page can say exactly what matched.
``storable`` turns the lazy strings into Spanish text for the ``checks`` JSON column, and
``describe`` renders a stored result again in the reader's language from its codes.
"""
from __future__ import annotations

import re
from datetime import date

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from grants import formats
from grants.validation.identity import IdentityError, normalize_phone, normalize_tax_id
from grants.validation.territory import fold

CHECK_NAMES = ("identity", "duplicate", "debarred", "conflict_of_interest")

CHECK_LABELS = {
    "identity": _l("Número de identificación válido"),
    "duplicate": _l("No duplicado en el convenio"),
    "debarred": _l("No inhabilitado"),
    "conflict_of_interest": _l("Sin conflicto de interés con la organización"),
}

# What a failed check means, for short badges.
FAILED_LABELS = {
    "identity": _l("Identificación no válida"),
    "duplicate": _l("Duplicado"),
    "debarred": _l("Inhabilitado"),
    "conflict_of_interest": _l("Conflicto de interés"),
}

# Checks whose failure makes the supplier impossible to store at all (a field error).
BLOCKING_CHECKS = ("identity", "duplicate")
# Checks whose failure is stored and flagged; the supplier cannot be validated while they fail.
FLAGGING_CHECKS = ("debarred", "conflict_of_interest")


_MESSAGES = {
    "nit_valid": lambda p: _l("NIT válido"),
    "dui_valid": lambda p: _l("DUI válido (persona natural)"),
    "not_duplicate": lambda p: _l("No hay otro proveedor con este número en el convenio."),
    "duplicate_tax_id": lambda p: _l("Ya existe un proveedor con el número %(tax_id)s en este convenio.",
                                     tax_id=p["tax_id"]),
    "not_debarred": lambda p: _l("No figura en la lista de inhabilitados."),
    "debarred": lambda p: _l("Figura en la lista de inhabilitados desde el %(day)s: %(reason)s (fuente: %(source)s).",
                             day=p["day"], reason=p["reason"], source=p["source"]),
    "no_conflict": lambda p: _l("No coincide con la organización, su representante legal ni su junta directiva."),
    "organization_tax_id": lambda p: _l("mismo NIT que la organización"),
    "legal_representative_dui": lambda p: _l("mismo DUI que el representante legal (%(name)s)", name=p["name"]),
    "board_member_dui": lambda p: _l("mismo DUI que un miembro de la junta directiva (%(name)s, %(position)s)",
                                     name=p["name"], position=p["position"]),
    "bank_account": lambda p: _l("misma cuenta bancaria que la organización"),
    "address": lambda p: _l("misma dirección que la organización"),
    "phone": lambda p: _l("mismo teléfono que la organización (%(phone)s)", phone=p["phone"]),
}


def message(code: str, params: dict | None = None):
    """The lazy message of a result code (None for an unknown code or incomplete params)."""
    make = _MESSAGES.get(code or "")
    if make is None:
        return None
    try:
        return make(params or {})
    except (KeyError, TypeError):
        return None


# --- comparison keys -------------------------------------------------------------------------

def account_key(value) -> str:
    """A bank account for comparison: no spaces or dashes, upper case."""
    return re.sub(r"[\s\-./]", "", str(value or "")).upper()


def address_key(value) -> str:
    """An address for comparison: case, accents, punctuation and spacing ignored."""
    return " ".join(re.sub(r"[.,;:#°º\-/]", " ", fold(str(value or ""))).split())


def phone_key(value) -> str | None:
    try:
        return normalize_phone(value) if value else None
    except IdentityError:
        return None


def tax_id_kind(tax_id: str) -> str:
    return "dui" if len(tax_id.replace("-", "")) == 9 else "nit"


# --- the checks ------------------------------------------------------------------------------

def _result(ok: bool, code: str, params: dict | None = None, **extra) -> dict:
    return {"ok": ok, "code": code, "params": params or {}, "detail": message(code, params), **extra}


def check_identity(raw) -> tuple[str | None, dict]:
    """(the normalized NIT/DUI or None, the result): a 14-digit NIT with either check-digit
    variant, or the 9-digit DUI of a natural person."""
    try:
        tax_id = normalize_tax_id(raw)
    except IdentityError as exc:
        return None, {"ok": False, "code": exc.code, "params": {}, "detail": exc.message}
    kind = tax_id_kind(tax_id)
    return tax_id, _result(True, f"{kind}_valid", kind=kind)


def check_duplicate(tax_id: str, other_tax_ids) -> dict:
    """``other_tax_ids``: the NIT/DUI of the agreement's other current suppliers."""
    if tax_id in set(other_tax_ids):
        return _result(False, "duplicate_tax_id", {"tax_id": tax_id})
    return _result(True, "not_duplicate")


def check_debarred(tax_id: str, entry) -> dict:
    """``entry``: the debarment list's row for this NIT/DUI (or None)."""
    if entry is None:
        return _result(True, "not_debarred")
    listed = entry.listed_on
    day = formats.day(listed) if isinstance(listed, date) else str(listed)
    return _result(False, "debarred", {"day": day, "reason": entry.reason, "source": entry.source or "—",
                                       "name": entry.name})


def check_conflict_of_interest(supplier: dict, organization) -> dict:
    """The supplier against its own NGO: same NIT/DUI as the organization, its legal
    representative or a board member; same bank account; same address; same phone."""
    matches: list[dict] = []

    def match(code: str, field: str, params: dict | None = None) -> None:
        matches.append({"code": code, "field": field, "params": params or {}, "detail": message(code, params)})

    tax_id = supplier.get("tax_id") or ""
    if tax_id and tax_id == organization.nit:
        match("organization_tax_id", "tax_id")
    if tax_id and tax_id == organization.legal_rep_dui:
        match("legal_representative_dui", "tax_id", {"name": organization.legal_rep_name})
    for member in organization.board_members:
        if tax_id and tax_id == member.dui:
            match("board_member_dui", "tax_id", {"name": member.name, "position": member.position})
    account = account_key(supplier.get("bank_account"))
    if account and account == account_key(organization.bank_account):
        match("bank_account", "bank_account")
    address = address_key(supplier.get("address"))
    if address and address == address_key(organization.address):
        match("address", "address")
    phone = phone_key(supplier.get("phone"))
    if phone and phone in {phone_key(p) for p in organization.phone_numbers}:
        match("phone", "phone", {"phone": f"{phone[:4]}-{phone[4:]}"})
    if not matches:
        return _result(True, "no_conflict", matches=[])
    return {"ok": False, "code": "conflict", "params": {}, "matches": matches,
            "detail": _JoinedDetail([m["detail"] for m in matches])}


class _JoinedDetail:
    """Lazy ``a; b; c`` of lazy strings (rendered in the language in force when str() is taken)."""

    def __init__(self, parts):
        self.parts = parts

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.parts)

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return repr(str(self))


def run_checks(supplier: dict, organization, other_tax_ids, debarment_entry) -> dict:
    """All four checks by name; ``supplier["tax_id"]`` as typed (normalized here)."""
    tax_id, identity = check_identity(supplier.get("tax_id"))
    checks = {"identity": identity}
    if tax_id is None:
        return checks
    checks["duplicate"] = check_duplicate(tax_id, other_tax_ids)
    checks["debarred"] = check_debarred(tax_id, debarment_entry)
    checks["conflict_of_interest"] = check_conflict_of_interest({**supplier, "tax_id": tax_id}, organization)
    return checks


def failed(checks: dict) -> list[str]:
    """Names of the failed checks, in the order of ``CHECK_NAMES``."""
    return [name for name in CHECK_NAMES if name in checks and not checks[name].get("ok")]


# --- stored form -----------------------------------------------------------------------------

def _default_locale() -> str:
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "es") if has_app_context() else "es"


def storable(checks: dict) -> dict:
    """Plain JSON, the details in Spanish (the record's language); codes and params kept."""
    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        return str(value)

    if has_app_context():
        with force_locale(_default_locale()):
            return plain(checks)
    return plain(checks)


def describe(name: str, result: dict | None) -> dict:
    """A stored result for display, in the current language: label, ok, detail, matches."""
    result = result or {}
    matches = [{**m, "detail": message(m.get("code", ""), m.get("params")) or m.get("detail", "")}
               for m in result.get("matches") or []]
    if matches:
        detail = "; ".join(str(m["detail"]) for m in matches)
    else:
        detail = message(result.get("code", ""), result.get("params")) or result.get("detail") or ""
    return {"name": name, "label": CHECK_LABELS.get(name, name), "failed_label": FAILED_LABELS.get(name, name),
            "ok": bool(result.get("ok")),
            "checked": bool(result), "detail": detail, "matches": matches}
