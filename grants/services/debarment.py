"""The debarment list (inhabilitados): admins import NITs/DUIs barred from contracting.

The import is all or nothing, with errors by row; entries are upserted by NIT/DUI, each change
audited, and the "debarred" check of matching suppliers is refreshed.
"""
from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from grants import clock
from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.models import DebarredSupplier, Supplier
from grants.permissions import Permission, Role
from grants.services import attachments
from grants.domain_errors import FieldErrors, Forbidden, ValidationFailed
from grants.services.notifications import notify, users_with_role
from grants.services.suppliers import _debarment, audit_view
from grants.validation import supplier as checks_
from grants.validation.identity import IdentityError, check_person_name, normalize_tax_id
from grants.validation.territory import fold
from grants.workflows.supplier import LIVE_STATES, SupplierState

DEBARMENT_MAX_ROWS = 20_000


COLUMN_ALIASES = {
    "nit": "tax_id", "dui": "tax_id", "nit/dui": "tax_id", "nit o dui": "tax_id", "nit_dui": "tax_id",
    "nombre": "name", "razon social": "name",
    "motivo": "reason",
    "fecha": "listed_on",
    "fuente": "source",
}
REQUIRED_COLUMNS = ("tax_id", "name", "reason", "listed_on")


def _decode(file_bytes: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return file_bytes.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed(errors={"file": [_l("El archivo no es un CSV de texto (UTF-8 o Windows-1252).")]})


def _parse_date(value: str) -> date | None:
    value = value.strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


def parse_debarment_csv(file_bytes: bytes) -> list[dict]:
    """Rows ``{line, tax_id, name, reason, listed_on, source}``; every problem of every row
    is collected and raised together (``rows.<line>.<column>``; the header is line 1)."""
    if not file_bytes or not file_bytes.strip():
        raise ValidationFailed(errors={"file": [_l("Adjunte un archivo CSV con la lista de inhabilitados.")]})
    text = _decode(file_bytes)
    if "\x00" in text:
        raise ValidationFailed(errors={"file": [_l("El archivo no es un CSV de texto (UTF-8 o Windows-1252).")]})
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise ValidationFailed(errors={"file": [_l("El archivo no tiene encabezado.")]}) from None
    columns = {}
    for index, name in enumerate(header):
        key = COLUMN_ALIASES.get(fold(name))
        if key and key not in columns:
            columns[key] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ValidationFailed(errors={"file": [_l(
            "El encabezado debe tener las columnas NIT (o DUI), nombre, motivo, fecha y, si se conoce, fuente.")]})
    errors = FieldErrors()
    rows: list[dict] = []
    seen: dict[str, int] = {}
    today = clock.today()
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= DEBARMENT_MAX_ROWS:
                raise ValidationFailed(errors={"file": [_l("Máximo %(n)s filas por archivo.", n=DEBARMENT_MAX_ROWS)]})

            def cell(key: str) -> str:
                index = columns.get(key)
                return " ".join(record[index].split()) if index is not None and index < len(record) else ""

            row = {"line": line}
            raw_id = cell("tax_id")
            try:
                row["tax_id"] = normalize_tax_id(raw_id)
            except IdentityError as exc:
                errors.add(f"rows.{line}.tax_id", exc.message)
                row["tax_id"] = None
            if row["tax_id"] and row["tax_id"] in seen:
                errors.add(f"rows.{line}.tax_id", _l("Repetido: ya está en la línea %(n)s.", n=seen[row["tax_id"]]))
            elif row["tax_id"]:
                seen[row["tax_id"]] = line
            for key, limit in (("name", 200), ("reason", 5000)):
                value = cell(key)
                if not value:
                    errors.add(f"rows.{line}.{key}", _l("Este campo es obligatorio."))
                elif len(value) > limit:
                    errors.add(f"rows.{line}.{key}", _l("Máximo %(n)s caracteres.", n=limit))
                elif key == "name":
                    try:
                        check_person_name(record[columns["name"]])  # as typed: a leading tab counts
                    except IdentityError as exc:
                        errors.add(f"rows.{line}.name", exc.message)
                row[key] = value
            listed = _parse_date(cell("listed_on"))
            if listed is None:
                errors.add(f"rows.{line}.listed_on", _l("Fecha no válida: use dd/mm/aaaa o AAAA-MM-DD."))
            elif listed > today:
                errors.add(f"rows.{line}.listed_on", _l("La fecha no puede ser futura."))
            row["listed_on"] = listed
            source = cell("source")
            if len(source) > 200:
                errors.add(f"rows.{line}.source", _l("Máximo %(n)s caracteres.", n=200))
            row["source"] = source or None
            rows.append(row)
    except csv.Error:
        raise ValidationFailed(errors={"file": [_l("El archivo no es un CSV válido.")]}) from None
    errors.raise_if_any()
    if not rows:
        raise ValidationFailed(errors={"file": [_l("El archivo no tiene filas de datos.")]})
    return rows


def import_debarred(actor: Actor, file_bytes: bytes) -> dict:
    """Admins load the list of debarred NITs/DUIs: all rows valid or nothing is stored; upsert
    by NIT/DUI (entries absent from the file stay listed). One event per entry changed and one
    for the import; suppliers on that list get their «debarred» check refreshed."""
    user = actor.user
    if user is None or not user.can(Permission.DEBARMENT_MANAGE):
        raise Forbidden()
    if file_bytes and file_bytes.strip():  # empty: parse_debarment_csv says what to attach
        attachments.check_file(file_bytes, ("csv",), int(current_app.config["DEBARMENT_LIST_MAX_BYTES"]))
    rows = parse_debarment_csv(file_bytes)
    existing: dict[str, DebarredSupplier] = {}
    ids = [r["tax_id"] for r in rows]
    for start in range(0, len(ids), 500):
        for entry in db.session.scalars(select(DebarredSupplier).where(
                DebarredSupplier.tax_id.in_(ids[start:start + 500])).with_for_update()):
            existing[entry.tax_id] = entry
    created = updated = unchanged = 0
    for row in rows:
        values = {k: row[k] for k in ("name", "reason", "listed_on", "source")}
        entry = existing.get(row["tax_id"])
        if entry is None:
            entry = DebarredSupplier(tax_id=row["tax_id"], **values)
            db.session.add(entry)
            db.session.flush()
            record_event(db.session, actor, "debarred_supplier.listed", "debarred_supplier", entry.id,
                         after=snapshot(entry))
            created += 1
            continue
        if all(getattr(entry, k) == v for k, v in values.items()):
            unchanged += 1
            continue
        before = snapshot(entry)
        for key, value in values.items():
            setattr(entry, key, value)
        db.session.flush()
        record_event(db.session, actor, "debarred_supplier.updated", "debarred_supplier", entry.id,
                     before=before, after=snapshot(entry))
        updated += 1
    flagged = _refresh_debarment_checks(actor, {r["tax_id"] for r in rows})
    summary = {"rows": len(rows), "created": created, "updated": updated, "unchanged": unchanged,
               "suppliers_flagged": flagged}
    record_event(db.session, actor, "debarred_suppliers.imported", "debarred_supplier_import",
                 hashlib.sha256(file_bytes).hexdigest()[:32], after=summary)
    return summary


def _refresh_debarment_checks(actor: Actor, tax_ids: set[str]) -> int:
    """Proposed and validated suppliers whose NIT/DUI is listed: their stored check says so now.
    A validated one stays validated (a reviewer decides) but the financial reviewers are told."""
    if not tax_ids:
        return 0
    suppliers = []
    listed = sorted(tax_ids)
    for start in range(0, len(listed), 500):
        suppliers += db.session.scalars(select(Supplier).where(
            Supplier.tax_id.in_(listed[start:start + 500]), Supplier.status.in_(LIVE_STATES))
            .order_by(Supplier.id)).all()
    count = 0
    for supplier in suppliers:
        result = checks_.storable({"debarred": checks_.check_debarred(supplier.tax_id, _debarment(supplier.tax_id))})
        if (supplier.checks or {}).get("debarred") == result["debarred"]:
            continue
        before = audit_view(supplier)
        supplier.checks = {**(supplier.checks or {}), **result}
        db.session.flush()
        record_event(db.session, actor, "supplier.checks_refreshed", "supplier", supplier.id, before=before,
                     after=audit_view(supplier), organization_id=supplier.organization_id)
        count += 1
        if supplier.status == SupplierState.VALIDATED:
            notify(users_with_role(Role.FINANCIAL_REVIEWER), "supplier.debarred",
                   _l("Proveedor validado ahora inhabilitado: %(name)s", name=supplier.legal_name),
                   _l("Su NIT o DUI figura en la lista de inhabilitados importada. Revise sus pagos."),
                   link=f"/suppliers/{supplier.id}")
    return count


def debarment_row_errors(errors: dict) -> tuple[list[str], list[dict]]:
    """``ValidationFailed.errors`` of an import → (file messages, [{line, column, messages}])."""
    general, rows = [], []
    for key, messages in errors.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "rows" and parts[1].isdigit():
            rows.append({"line": int(parts[1]), "column": parts[2], "messages": [str(m) for m in messages]})
        else:
            general.extend(str(m) for m in messages)
    order = ("tax_id", "name", "reason", "listed_on", "source")
    rows.sort(key=lambda r: (r["line"], order.index(r["column"]) if r["column"] in order else len(order)))
    return general, rows

