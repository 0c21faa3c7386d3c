"""What the ministry's A4 documents with numbered pages share (payment order, acta de liquidación
final): the margins, the grid and label/value tables, and the page decoration — the ministry's
header, a red mark and a diagonal watermark while the document is not valid proof, and the footer
with the generation date, the status and «Página X de N»."""
from __future__ import annotations

from datetime import date

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Table, TableStyle

from grants import formats
from grants.reports.agreement_pdf import MINISTRY

MARGIN = 2 * cm
WIDTH = A4[0] - 2 * MARGIN - 12
BLUE = colors.HexColor("#1F3864")
RED = colors.HexColor("#C00000")


def grid(data, widths, total_row: bool = False) -> Table:
    """A table with a heading row repeated on every page; ``widths`` are shares of the text width."""
    table = Table(data, colWidths=[WIDTH * w for w in widths], repeatRows=1)
    style = [("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#D9E2F3")),
             ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
    if total_row:
        style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#E7E6E6")))
    table.setStyle(TableStyle(style))
    return table


def pairs(rows: list[tuple[str, str]], style: ParagraphStyle, label_share: float = 0.3) -> Table:
    """Bold labels beside their values (already escaped text)."""
    data = [[Paragraph(f"<b>{label}</b>", style), Paragraph(value, style)] for label, value in rows]
    table = Table(data, colWidths=[WIDTH * label_share, WIDTH * (1 - label_share)])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 1),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    return table


def decorate(canvas: Canvas, page: int, pages: int, *, title: str, mark: str | None, watermark: str,
             watermark_size: int, generated_on: date, status_label: str) -> None:
    """Header (ministry, ``title``), ``mark`` and ``watermark`` when given, footer with page X of N."""
    width, height = A4
    left, right = MARGIN + 6, width - MARGIN - 6
    canvas.saveState()
    canvas.setFont("Helvetica-Bold", 8.5)
    canvas.setFillColor(BLUE)
    canvas.drawString(left, height - 1.3 * cm, f"{MINISTRY} — República de El Salvador")
    canvas.setFont("Helvetica", 8.5)
    canvas.drawRightString(right, height - 1.3 * cm, title)
    canvas.setStrokeColor(BLUE)
    canvas.line(left, height - 1.5 * cm, right, height - 1.5 * cm)
    if mark:
        canvas.setFillColor(RED)
        canvas.setFont("Helvetica-Bold", 10)
        canvas.drawCentredString(width / 2, height - 2.0 * cm, mark)
        canvas.setFillColor(colors.Color(0.75, 0, 0, alpha=0.07))
        canvas.setFont("Helvetica-Bold", watermark_size)
        canvas.translate(width / 2, height / 2)
        canvas.rotate(45)
        canvas.drawCentredString(0, -20, watermark)
        canvas.restoreState()
        canvas.saveState()
    canvas.setFillColor(colors.grey)
    canvas.setStrokeColor(colors.grey)
    canvas.line(left, 1.5 * cm, right, 1.5 * cm)
    canvas.setFont("Helvetica", 8)
    canvas.drawString(left, 1.05 * cm, f"Generado el {formats.day(generated_on)}")
    canvas.drawCentredString(width / 2, 1.05 * cm, f"Estado: {status_label}")
    canvas.drawRightString(right, 1.05 * cm, f"Página {page} de {pages}")
    canvas.restoreState()
