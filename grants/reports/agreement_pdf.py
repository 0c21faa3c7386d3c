"""The cooperation agreement (convenio de cooperación) as a PDF, in Spanish.

Plain data in, bytes out: no database and no Flask, so the web page, the API and the tests all
render the same document from an ``AgreementDocument``. Only the built-in Helvetica is used;
reportlab writes it with WinAnsi encoding, which covers á é í ó ú ñ ü ¿ ¡ º « » and the dash.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from grants import formats
from grants.money import CENT

MINISTRY = "Ministerio de Justicia y Seguridad Pública"
DRAFT_MARK = "BORRADOR — sin validez"
MARGIN = 2.5 * cm
WIDTH = A4[0] - 2 * MARGIN - 12  # the frame's usable width (it pads 6 pt on each side)


@dataclass(frozen=True)
class BudgetLineRow:
    number: int
    category: str
    description: str
    amount: Decimal


@dataclass(frozen=True)
class TrancheRow:
    number: int
    planned_date: date
    amount: Decimal
    budget_lines: tuple[int, ...]  # numbers of the budget lines it funds


@dataclass(frozen=True)
class Signatory:
    name: str
    title: str
    institution: str


@dataclass(frozen=True)
class AgreementDocument:
    number: str
    status_label: str
    fiscal_year: int
    decree_number: str
    budget_line_code: str
    organization_name: str
    organization_nit: str
    organization_address: str
    legal_representative: str
    legal_representative_dui: str
    object: str
    ministry_obligations: str
    ngo_obligations: str
    control_mechanisms: str
    liquidation_terms: str
    liquidation_threshold: Decimal
    amount: Decimal
    start_date: date
    end_date: date
    budget_lines: tuple[BudgetLineRow, ...]
    tranches: tuple[TrancheRow, ...]
    ministry_signatory: Signatory | None
    ngo_signatory: Signatory | None
    administrator_name: str | None
    signed_on: date | None
    generated_on: date

    @property
    def is_draft(self) -> bool:
        # Only a draft is unsigned; a "Borrador" label keeps the mark even with a stray date.
        return self.signed_on is None or self.status_label.strip().lower() == "borrador"


# --- Spanish words and formats -----------------------------------------------------------

_UNITS = ("CERO UNO DOS TRES CUATRO CINCO SEIS SIETE OCHO NUEVE DIEZ ONCE DOCE TRECE CATORCE "
          "QUINCE DIECISÉIS DIECISIETE DIECIOCHO DIECINUEVE VEINTE VEINTIUNO VEINTIDÓS VEINTITRÉS "
          "VEINTICUATRO VEINTICINCO VEINTISÉIS VEINTISIETE VEINTIOCHO VEINTINUEVE").split()
_TENS = {3: "TREINTA", 4: "CUARENTA", 5: "CINCUENTA", 6: "SESENTA", 7: "SETENTA", 8: "OCHENTA",
         9: "NOVENTA"}
_HUNDREDS = ("", "CIENTO", "DOSCIENTOS", "TRESCIENTOS", "CUATROCIENTOS", "QUINIENTOS",
             "SEISCIENTOS", "SETECIENTOS", "OCHOCIENTOS", "NOVECIENTOS")
_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre")


def _below_hundred(n: int, apocope: bool) -> str:
    if n < 30:
        if apocope and n in (1, 21):  # before a noun: «un dólar», «veintiún mil»
            return "UN" if n == 1 else "VEINTIÚN"
        return _UNITS[n]
    tens, unit = divmod(n, 10)
    if not unit:
        return _TENS[tens]
    return f"{_TENS[tens]} Y {'UN' if apocope and unit == 1 else _UNITS[unit]}"


def _below_thousand(n: int, apocope: bool) -> str:
    if n == 100:
        return "CIEN"
    hundreds, rest = divmod(n, 100)
    parts = [_HUNDREDS[hundreds]] if hundreds else []
    if rest:
        parts.append(_below_hundred(rest, apocope))
    return " ".join(parts)


def integer_to_words(n: int, apocope: bool = False) -> str:
    """0 … 999 999 999 in Spanish capitals; ``apocope`` when a noun follows (UN, VEINTIÚN)."""
    if not 0 <= n <= 999_999_999:
        raise ValueError(f"fuera de rango: {n}")
    if n == 0:
        return "CERO"
    millions, rest = divmod(n, 1_000_000)
    thousands, units = divmod(rest, 1000)
    parts = []
    if millions:
        parts.append("UN MILLÓN" if millions == 1 else f"{_below_thousand(millions, True)} MILLONES")
    if thousands:
        parts.append("MIL" if thousands == 1 else f"{_below_thousand(thousands, True)} MIL")
    if units:
        parts.append(_below_thousand(units, apocope))
    return " ".join(parts)


def amount_in_words(amount: Decimal) -> str:
    """``Decimal("185000")`` → ``CIENTO OCHENTA Y CINCO MIL 00/100 DÓLARES DE LOS ESTADOS UNIDOS DE AMÉRICA``."""
    value = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    if not Decimal(0) <= value < Decimal(1_000_000_000):
        raise ValueError(f"monto fuera de rango: {amount}")
    dollars = int(value)
    cents = int((value - dollars) * 100)
    currency = "DÓLAR" if value == 1 else "DÓLARES"
    return f"{integer_to_words(dollars, apocope=True)} {cents:02d}/100 {currency} DE LOS ESTADOS UNIDOS DE AMÉRICA"


def long_date(d: date) -> str:
    return f"{d.day} de {_MONTHS[d.month - 1]} de {d.year}"


# --- Styles and small flowable helpers ---------------------------------------------------

_BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=10, leading=14, alignment=TA_JUSTIFY,
                       spaceAfter=6)
_ITEM = ParagraphStyle("item", parent=_BODY, leftIndent=18, firstLineIndent=-14, spaceAfter=3)
_CLAUSE = ParagraphStyle("clause", parent=_BODY, fontName="Helvetica-Bold", spaceBefore=8,
                         spaceAfter=4, keepWithNext=True)
_TITLE = ParagraphStyle("title", parent=_BODY, fontName="Helvetica-Bold", fontSize=14, leading=18,
                        alignment=TA_CENTER, spaceAfter=4)
_SUBTITLE = ParagraphStyle("subtitle", parent=_BODY, alignment=TA_CENTER, spaceAfter=14)
_CELL = ParagraphStyle("cell", fontName="Helvetica", fontSize=9, leading=11)
_CELL_HEAD = ParagraphStyle("cellhead", parent=_CELL, fontName="Helvetica-Bold")
_CELL_NUM = ParagraphStyle("cellnum", parent=_CELL, alignment=TA_RIGHT)
_CELL_TOTAL = ParagraphStyle("celltotal", parent=_CELL_NUM, fontName="Helvetica-Bold")
_SIGN = ParagraphStyle("sign", parent=_CELL, fontSize=10, leading=13, alignment=TA_CENTER)
_BLOCK_COLOR = colors.HexColor("#1F3864")


def _text(value: str) -> str:
    """User text → reportlab mini-markup: escaped, single line breaks kept."""
    return escape(value.strip()).replace("\n", "<br/>")


def _paragraphs(value: str) -> list[Paragraph]:
    return [Paragraph(_text(block), _BODY) for block in re.split(r"\n\s*\n", value) if block.strip()]


def _items(value: str) -> list[Paragraph]:
    """One obligation per line → a), b), c)… (numbers past z)."""
    lines = [re.sub(r"^\s*(?:[-*•]|[a-z]\)|\d+[.)])\s*", "", line) for line in value.splitlines()]
    lines = [line for line in lines if line.strip()]
    marker = (lambda i: f"{chr(ord('a') + i)})") if len(lines) <= 26 else (lambda i: f"{i + 1}.")
    return [Paragraph(f"{marker(i)}&nbsp;&nbsp;{_text(line)}", _ITEM) for i, line in enumerate(lines)]


def _clause(heading: str, *body) -> list:
    flowables = [Paragraph(heading, _CLAUSE)]
    for part in body:
        flowables.extend(part if isinstance(part, list) else [part])
    return flowables


def _table(header: list[Paragraph], rows: list[list[Paragraph]], total: list[Paragraph],
           shares: list[float]) -> Table:
    data = [header, *rows, total]
    table = Table(data, colWidths=[WIDTH * share for share in shares], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#D9E2F3")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -2), [colors.white, colors.HexColor("#F5F5F5")]),
        ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#E7E6E6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _money_cell(amount: Decimal, style: ParagraphStyle = _CELL_NUM) -> Paragraph:
    return Paragraph(formats.usd(amount), style)


# --- The document ------------------------------------------------------------------------

def _parties(doc: AgreementDocument) -> Paragraph:
    m = doc.ministry_signatory
    ministry = (f"<b>{_text(m.name)}</b>, en calidad de {_text(m.title)}, actuando en nombre y "
                f"representación del <b>{MINISTRY.upper()}</b>" if m else
                f"el <b>{MINISTRY.upper()}</b>, por medio de su titular o del funcionario delegado")
    return Paragraph(
        f"Nosotros, {ministry}, que en lo sucesivo se denominará «EL MINISTERIO»; y "
        f"<b>{_text(doc.legal_representative)}</b>, portador(a) del Documento Único de Identidad "
        f"número {_text(doc.legal_representative_dui)}, actuando en calidad de representante legal "
        f"de <b>{_text(doc.organization_name)}</b>, con Número de Identificación Tributaria "
        f"{_text(doc.organization_nit)} y domicilio en {_text(doc.organization_address)}, que en lo "
        "sucesivo se denominará «LA ORGANIZACIÓN», convenimos en celebrar el presente CONVENIO DE "
        "COOPERACIÓN, que se regirá por las cláusulas siguientes:", _BODY)


def _budget_table(doc: AgreementDocument) -> Table:
    rows = [[Paragraph(str(line.number), _CELL), Paragraph(_text(line.category), _CELL),
             Paragraph(_text(line.description), _CELL), _money_cell(line.amount)]
            for line in doc.budget_lines]
    total = sum((line.amount for line in doc.budget_lines), Decimal(0))
    header = [Paragraph(h, _CELL_HEAD) for h in ("N.º", "Categoría", "Descripción")]
    return _table([*header, Paragraph("Monto", _CELL_TOTAL)], rows,
                  [Paragraph("", _CELL), Paragraph("<b>Total</b>", _CELL), Paragraph("", _CELL),
                   _money_cell(total, _CELL_TOTAL)],
                  [0.07, 0.24, 0.48, 0.21])


def _tranche_table(doc: AgreementDocument) -> Table:
    rows = [[Paragraph(str(t.number), _CELL), Paragraph(formats.day(t.planned_date), _CELL),
             _money_cell(t.amount),
             Paragraph(", ".join(str(n) for n in t.budget_lines) or "—", _CELL)]
            for t in doc.tranches]
    total = sum((t.amount for t in doc.tranches), Decimal(0))
    header = [Paragraph("N.º de desembolso", _CELL_HEAD), Paragraph("Fecha prevista", _CELL_HEAD),
              Paragraph("Monto", _CELL_TOTAL), Paragraph("Líneas presupuestarias que financia", _CELL_HEAD)]
    return _table(header, rows, [Paragraph("<b>Total</b>", _CELL), Paragraph("", _CELL),
                                 _money_cell(total, _CELL_TOTAL), Paragraph("", _CELL)],
                  [0.18, 0.19, 0.21, 0.42])


def _clauses(doc: AgreementDocument) -> list:
    """PRIMERA to NOVENA; DÉCIMA closes the document together with the signatures."""
    administrator = (f"EL MINISTERIO designa como administrador del programa a <b>{_text(doc.administrator_name)}</b>"
                     if doc.administrator_name else "EL MINISTERIO designará un administrador del programa")
    return [
        *_clause("PRIMERA — OBJETO", _paragraphs(doc.object)),
        *_clause("SEGUNDA — MONTO Y FUENTE DE FINANCIAMIENTO", Paragraph(
            f"EL MINISTERIO transferirá a favor del programa objeto de este convenio hasta la cantidad de "
            f"<b>US{formats.usd(doc.amount)} ({amount_in_words(doc.amount)})</b>, con cargo a la cifra "
            f"presupuestaria {_text(doc.budget_line_code)} del ejercicio fiscal {doc.fiscal_year}, "
            f"asignada mediante {_text(doc.decree_number)}. Los fondos se ejecutarán mediante pagos "
            "directos a proveedores y anticipos sujetos a liquidación, conforme a la programación "
            "financiera de la cláusula SEXTA.", _BODY)),
        *_clause("TERCERA — OBLIGACIONES DEL MINISTERIO",
                 Paragraph("EL MINISTERIO se obliga a:", _BODY), _items(doc.ministry_obligations)),
        *_clause("CUARTA — OBLIGACIONES DE LA ORGANIZACIÓN",
                 Paragraph("LA ORGANIZACIÓN se obliga a:", _BODY), _items(doc.ngo_obligations)),
        *_clause("QUINTA — PRESUPUESTO", Paragraph(
            "Los fondos se ejecutarán conforme al siguiente presupuesto por líneas, aprobado en el plan "
            "de trabajo. Ningún gasto podrá exceder el monto asignado a su línea presupuestaria.", _BODY),
            _budget_table(doc), Spacer(1, 6)),
        *_clause("SEXTA — PROGRAMACIÓN FINANCIERA", Paragraph(
            "Los desembolsos se realizarán de acuerdo con la siguiente programación:", _BODY),
            _tranche_table(doc), Spacer(1, 6)),
        *_clause("SÉPTIMA — MECANISMOS DE CONTROL", _paragraphs(doc.control_mechanisms), Paragraph(
            "EL MINISTERIO pagará directamente a los proveedores de bienes y servicios validados, y "
            "únicamente por los beneficiarios efectivamente activos en el programa durante el período "
            "facturado; no se reconocerá pago alguno por beneficiarios inactivos, retirados o no "
            "validados.", _BODY), Paragraph(
            f"{administrator}, quien tendrá a su cargo la emisión de las actas de recepción, los informes "
            "de seguimiento, el registro de incidencias y el informe de cierre.", _BODY)),
        *_clause("OCTAVA — LIQUIDACIÓN", _paragraphs(doc.liquidation_terms), Paragraph(
            "No se desembolsará un anticipo mientras el anterior no esté liquidado al menos en un "
            f"{formats.percent(doc.liquidation_threshold)}. Los fondos no ejecutados deberán ser "
            "reintegrados a EL MINISTERIO.", _BODY)),
        *_clause("NOVENA — PLAZO", Paragraph(
            f"El presente convenio tendrá vigencia del {long_date(doc.start_date)} al "
            f"{long_date(doc.end_date)}, sin perjuicio de las obligaciones de liquidación y de "
            "rendición de cuentas, que subsistirán hasta su cumplimiento.", _BODY)),
    ]


def _last_clause() -> list:
    return _clause("DÉCIMA — SUSPENSIÓN Y TERMINACIÓN", Paragraph(
        "El incumplimiento de cualquiera de las obligaciones de LA ORGANIZACIÓN facultará a EL "
        "MINISTERIO para suspender los pagos directos y los desembolsos pendientes, previa "
        "notificación escrita en la que se señale el incumplimiento y el plazo para subsanarlo. "
        "Si no fuere subsanado en dicho plazo, EL MINISTERIO podrá dar por terminado "
        "anticipadamente el presente convenio sin responsabilidad de su parte, y LA ORGANIZACIÓN "
        "deberá liquidar los fondos recibidos y reintegrar los no ejecutados.", _BODY))


def _closing(doc: AgreementDocument) -> KeepTogether:
    """The last clause stays with the signatures: a signature page never stands alone."""
    def party(heading: str, signer: Signatory | None, institution: str) -> list[Paragraph]:
        name = f"<b>{_text(signer.name)}</b>" if signer else "<b>Nombre:</b> ____________________"
        title = _text(signer.title) if signer else "<b>Cargo:</b> ____________________"
        return [Paragraph(f"<b>{heading}</b>", _SIGN), Paragraph(name, _SIGN), Paragraph(title, _SIGN),
                Paragraph(_text(signer.institution if signer else institution), _SIGN)]

    ministry = party("POR EL MINISTERIO", doc.ministry_signatory, MINISTRY)
    ngo = party("POR LA ORGANIZACIÓN", doc.ngo_signatory, doc.organization_name)
    rows = [[ministry[0], "", ngo[0]], ["", "", ""],
            *[[m, "", n] for m, n in zip(ministry[1:], ngo[1:])]]
    table = Table(rows, colWidths=[WIDTH * 0.46, WIDTH * 0.08, WIDTH * 0.46],
                  rowHeights=[None, 1.8 * cm, None, None, None])
    table.setStyle(TableStyle([("LINEABOVE", (0, 2), (0, 2), 0.8, colors.black),
                               ("LINEABOVE", (2, 2), (2, 2), 0.8, colors.black),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    place = f"San Salvador, {long_date(doc.signed_on)}." if doc.signed_on else "Fecha de firma: pendiente"
    return KeepTogether([
        *_last_clause(),
        Spacer(1, 6),
        Paragraph("En fe de lo cual, ambas partes firmamos el presente convenio en dos ejemplares de "
                  "igual valor.", _BODY),
        Paragraph(place, _BODY), Spacer(1, 10), table])


def _decorate(canvas: Canvas, page: int, pages: int, doc: AgreementDocument) -> None:
    width, height = A4
    left, right = MARGIN + 6, width - MARGIN - 6
    canvas.saveState()
    canvas.setFont("Helvetica-Bold", 8.5)
    canvas.setFillColor(_BLOCK_COLOR)
    canvas.drawString(left, height - 1.5 * cm, f"{MINISTRY} — República de El Salvador")
    canvas.setFont("Helvetica", 8.5)
    canvas.drawRightString(right, height - 1.5 * cm, f"Convenio N.º {doc.number}")
    canvas.setStrokeColor(_BLOCK_COLOR)
    canvas.setLineWidth(0.8)
    canvas.line(left, height - 1.7 * cm, right, height - 1.7 * cm)
    if doc.is_draft:
        canvas.setFillColor(colors.HexColor("#C00000"))
        canvas.setFont("Helvetica-Bold", 10)
        canvas.drawCentredString(width / 2, height - 2.25 * cm, DRAFT_MARK)
        canvas.setFillColor(colors.Color(0.75, 0, 0, alpha=0.06))
        canvas.setFont("Helvetica-Bold", 90)
        canvas.translate(width / 2, height / 2)
        canvas.rotate(45)
        canvas.drawCentredString(0, -30, "BORRADOR")
        canvas.restoreState()
        canvas.saveState()
    canvas.setFillColor(colors.grey)
    canvas.setStrokeColor(colors.grey)
    canvas.setLineWidth(0.5)
    canvas.line(left, 1.8 * cm, right, 1.8 * cm)
    canvas.setFont("Helvetica", 8)
    canvas.drawString(left, 1.35 * cm, f"Generado el {formats.day(doc.generated_on)}")
    canvas.drawCentredString(width / 2, 1.35 * cm, f"Estado: {doc.status_label}")
    canvas.drawRightString(right, 1.35 * cm, f"Página {page} de {pages}")
    canvas.restoreState()


class _NumberedCanvas(Canvas):
    """Holds every page until the end so that each one can say «Página N de M»."""

    def __init__(self, *args, decorate, **kwargs):
        super().__init__(*args, **kwargs)
        self._decorate = decorate
        self._pages: list[dict] = []

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._decorate(self, number, len(self._pages))
            super().showPage()
        super().save()


def build_agreement_pdf(doc: AgreementDocument) -> bytes:
    out = BytesIO()
    template = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=2.6 * cm,
        bottomMargin=2.4 * cm, title=f"Convenio de cooperación N.º {doc.number}", author=MINISTRY,
        subject=doc.organization_name, invariant=True)
    story = [
        Paragraph(f"CONVENIO DE COOPERACIÓN N.º {_text(doc.number)}", _TITLE),
        Paragraph(f"entre el {MINISTRY} y {_text(doc.organization_name)}", _SUBTITLE),
        _parties(doc),
        *_clauses(doc),
        _closing(doc),
    ]
    template.build(story, canvasmaker=partial(_NumberedCanvas, decorate=partial(_decorate, doc=doc)))
    return out.getvalue()
