"""The direct payment order (orden de pago directo) as a PDF, in Spanish.

Plain data in, bytes out (no database, no Flask): ``grants.services.payments.payment_order_pdf``
reads a payment into a ``PaymentOrder``. Until the transfer is recorded every page carries
«NO EJECUTADO» (and «CANCELADO» for a cancelled payment): the order is not proof of payment.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from io import BytesIO

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from grants import formats
from grants.reports.agreement_pdf import MINISTRY, _NumberedCanvas, _text, amount_in_words
from grants.reports.pdf_page import BLUE, MARGIN, WIDTH, decorate, grid, pairs
from grants.workflows.payment import PaymentState

NOT_EXECUTED = "NO EJECUTADO"
CANCELLED = "CANCELADO"

_BODY = ParagraphStyle("po-body", fontName="Helvetica", fontSize=9.5, leading=13, spaceAfter=4)
_TITLE = ParagraphStyle("po-title", parent=_BODY, fontName="Helvetica-Bold", fontSize=14, leading=18,
                        alignment=1, spaceAfter=2)
_SUBTITLE = ParagraphStyle("po-subtitle", parent=_BODY, alignment=1, spaceAfter=10)
_HEADING = ParagraphStyle("po-heading", parent=_BODY, fontName="Helvetica-Bold", fontSize=10.5,
                          textColor=BLUE, spaceBefore=8, spaceAfter=4, keepWithNext=True)
_CELL = ParagraphStyle("po-cell", fontName="Helvetica", fontSize=8.5, leading=10.5)
_HEAD = ParagraphStyle("po-head", parent=_CELL, fontName="Helvetica-Bold")
_NUM = ParagraphStyle("po-num", parent=_CELL, alignment=2)
_NUM_BOLD = ParagraphStyle("po-numbold", parent=_NUM, fontName="Helvetica-Bold")
_SIGN = ParagraphStyle("po-sign", parent=_CELL, fontSize=9, leading=12, alignment=1)


@dataclass(frozen=True)
class OrderLine:
    position: int
    budget_line: int          # the budget line's number in the plan
    description: str
    quantity: Decimal
    unit_price: Decimal
    invoiced: Decimal
    deducted: Decimal
    payable: Decimal


@dataclass(frozen=True)
class OrderDeduction:
    line_position: int
    beneficiary: str          # name, or "" for a deduction that is not about a beneficiary
    document: str             # masked identity document
    units: Decimal
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class Signature:
    role: str                 # «Preparado por», «Autorizado por» …
    name: str | None          # None: still to sign
    on: date | None
    note: str = ""


@dataclass(frozen=True)
class PaymentOrder:
    number: str
    status: str               # prepared, authorized, executed, cancelled
    status_label: str
    agreement_number: str
    organization_name: str
    organization_nit: str
    supplier_name: str
    supplier_tax_id: str
    supplier_bank: str
    supplier_account: str
    invoice_number: str
    invoice_date: date
    period_start: date
    period_end: date
    certificate: str          # the receipt certificate in one sentence
    lines: tuple[OrderLine, ...]
    deductions: tuple[OrderDeduction, ...]
    invoiced: Decimal
    deducted: Decimal
    payable: Decimal
    signatures: tuple[Signature, ...]
    bank_reference: str | None
    transfer_date: date | None
    cancel_reason: str | None
    generated_on: date

    @property
    def executed(self) -> bool:
        return self.status == PaymentState.EXECUTED


def _pairs(rows: list[tuple[str, str]]):
    return pairs(rows, _CELL, label_share=0.28)


def _lines(doc: PaymentOrder) -> Table:
    head = [Paragraph(h, _HEAD) for h in ("N.º", "Línea", "Descripción", "Cant.")] + [
        Paragraph(h, _NUM_BOLD) for h in ("P. unitario", "Facturado", "Deducido", "A pagar")]
    rows = [[Paragraph(str(x.position), _CELL), Paragraph(str(x.budget_line), _CELL),
             Paragraph(_text(x.description), _CELL), Paragraph(formats.quantity(x.quantity), _NUM),
             Paragraph(formats.usd(x.unit_price), _NUM), Paragraph(formats.usd(x.invoiced), _NUM),
             Paragraph(formats.usd(x.deducted), _NUM), Paragraph(formats.usd(x.payable), _NUM)]
            for x in doc.lines]
    total = [Paragraph("", _CELL), Paragraph("", _CELL), Paragraph("<b>Totales</b>", _CELL), Paragraph("", _CELL),
             Paragraph("", _CELL), Paragraph(formats.usd(doc.invoiced), _NUM_BOLD),
             Paragraph(formats.usd(doc.deducted), _NUM_BOLD), Paragraph(formats.usd(doc.payable), _NUM_BOLD)]
    return grid([head, *rows, total], [0.06, 0.08, 0.28, 0.08, 0.12, 0.13, 0.12, 0.13], total_row=True)


def _deductions(doc: PaymentOrder) -> list:
    if not doc.deductions:
        return [Paragraph("Sin deducciones: todas las unidades facturadas son elegibles.", _BODY)]
    head = [Paragraph(h, _HEAD) for h in ("Línea", "Beneficiario", "Documento", "Unid.")] + [
        Paragraph("Monto", _NUM_BOLD), Paragraph("Motivo", _HEAD)]
    rows = [[Paragraph(str(d.line_position), _CELL), Paragraph(_text(d.beneficiary) or "—", _CELL),
             Paragraph(_text(d.document) or "—", _CELL), Paragraph(formats.quantity(d.units), _NUM),
             Paragraph(formats.usd(d.amount), _NUM), Paragraph(_text(d.reason), _CELL)]
            for d in doc.deductions]
    total = [Paragraph("", _CELL), Paragraph("<b>Total deducido</b>", _CELL), Paragraph("", _CELL),
             Paragraph(formats.quantity(sum((d.units for d in doc.deductions), Decimal(0))), _NUM_BOLD),
             Paragraph(formats.usd(doc.deducted), _NUM_BOLD), Paragraph("", _CELL)]
    return [grid([head, *rows, total], [0.08, 0.21, 0.14, 0.08, 0.11, 0.38], total_row=True)]


def _signatures(doc: PaymentOrder) -> KeepTogether:
    cells = []
    for s in doc.signatures:
        name = f"<b>{_text(s.name)}</b>" if s.name else "<b>Pendiente</b>"
        when = f"Fecha: {formats.day(s.on)}" if s.on else "Fecha: ____________"
        parts = [f"<b>{_text(s.role)}</b>", "<br/><br/><br/>_____________________________", name, when]
        if s.note:
            parts.append(_text(s.note))
        cells.append(Paragraph("<br/>".join(parts), _SIGN))
    rows = [cells[i:i + 2] + [""] * (2 - len(cells[i:i + 2])) for i in range(0, len(cells), 2)]
    table = Table(rows, colWidths=[WIDTH / 2, WIDTH / 2])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 8)]))
    return KeepTogether([Paragraph("Autorizaciones y firmas", _HEADING), table])


def _transfer(doc: PaymentOrder) -> list:
    if doc.executed:
        return [_pairs([("Transferencia bancaria", f"Referencia {_text(doc.bank_reference or '')}"),
                        ("Fecha de transferencia", formats.day(doc.transfer_date) if doc.transfer_date else "")])]
    if doc.status == PaymentState.CANCELLED:
        return [Paragraph(f"<b>Pago cancelado.</b> Motivo: {_text(doc.cancel_reason or '')}", _BODY)]
    return [Paragraph("<b>Transferencia pendiente:</b> esta orden no acredita pago alguno mientras no registre la "
                      "referencia y la fecha de la transferencia bancaria.", _BODY)]


def _decorate(canvas: Canvas, page: int, pages: int, doc: PaymentOrder) -> None:
    mark = None
    if not doc.executed:
        mark = f"{CANCELLED} — {NOT_EXECUTED}" if doc.status == PaymentState.CANCELLED else NOT_EXECUTED
    decorate(canvas, page, pages, title=f"Orden de pago {doc.number} · Convenio {doc.agreement_number}",
             mark=mark, watermark=CANCELLED if doc.status == PaymentState.CANCELLED else NOT_EXECUTED, watermark_size=64,
             generated_on=doc.generated_on, status_label=doc.status_label)


def build_payment_order_pdf(doc: PaymentOrder) -> bytes:
    out = BytesIO()
    template = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=2.4 * cm, bottomMargin=2 * cm,
        title=f"Orden de pago directo {doc.number}", author=MINISTRY, subject=doc.supplier_name, invariant=True)
    story = [
        Paragraph(f"ORDEN DE PAGO DIRECTO {_text(doc.number)}", _TITLE),
        Paragraph(f"Convenio N.º {_text(doc.agreement_number)} — {_text(doc.organization_name)} "
                  f"(NIT {_text(doc.organization_nit)})", _SUBTITLE),
        Paragraph("Beneficiario del pago (proveedor)", _HEADING),
        _pairs([("Proveedor", _text(doc.supplier_name)), ("NIT / DUI", _text(doc.supplier_tax_id)),
                ("Banco", _text(doc.supplier_bank)), ("Cuenta", _text(doc.supplier_account))]),
        Paragraph("Factura", _HEADING),
        _pairs([("Número", _text(doc.invoice_number)), ("Fecha de emisión", formats.day(doc.invoice_date)),
                ("Período de servicio", f"del {formats.day(doc.period_start)} al {formats.day(doc.period_end)}"),
                ("Acta de recepción", _text(doc.certificate))]),
        Paragraph("Detalle", _HEADING),
        _lines(doc),
        Paragraph("Deducciones (unidades no elegibles)", _HEADING),
        *_deductions(doc),
        Spacer(1, 6),
        _pairs([("Total facturado", formats.usd(doc.invoiced)), ("Total deducido", formats.usd(doc.deducted)),
                ("Total a pagar", f"<b>{formats.usd(doc.payable)}</b>"),
                ("En letras", amount_in_words(doc.payable))]),
        Spacer(1, 4),
        *_transfer(doc),
        _signatures(doc),
    ]
    template.build(story, canvasmaker=partial(_NumberedCanvas, decorate=partial(_decorate, doc=doc)))
    return out.getvalue()
