"""«Mi trabajo»: what waits for the signed-in user, one queue per kind of work (read only).

Each ``Queue`` says who has it (``applies``), the rows waiting for that user oldest first
(``query``: a select of one model), when each row entered the waiting state (``since``: a date or
a UTC datetime already stored on the row or its history) and where the work is done (``url``).
Where the model has ``refusal_for(user, action)`` the queue's SQL is the same rule: ``refusal``
names (action, the states to compare in) and tests/web/test_work_queues.py checks, queue by
queue, that the rows the SQL finds are exactly those of those states refusal_for lets the user
act on (segregation of duties, own organization, the administrator of the agreement)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from grants import clock, formats
from grants.extensions import db
from grants.labels import DISCIPLINE_LABELS
from grants.models import (
    Advance,
    Agreement,
    Commitment,
    AuditFinding,
    BankStatement,
    BankStatementLine,
    ExpenseStatement,
    ImportBatch,
    Incident,
    IncidentReply,
    Invoice,
    Payment,
    PaymentAuthorization,
    PaymentBatch,
    PaymentBatchItem,
    Plan,
    ReceiptCertificate,
    Refund,
    Supplier,
)
from grants.permissions import Permission, Role
from grants.services import final_liquidation, meetings
from grants.web.plans import DISCIPLINE_ROLES, review_queue_query
from grants.workflows.agreement import AgreementState
from grants.workflows.advance import AdvanceAction, AdvanceState, StatementState
from grants.workflows.audit_check import FindingState
from grants.workflows.bank_statement import LineState
from grants.workflows.commitment import CommitmentState
from grants.workflows.deposit import DepositState
from grants.workflows.import_batch import BatchAction, BatchKind, BatchState
from grants.workflows.incident import MeasureState
from grants.workflows.payment import COMMITTED_STATES, InvoiceAction, InvoiceState, PaymentAction, PaymentState
from grants.workflows.payment_batch import PaymentBatchState
from grants.workflows.plan import PlanState
from grants.workflows.supplier import SupplierAction, SupplierState


COMMITMENTS_AHEAD = 7  # days: a commitment due within a week is already work to do


@dataclass(frozen=True)
class Queue:
    key: str
    title: object                       # lazy string
    applies: Callable                   # user -> bool
    query: Callable                     # user -> select(Model) of what waits for them, oldest first
    since: Callable                     # row -> date | datetime: when it started waiting
    what: Callable                      # row -> str: the item for people
    url: Callable                       # row -> the page where the work is done
    # (model, action, where): the query is the model's refusal_for(user, action) rule among the rows
    # matching ``where`` (tests compare the two)
    refusal: tuple | None = None
    load: tuple = ()                    # loader options for what ``what`` reads of each row (no N+1)


@dataclass(frozen=True)
class Item:
    what: str
    since: date
    age: int
    url: str


def _day(moment) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def items_of(queue: Queue, rows) -> list[Item]:
    today = clock.today()
    return [Item(queue.what(row), _day(queue.since(row)), (today - _day(queue.since(row))).days, queue.url(row))
            for row in rows]


def _not_own_org(user, column):
    """Ministry staff decide on any organization but their own (User.reviews)."""
    return column != user.organization_id if user.organization_id is not None else True


def _deciding(permission):
    """Ministry staff with ``permission`` (an NGO user never decides on what NGOs present)."""
    return lambda user: user.can(permission) and Role.NGO not in user.roles


def _ngo(user) -> bool:
    return Role.NGO in user.roles and user.organization_id is not None


def _advance_what(advance) -> str:
    return _("%(agreement)s · desembolso %(n)s", agreement=advance.agreement.number, n=advance.tranche_number)


def _advance_url(advance) -> str:
    return url_for("advance_pages.advance_page", advance_id=advance.id)


def _payment_what(payment) -> str:
    return _("%(agreement)s · factura %(number)s · %(supplier)s", agreement=payment.agreement.number,
             number=payment.invoice.number, supplier=payment.invoice.supplier.legal_name)


def _payment_url(payment) -> str:
    return url_for("payment_pages.payment_page", payment_id=payment.id)


def _invoice_what(invoice) -> str:
    return _("%(agreement)s · factura %(number)s · %(supplier)s", agreement=invoice.agreement.number,
             number=invoice.number, supplier=invoice.supplier.legal_name)


def _invoice_url(invoice) -> str:
    return url_for("money_pages.invoice_page", invoice_id=invoice.id)


# --- treasury ----------------------------------------------------------------------------------

_INVOICE = (selectinload(Invoice.agreement), selectinload(Invoice.supplier))
_PAYMENT = (selectinload(Payment.agreement), selectinload(Payment.invoice).selectinload(Invoice.supplier))
_ADVANCE = (selectinload(Advance.agreement),)


def _invoices_to_pay(user):
    live = select(Payment.id).where(Payment.invoice_id == Invoice.id, Payment.status != PaymentState.CANCELLED)
    # what can be paid: not a factura anticipada, on an agreement in execution (payments.prepare_payment)
    return (select(Invoice).join(ReceiptCertificate, ReceiptCertificate.invoice_id == Invoice.id)
            .join(Agreement, Agreement.id == Invoice.agreement_id)
            .where(Invoice.status == InvoiceState.CERTIFIED, ~live.exists(), ~Invoice.advance_invoice,
                   Agreement.status == AgreementState.IN_EXECUTION)
            .order_by(ReceiptCertificate.created_at, Invoice.id))


def _payments_to_authorize(user):
    signed = select(PaymentAuthorization.user_id).where(PaymentAuthorization.payment_id == Payment.id,
                                                   PaymentAuthorization.user_id == user.id)
    return (select(Payment).where(Payment.status == PaymentState.PREPARED, Payment.prepared_by_id != user.id,
                                  ~signed.exists()).order_by(Payment.prepared_at, Payment.id))


def _at_the_bank(item_column, record_id):
    """Sent in an issued payment batch: the bank statement executes it, nobody by hand."""
    return (select(PaymentBatchItem.id).join(PaymentBatch, PaymentBatch.id == PaymentBatchItem.batch_id)
            .where(item_column == record_id, PaymentBatchItem.live.is_(True),
                   PaymentBatch.status == PaymentBatchState.ISSUED).exists())


def _payments_to_execute(user):
    return (select(Payment).where(Payment.status == PaymentState.AUTHORIZED,
                                  ~_at_the_bank(PaymentBatchItem.payment_id, Payment.id))
            .order_by(Payment.authorized_at, Payment.id))


def _advances_to_prepare(user):
    return select(Advance).where(Advance.status == AdvanceState.APPROVED).order_by(Advance.reviewed_at, Advance.id)


def _advances_to_disburse(user):
    return (select(Advance).where(Advance.status == AdvanceState.PREPARED, Advance.prepared_by_id != user.id,
                                  ~_at_the_bank(PaymentBatchItem.advance_id, Advance.id))
            .order_by(Advance.prepared_at, Advance.id))


def _statement_lines_to_resolve(user):
    return (select(BankStatementLine).join(BankStatement, BankStatement.id == BankStatementLine.statement_id)
            .where(BankStatementLine.status == LineState.UNMATCHED)
            .order_by(BankStatement.uploaded_at, BankStatementLine.statement_id, BankStatementLine.line_number))


def _refunds_to_confirm(user):
    return (select(Refund).where(Refund.status == DepositState.DECLARED, Refund.recorded_by_id != user.id)
            .order_by(Refund.recorded_at, Refund.id))


# --- reviewers, administrators, audit -----------------------------------------------------------

def _reviews_of(discipline: str):
    def query(user):
        return review_queue_query([discipline])
    return query


def _latest_submitted(plan):
    return max(v.submitted_at for v in plan.versions if v.submitted_at is not None)


def _lists_to_validate(user):
    return (select(ImportBatch).where(
        ImportBatch.status == BatchState.CONFIRMED, ImportBatch.kind == BatchKind.ENROLLMENT,
        ImportBatch.uploaded_by_id != user.id,
        or_(ImportBatch.confirmed_by_id.is_(None), ImportBatch.confirmed_by_id != user.id))
        .order_by(ImportBatch.confirmed_at, ImportBatch.id))


def _suppliers_to_validate(user):
    return (select(Supplier).where(
        Supplier.status == SupplierState.PROPOSED, _not_own_org(user, Supplier.organization_id),
        or_(Supplier.proposed_by_id.is_(None), Supplier.proposed_by_id != user.id))
        .order_by(Supplier.created_at, Supplier.id))


def _statements_to_review(user):
    return (select(ExpenseStatement).join(Advance, Advance.id == ExpenseStatement.advance_id)
            .where(ExpenseStatement.status == StatementState.SUBMITTED, _not_own_org(user, Advance.organization_id))
            .order_by(ExpenseStatement.submitted_at, ExpenseStatement.id))


def _advances_to_approve(user):
    return (select(Advance).where(Advance.status == AdvanceState.REQUESTED,
                                  _not_own_org(user, Advance.organization_id))
            .order_by(Advance.created_at, Advance.id))


def _findings_to_decide(user):
    return (select(AuditFinding).where(AuditFinding.status == FindingState.OPEN, AuditFinding.present)
            .order_by(AuditFinding.first_seen_at, AuditFinding.id))


def _invoices_to_certify(user):
    return (select(Invoice).join(Agreement, Agreement.id == Invoice.agreement_id)
            .where(Invoice.status == InvoiceState.REGISTERED, Agreement.administrator_id == user.id)
            .order_by(Invoice.created_at, Invoice.id))


def _commitments_due(user):
    return meetings.owned_query(user, status=CommitmentState.OPEN).where(
        Commitment.due_on <= clock.today() + timedelta(days=COMMITMENTS_AHEAD))


def _liquidations_of(discipline: str):
    def query(user):
        return final_liquidation.waiting_query([discipline])
    return query


def _liquidations_returned(user):
    return final_liquidation.returned_query(user.id)


# --- NGO ---------------------------------------------------------------------------------------

def _plans_returned(user):
    return (select(Plan).where(Plan.organization_id == user.organization_id,
                               Plan.status == PlanState.CHANGES_REQUESTED).order_by(Plan.updated_at, Plan.id))


def _statements_due(user):
    pending = select(ExpenseStatement.id).where(ExpenseStatement.advance_id == Advance.id,
                                                ExpenseStatement.status == StatementState.SUBMITTED)
    return (select(Advance).where(Advance.organization_id == user.organization_id,
                                  Advance.status == AdvanceState.DISBURSED, ~pending.exists())
            .order_by(Advance.disbursed_at, Advance.id))


def _incidents_to_answer(user):
    replied = select(IncidentReply.id).where(IncidentReply.incident_id == Incident.id)
    return (select(Incident).where(Incident.organization_id == user.organization_id,
                                   Incident.measure_status == MeasureState.PENDING_REPLY, ~replied.exists(),
                                   Incident.reply_due >= clock.today())
            .order_by(Incident.created_at, Incident.id))


def _has(permission):
    return lambda user: user.can(permission)


def _reviewer_of(discipline: str):
    return lambda user: DISCIPLINE_ROLES[discipline] in user.roles


def _liquidation_what(liquidation) -> str:
    return _("%(agreement)s · revisión %(n)s", agreement=liquidation.agreement.number, n=liquidation.revision)


def _liquidation_url(liquidation) -> str:
    return url_for("closing_pages.liquidation_page", agreement_id=liquidation.agreement_id)


def _plan_what(plan) -> str:
    return _("%(title)s · %(organization)s", title=plan.title, organization=plan.organization.legal_name)


_ADVANCE_TREASURY = (AdvanceState.APPROVED, AdvanceState.PREPARED)

QUEUES: list[Queue] = [
    Queue("invoices_to_pay", _l("Facturas certificadas por pagar"), _has(Permission.PAYMENTS_PREPARE),
          _invoices_to_pay, lambda i: i.certificate.created_at, _invoice_what, _invoice_url,
          load=(*_INVOICE, selectinload(Invoice.certificate))),
    Queue("payments_to_authorize", _l("Pagos por autorizar"), _has(Permission.PAYMENTS_AUTHORIZE),
          _payments_to_authorize, lambda p: p.prepared_at, _payment_what, _payment_url,
          refusal=(Payment, PaymentAction.AUTHORIZE, Payment.status == PaymentState.PREPARED), load=_PAYMENT),
    Queue("payments_to_execute", _l("Pagos por ejecutar"), _has(Permission.PAYMENTS_EXECUTE),
          _payments_to_execute, lambda p: p.authorized_at, _payment_what, _payment_url,
          refusal=(Payment, PaymentAction.EXECUTE, Payment.status.in_(COMMITTED_STATES)), load=_PAYMENT),
    Queue("advances_to_prepare", _l("Anticipos por preparar"), _has(Permission.ADVANCES_DISBURSE),
          _advances_to_prepare, lambda a: a.reviewed_at, _advance_what, _advance_url,
          refusal=(Advance, AdvanceAction.PREPARE, Advance.status.in_(_ADVANCE_TREASURY)), load=_ADVANCE),
    Queue("advances_to_disburse", _l("Anticipos por desembolsar"), _has(Permission.ADVANCES_DISBURSE),
          _advances_to_disburse, lambda a: a.prepared_at, _advance_what, _advance_url,
          refusal=(Advance, AdvanceAction.DISBURSE, Advance.status.in_(_ADVANCE_TREASURY)), load=_ADVANCE),
    Queue("statement_lines_to_resolve", _l("Movimientos del banco sin conciliar"),
          _has(Permission.BANK_STATEMENTS_RECONCILE), _statement_lines_to_resolve, lambda line: line.statement.uploaded_at,
          lambda line: _("Extracto %(statement)s · línea %(n)s · %(amount)s · %(reason)s",
                         statement=line.statement.statement_ref, n=line.line_number, amount=formats.usd(line.amount),
                         reason=line.reason),
          lambda line: url_for("bank_statement_pages.statement_page", statement_id=line.statement_id),
          load=(selectinload(BankStatementLine.statement),)),
    Queue("refunds_to_confirm", _l("Reintegros por confirmar"), _has(Permission.DEPOSITS_CONFIRM),
          _refunds_to_confirm, lambda r: r.recorded_at,
          lambda r: _("%(advance)s · reintegro %(ref)s", advance=_advance_what(r.advance), ref=r.bank_reference),
          lambda r: _advance_url(r.advance)),
    *[Queue(f"reviews_{d}", _l("Planes por revisar (%(discipline)s)", discipline=DISCIPLINE_LABELS[d]),
            _reviewer_of(d), _reviews_of(d), _latest_submitted, _plan_what,
            lambda p: url_for("plan_pages.review_plan", plan_id=p.id)) for d in DISCIPLINE_ROLES],
    Queue("lists_to_validate", _l("Listas de beneficiarios por validar"), _has(Permission.BENEFICIARIES_VALIDATE),
          _lists_to_validate, lambda b: b.confirmed_at,
          lambda b: _("%(agreement)s · %(file)s", agreement=b.agreement.number, file=b.filename),
          lambda b: url_for("beneficiary_pages.batch_page", batch_id=b.id),
          refusal=(ImportBatch, BatchAction.VALIDATE,
                   ImportBatch.status.in_((BatchState.READY, BatchState.CONFIRMED)))),
    Queue("suppliers_to_validate", _l("Proveedores por validar"), _deciding(Permission.SUPPLIERS_VALIDATE),
          _suppliers_to_validate, lambda s: s.created_at,
          lambda s: _("%(agreement)s · %(supplier)s", agreement=s.agreement.number, supplier=s.legal_name),
          lambda s: url_for("supplier_pages.supplier_page", supplier_id=s.id),
          refusal=(Supplier, SupplierAction.VALIDATE,
                   Supplier.status.in_((SupplierState.PROPOSED, SupplierState.VALIDATED)))),
    Queue("advances_to_approve", _l("Anticipos por aprobar"), _deciding(Permission.ADVANCES_APPROVE),
          _advances_to_approve, lambda a: a.created_at, _advance_what, _advance_url,
          refusal=(Advance, AdvanceAction.APPROVE,
                   Advance.status.in_((AdvanceState.REQUESTED, AdvanceState.APPROVED))),
          load=_ADVANCE),
    Queue("statements_to_review", _l("Liquidaciones de anticipo por revisar"), _has(Permission.STATEMENTS_REVIEW),
          _statements_to_review, lambda s: s.submitted_at,
          lambda s: _("%(advance)s · liquidación %(n)s", advance=_advance_what(s.advance), n=s.number),
          lambda s: url_for("advance_pages.statement_page", statement_id=s.id)),
    Queue("invoices_to_certify", _l("Facturas por certificar"), _has(Permission.INVOICES_CERTIFY),
          _invoices_to_certify, lambda i: i.created_at, _invoice_what, _invoice_url,
          refusal=(Invoice, InvoiceAction.CERTIFY,
                   Invoice.status.in_((InvoiceState.REGISTERED, InvoiceState.CERTIFIED))),
          load=_INVOICE),
    *[Queue(f"liquidations_{d}", _l("Liquidaciones finales por aprobar (%(discipline)s)",
                                    discipline=DISCIPLINE_LABELS[d]),
            lambda user, d=d: user.can(Permission.LIQUIDATION_SIGN_OFF) and _reviewer_of(d)(user),
            _liquidations_of(d), lambda r: r.prepared_at, _liquidation_what, _liquidation_url)
      for d in DISCIPLINE_ROLES],
    Queue("liquidations_returned", _l("Liquidaciones finales devueltas"), _has(Permission.LIQUIDATION_DECIDE),
          _liquidations_returned, lambda r: r.closed_at, _liquidation_what, _liquidation_url),
    Queue("findings_to_decide", _l("Hallazgos por decidir"), _has(Permission.FINDINGS_DECIDE),
          _findings_to_decide, lambda f: f.first_seen_at, lambda f: f.summary,
          lambda f: url_for("audit_check_pages.finding_page", finding_id=f.id)),
    Queue("commitments_due", _l("Compromisos vencidos o por vencer en una semana"), lambda user: True,
          _commitments_due, lambda c: c.created_at,
          lambda c: _("%(text)s · plazo %(day)s", text=c.description[:120], day=formats.day(c.due_on)),
          lambda c: url_for("meeting_pages.meeting_page", meeting_id=c.meeting_id, _anchor="compromisos")),
    Queue("plans_returned", _l("Planes devueltos con observaciones"), _ngo, _plans_returned,
          lambda p: p.updated_at, lambda p: p.title, lambda p: url_for("plan_pages.plan_page", plan_id=p.id)),
    Queue("statements_due", _l("Anticipos por liquidar"), lambda user: _ngo(user) and user.can(
        Permission.STATEMENTS_SUBMIT), _statements_due, lambda a: a.disbursed_at, _advance_what, _advance_url),
    Queue("incidents_to_answer", _l("Incumplimientos que esperan su descargo"), _ngo, _incidents_to_answer,
          lambda i: i.created_at,
          lambda i: _("%(agreement)s · responder a más tardar el %(day)s", agreement=i.agreement.number,
                      day=formats.day(i.reply_due)),
          lambda i: url_for("followup_pages.incident_page", incident_id=i.id),
          refusal=(Incident, "reply", Incident.measure_status == MeasureState.PENDING_REPLY)),
]
BY_KEY = {queue.key: queue for queue in QUEUES}


def queues_for(user) -> list[Queue]:
    return [queue for queue in QUEUES if queue.applies(user)]


def rows_query(queue: Queue, user):
    """The queue's query with what its items read loaded in one go (the page's rows)."""
    return queue.query(user).options(*queue.load)


def count(queue: Queue, user) -> int:
    sub = queue.query(user).order_by(None).subquery()
    return db.session.scalar(select(func.count()).select_from(sub)) or 0


def total_for(user) -> int:
    """Everything waiting for ``user`` (the «Mi trabajo» link's count)."""
    return sum(count(queue, user) for queue in queues_for(user))
