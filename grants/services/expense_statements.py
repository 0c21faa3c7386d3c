"""Expense statements (liquidaciones de anticipo) and their receipt lines. Flush, never commit.

The NGO presents the receipts of a disbursed advance, as JSON rows or as the XLSX template the
service provides (``statement_template``). Every row is checked and the statement is stored
whole or not at all (G8); errors come back per field as ``rows.<n>.<field>``, where ``n`` is the
row the NGO sees (the spreadsheet row of an upload, the 1-based position in the API).

Automatic refusals: a date outside the advance's period (which starts with its transfer; earlier
only within the agreement's pre-financing days) or the agreement's term (or in the future); a supplier document (NIT/DUI, type, number) already presented in any statement of any
agreement and not rejected, or twice in this one; an invalid NIT/DUI; a budget line that is
unknown or has no room for this statement's rows on it; a total above the advance's outstanding
balance less the receipts still pending in its other statements (``exceeds_outstanding``).

A financial reviewer accepts or rejects each receipt (a rejection needs a reason). Accepting
moves money through the ledger (``liquidate_line``: the budget line's room) and adds to the
advance's ``liquidated_amount`` with a conditional UPDATE (never past amount − refunded; the
``within_amount`` CHECK backs it, G3). When every receipt is decided the statement is
``reviewed``; the advance closes when receipts plus refunds equal what was disbursed.

Statements and decisions account for money already given, so they are allowed while the
agreement is suspended, closing or terminated; not once the agreement is liquidated or reported.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l, lazy_ngettext
from sqlalchemy import func, select

from grants import formats
from grants import clock
from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.labels import ADVANCE_STATE_LABELS, AGREEMENT_STATE_LABELS, RECEIPT_STATE_LABELS
from grants.models import Advance, Agreement, BudgetLineBalance, ExpenseStatement, Receipt
from grants.models.base import utcnow
from grants.permissions import Permission, Role
from grants.reports.statement_template import TemplateInfo, build_statement_template
from grants.services import attachments, files, ledger
from grants.services.advance_common import (
    add_to_advance,
    exceeds_outstanding,
    load_advance,
    maybe_close,
    movement,
    ministry_reviewer,
    own_organization,
    pending_receipts,
)
from grants.domain_errors import Conflict, FieldErrors, NotFound, ValidationFailed
from grants.services.notifications import notify, users_of_organization, users_with_role
from grants.validation import receipts as rows_
from grants.validation.tabular import UnreadableFile, open_table
from grants.workflows.advance import STATEMENT_LIFECYCLE, AdvanceState, ReceiptState, StatementAction, StatementState
from grants.workflows.agreement import AgreementState

MAX_ROWS = 1000
FOLDER = "expense-statements"
CLOSED_AGREEMENT_STATES = (AgreementState.LIQUIDATED, AgreementState.REPORTED, AgreementState.DRAFT,
                           AgreementState.SIGNED)
TEMPLATE_DOCUMENT_TYPES = ["Factura", "Comprobante de crédito fiscal", "Ticket", "Recibo", "Planilla", "Otro"]


def _accounting_open(agreement: Agreement) -> None:
    if agreement.status in CLOSED_AGREEMENT_STATES:
        raise Conflict(_l("El convenio está «%(state)s»: ya no recibe liquidaciones ni decisiones sobre ellas.",
                          state=AGREEMENT_STATE_LABELS.get(agreement.status, agreement.status)),
                       code="agreement_closed")


def _disbursed(advance: Advance) -> None:
    if advance.status == AdvanceState.LIQUIDATED:
        raise Conflict(_l("El anticipo ya está liquidado: no queda saldo por liquidar."), code="advance_liquidated")
    if advance.status != AdvanceState.DISBURSED:
        raise Conflict(_l("El anticipo está «%(state)s»: solo se liquida un anticipo desembolsado.",
                          state=ADVANCE_STATE_LABELS[advance.status]), code="advance_not_disbursed")


def statement_view(statement: ExpenseStatement) -> dict:
    data = snapshot(statement)
    data["receipts"] = [snapshot(r) for r in statement.receipts]
    return data


# --- the template -------------------------------------------------------------------------------

def statement_template(advance: Advance) -> bytes:
    """The XLSX the NGO fills: header row, drop-down lists, and an instructions sheet."""
    agreement = advance.agreement
    lines = ledger.balances(agreement).lines
    info = TemplateInfo(
        agreement_number=agreement.number, organization=agreement.organization.legal_name,
        tranche_number=advance.tranche_number, advance_amount=advance.amount,
        period_start=advance.period_start, period_end=advance.period_end, liquidation_due=advance.liquidation_due,
        outstanding=advance.outstanding, headers=[rows_.HEADER_LABELS[f] for f in rows_.FIELDS],
        document_types=TEMPLATE_DOCUMENT_TYPES,
        budget_lines=[(line.number, line.category, line.available) for line in lines],
        texts={k: str(v) for k, v in {
            "data_sheet": _l("Comprobantes"), "lists_sheet": _l("Listas"), "instructions_sheet": _l("Instrucciones"),
            "title": _l("Liquidación de anticipo"), "agreement": _l("Convenio"), "organization": _l("Organización"),
            "tranche": _l("Desembolso (tramo)"), "amount": _l("Monto del anticipo"),
            "period": _l("Período de los comprobantes"), "due": _l("Fecha límite de liquidación"),
            "outstanding": _l("Saldo pendiente de liquidar"),
            "how": _l("Una fila por comprobante en la hoja «Comprobantes»; no cambie los encabezados. Fechas "
                      "DD/MM/AAAA dentro del período; NIT (14 dígitos) o DUI del proveedor; montos con dos decimales."),
            "types": _l("Tipos de documento"), "lines": _l("Línea presupuestaria"), "category": _l("Categoría"),
            "available": _l("Disponible"),
        }.items()})
    return build_statement_template(info)


# --- submission -------------------------------------------------------------------------------------

def _line_balances(agreement_id: int) -> dict[int, BudgetLineBalance]:
    rows = db.session.scalars(select(BudgetLineBalance).where(BudgetLineBalance.agreement_id == agreement_id)
                              .execution_options(populate_existing=True)).all()
    return {row.number: row for row in rows}


def _used_documents(keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], Receipt]:
    if not keys:
        return {}
    tax_ids = sorted({k[0] for k in keys})
    found = db.session.scalars(select(Receipt).where(Receipt.supplier_tax_id.in_(tax_ids),
                                                     Receipt.status != ReceiptState.REJECTED)).all()
    return {(r.supplier_tax_id, r.document_type, r.document_number): r for r in found
            if (r.supplier_tax_id, r.document_type, r.document_number) in keys}


def _check_rows(advance: Advance, agreement: Agreement, numbered: list[tuple[int, dict]],
                errors: FieldErrors) -> list[rows_.ReceiptRow]:
    cleaned = [rows_.clean_row(raw, number) for number, raw in numbered]
    lines = _line_balances(agreement.id)
    today = clock.today()
    earliest = advance.period_start - timedelta(days=agreement.prefinancing_days or 0)
    seen: dict[tuple, int] = {}
    for row in cleaned:
        if row.issue_date is not None:
            day = formats.day(row.issue_date)
            if not agreement.start_date <= row.issue_date <= agreement.end_date:
                row.error("issue_date", _l("La fecha %(day)s está fuera del plazo del convenio (%(start)s a %(end)s).",
                                           day=day, start=formats.day(agreement.start_date),
                                           end=formats.day(agreement.end_date)))
            elif row.issue_date < earliest:
                if agreement.prefinancing_days:
                    row.error("issue_date", _l(
                        "La fecha %(day)s es anterior al desembolso del anticipo (%(disbursed)s) en más de los "
                        "%(n)s días de prefinanciamiento que permite el convenio.", day=day,
                        disbursed=formats.day(advance.period_start), n=agreement.prefinancing_days))
                else:
                    row.error("issue_date", _l(
                        "La fecha %(day)s es anterior al período del anticipo, que empieza con su desembolso "
                        "(%(start)s): el convenio no permite prefinanciar gastos.", day=day,
                        start=formats.day(advance.period_start)))
            elif row.issue_date > advance.period_end:
                row.error("issue_date", _l("La fecha %(day)s está fuera del período del anticipo (%(start)s a "
                                           "%(end)s).", day=day, start=formats.day(advance.period_start),
                                           end=formats.day(advance.period_end)))
            elif row.issue_date > today:
                row.error("issue_date", _l("La fecha %(day)s es futura.", day=day))
        if row.budget_line is not None and row.budget_line not in lines:
            row.error("budget_line", _l("El convenio no tiene la línea presupuestaria %(n)s.", n=row.budget_line))
        key = rows_.document_key(row)
        if key is not None:
            if key in seen:
                row.error("document_number", _l("El mismo documento del proveedor ya aparece en la fila %(row)s.",
                                                 row=seen[key]))
            else:
                seen[key] = row.number
    used = _used_documents(set(seen))
    for row in cleaned:
        key = rows_.document_key(row)
        previous = used.get(key) if key is not None and seen.get(key) == row.number else None
        if previous is None:
            continue
        if previous.agreement_id == agreement.id:
            message = _l("Este documento del proveedor ya se presentó en la liquidación %(n)s de un anticipo de este "
                         "convenio.", n=previous.statement.number)
        else:
            message = _l("Este documento del proveedor ya se presentó en la liquidación de otro convenio.")
        row.error("document_number", message)
    # Budget-line room: this statement's rows on each line together.
    by_line: dict[int, list[rows_.ReceiptRow]] = defaultdict(list)
    for row in cleaned:
        if row.budget_line in lines and row.amount is not None:
            by_line[row.budget_line].append(row)
    for number, members in by_line.items():
        total = sum((r.amount for r in members), Decimal("0.00"))
        available = lines[number].available
        if total > available:
            for row in members:
                row.error("budget_line", _l("La línea presupuestaria %(n)s no tiene saldo suficiente: disponible "
                                            "$%(available)s, los comprobantes de esta liquidación en ella suman "
                                            "$%(total)s.", n=number, available=formats.grouped(available),
                                            total=formats.grouped(total)))
    for row in cleaned:
        for field, messages in row.errors.items():
            for message in messages:
                errors.add(f"rows.{row.number}.{field}", message)
    return cleaned


def _submit(actor: Actor, advance_id: int, numbered: list[tuple[int, dict]], *, filename: str | None,
            sha256: str | None) -> ExpenseStatement:
    advance = load_advance(advance_id)
    own_organization(actor, advance.organization_id, Permission.STATEMENTS_SUBMIT,
                     _l("Solo la organización del convenio presenta sus liquidaciones."))
    agreement = advance.agreement
    _accounting_open(agreement)
    _disbursed(advance)
    if not numbered:
        raise ValidationFailed(errors={"rows": [_l("La liquidación no tiene comprobantes.")]}, code="empty_statement")
    if len(numbered) > MAX_ROWS:
        raise ValidationFailed(errors={"rows": [_l("Máximo %(n)s comprobantes por liquidación.", n=MAX_ROWS)]})
    errors = FieldErrors()
    cleaned = _check_rows(advance, agreement, numbered, errors)
    errors.raise_if_any()
    total = sum((r.amount for r in cleaned), Decimal("0.00"))
    pending = pending_receipts(advance.id)
    room = advance.outstanding - pending
    if total > room:
        raise ValidationFailed(_l(
            "Los comprobantes suman $%(total)s y el saldo pendiente del anticipo es $%(outstanding)s, con "
            "$%(pending)s aún en revisión en otras liquidaciones: se pueden presentar hasta $%(room)s.",
            total=formats.grouped(total), outstanding=formats.grouped(advance.outstanding), pending=formats.grouped(pending),
            room=formats.grouped(max(room, Decimal("0.00")))), code="exceeds_outstanding",
            errors={"rows": [_l("Los comprobantes suman más que el saldo pendiente del anticipo ($%(room)s).",
                                room=formats.grouped(max(room, Decimal("0.00"))))]})
    lines = _line_balances(agreement.id)
    number = (db.session.scalar(select(func.max(ExpenseStatement.number))
                                .where(ExpenseStatement.advance_id == advance.id)) or 0) + 1
    statement = ExpenseStatement(advance_id=advance.id, number=number, status=StatementState.SUBMITTED, total=total,
                                 source_filename=filename, file_sha256=sha256, submitted_by_id=actor.user_id)
    statement.receipts = [Receipt(
        agreement_id=agreement.id, position=position, document_type=r.document_type,
        document_number=r.document_number, issue_date=r.issue_date, supplier_tax_id=r.supplier_tax_id,
        supplier_name=r.supplier_name, description=r.description, budget_line_id=lines[r.budget_line].budget_line_id,
        amount=r.amount, status=ReceiptState.PENDING) for position, r in enumerate(cleaned, start=1)]
    db.session.add(statement)
    db.session.flush()
    record_event(db.session, actor, "expense_statement.submitted", "advance", advance.id,
                 after=statement_view(statement), organization_id=advance.organization_id)
    notify(users_with_role(Role.FINANCIAL_REVIEWER), "expense_statement.submitted",
           _l("Liquidación por revisar: convenio %(number)s, desembolso %(n)s", number=agreement.number,
              n=advance.tranche_number),
           lazy_ngettext("%(org)s presentó %(num)s comprobante por $%(total)s.",
                         "%(org)s presentó %(num)s comprobantes por $%(total)s.", len(cleaned),
                         org=agreement.organization.legal_name, total=formats.grouped(total)), link=f"/expense-statements/{statement.id}")
    return statement


def _store(data: bytes | None, filename: str | None) -> str | None:
    if not data:
        return None
    suffix = Path(filename or "").suffix.lower() or ".bin"
    return files.store(data, FOLDER, suffix if suffix in (".xlsx", ".csv") else ".bin").sha256


def submit_statement(actor: Actor, advance_id: int, rows: list[dict], *, filename: str | None = None,
                     data: bytes | None = None) -> ExpenseStatement:
    """The NGO presents receipt rows (API: numbered 1, 2, … in ``rows.<n>.<field>`` errors)."""
    if not isinstance(rows, (list, tuple)):
        raise ValidationFailed(errors={"rows": [_l("Envíe una lista de comprobantes.")]})
    numbered = list(enumerate(rows, start=1))
    name = Path(filename).name[:200] if filename else None
    return _submit(actor, advance_id, numbered, filename=name, sha256=_store(data, filename))


def import_statement(actor: Actor, advance_id: int, data: bytes, filename: str) -> ExpenseStatement:
    """The NGO uploads the filled template (XLSX; CSV also read, judged by content like every upload);
    errors name spreadsheet rows."""
    advance = load_advance(advance_id, lock=False)
    own_organization(actor, advance.organization_id, Permission.STATEMENTS_SUBMIT,
                     _l("Solo la organización del convenio presenta sus liquidaciones."))
    found = attachments.check_file(data, attachments.TABLES, int(current_app.config["EXPENSE_STATEMENT_MAX_BYTES"]))
    suffix = found.suffix
    filename = attachments.clean_filename(filename, suffix, "liquidacion")
    stored = files.store(data, FOLDER, suffix)
    try:
        table = open_table(stored.path, filename)
        mapping, missing = rows_.map_headers(table.headers)
        if missing:
            raise ValidationFailed(errors={"file": [_l("Faltan columnas de la plantilla: %(columns)s.",
                                                       columns=", ".join(missing))]}, code="missing_columns")
        numbered = []
        for number, cells in table.rows:
            numbered.append((number, rows_.cells_to_raw(cells, mapping)))
            if len(numbered) > MAX_ROWS:
                break
    except UnreadableFile as exc:
        raise ValidationFailed(errors={"file": [exc.message]}, code="unreadable_file") from None
    return _submit(actor, advance_id, numbered, filename=filename, sha256=stored.sha256)


# --- review -------------------------------------------------------------------------------------

def _load_receipt(receipt_id: int) -> tuple[Receipt, Advance]:
    receipt = db.session.get(Receipt, receipt_id) if receipt_id else None
    if receipt is None:
        raise NotFound()
    advance = load_advance(receipt.statement.advance_id)  # lock order: advance, then its receipts
    receipt = db.session.get(Receipt, receipt_id, with_for_update=True, populate_existing=True)
    return receipt, advance


def decide_receipt(actor: Actor, receipt_id: int, accept: bool, reason: str | None = None) -> Receipt:
    """A financial reviewer accepts a pending receipt (it liquidates part of the advance) or rejects
    it with a reason."""
    peek = db.session.get(Receipt, receipt_id) if receipt_id else None
    if peek is None:
        raise NotFound()
    ministry_reviewer(actor, peek.statement.advance.organization_id, Permission.STATEMENTS_REVIEW,
                      _l("Solo la revisión financiera acepta o rechaza comprobantes."))
    reason = (reason or "").strip() or None
    if not accept and not reason:
        raise ValidationFailed(errors={"reason": [_l("El rechazo necesita un motivo.")]})
    if reason and len(reason) > 5000:
        raise ValidationFailed(errors={"reason": [_l("Máximo %(n)s caracteres.", n=5000)]})
    receipt, advance = _load_receipt(receipt_id)
    _accounting_open(advance.agreement)
    if receipt.status != ReceiptState.PENDING:
        raise Conflict(_l("El comprobante ya está «%(state)s».", state=RECEIPT_STATE_LABELS[receipt.status]),
                       code="invalid_transition")
    before = snapshot(receipt)
    if accept:
        _disbursed(advance)
        with movement(advance):
            if not add_to_advance(advance, liquidated=receipt.amount):
                raise exceeds_outstanding(advance, receipt.amount)
            ledger.liquidate_line(advance.agreement_id, receipt.budget_line_id, receipt.amount)
    receipt.status = ReceiptState.ACCEPTED if accept else ReceiptState.REJECTED
    receipt.decision_reason = reason
    receipt.decided_by_id = actor.user_id
    receipt.decided_at = utcnow()
    db.session.flush()
    statement = receipt.statement
    db.session.refresh(statement)
    closed = all(r.status != ReceiptState.PENDING for r in statement.receipts)
    if closed:
        statement.status = STATEMENT_LIFECYCLE.next_state(statement.status, StatementAction.REVIEW)
        statement.reviewed_at = utcnow()
        db.session.flush()
    record_event(db.session, actor, "receipt.accepted" if accept else "receipt.rejected", "advance", advance.id,
                 before={"receipt": before},
                 after={"receipt": snapshot(receipt), "statement_status": statement.status,
                        "liquidated_amount": advance.liquidated_amount, "outstanding": advance.outstanding},
                 organization_id=advance.organization_id)
    maybe_close(actor, advance)
    if closed:
        accepted = sum((r.amount for r in statement.receipts if r.status == ReceiptState.ACCEPTED), Decimal("0.00"))
        notify(users_of_organization(advance.organization_id), "expense_statement.reviewed",
               _l("Liquidación %(n)s revisada (desembolso %(tranche)s)", n=statement.number,
                  tranche=advance.tranche_number),
               _l("Aceptado: $%(accepted)s de $%(total)s. Saldo pendiente del anticipo: $%(outstanding)s.",
                  accepted=formats.grouped(accepted), total=formats.grouped(statement.total), outstanding=formats.grouped(advance.outstanding)),
               link=f"/expense-statements/{statement.id}")
    return receipt


def attach_receipt_scan(actor: Actor, receipt_id: int, data: bytes, filename: str | None = None) -> Receipt:
    """The NGO attaches the scan of a pending receipt (PDF, JPEG or PNG by content): an attachment
    the financial reviewer sees beside the receipt before deciding it."""
    receipt = db.session.get(Receipt, receipt_id) if receipt_id else None
    if receipt is None:
        raise NotFound()
    advance = receipt.statement.advance
    own_organization(actor, advance.organization_id, Permission.STATEMENTS_SUBMIT,
                     _l("Solo la organización del convenio adjunta sus comprobantes."))
    attachments.check_file(data, attachments.KINDS["receipt_scan"].types, attachments.kind_limit("receipt_scan"))
    receipt, advance = _load_receipt(receipt_id)
    if receipt.status != ReceiptState.PENDING:
        raise Conflict(_l("El comprobante ya está «%(state)s»: su escaneo no cambia.",
                          state=RECEIPT_STATE_LABELS[receipt.status]), code="invalid_transition")
    attachments.attach(actor, receipt, "receipt_scan", filename or f"comprobante-{receipt.document_number}", data,
                       organization_id=advance.organization_id)
    return receipt


def scans_of(receipt: Receipt) -> list:
    return attachments.attachments_of(receipt, "receipt_scan")
