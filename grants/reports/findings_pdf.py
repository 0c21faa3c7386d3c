"""Audit findings as a PDF (Spanish, landscape): a table of findings with their rule, severity,
status, agreement, summary and amount; «Página N de M» and the generated date on every page.
Plain data in (``grants.services.audit_checks.FindingRecord``), bytes out."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from functools import partial
from io import BytesIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from grants import formats
from grants.reports.agreement_pdf import MINISTRY, _NumberedCanvas, _text

PAGE = landscape(A4)
MARGIN = 1.5 * cm
WIDTH = PAGE[0] - 2 * MARGIN
_BLUE = colors.HexColor("#1F3864")
_BODY = ParagraphStyle("fi-body", fontName="Helvetica", fontSize=9, leading=12, spaceAfter=4)
_TITLE = ParagraphStyle("fi-title", parent=_BODY, fontName="Helvetica-Bold", fontSize=14, leading=18, spaceAfter=6)
_CELL = ParagraphStyle("fi-cell", fontName="Helvetica", fontSize=7.5, leading=9.5)
_HEAD = ParagraphStyle("fi-head", parent=_CELL, fontName="Helvetica-Bold", textColor=colors.white)
_NUM = ParagraphStyle("fi-num", parent=_CELL, alignment=2)


def _decorate(canvas, page: int, pages: int, generated_on: date) -> None:
    width, height = PAGE
    canvas.saveState()
    canvas.setFont("Helvetica-Bold", 8.5)
    canvas.setFillColor(_BLUE)
    canvas.drawString(MARGIN, height - 1.0 * cm, f"{MINISTRY} — Auditoría interna")
    canvas.setFont("Helvetica", 8)
    canvas.setFillColor(colors.grey)
    canvas.drawString(MARGIN, 0.8 * cm, f"Generado el {formats.day(generated_on)}")
    canvas.drawRightString(width - MARGIN, 0.8 * cm, f"Página {page} de {pages}")
    canvas.restoreState()


def findings_pdf(findings: Iterable, generated_on: date, title: str | None = None) -> bytes:
    findings = list(findings)
    out = BytesIO()
    template = SimpleDocTemplate(out, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=1.5 * cm,
                                 bottomMargin=1.4 * cm, title="Hallazgos de auditoría", author=MINISTRY,
                                 invariant=True)
    by_severity = Counter(f.severity_label for f in findings)
    by_status = Counter(f.status_label for f in findings)
    story = [
        Paragraph(_text(title or "Hallazgos de las revisiones de liquidación"), _TITLE),
        Paragraph(f"{len(findings)} {'hallazgo' if len(findings) == 1 else 'hallazgos'}. Por severidad: "
                  + (", ".join(f"{k}: {v}" for k, v in sorted(by_severity.items())) or "—")
                  + ". Por estado: " + (", ".join(f"{k}: {v}" for k, v in sorted(by_status.items())) or "—") + ".",
                  _BODY),
        Spacer(1, 4),
    ]
    header = ["N.º", "Regla", "Severidad", "Estado", "Convenio", "Resumen", "Monto", "Nota"]
    data = [[Paragraph(h, _HEAD) for h in header]]
    for f in findings:
        state = f.status_label + ("" if f.present else " (ya no se detecta)")
        data.append([Paragraph(str(f.id), _CELL), Paragraph(_text(f.rule_title), _CELL),
                     Paragraph(_text(f.severity_label), _CELL), Paragraph(_text(state), _CELL),
                     Paragraph(_text(f.agreement_number), _CELL), Paragraph(_text(f.summary), _CELL),
                     Paragraph(formats.usd(f.amount, "—"), _NUM), Paragraph(_text(f.note or ""), _CELL)])
    if len(data) == 1:
        data.append([Paragraph("—", _CELL), Paragraph("Sin hallazgos para estos filtros.", _CELL)] + [""] * 6)
    widths = [w * cm for w in (1.0, 4.2, 1.6, 2.4, 3.2, 9.6, 2.2)]
    widths.append(WIDTH - sum(widths))  # the note takes the rest
    table = LongTable(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), _BLUE), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#B0B7C3")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F2F4F8")]),
    ]))
    story.append(table)
    template.build(story, canvasmaker=partial(_NumberedCanvas, decorate=partial(_decorate, generated_on=generated_on)))
    return out.getvalue()
