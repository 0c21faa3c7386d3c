"""Which units of an invoice are payable (the eligibility of a direct payment). A pure read.

**Eligibility rule.** A unit of a per-beneficiary line is payable only if its enrollment was
``active`` on *every* day of the invoice's service period ``[period_start, period_end]`` (both
included), read from the enrollment's status periods ``[valid_from, valid_to)``. Every other unit
is deducted at the line's unit price, with a stable code and a Spanish reason:

* ``beneficiary_not_active`` — not active on any day of the period (the reason names the state and
  since when, e.g. «Inscripción «Validada» desde el 10/02/2026 …»);
* ``beneficiary_partly_active`` — active only part of it (e.g. «Inscripción «Inactiva» desde el
  10/03/2026 …», or «activa recién desde el 05/03/2026 …»).

Only days that are over count (G10): the days of the period up to the receipt certificate's date
(and never after today). A certificate is never dated before the end of the period, so for every
invoice certified since that rule the whole period is over; an older certificate dated inside the
period leaves days that had not happened, and every unit of a per-beneficiary line is then deducted
(``days_not_over``) — the service is paid when it has been delivered and certified.

Lines that are not per beneficiary are payable whole. A receipt certificate *with differences*
is not guessed at: such an invoice is not paid (``receipt_with_differences``); the NGO voids it
and registers a corrected one.

**Re-checked.** The list may change after the certificate (a person inactivated from a past day):
eligibility is computed at preparation and again at each authorization; ``changes_since`` says what
differs from what the payment was prepared with, person by person.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from grants import formats
from grants.clock import today
from grants.extensions import db
from grants.labels import ENROLLMENT_STATE_LABELS
from grants.models import Enrollment, EnrollmentPeriod, Invoice, InvoiceLine
from grants.workflows.enrollment import EnrollmentState
from grants.money import ZERO



@dataclass(frozen=True)
class Deduction:
    invoice_line: InvoiceLine
    enrollment: Enrollment | None
    units: Decimal
    amount: Decimal
    reason_code: str
    reason: str


@dataclass(frozen=True)
class LineEligibility:
    invoice_line: InvoiceLine
    invoiced: Decimal
    deducted: Decimal
    payable: Decimal

    @property
    def budget_line_id(self) -> int:
        return self.invoice_line.budget_line_id


@dataclass(frozen=True)
class Eligibility:
    invoiced: Decimal
    deducted: Decimal
    payable: Decimal
    lines: tuple[LineEligibility, ...]
    deductions: tuple[Deduction, ...]


def _covering(periods, day: date):
    found = [p for p in periods if p.valid_from <= day and (p.valid_to is None or p.valid_to > day)]
    return found[-1] if found else None


def _not_active_reason(periods, start: date, end: date, enrolled_on: date) -> tuple[str, str] | None:
    """None when active on every day of [start, end]; else (code, Spanish reason)."""
    active = [p for p in periods if p.status == EnrollmentState.ACTIVE and p.valid_to != p.valid_from]
    day = start
    while day <= end:
        period = _covering(active, day)
        if period is None:
            break
        if period.valid_to is None:
            return None
        day = period.valid_to
    if day > end:
        return None
    span = _l("del %(start)s al %(end)s", start=formats.day(start), end=formats.day(end))
    overlapping = [p for p in active if p.valid_from <= end and (p.valid_to is None or p.valid_to > start)]
    if overlapping and day == start:
        return "beneficiary_partly_active", _l(
            "Inscripción activa recién desde el %(day)s: no estuvo activa todo el período facturado (%(span)s).",
            day=formats.day(max(start, min(p.valid_from for p in overlapping))), span=span)
    state = _covering(periods, day) or next((p for p in periods if p.valid_from > day), None)
    if state is None:
        what = _l("Inscripción registrada el %(day)s", day=formats.day(enrolled_on))
    else:
        what = _l("Inscripción «%(state)s» desde el %(day)s", state=ENROLLMENT_STATE_LABELS[state.status],
                  day=formats.day(max(state.valid_from, start) if overlapping else state.valid_from))
    if overlapping:
        return "beneficiary_partly_active", _l("%(what)s: no estuvo activa todo el período facturado (%(span)s).",
                                               what=what, span=span)
    return "beneficiary_not_active", _l("%(what)s: no estuvo activa en el período facturado (%(span)s).",
                                        what=what, span=span)


def last_day_over(invoice: Invoice) -> date:
    """The last day of the service period that counts: the period's end, unless the certificate (or
    today) comes before it."""
    last = min(invoice.period_end, today())
    if invoice.certificate is not None:
        last = min(last, invoice.certificate.received_on)
    return last


def eligibility(invoice: Invoice) -> Eligibility:
    """What of the invoice is payable: units of beneficiaries not active the whole service period
    are deducted, each with its reason (Spanish); so is every unit of a period not over when it was
    certified. A pure read."""
    return eligibilities([invoice])[invoice.id]


def _served_ids(invoice: Invoice) -> set[int]:
    return {b.enrollment_id for line in invoice.lines if line.per_beneficiary for b in line.beneficiaries}


def eligibilities(invoices) -> dict[int, Eligibility]:
    """``eligibility`` of several invoices (a page of payments) in two queries for all of them."""
    ids = set().union(*(_served_ids(invoice) for invoice in invoices))
    periods: dict[int, list] = defaultdict(list)
    enrollments = []  # held while the invoices are read: the identity map keeps only what is referenced
    if ids:
        enrollments = db.session.scalars(select(Enrollment).where(Enrollment.id.in_(ids))).all()  # one query
        for p in db.session.scalars(select(EnrollmentPeriod).where(EnrollmentPeriod.enrollment_id.in_(ids))
                                    .order_by(EnrollmentPeriod.valid_from, EnrollmentPeriod.id)):
            periods[p.enrollment_id].append(p)
    result = {invoice.id: _eligibility(invoice, periods) for invoice in invoices}
    del enrollments
    return result


def _eligibility(invoice: Invoice, periods: dict[int, list]) -> Eligibility:
    last = last_day_over(invoice)
    lines, deductions = [], []
    with force_locale("es"):  # reasons are stored and printed in Spanish
        for line in invoice.lines:
            deducted = ZERO
            if line.per_beneficiary:
                for served in sorted(line.beneficiaries, key=lambda b: b.enrollment_id):
                    if last < invoice.period_end:
                        refusal = ("days_not_over", _l(
                            "El período facturado termina el %(end)s y el servicio se certificó el %(day)s: no se "
                            "pagan días que no habían transcurrido.", end=formats.day(invoice.period_end),
                            day=formats.day(last)))
                    else:
                        refusal = _not_active_reason(periods[served.enrollment_id], invoice.period_start,
                                                     invoice.period_end, served.enrollment.enrolled_on)
                    if refusal is not None:
                        deductions.append(Deduction(line, served.enrollment, Decimal("1.00"), line.unit_price,
                                                    refusal[0], str(refusal[1])))
                        deducted += line.unit_price
            lines.append(LineEligibility(line, line.amount, deducted, line.amount - deducted))
    invoiced = sum((x.invoiced for x in lines), ZERO)
    deducted = sum((x.deducted for x in lines), ZERO)
    return Eligibility(invoiced, deducted, invoiced - deducted, tuple(lines), tuple(deductions))


@dataclass(frozen=True)
class EligibilityChange:
    """One person (or line) whose payable units differ from what the payment was prepared with."""

    invoice_line_id: int
    enrollment_id: int | None
    before: str | None   # the deduction's reason when prepared; None = was payable
    after: str | None    # the deduction's reason now; None = payable now
    amount: Decimal      # the unit's amount

    @property
    def message(self) -> str:
        who = _person(self.enrollment_id)
        if self.before is None:
            return str(_l("%(who)s: era pagable; ahora se deduce $%(amount)s. %(reason)s", who=who,
                          amount=formats.grouped(self.amount), reason=self.after))
        if self.after is None:
            return str(_l("%(who)s: estaba deducida; ahora es pagable ($%(amount)s).", who=who,
                          amount=formats.grouped(self.amount)))
        return str(_l("%(who)s: el motivo de la deducción cambió. Antes: %(before)s Ahora: %(after)s", who=who,
                      before=self.before, after=self.after))


def _person(enrollment_id: int | None) -> str:
    from grants.services.enrollments import mask_document

    enrollment = db.session.get(Enrollment, enrollment_id) if enrollment_id else None
    if enrollment is None:
        return str(_l("Línea sin beneficiarios"))
    person = enrollment.beneficiary
    return f"{person.full_name} ({mask_document(person.document_number)})"


def changes_since(payment, now: Eligibility | None = None) -> list[EligibilityChange]:
    """What differs between the payment's deductions (as prepared) and the invoice's eligibility now."""
    now = now or eligibility(payment.invoice)
    then = {(d.invoice_line_id, d.enrollment_id): (d.reason_code, d.reason, d.amount) for d in payment.deductions}
    current = {(d.invoice_line.id, d.enrollment.id if d.enrollment else None): (d.reason_code, d.reason, d.amount)
               for d in now.deductions}
    changes = []
    with force_locale("es"):
        for key in sorted(then.keys() | current.keys(), key=lambda k: (k[0], k[1] or 0)):
            before, after = then.get(key), current.get(key)
            if before is not None and after is not None and before[0] == after[0]:
                continue
            amount = (after or before)[2]
            changes.append(EligibilityChange(key[0], key[1], before[1] if before else None,
                                             after[1] if after else None, amount))
    return changes


def active_throughout(agreement_id: int, start: date, end: date):
    """The rule above as one query: the agreement's enrollments whose units of a service period
    ``[start, end]`` are payable, i.e. with an ``active`` status period covering every day of it
    (an enrollment never goes from active to active; only a status undone on the same day splits
    an active span, and such a person is not offered). The invoice form offers only these people."""
    return (select(Enrollment).join(EnrollmentPeriod, EnrollmentPeriod.enrollment_id == Enrollment.id)
            .where(Enrollment.agreement_id == agreement_id, EnrollmentPeriod.status == EnrollmentState.ACTIVE,
                   EnrollmentPeriod.valid_from <= start,
                   or_(EnrollmentPeriod.valid_to.is_(None), EnrollmentPeriod.valid_to > end)))
