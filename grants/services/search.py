"""Searching the lists that grow: one set of filters per list, applied to the query the page pages
and the export writes (``grants.services.exports``), so a file always holds the page's rows.

Filters are plain data, already checked by the page (``grants.web.search``): ``q`` (text, searched
case-insensitively with ``lower(...) LIKE``: a prefix of a name, part of a number), ``state`` (a
lifecycle Enum member), ``year`` (int), ``dui`` (a normalized DUI). The findings' words
(``finding_words``) are added by their own query (``grants.services.audit_checks.findings_query``). Every query is scoped to what
the user may see (``grants.security.scope_to_user``) before a filter is added.

Searching people by DUI reads personal data: ``record_dui_search`` writes it in the audit log
like a reveal (who, when, which agreement, the DUI's SHA-256 — never the number itself)."""
from __future__ import annotations

import hashlib

from sqlalchemy import Select, and_, any_, func, or_, select
from sqlalchemy.orm import selectinload

from grants.audit import Actor, record_event
from grants.extensions import db
from grants.models import Agreement, Beneficiary, Enrollment, Organization, Payment, Plan, Supplier
from grants.models.advance import Advance
from grants.models.followup import FollowUpReport
from grants.security import scope_to_user
from grants.services import enrollments as enrollment_service
from grants.workflows.supplier import SupplierState

ESCAPE = "\\"


def _escaped(text: str) -> str:
    return text.lower().replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def matches(text: str | None, *columns, prefix: bool = False):
    """A condition: some column holds ``text`` (or starts with it, ``prefix``), any case.
    ``prefix`` on ``lower(column)`` uses a functional index (``text_pattern_ops`` on PostgreSQL)."""
    pattern = _escaped(text or "") + "%"
    if not prefix:
        pattern = "%" + pattern
    return or_(*[func.lower(column).like(pattern, escape=ESCAPE) for column in columns])


def _state_year(query: Select, model, f: dict) -> Select:
    if f.get("state") is not None:
        query = query.where(model.status == f["state"])
    if f.get("year") is not None:
        query = query.where(model.year == f["year"])
    return query


# --- the lists ---------------------------------------------------------------------------------

def agreements(user, f: dict) -> Select:
    """Agreements by number or NGO name (``q``), state, year; newest first."""
    query = scope_to_user(user, select(Agreement), Agreement.organization_id)
    if f.get("q"):
        query = query.join(Organization, Organization.id == Agreement.organization_id).where(
            matches(f["q"], Agreement.number, Organization.legal_name))
    return (_state_year(query, Agreement, f).options(selectinload(Agreement.organization), selectinload(Agreement.plan))
            .order_by(Agreement.year.desc(), Agreement.sequence.desc()))


def plans(user, f: dict) -> Select:
    """Plans by title or NGO name (``q``), state, year of their allocation; last changed first."""
    from grants.models import Allocation

    query = scope_to_user(user, select(Plan), Plan.organization_id)
    if f.get("q"):
        query = query.join(Organization, Organization.id == Plan.organization_id).where(
            matches(f["q"], Plan.title, Organization.legal_name))
    if f.get("year") is not None:
        query = query.join(Allocation, Allocation.id == Plan.allocation_id).where(Allocation.fiscal_year == f["year"])
    if f.get("state") is not None:
        query = query.where(Plan.status == f["state"])
    return (query.options(selectinload(Plan.organization), selectinload(Plan.allocation))
            .order_by(Plan.updated_at.desc(), Plan.id.desc()))


def organizations(user, f: dict) -> Select:
    """Organizations by name (contains) or NIT (prefix, digits as typed)."""
    query = scope_to_user(user, select(Organization), Organization.id)
    if f.get("q"):
        query = query.where(or_(matches(f["q"], Organization.legal_name), matches(f["q"], Organization.nit, prefix=True)))
    return query.order_by(Organization.legal_name, Organization.id)


def finding_words(text: str):
    """A condition on findings: each word of ``text`` is in the finding's agreement number, its
    NGO's name or its summary (any case)."""
    from grants.models import AuditFinding

    def one(word: str):
        return or_(AuditFinding.agreement_id.in_(select(Agreement.id).where(matches(word, Agreement.number))),
                   AuditFinding.organization_id.in_(select(Organization.id).where(
                       matches(word, Organization.legal_name))),
                   matches(word, AuditFinding.summary))

    return and_(*[one(word) for word in text.split()])


def payments(user, f: dict) -> Select:
    """Payments by invoice number or supplier name/NIT (``q``), state, agreement; newest first."""
    from grants.models import Invoice

    query = scope_to_user(user, select(Payment), Payment.organization_id)
    if f.get("q"):  # the few suppliers and invoices that match first, then their payments
        named = select(Supplier.id).where(or_(matches(f["q"], Supplier.legal_name),
                                              matches(f["q"], Supplier.tax_id, prefix=True)))
        numbered = select(Invoice.id).where(matches(f["q"], Invoice.number))
        query = query.where(or_(Payment.supplier_id.in_(named), Payment.invoice_id.in_(numbered)))
    if f.get("state") is not None:
        query = query.where(Payment.status == f["state"])
    if f.get("agreement_id"):
        query = query.where(Payment.agreement_id == f["agreement_id"])
    return query.options(selectinload(Payment.invoice), selectinload(Payment.supplier),
                         selectinload(Payment.agreement)).order_by(Payment.id.desc())


def invoices(user, f: dict) -> Select:
    """An agreement's invoices (``agreement_id``) by number, supplier name or NIT (``q``), state;
    newest first (as the agreement's money page lists them)."""
    from grants.models import Invoice

    query = scope_to_user(user, select(Invoice), Invoice.organization_id)
    if f.get("agreement_id"):
        query = query.where(Invoice.agreement_id == f["agreement_id"])
    if f.get("q"):
        named = select(Supplier.id).where(matches(f["q"], Supplier.legal_name))
        query = query.where(or_(matches(f["q"], Invoice.number), matches(f["q"], Invoice.supplier_tax_id, prefix=True),
                                Invoice.supplier_id.in_(named)))
    if f.get("state") is not None:
        query = query.where(Invoice.status == f["state"])
    return (query.options(selectinload(Invoice.supplier), selectinload(Invoice.agreement))
            .order_by(Invoice.issue_date.desc(), Invoice.id.desc()))


def suppliers(user, f: dict) -> Select:
    """An agreement's suppliers (``agreement_id``) by name or NIT (``q``) and state; the versions in
    force unless ``all``."""
    query = scope_to_user(user, select(Supplier), Supplier.organization_id)
    if f.get("agreement_id"):
        query = query.where(Supplier.agreement_id == f["agreement_id"])
    if f.get("q"):
        query = query.where(or_(matches(f["q"], Supplier.legal_name), matches(f["q"], Supplier.tax_id, prefix=True)))
    if f.get("state") is not None:
        query = query.where(Supplier.status == f["state"])
    elif not f.get("all"):  # the versions in force (a bank account change supersedes one)
        query = query.where(Supplier.status != SupplierState.SUPERSEDED)
    return query.order_by(Supplier.legal_name, Supplier.version, Supplier.id)


def _of_agreements(user, model, f: dict) -> Select:
    """Rows of agreements (advances, follow-up reports) by agreement number or NGO (``q``), state,
    agreement; newest first."""
    query = scope_to_user(user, select(model), model.organization_id)
    if f.get("q"):
        query = (query.join(Agreement, Agreement.id == model.agreement_id)
                 .join(Organization, Organization.id == model.organization_id)
                 .where(matches(f["q"], Agreement.number, Organization.legal_name)))
    if f.get("state") is not None:
        query = query.where(model.status == f["state"])
    if f.get("agreement_id"):
        query = query.where(model.agreement_id == f["agreement_id"])
    return query.order_by(model.id.desc())


def advances(user, f: dict) -> Select:
    return _of_agreements(user, Advance, f)


def followup_reports(user, f: dict) -> Select:
    """(A report has no state: its export reads none.)"""
    return _of_agreements(user, FollowUpReport, f)


def enrollments(agreement_id: int, f: dict) -> Select:
    """An agreement's people (the caller checked the agreement is visible): by name prefix (``q``:
    last names, or first names), exact DUI (``dui``), state, active on a day (``active_on``);
    by last and first names."""
    query = (enrollment_service.active_on(agreement_id, f["active_on"]) if f.get("active_on")
             else select(Enrollment).where(Enrollment.agreement_id == agreement_id))
    if f.get("state") is not None:
        query = query.where(Enrollment.status == f["state"])
    query = query.join(Beneficiary, Beneficiary.id == Enrollment.beneficiary_id)
    if db.session.get_bind().dialect.name == "postgresql":
        # The agreement's people as an array first: the planner then reads them by key (a few
        # thousand lookups) instead of hashing the whole registry (1 M people) to sort one page.
        people = select(Enrollment.beneficiary_id).where(Enrollment.agreement_id == agreement_id)
        if f.get("state") is not None:
            people = people.where(Enrollment.status == f["state"])
        query = query.where(Beneficiary.id == any_(func.array(people.scalar_subquery())))
    if f.get("q"):
        query = query.where(matches(f["q"], Beneficiary.last_names, Beneficiary.first_names, prefix=True))
    if f.get("dui"):
        query = query.where(Beneficiary.document_type == "dui", Beneficiary.document_number == f["dui"])
    return (query.options(selectinload(Enrollment.beneficiary))
            .order_by(Beneficiary.last_names, Beneficiary.first_names, Enrollment.id))


def current_since(enrollment_ids: list[int]) -> dict[int, object]:
    """When each enrollment's current status began (its open period, one index read each)."""
    from grants.models import EnrollmentPeriod

    if not enrollment_ids:
        return {}
    return dict(db.session.execute(select(EnrollmentPeriod.enrollment_id, EnrollmentPeriod.valid_from).where(
        EnrollmentPeriod.enrollment_id.in_(enrollment_ids), EnrollmentPeriod.valid_to.is_(None))).all())


def dui_hash(dui: str) -> str:
    return hashlib.sha256(dui.encode()).hexdigest()


def _record_search(actor: Actor, entity_type: str, entity_id, dui: str, found: int, organization_id) -> None:
    record_event(db.session, actor, "personal_data.searched", entity_type, entity_id, after={
        "fields": ["document_number"], "document_sha256": dui_hash(dui), "found": found},
        organization_id=organization_id)


def record_dui_search(actor: Actor, agreement: Agreement, dui: str, found: int) -> None:
    """A search of an agreement's people by DUI: logged like a reveal (the number as its hash)."""
    _record_search(actor, "agreement", agreement.id, dui, found, agreement.organization_id)


def record_registry_dui_search(actor: Actor, user, dui: str, found: int) -> None:
    """A search of the whole registry by DUI (no single agreement): the registry searched is the
    user's organization's (an NGO) or everyone's (``all``, the ministry)."""
    organization_id = None if user.sees_all_organizations else user.organization_id
    _record_search(actor, "beneficiary_registry", organization_id or "all", dui, found, organization_id)


def registry(user, f: dict) -> Select:
    """People across agreements (the registry): by name prefix (``q``: last names, or first names),
    exact DUI (``dui``), enrollment state; only the enrollments of the user's organization for an
    NGO. By last and first names. The page asks for a name or a DUI first: never the whole registry."""
    query = (scope_to_user(user, select(Enrollment), Enrollment.organization_id)
             .join(Beneficiary, Beneficiary.id == Enrollment.beneficiary_id))
    if f.get("q"):
        query = query.where(matches(f["q"], Beneficiary.last_names, Beneficiary.first_names, prefix=True))
    if f.get("dui"):
        query = query.where(Beneficiary.document_type == "dui", Beneficiary.document_number == f["dui"])
    if f.get("state") is not None:
        query = query.where(Enrollment.status == f["state"])
    return (query.options(selectinload(Enrollment.beneficiary),
                          selectinload(Enrollment.agreement).selectinload(Agreement.organization))
            .order_by(Beneficiary.last_names, Beneficiary.first_names, Enrollment.id))
