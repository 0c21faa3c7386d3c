"""The agreement's money ledger: reservations and movements as conditional updates, and the
invariants check that recomputes every balance from the transactions. Flush, never commit.

Each movement is one ``UPDATE … SET col = col + :x WHERE <room>``. On PostgreSQL the row lock
taken by the UPDATE makes a concurrent movement on the same row wait and then re-evaluate its
WHERE against the committed totals, so two transactions can never together pass a limit; SQLite
runs one writer at a time (``BEGIN IMMEDIATE``). The CHECK constraints of
``grants.models.ledger`` refuse anything that slips past. Sums are ``ROUND(…, 2)`` so SQLite's
floating NUMERIC compares cents, not binary fractions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text, update

from grants import formats
from grants.extensions import db
from grants.models import (
    Advance,
    Agreement,
    AgreementBalance,
    BudgetLineBalance,
    ExpenseStatement,
    FinePayment,
    Incident,
    Payment,
    PaymentDeduction,
    PaymentLine,
    PlanBudgetLine,
    Receipt,
    Refund,
)
from grants.domain_errors import Conflict
from grants.workflows.advance import COMMITTED_STATES as ADVANCE_COMMITTED
from grants.workflows.advance import TRANSFERRED_STATES, AdvanceState, ReceiptState
from grants.workflows.agreement import AgreementState
from grants.workflows.deposit import DepositState
from grants.workflows.payment import COMMITTED_STATES as PAYMENT_COMMITTED
from grants.workflows.payment import PaymentState
from grants.money import CENT, ZERO
from grants.workflows.incident import MeasureState

# Agreement states whose money is tracked (the ledger is opened when execution starts).
LEDGER_STATES = (AgreementState.IN_EXECUTION, AgreementState.SUSPENDED, AgreementState.CLOSING,
                 AgreementState.LIQUIDATED, AgreementState.REPORTED)


class NoRoom(Conflict):
    code = "insufficient_balance"


def open_ledger(agreement: Agreement) -> None:
    """Create the agreement's balance rows (idempotent): its amount and its version's budget lines."""
    if db.session.get(AgreementBalance, agreement.id) is not None:
        return
    db.session.add(AgreementBalance(agreement_id=agreement.id, amount=agreement.amount))
    for line in agreement.plan_version.budget_lines:
        db.session.add(BudgetLineBalance(agreement_id=agreement.id, budget_line_id=line.id,
                                         number=line.number, approved=line.amount))
    db.session.flush()


def _cents(x: Decimal) -> Decimal:
    return Decimal(x).quantize(CENT)


# --- budget lines ------------------------------------------------------------------------------

def _line_refusal(agreement_id: int, budget_line_id: int, amount: Decimal) -> NoRoom:
    row = db.session.execute(select(BudgetLineBalance).where(
        BudgetLineBalance.agreement_id == agreement_id, BudgetLineBalance.budget_line_id == budget_line_id)
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None:
        return NoRoom(_l("La línea presupuestaria no pertenece a este convenio."), code="unknown_budget_line")
    return NoRoom(_l("La línea presupuestaria %(number)s no tiene saldo suficiente: disponible $%(available)s, "
                     "se necesitan $%(amount)s.", number=row.number, available=formats.grouped(row.available),
                     amount=formats.grouped(amount)))


def _plus(column, delta):
    """``column + delta`` to the cent in the database: exact on PostgreSQL (numeric), and on SQLite
    (where NUMERIC is stored as a binary float) never a stray 1e-13 below zero after many moves."""
    return func.round(column + delta, 2)


def _move_line(agreement_id: int, budget_line_id: int, amount: Decimal, *, committed=ZERO, paid=ZERO,
               liquidated=ZERO) -> None:
    """Add the deltas to one budget line; refused (nothing changed) if it would pass the line."""
    b = BudgetLineBalance
    grows = committed + paid + liquidated
    stmt = update(b).where(
        b.agreement_id == agreement_id, b.budget_line_id == budget_line_id,
        func.round(b.committed + committed, 2) >= 0,
        func.round(b.committed + b.paid + b.liquidated + grows, 2) <= b.approved,
    ).values(committed=_plus(b.committed, committed), paid=_plus(b.paid, paid), liquidated=_plus(b.liquidated, liquidated))
    if db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount != 1:
        raise _line_refusal(agreement_id, budget_line_id, amount)


def reserve_line(agreement_id: int, budget_line_id: int, amount: Decimal) -> None:
    """Commit ``amount`` of a budget line to a payment not yet executed, if the line has room."""
    amount = _cents(amount)
    _move_line(agreement_id, budget_line_id, amount, committed=amount)


def release_line(agreement_id: int, budget_line_id: int, amount: Decimal) -> None:
    amount = _cents(amount)
    _move_line(agreement_id, budget_line_id, amount, committed=-amount)


def settle_line(agreement_id: int, budget_line_id: int, amount: Decimal) -> None:
    """A reserved amount is paid: committed → paid."""
    amount = _cents(amount)
    _move_line(agreement_id, budget_line_id, amount, committed=-amount, paid=amount)


def liquidate_line(agreement_id: int, budget_line_id: int, amount: Decimal) -> None:
    """An accepted receipt spends ``amount`` of the line, if it has room."""
    amount = _cents(amount)
    _move_line(agreement_id, budget_line_id, amount, liquidated=amount)


# --- the agreement ------------------------------------------------------------------------------

def _agreement_refusal(agreement_id: int, amount: Decimal) -> NoRoom:
    row = db.session.get(AgreementBalance, agreement_id, populate_existing=True)
    if row is None:
        return NoRoom(_l("El convenio no está en ejecución: no tiene saldo abierto."), code="ledger_not_open")
    return NoRoom(_l("Se superaría el monto del convenio: disponible $%(available)s, se necesitan $%(amount)s.",
                     available=formats.grouped(row.available), amount=formats.grouped(amount)), code="agreement_ceiling")


def _move(agreement_id: int, amount: Decimal, *, committed=ZERO, paid=ZERO, advanced=ZERO, refunded=ZERO) -> None:
    a = AgreementBalance
    stmt = update(a).where(
        a.agreement_id == agreement_id,
        func.round(a.committed + committed, 2) >= 0,
        func.round(a.refunded + refunded, 2) <= func.round(a.advanced + advanced, 2),
        func.round(a.committed + a.paid + a.advanced - a.refunded + committed + paid + advanced - refunded, 2)
        <= a.amount,
    ).values(committed=_plus(a.committed, committed), paid=_plus(a.paid, paid), advanced=_plus(a.advanced, advanced),
             refunded=_plus(a.refunded, refunded))
    if db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount != 1:
        raise _agreement_refusal(agreement_id, amount)


def reserve(agreement_id: int, amount: Decimal) -> None:
    """Reserve ``amount`` under the agreement's ceiling (payment prepared, advance approved)."""
    amount = _cents(amount)
    _move(agreement_id, amount, committed=amount)


def release(agreement_id: int, amount: Decimal) -> None:
    amount = _cents(amount)
    _move(agreement_id, amount, committed=-amount)


def record_payment(agreement_id: int, amount: Decimal) -> None:
    amount = _cents(amount)
    _move(agreement_id, amount, committed=-amount, paid=amount)


def record_advance(agreement_id: int, amount: Decimal) -> None:
    amount = _cents(amount)
    _move(agreement_id, amount, committed=-amount, advanced=amount)


def record_refund(agreement_id: int, amount: Decimal) -> None:
    """A refund treasury confirmed against the bank: money back, counted (G10)."""
    amount = _cents(amount)
    _move(agreement_id, amount, refunded=amount)


def _declared(agreement_id: int, delta: Decimal) -> None:
    a = AgreementBalance
    stmt = update(a).where(a.agreement_id == agreement_id, func.round(a.refunds_declared + delta, 2) >= 0).values(
        refunds_declared=_plus(a.refunds_declared, delta))
    if db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount != 1:
        raise NoRoom(_l("El convenio no tiene reintegros declarados por ese monto."), code="ledger_not_open")


def declare_refund(agreement_id: int, amount: Decimal) -> None:
    """A refund the NGO declared: shown as declared, counted for nothing until confirmed."""
    _declared(agreement_id, _cents(amount))


def decide_refund(agreement_id: int, amount: Decimal, confirmed: bool) -> None:
    """Treasury's decision on a declared refund: it leaves the declared figure, and counts if confirmed."""
    amount = _cents(amount)
    _declared(agreement_id, -amount)
    if confirmed:
        record_refund(agreement_id, amount)


def _fines(agreement_id: int, *, assessed=ZERO, declared=ZERO, collected=ZERO) -> None:
    a = AgreementBalance
    stmt = update(a).where(
        a.agreement_id == agreement_id,
        func.round(a.fines_declared + declared, 2) >= 0, func.round(a.fines_collected + collected, 2) >= 0,
        func.round(a.fines_collected + collected + a.fines_declared + declared, 2)
        <= func.round(a.fines_assessed + assessed, 2),
    ).values(fines_assessed=_plus(a.fines_assessed, assessed), fines_declared=_plus(a.fines_declared, declared),
             fines_collected=_plus(a.fines_collected, collected))
    if db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount != 1:
        raise NoRoom(_l("La multa no admite ese monto: supera lo que falta por cobrar."), code="fine_exceeded")


def assess_fine(agreement_id: int, amount: Decimal) -> None:
    """A fine in effect: owed by the NGO, outside the transfers."""
    _fines(agreement_id, assessed=_cents(amount))


def declare_fine(agreement_id: int, amount: Decimal) -> None:
    _fines(agreement_id, declared=_cents(amount))


def decide_fine(agreement_id: int, amount: Decimal, confirmed: bool) -> None:
    amount = _cents(amount)
    _fines(agreement_id, declared=-amount, collected=amount if confirmed else ZERO)


def collect_fine(agreement_id: int, amount: Decimal) -> None:
    """A fine collected by withholding it from an advance's transfer."""
    _fines(agreement_id, collected=_cents(amount))


# --- balances and the invariants check ---------------------------------------------------------

@dataclass
class LineBalance:
    budget_line_id: int
    number: int
    category: str
    approved: Decimal
    committed: Decimal
    paid: Decimal
    liquidated: Decimal

    @property
    def spent(self) -> Decimal:
        return self.paid + self.liquidated

    @property
    def available(self) -> Decimal:
        return self.approved - self.committed - self.spent


@dataclass
class Balances:
    """What DESIGN.md calls the balances of an agreement, in one place for pages, API and reports."""

    agreement_id: int
    assigned: Decimal
    committed: Decimal
    paid_directly: Decimal
    advanced: Decimal
    liquidated: Decimal
    refunded: Decimal
    lines: list[LineBalance] = field(default_factory=list)
    refunds_declared: Decimal = ZERO  # declared by the NGO, waiting for treasury: not in any figure above
    fines_assessed: Decimal = ZERO    # sanctions' fines in effect (owed by the NGO, outside the transfers)
    fines_declared: Decimal = ZERO    # fine deposits declared, waiting for treasury
    fines_collected: Decimal = ZERO   # confirmed deposits and amounts withheld from advances

    @property
    def outstanding(self) -> Decimal:
        """Advanced and not yet accounted for by accepted receipts or refunds."""
        return self.advanced - self.liquidated - self.refunded

    @property
    def transferred(self) -> Decimal:
        return self.paid_directly + self.advanced - self.refunded

    @property
    def available(self) -> Decimal:
        return self.assigned - self.committed - self.transferred

    @property
    def executed(self) -> Decimal:
        """Spent on the program: direct payments plus accepted receipts."""
        return self.paid_directly + self.liquidated


def balances(agreement: Agreement) -> Balances:
    head = db.session.get(AgreementBalance, agreement.id, populate_existing=True)
    rows = db.session.execute(
        select(BudgetLineBalance, PlanBudgetLine.category)
        .join(PlanBudgetLine, PlanBudgetLine.id == BudgetLineBalance.budget_line_id)
        .where(BudgetLineBalance.agreement_id == agreement.id).order_by(BudgetLineBalance.number)
        .execution_options(populate_existing=True)).all()
    lines = [LineBalance(r.budget_line_id, r.number, category, r.approved, r.committed, r.paid, r.liquidated)
             for r, category in rows]
    if head is None:  # not in execution yet: the plan's figures, nothing moved
        lines = [LineBalance(b.id, b.number, b.category, b.amount, ZERO, ZERO, ZERO)
                 for b in agreement.plan_version.budget_lines]
        return Balances(agreement.id, agreement.amount, ZERO, ZERO, ZERO, ZERO, ZERO, lines, ZERO)
    liquidated = sum((line.liquidated for line in lines), ZERO)
    return Balances(agreement.id, head.amount, head.committed, head.paid, head.advanced, liquidated,
                    head.refunded, lines, head.refunds_declared, head.fines_assessed, head.fines_declared,
                    head.fines_collected)


def _sum(column, *where) -> dict:
    """{group key: sum} for a grouped sum query."""
    return {k: _cents(v or 0) for k, v in db.session.execute(select(*where[:1], func.sum(column))
                                                               .where(*where[1:]).group_by(where[0])).all()}


def check_invariants(agreement_id: int | None = None) -> list[str]:
    """Recompute every balance from the transactions and list each difference or broken rule.

    An empty list means: every ledger column equals the sum of its transactions, no budget line
    is overspent, no advance is liquidated beyond what was disbursed, no agreement has received
    more than its amount, and every payment adds up to its lines and deductions.
    """
    problems: list[str] = []
    only = (lambda col: col == agreement_id) if agreement_id is not None else (lambda col: text("1 = 1"))

    # Agreement level.
    pay_committed = _sum(Payment.amount, Payment.agreement_id, Payment.status.in_(PAYMENT_COMMITTED),
                         only(Payment.agreement_id))
    adv_committed = _sum(Advance.amount, Advance.agreement_id, Advance.status.in_(ADVANCE_COMMITTED),
                         only(Advance.agreement_id))
    paid = _sum(Payment.amount, Payment.agreement_id, Payment.status == PaymentState.EXECUTED, only(Payment.agreement_id))
    advanced = _sum(Advance.amount, Advance.agreement_id, Advance.status.in_(TRANSFERRED_STATES),
                    only(Advance.agreement_id))
    refunded = _sum(Refund.amount, Refund.agreement_id, Refund.status == DepositState.CONFIRMED,
                    only(Refund.agreement_id))
    declared = _sum(Refund.amount, Refund.agreement_id, Refund.status == DepositState.DECLARED,
                    only(Refund.agreement_id))
    fines_assessed = _sum(Incident.fine_amount, Incident.agreement_id, Incident.measure_status == MeasureState.IN_EFFECT,
                          Incident.fine_amount.is_not(None), only(Incident.agreement_id))
    fines_declared = _sum(FinePayment.amount, FinePayment.agreement_id, FinePayment.status == DepositState.DECLARED,
                          only(FinePayment.agreement_id))
    fines_collected = _sum(FinePayment.amount, FinePayment.agreement_id,
                           FinePayment.status == DepositState.CONFIRMED, only(FinePayment.agreement_id))
    heads = db.session.execute(select(AgreementBalance).where(only(AgreementBalance.agreement_id))
                               .execution_options(populate_existing=True)).scalars().all()
    for h in heads:
        a = h.agreement_id
        expected = {
            "committed": pay_committed.get(a, ZERO) + adv_committed.get(a, ZERO),
            "paid": paid.get(a, ZERO), "advanced": advanced.get(a, ZERO), "refunded": refunded.get(a, ZERO),
            "refunds_declared": declared.get(a, ZERO), "fines_assessed": fines_assessed.get(a, ZERO),
            "fines_declared": fines_declared.get(a, ZERO), "fines_collected": fines_collected.get(a, ZERO),
        }
        for name, value in expected.items():
            if getattr(h, name) != value:
                problems.append(f"agreement {a}: {name} {getattr(h, name)} != transactions {value}")
        if h.committed + h.paid + h.advanced - h.refunded > h.amount:
            problems.append(f"agreement {a}: committed + transferred {h.committed + h.transferred} > amount {h.amount}")
        if h.refunded > h.advanced:
            problems.append(f"agreement {a}: refunded {h.refunded} > advanced {h.advanced}")

    # Budget lines.
    line_key = (PaymentLine.budget_line_id)
    line_committed = dict(db.session.execute(
        select(PaymentLine.budget_line_id, func.sum(PaymentLine.payable)).join(Payment)
        .where(Payment.status.in_(PAYMENT_COMMITTED), only(Payment.agreement_id)).group_by(line_key)).all())
    line_paid = dict(db.session.execute(
        select(PaymentLine.budget_line_id, func.sum(PaymentLine.payable)).join(Payment)
        .where(Payment.status == PaymentState.EXECUTED, only(Payment.agreement_id)).group_by(line_key)).all())
    line_liquidated = dict(db.session.execute(
        select(Receipt.budget_line_id, func.sum(Receipt.amount))
        .where(Receipt.status == ReceiptState.ACCEPTED, only(Receipt.agreement_id))
        .group_by(Receipt.budget_line_id)).all())
    for row in db.session.execute(select(BudgetLineBalance).where(only(BudgetLineBalance.agreement_id))
                                  .execution_options(populate_existing=True)).scalars():
        bl = row.budget_line_id
        for name, sums in (("committed", line_committed), ("paid", line_paid), ("liquidated", line_liquidated)):
            value = _cents(sums.get(bl) or 0)
            if getattr(row, name) != value:
                problems.append(f"agreement {row.agreement_id} line {row.number}: {name} {getattr(row, name)} "
                                f"!= transactions {value}")
        if row.committed + row.paid + row.liquidated > row.approved:
            problems.append(f"agreement {row.agreement_id} line {row.number}: spent and committed "
                            f"{row.committed + row.spent} > approved {row.approved}")

    # Advances: accepted receipts and refunds never pass what was disbursed.
    accepted = dict(db.session.execute(
        select(ExpenseStatement.advance_id, func.sum(Receipt.amount)).join(Receipt)
        .where(Receipt.status == ReceiptState.ACCEPTED, only(Receipt.agreement_id))
        .group_by(ExpenseStatement.advance_id)).all())
    refunds = dict(db.session.execute(select(Refund.advance_id, func.sum(Refund.amount))
                                      .where(Refund.status == DepositState.CONFIRMED, only(Refund.agreement_id))
                                      .group_by(Refund.advance_id)).all())
    for adv in db.session.execute(select(Advance).where(only(Advance.agreement_id))
                                  .execution_options(populate_existing=True)).scalars():
        if adv.liquidated_amount != _cents(accepted.get(adv.id) or 0):
            problems.append(f"advance {adv.id}: liquidated {adv.liquidated_amount} != accepted receipts "
                            f"{_cents(accepted.get(adv.id) or 0)}")
        if adv.refunded_amount != _cents(refunds.get(adv.id) or 0):
            problems.append(f"advance {adv.id}: refunded {adv.refunded_amount} != refunds {_cents(refunds.get(adv.id) or 0)}")
        if adv.liquidated_amount + adv.refunded_amount > adv.amount:
            problems.append(f"advance {adv.id}: outstanding below zero")
        whole = adv.liquidated_amount + adv.refunded_amount == adv.amount
        if (adv.status == AdvanceState.LIQUIDATED) != (whole and adv.status in TRANSFERRED_STATES):
            problems.append(f"advance {adv.id}: status {adv.status} but receipts + refunds "
                            f"{adv.liquidated_amount + adv.refunded_amount} of {adv.amount}")

    # Payments add up to their lines and deductions.
    line_sums = dict(db.session.execute(select(PaymentLine.payment_id, func.sum(PaymentLine.payable))
                                        .group_by(PaymentLine.payment_id)).all())
    deduction_sums = dict(db.session.execute(select(PaymentDeduction.payment_id, func.sum(PaymentDeduction.amount))
                                             .group_by(PaymentDeduction.payment_id)).all())
    for pay in db.session.execute(select(Payment).where(only(Payment.agreement_id))
                                  .execution_options(populate_existing=True)).scalars():
        if pay.amount != _cents(line_sums.get(pay.id) or 0):
            problems.append(f"payment {pay.id}: amount {pay.amount} != its lines {_cents(line_sums.get(pay.id) or 0)}")
        if pay.deducted_amount != _cents(deduction_sums.get(pay.id) or 0):
            problems.append(f"payment {pay.id}: deducted {pay.deducted_amount} != its deductions "
                            f"{_cents(deduction_sums.get(pay.id) or 0)}")
    return problems
