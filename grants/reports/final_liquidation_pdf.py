"""The acta de liquidación final of an agreement as a PDF, in Spanish.

Plain data in, bytes out (no database, no Flask): ``grants.services.final_liquidation_acta.acta_pdf``
reads the latest revision into a ``FinalLiquidationActa``. It states the agreement and the NGO,
the figures (assigned, paid directly, advanced, liquidated, refunded, not executed), the
beneficiaries, the indicators, the findings, the verdict with its reasoning, and the three
disciplines' sign-offs with names and dates («Pendiente» while missing). Until legal, financial
and monitoring have all approved the revision every page carries «NO APROBADA»: the acta is not
proof of a liquidation before that. Every page says «Página X de N».
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
from grants.reports.agreement_pdf import MINISTRY, _NumberedCanvas, _text
from grants.reports.pdf_page import BLUE, MARGIN, RED, WIDTH, decorate, grid, pairs
from grants.workflows.final_liquidation import LiquidationState

NOT_APPROVED = "NO APROBADA"
RETURNED = "DEVUELTA"
RECORDED = "REGISTRADA SIN LAS FIRMAS DE LAS DISCIPLINAS"

_BODY = ParagraphStyle("fl-body", fontName="Helvetica", fontSize=9.5, leading=13, spaceAfter=4)
_TITLE = ParagraphStyle("fl-title", parent=_BODY, fontName="Helvetica-Bold", fontSize=14, leading=18,
                        alignment=1, spaceAfter=2)
_SUBTITLE = ParagraphStyle("fl-subtitle", parent=_BODY, alignment=1, spaceAfter=10)
_HEADING = ParagraphStyle("fl-heading", parent=_BODY, fontName="Helvetica-Bold", fontSize=10.5,
                          textColor=BLUE, spaceBefore=8, spaceAfter=4, keepWithNext=True)
_CELL = ParagraphStyle("fl-cell", fontName="Helvetica", fontSize=8.5, leading=10.5)
_HEAD = ParagraphStyle("fl-head", parent=_CELL, fontName="Helvetica-Bold")
_NUM = ParagraphStyle("fl-num", parent=_CELL, alignment=2)
_NUM_BOLD = ParagraphStyle("fl-numbold", parent=_NUM, fontName="Helvetica-Bold")
_SIGN = ParagraphStyle("fl-sign", parent=_CELL, fontSize=8.5, leading=11.5, alignment=1)
_MARK = ParagraphStyle("fl-mark", parent=_BODY, fontName="Helvetica-Bold", textColor=RED)


@dataclass(frozen=True)
class ActaSignOff:
    discipline: str            # «Jurídica», «Financiera», «Seguimiento y contraloría»
    name: str | None           # None: still to sign
    on: date | None
    decision: str | None       # «Aprobada», «Devuelta con observaciones»; None while pending
    observations: str = ""


@dataclass(frozen=True)
class ActaIndicator:
    name: str
    unit: str
    baseline: Decimal | None
    target: Decimal | None
    achieved: Decimal | None   # None: no follow-up report measured it


@dataclass(frozen=True)
class ActaRevision:
    """An earlier revision, sent back: who prepared it and who returned it, with what."""

    number: int
    prepared_by: str
    prepared_on: date
    verdict: str
    signoffs: tuple[ActaSignOff, ...]


@dataclass(frozen=True)
class FinalLiquidationActa:
    agreement_number: str
    organization_name: str
    organization_nit: str
    decree_number: str
    fiscal_year: int
    purpose: str
    start_date: date
    end_date: date
    revision: int
    status: str                # proposed, returned, approved, recorded
    status_label: str
    assigned: Decimal
    paid_directly: Decimal
    advanced: Decimal
    liquidated: Decimal
    refunded: Decimal
    unspent: Decimal
    beneficiaries_target: int
    beneficiaries_validated: int
    beneficiaries_reached: int
    indicators: tuple[ActaIndicator, ...]
    findings: dict             # {"total", "open", "justified", "confirmed", "resolved"}
    verdict: str               # its label: «Cumple», «Cumple parcialmente», «No cumple»
    reasoning: str
    prepared_by: str
    prepared_on: date
    signoffs: tuple[ActaSignOff, ...]
    earlier: tuple[ActaRevision, ...]
    decided_on: date | None    # approved (third approval), returned, or recorded
    generated_on: date

    @property
    def approved(self) -> bool:
        return self.status == LiquidationState.APPROVED

    @property
    def mark(self) -> str | None:
        """What every page says in red, or None once the three disciplines approved."""
        if self.status == LiquidationState.APPROVED:
            return None
        if self.status == LiquidationState.RECORDED:
            return RECORDED
        if self.status == LiquidationState.RETURNED:
            return f"{NOT_APPROVED} — {RETURNED}"
        return NOT_APPROVED


def _pairs(rows: list[tuple[str, str]]):
    return pairs(rows, _CELL)


def _figures(doc: FinalLiquidationActa) -> Table:
    rows = [("Monto del convenio (asignado)", doc.assigned),
            ("Pagado directamente a proveedores", doc.paid_directly),
            ("Anticipos desembolsados", doc.advanced),
            ("Liquidado con comprobantes aceptados", doc.liquidated),
            ("Reintegrado (confirmado por tesorería)", doc.refunded)]
    data = [[Paragraph("Concepto", _HEAD), Paragraph("Monto (USD)", _NUM_BOLD)]]
    data += [[Paragraph(label, _CELL), Paragraph(formats.usd(amount), _NUM)] for label, amount in rows]
    data.append([Paragraph("<b>No ejecutado</b> (monto − pagado − liquidado)", _CELL),
                 Paragraph(formats.usd(doc.unspent), _NUM_BOLD)])
    return grid(data, [0.7, 0.3], total_row=True)


def _indicators(doc: FinalLiquidationActa) -> list:
    if not doc.indicators:
        return [Paragraph("El plan no tiene indicadores.", _BODY)]
    head = [Paragraph("Indicador", _HEAD), Paragraph("Unidad", _HEAD)] + [
        Paragraph(h, _NUM_BOLD) for h in ("Línea base", "Meta", "Logrado")]
    rows = [[Paragraph(_text(i.name), _CELL), Paragraph(_text(i.unit), _CELL), Paragraph(formats.quantity(i.baseline, "sin informe"), _NUM),
             Paragraph(formats.quantity(i.target, "sin informe"), _NUM), Paragraph(formats.quantity(i.achieved, "sin informe"), _NUM)] for i in doc.indicators]
    return [grid([head, *rows], [0.44, 0.14, 0.14, 0.14, 0.14])]


def _findings(doc: FinalLiquidationActa) -> Paragraph:
    f = doc.findings
    return Paragraph(f"Total {f.get('total', 0)}: abiertos {f.get('open', 0)}, justificados {f.get('justified', 0)}, "
                     f"confirmados {f.get('confirmed', 0)}, resueltos {f.get('resolved', 0)}.", _BODY)


def _reasoning(doc: FinalLiquidationActa) -> list:
    blocks = [b for b in doc.reasoning.split("\n\n") if b.strip()] or [doc.reasoning]
    return [Paragraph(_text(b), _BODY) for b in blocks]


def _signoff_cell(s: ActaSignOff) -> Paragraph:
    name = f"<b>{_text(s.name)}</b>" if s.name else "<b>Pendiente</b>"
    when = f"Fecha: {formats.day(s.on)}" if s.on else "Fecha: pendiente"
    parts = [f"<b>{_text(s.discipline)}</b>", "<br/><br/>_________________________", name, when,
             _text(s.decision) if s.decision else "Sin decisión"]
    if s.observations:
        parts.append(f"<i>Observaciones:</i> {_text(s.observations)}")
    return Paragraph("<br/>".join(parts), _SIGN)


def _signoffs(doc: FinalLiquidationActa) -> KeepTogether:
    parts: list = [Paragraph("Aprobación de las tres disciplinas", _HEADING)]
    if doc.status == LiquidationState.RECORDED:
        parts.append(Paragraph(
            f"Liquidación final registrada por el administrador del convenio el "
            f"{formats.day(doc.decided_on or doc.prepared_on)}, antes de que se exigiera la aprobación de las "
            "disciplinas jurídica, financiera y de seguimiento: no lleva sus firmas.", _BODY))
    cells = [_signoff_cell(s) for s in doc.signoffs]
    table = Table([cells], colWidths=[WIDTH / max(len(cells), 1)] * len(cells)) if cells else None
    if table is not None:
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 8)]))
        parts.append(table)
    if doc.approved:
        parts.append(Paragraph(f"Aprobada por las tres disciplinas el {formats.day(doc.decided_on)}: el convenio "
                               "queda liquidado.", _BODY))
    elif doc.status == LiquidationState.RETURNED:
        parts.append(Paragraph(f"{NOT_APPROVED}: devuelta al administrador el "
                               f"{formats.day(doc.decided_on)}; se prepara una nueva revisión.", _MARK))
    elif doc.status == LiquidationState.PROPOSED:
        pending = sum(1 for s in doc.signoffs if s.name is None)
        parts.append(Paragraph(f"{NOT_APPROVED}: faltan {pending} de las 3 aprobaciones; el convenio sigue en "
                               "cierre.", _MARK))
    return KeepTogether(parts)


def _earlier(doc: FinalLiquidationActa) -> list:
    if not doc.earlier:
        return []
    out: list = [Paragraph("Revisiones anteriores", _HEADING)]
    for r in doc.earlier:
        returns = "; ".join(
            f"{_text(s.discipline)} ({_text(s.name or '')}, {formats.day(s.on) if s.on else ''}): "
            f"{_text(s.decision or '')}{' — ' + _text(s.observations) if s.observations else ''}"
            for s in r.signoffs) or "sin firmas"
        out.append(Paragraph(f"<b>Revisión {r.number}</b>, preparada por {_text(r.prepared_by)} el "
                             f"{formats.day(r.prepared_on)} (dictamen propuesto: {_text(r.verdict)}). {returns}.", _BODY))
    return out


def _decorate(canvas: Canvas, page: int, pages: int, doc: FinalLiquidationActa) -> None:
    decorate(canvas, page, pages,
             title=f"Acta de liquidación final · Convenio {doc.agreement_number} · revisión {doc.revision}",
             mark=doc.mark, watermark=NOT_APPROVED if doc.status != LiquidationState.RECORDED else "SIN FIRMAS", watermark_size=60,
             generated_on=doc.generated_on, status_label=doc.status_label)


def build_final_liquidation_pdf(doc: FinalLiquidationActa) -> bytes:
    out = BytesIO()
    template = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=2.4 * cm, bottomMargin=2 * cm,
        title=f"Acta de liquidación final {doc.agreement_number}", author=MINISTRY, subject=doc.organization_name,
        invariant=True)
    story = [
        Paragraph("ACTA DE LIQUIDACIÓN FINAL", _TITLE),
        Paragraph(f"Convenio N.º {_text(doc.agreement_number)} — {_text(doc.organization_name)} "
                  f"(NIT {_text(doc.organization_nit)})", _SUBTITLE),
        Paragraph("Convenio", _HEADING),
        _pairs([("Organización", _text(doc.organization_name)), ("NIT", _text(doc.organization_nit)),
                ("Asignación", f"{_text(doc.decree_number)}, ejercicio fiscal {doc.fiscal_year}"),
                ("Destino", _text(doc.purpose)),
                ("Plazo", f"del {formats.day(doc.start_date)} al {formats.day(doc.end_date)}"),
                ("Revisión", f"{doc.revision}, preparada por {_text(doc.prepared_by)} el "
                             f"{formats.day(doc.prepared_on)}"),
                ("Estado", _text(doc.status_label))]),
        Paragraph("Cifras según el libro mayor al preparar la revisión", _HEADING),
        _figures(doc),
        Paragraph("Beneficiarios", _HEADING),
        _pairs([("Meta del plan", formats.quantity(doc.beneficiaries_target)),
                ("Validados", formats.quantity(doc.beneficiaries_validated)),
                ("Alcanzados (activos algún día del plazo)", formats.quantity(doc.beneficiaries_reached))]),
        Paragraph("Indicadores", _HEADING),
        *_indicators(doc),
        Paragraph("Hallazgos de auditoría", _HEADING),
        _findings(doc),
        Paragraph("Dictamen", _HEADING),
        Paragraph(f"<b>{_text(doc.verdict)}</b>", _BODY),
        Paragraph("<b>Fundamentación</b>", _BODY),
        *_reasoning(doc),
        Spacer(1, 4),
        _signoffs(doc),
        *_earlier(doc),
    ]
    template.build(story, canvasmaker=partial(_NumberedCanvas, decorate=partial(_decorate, doc=doc)))
    return out.getvalue()
