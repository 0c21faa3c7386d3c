"""Open data: a fiscal year's agreements as an OCDS-style release package (Open Contracting Data
Standard 1.1 vocabulary): one release per agreement (not drafts), with the ministry as buyer and
payer, the NGO as supplier and payee, the tranches (``milestones`` of type ``payment``) and the
follow-up reports (type ``reporting``), and ``contracts[].implementation.transactions``: advances
disbursed (ministry → NGO, id ``advance-…``), direct payments executed (ministry → supplier,
``payment-…``) and refunds (NGO → ministry, ``refund-…``) once treasury confirmed them against the
bank (a declared deposit is not money back yet). Every URI starts with ``PUBLIC_BASE_URL``. The
package validates against the official OCDS 1.1.5 release package schema (tests/data/ocds-1.1.5):
days are RFC 3339 date-times in El Salvador's time. A supplier identified by a personal DUI (a
natural person) is published by name only, without the document.

No personal data of beneficiaries ever enters it: no identity documents, names or birth dates;
no enrollment is read at all. Amounts are exact JSON numbers written from Decimals
(``dumps``), never floats.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, time
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from grants import clock
from grants.extensions import db
from grants.models import (
    Advance,
    Agreement,
    Allocation,
    FollowUpReport,
    Organization,
    Payment,
    PlanTranche,
    Plan,
    Refund,
    Supplier,
)
from grants.services.legislature import MINISTRY, check_year
from grants.workflows.advance import TRANSFERRED_STATES
from grants.workflows.agreement import AgreementState
from grants.workflows.deposit import DepositState
from grants.workflows.payment import PaymentState

OCID_PREFIX = "ocds-mjsp-"
MINISTRY_ID = "SV-MJSP"
CURRENCY = "USD"
# Agreement state → OCDS contract status (codelist contractStatus).
CONTRACT_STATUS = {
    "signed": "pending", "in_execution": "active", "suspended": "active", "closing": "active",
    "liquidated": "terminated", "reported": "terminated", "terminated": "terminated",
}


def _value(amount: Decimal) -> dict:
    return {"amount": Decimal(amount).quantize(Decimal("0.01")), "currency": CURRENCY}


def _party_id(nit: str) -> str:
    return f"SV-NIT-{nit}"


def _ref(party: dict) -> dict:
    return {"id": party["id"], "name": party["name"]}


def _ministry() -> dict:
    return {"id": MINISTRY_ID, "name": MINISTRY, "roles": ["buyer", "payer", "payee"],
            "address": {"countryName": "El Salvador"}}


def _grouped(query, key) -> dict:
    out: dict = defaultdict(list)
    for row in db.session.execute(query).all():
        out[getattr(row, key)].append(row)
    return out


def ocds_package(fiscal_year: int) -> dict:
    """The release package of a fiscal year (a handful of grouped queries, no query per agreement)."""
    year = check_year(fiscal_year)
    agreements = db.session.execute(
        select(Agreement.id, Agreement.number, Agreement.status, Agreement.amount, Agreement.object,
               Agreement.start_date, Agreement.end_date, Agreement.signed_on, Agreement.updated_at,
               Agreement.plan_version_id, Allocation.decree_number, Allocation.budget_line_code,
               Allocation.amount.label("allocation_amount"), Allocation.purpose, Plan.title,
               Organization.legal_name, Organization.nit)
        .join(Allocation, Allocation.id == Agreement.allocation_id)
        .join(Organization, Organization.id == Agreement.organization_id)
        .join(Plan, Plan.id == Agreement.plan_id)
        .where(Allocation.fiscal_year == year, Agreement.status != AgreementState.DRAFT)
        .order_by(Agreement.number)).all()
    ids = [a.id for a in agreements]
    versions = [a.plan_version_id for a in agreements]
    tranches = _grouped(select(PlanTranche.version_id, PlanTranche.number, PlanTranche.planned_date,
                               PlanTranche.amount).where(PlanTranche.version_id.in_(versions))
                        .order_by(PlanTranche.number), "version_id") if ids else {}
    advances = _grouped(select(Advance.agreement_id, Advance.id, Advance.tranche_number, Advance.amount,
                               Advance.status, Advance.transfer_date)
                        .where(Advance.agreement_id.in_(ids), Advance.status.in_(TRANSFERRED_STATES))
                        .order_by(Advance.transfer_date, Advance.id), "agreement_id") if ids else {}
    payments = _grouped(select(Payment.agreement_id, Payment.id, Payment.amount, Payment.transfer_date,
                               Payment.supplier_id, Supplier.tax_id, Supplier.tax_id_type, Supplier.legal_name)
                        .join(Supplier, Supplier.id == Payment.supplier_id)
                        .where(Payment.agreement_id.in_(ids), Payment.status == PaymentState.EXECUTED)
                        .order_by(Payment.transfer_date, Payment.id), "agreement_id") if ids else {}
    refunds = _grouped(select(Refund.agreement_id, Refund.id, Refund.amount, Refund.refunded_on)
                       .where(Refund.agreement_id.in_(ids), Refund.status == DepositState.CONFIRMED)
                       .order_by(Refund.refunded_on, Refund.id),
                       "agreement_id") if ids else {}
    reports = _grouped(select(FollowUpReport.agreement_id, FollowUpReport.id, FollowUpReport.period_start,
                              FollowUpReport.period_end, FollowUpReport.created_at)
                       .where(FollowUpReport.agreement_id.in_(ids))
                       .order_by(FollowUpReport.period_end, FollowUpReport.id), "agreement_id") if ids else {}
    releases = [_release(a, tranches.get(a.plan_version_id, []), advances.get(a.id, []), payments.get(a.id, []),
                         refunds.get(a.id, []), reports.get(a.id, [])) for a in agreements]
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    return {
        "uri": f"{base}/api/v1/open-data/{year}.json",
        "version": "1.1",
        "publishedDate": clock.now().isoformat(timespec="seconds"),
        "publisher": {"name": MINISTRY, "scheme": "SV-MJSP", "uid": MINISTRY_ID},
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "publicationPolicy": f"{base}/api/docs",
        "releases": releases,
    }


def _supplier(p) -> dict:
    """A supplier paid directly; a natural person identified by a DUI is published by name only."""
    if p.tax_id_type != "nit":
        return {"id": f"SV-MJSP-PROV-{p.supplier_id}", "name": p.legal_name, "roles": ["payee"]}
    return {"id": _party_id(p.tax_id), "name": p.legal_name, "roles": ["payee"],
            "identifier": {"scheme": "SV-NIT", "id": p.tax_id, "legalName": p.legal_name}}


def _release(a, tranches, advances, payments, refunds, reports) -> dict:
    ocid = f"{OCID_PREFIX}{a.number}"
    ministry = _ministry()
    ngo = {"id": _party_id(a.nit), "name": a.legal_name, "roles": ["supplier", "payee", "payer"],
           "identifier": {"scheme": "SV-NIT", "id": a.nit, "legalName": a.legal_name}}
    suppliers: dict[str, dict] = {}
    for p in payments:
        suppliers.setdefault(p.tax_id, _supplier(p))
    transferred = {adv.tranche_number: adv for adv in advances}
    milestones = [{"id": f"tranche-{t.number}", "title": f"Desembolso {t.number}", "type": "payment",
                   "dueDate": _moment(t.planned_date), "value": _value(t.amount),
                   "status": "met" if t.number in transferred else "scheduled",
                   **({"dateMet": _moment(transferred[t.number].transfer_date)} if t.number in transferred else {})}
                  for t in tranches]
    milestones += [{"id": f"follow-up-{r.id}", "title": "Informe de seguimiento", "type": "reporting",
                    "description": f"Período {r.period_start.isoformat()} a {r.period_end.isoformat()}",
                    "dueDate": _moment(r.period_end), "status": "met",
                    "dateMet": _moment(clock.local_day(r.created_at))} for r in reports]
    transactions = (
        [{"id": f"advance-{adv.id}", "date": _moment(adv.transfer_date),
          "value": _value(adv.amount), "payer": _ref(ministry), "payee": _ref(ngo)} for adv in advances]
        + [{"id": f"payment-{p.id}", "date": _moment(p.transfer_date),
            "value": _value(p.amount), "payer": _ref(ministry), "payee": _ref(suppliers[p.tax_id])} for p in payments]
        + [{"id": f"refund-{r.id}", "date": _moment(r.refunded_on),
            "value": _value(r.amount), "payer": _ref(ngo), "payee": _ref(ministry)} for r in refunds])
    transactions.sort(key=lambda t: (t["date"], t["id"]))
    tag = ["contract", "implementation"] if a.status not in (AgreementState.LIQUIDATED, AgreementState.REPORTED, AgreementState.TERMINATED) else \
        ["contractTermination"]
    contract = {"id": a.number, "awardID": f"{a.number}-award", "title": a.title, "description": a.object,
                "status": CONTRACT_STATUS.get(a.status, "pending"), "value": _value(a.amount),
                "period": {"startDate": _moment(a.start_date), "endDate": _moment(a.end_date, end=True)},
                "milestones": milestones, "implementation": {"transactions": transactions}}
    if a.signed_on:
        contract["dateSigned"] = _moment(a.signed_on)
    return {
        "ocid": ocid, "id": f"{ocid}-{a.status}", "date": a.updated_at.isoformat(timespec="seconds"),
        "tag": tag, "initiationType": "tender", "language": "es",
        "parties": [ministry, ngo, *suppliers.values()],
        "buyer": _ref(ministry),
        "planning": {"budget": {"description": f"{a.decree_number} — {a.purpose}", "project": a.budget_line_code,
                                "amount": _value(a.allocation_amount)}},
        "tender": {"id": f"{a.number}-tender", "title": a.title, "status": "complete",
                   "procurementMethod": "direct", "procurementMethodDetails": "Asignación por decreto legislativo",
                   "value": _value(a.allocation_amount)},
        "awards": [{"id": f"{a.number}-award", "status": "active", "value": _value(a.amount),
                    "suppliers": [_ref(ngo)], **({"date": _moment(a.signed_on)} if a.signed_on else {})}],
        "contracts": [contract],
    }


def _moment(day: date, end: bool = False) -> str:
    """A calendar day as OCDS writes dates (RFC 3339 date-time): its first second in El Salvador
    (``2026-02-01T00:00:00-06:00``), or its last with ``end`` (a period's end day is included)."""
    return datetime.combine(day, time(23, 59, 59) if end else time(0), tzinfo=clock.EL_SALVADOR).isoformat()


def dumps(value) -> str:
    """JSON text in which Decimals are exact numbers (``1500.00``), never passed through float."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)
