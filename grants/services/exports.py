"""Exports of the lists (CSV, XLSX) with the page's filters: the page's own query
(``grants.services.search``) without its pages, so the file holds the rows the pages show and
nothing the reader could not see there (an NGO exports only its own).

A list small enough is written in the request (``rows_inline``); a bigger one, and an agreement's
registry of people always, is a generated file built by the job queue (``generated_files`` kind
``list_export``): its params name the list, the filters (as plain JSON), the format and who asked,
and the reader's right is checked again when the job builds it and when it is downloaded.
The registry's documents are masked (last three characters) and birth dates cut to the year for
every reader, the NGO included: a file travels further than a page."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import Enum

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from grants.extensions import db
from grants.labels import (
    ADVANCE_STATE_LABELS,
    AGREEMENT_STATE_LABELS,
    ENROLLMENT_STATE_LABELS,
    INVOICE_STATE_LABELS,
    PAYMENT_STATE_LABELS,
    PLAN_STATE_LABELS,
    SUPPLIER_STATE_LABELS,
)
from grants.models import Agreement, User
from grants.permissions import Permission
from grants.domain_errors import Forbidden, NotFound
from grants.reports.table_export import table_csv, table_file, table_xlsx
from grants.security import require
from grants.services import enrollments as enrollment_service
from grants.services import search
from grants.workflows.advance import AdvanceState
from grants.workflows.agreement import AgreementState
from grants.workflows.enrollment import EnrollmentState
from grants.workflows.payment import InvoiceState, PaymentState
from grants.workflows.plan import PlanState
from grants.workflows.supplier import SupplierState

INLINE_MAX = 5000    # more rows than this: a file built by the job queue
BATCH = 1000         # rows read at a time by a big export


@dataclass(frozen=True)
class ExportList:
    name: str
    title: object                      # the sheet's name (lazy text)
    permission: Permission
    states: type[Enum] | None
    query: Callable[[object, dict], object]
    headers: Callable[[], list]
    row: Callable[[object], list]
    always_job: bool = False


def _label(labels: dict, state) -> str:
    return str(labels.get(state, state))


LISTS: dict[str, ExportList] = {}


def _register(spec: ExportList) -> None:
    LISTS[spec.name] = spec


_register(ExportList(
    "agreements", _l("Convenios"), Permission.AGREEMENTS_READ, AgreementState, search.agreements,
    lambda: [_l("Número"), _l("Organización"), _l("Año"), _l("Monto"), _l("Inicio"), _l("Fin"), _l("Estado")],
    lambda a: [a.number, a.organization.legal_name, a.year, a.amount, a.start_date, a.end_date,
               _label(AGREEMENT_STATE_LABELS, a.status)]))

_register(ExportList(
    "plans", _l("Planes"), Permission.PLANS_READ, PlanState, search.plans,
    lambda: [_l("Plan"), _l("Organización"), _l("Año"), _l("Asignación"), _l("Estado")],
    lambda p: [p.title, p.organization.legal_name, p.allocation.fiscal_year, p.allocation.amount,
               _label(PLAN_STATE_LABELS, p.status)]))

_register(ExportList(
    "payments", _l("Pagos"), Permission.MONEY_READ, PaymentState, search.payments,
    lambda: [_l("Pago"), _l("Convenio"), _l("Proveedor"), _l("NIT/DUI"), _l("Factura"), _l("Monto facturado"),
             _l("Deducciones"), _l("Monto a pagar"), _l("Fecha de transferencia"), _l("Estado")],
    lambda p: [p.id, p.agreement.number, p.supplier.legal_name, p.supplier.tax_id, p.invoice.number,
               p.invoiced_amount, p.deducted_amount, p.amount, p.transfer_date, _label(PAYMENT_STATE_LABELS, p.status)]))

_register(ExportList(
    "invoices", _l("Facturas"), Permission.MONEY_READ, InvoiceState, search.invoices,
    lambda: [_l("Factura"), _l("Convenio"), _l("Proveedor"), _l("NIT/DUI"), _l("Emisión"), _l("Total"), _l("Estado")],
    lambda i: [i.number, i.agreement.number, i.supplier.legal_name, i.supplier_tax_id, i.issue_date, i.total,
               _label(INVOICE_STATE_LABELS, i.status)]))

_register(ExportList(
    "advances", _l("Anticipos"), Permission.MONEY_READ, AdvanceState, search.advances,
    lambda: [_l("Anticipo"), _l("Convenio"), _l("Organización"), _l("Tramo"), _l("Monto"), _l("Liquidado"),
             _l("Reintegrado"), _l("Desde"), _l("Hasta"), _l("Estado")],
    lambda a: [a.id, a.agreement.number, a.agreement.organization.legal_name, a.tranche_number, a.amount,
               a.liquidated_amount, a.refunded_amount, a.period_start, a.period_end,
               _label(ADVANCE_STATE_LABELS, a.status)]))

_register(ExportList(
    "followup", _l("Seguimiento"), Permission.AGREEMENTS_READ, None, search.followup_reports,
    lambda: [_l("Informe"), _l("Convenio"), _l("Organización"), _l("Desde"), _l("Hasta"),
             _l("Personas activas"), _l("Observaciones")],
    lambda r: [r.id, r.agreement.number, r.agreement.organization.legal_name, r.period_start, r.period_end,
               r.active_beneficiaries, r.observations]))

_register(ExportList(
    "suppliers", _l("Proveedores"), Permission.AGREEMENTS_READ, SupplierState, search.suppliers,
    lambda: [_l("Proveedor"), _l("NIT/DUI"), _l("Versión"), _l("Estado")],
    lambda s: [s.legal_name, s.tax_id, s.version, _label(SUPPLIER_STATE_LABELS, s.status)]))


_register(ExportList(
    "organizations", _l("Organizaciones"), Permission.ORGANIZATIONS_READ, None, search.organizations,
    lambda: [_l("Razón social"), _l("NIT"), _l("Registro"), _l("Representante legal"), _l("Estado")],
    lambda o: [o.legal_name, o.nit, o.registry_number, o.legal_rep_name, _l("Activa") if o.active else _l("Inactiva")]))


def _registry_query(user, f: dict):
    agreement = db.session.get(Agreement, f.get("agreement_id") or 0)
    if agreement is None or not (user.sees_all_organizations or user.organization_id == agreement.organization_id):
        raise NotFound()
    return search.enrollments(agreement.id, f)


_register(ExportList(
    "registry", _l("Personas"), Permission.BENEFICIARIES_READ, EnrollmentState, _registry_query,
    lambda: [_l("Apellidos"), _l("Nombres"), _l("Tipo de documento"), _l("Documento"), _l("Año de nacimiento"),
             _l("Sexo"), _l("Municipio"), _l("Inscrita el"), _l("Estado")],
    lambda e: [e.beneficiary.last_names, e.beneficiary.first_names, e.beneficiary.document_type,
               enrollment_service.mask_document(e.beneficiary.document_number), e.beneficiary.birth_date.year,
               e.beneficiary.sex, e.beneficiary.municipality_code, e.enrolled_on,
               _label(ENROLLMENT_STATE_LABELS, e.status)],
    always_job=True))


# --- filters as JSON (a job's params) and back ------------------------------------------------

def plain_filters(f: dict) -> dict:
    """Filters as JSON values (a state as its value, a day as ISO text); the DUI never leaves the
    request: a registry export is of the page without it."""
    out = {}
    for key, value in f.items():
        if value in (None, "") or key == "dui":
            continue
        out[key] = value.value if isinstance(value, Enum) else value.isoformat() if isinstance(value, date) else value
    return out


def _filters_back(spec: ExportList, plain: dict) -> dict:
    f = dict(plain)
    if f.get("state") is not None and spec.states is not None:
        f["state"] = spec.states(f["state"])
    if f.get("active_on"):
        f["active_on"] = date.fromisoformat(f["active_on"])
    return f


# --- the exports --------------------------------------------------------------------------------

def check(user, name: str) -> ExportList:
    spec = LISTS.get(name)
    if spec is None:
        raise NotFound()
    require(user, spec.permission)
    return spec


def count(user, name: str, f: dict) -> int:
    query = check(user, name).query(user, f)
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def needs_job(user, name: str, f: dict) -> bool:
    return check(user, name).always_job or count(user, name, f) > INLINE_MAX


def headers(spec: ExportList) -> list[str]:
    return [str(h) for h in spec.headers()]


def rows_inline(user, name: str, f: dict) -> list[list]:
    """The rows of a small list, in the page's order."""
    spec = check(user, name)
    return [spec.row(item) for item in db.session.scalars(spec.query(user, f).limit(INLINE_MAX))]


def inline_file(user, name: str, f: dict, fmt: str) -> bytes:
    spec = check(user, name)
    rows = rows_inline(user, name, f)
    if fmt == "csv":
        return table_csv(headers(spec), rows)
    return table_xlsx(str(spec.title), headers(spec), rows)


def _stream(spec: ExportList, user, f: dict) -> Iterator[list]:
    """Every row, a batch of ids at a time (keyset on the page's order would need every sort key:
    the ids of the whole list are read once, then loaded a batch at a time)."""
    query = spec.query(user, f)
    entity = query.column_descriptions[0]["entity"]
    ids = db.session.scalars(query.with_only_columns(entity.id)).all()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        loaded = {item.id: item for item in db.session.scalars(query.where(entity.id.in_(chunk)).order_by(None))}
        for item_id in chunk:
            yield spec.row(loaded[item_id])
        db.session.expunge_all()


# --- the generated file kind ``list_export`` ----------------------------------------------------

def file_params(user, name: str, f: dict, fmt: str) -> dict:
    return {"list": name, "format": fmt, "filters": plain_filters(f), "user_id": user.id}


def check_file(user, params: dict) -> None:
    """Only who asked reads the file, while they may still read the list."""
    if user is None or user.id != params.get("user_id"):
        raise Forbidden()
    spec = check(user, params["list"])
    spec.query(user, _filters_back(spec, params["filters"]))  # the agreement is still theirs to see


def build_file(params: dict):
    spec = LISTS[params["list"]]
    user = db.session.get(User, params["user_id"])
    with force_locale(params.get("locale") or "es"):
        return table_file(params["format"], str(spec.title), headers(spec),
                          _stream(spec, user, _filters_back(spec, params["filters"])))


def file_name(params: dict) -> str:
    suffix = params["filters"].get("agreement_id")
    return f"{params['list']}{'-' + str(suffix) if suffix else ''}.{params['format']}"
