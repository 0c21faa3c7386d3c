"""The yearly report to the Legislative Assembly as a PDF, in Spanish (landscape A4).

Plain data in (``grants.services.legislature.report_data``), bytes out. Sections: the headline by
legislative decree (legislated, under agreements, executed, refunded, not executed) with its
reconciliation, the summary per allocation with the year's totals, results (beneficiaries,
verdict, findings), each agreement's verdict with its reasoning, incidents, fines and findings by
rule name, a bar chart of assigned vs executed per NGO (reportlab graphics, 20 NGOs per chart), the
indicators, and the findings by rule. Every page says «Página N de M» and the generation date.

Numbers and short texts go into table cells as plain strings (fast for 300 agreements); only
names that need wrapping become Paragraphs.
"""
from __future__ import annotations

from functools import partial
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from grants import formats
from grants.reports.agreement_pdf import _NumberedCanvas

PAGE = landscape(A4)
MARGIN = 1.5 * cm
WIDTH = PAGE[0] - 2 * MARGIN
NGOS_PER_CHART = 20
_BLUE = colors.HexColor("#1F3864")
_LIGHT = colors.HexColor("#DCE3EF")
_EXECUTED = colors.HexColor("#2E7D32")

_BODY = ParagraphStyle("lg-body", fontName="Helvetica", fontSize=9, leading=12, spaceAfter=4)
_TITLE = ParagraphStyle("lg-title", parent=_BODY, fontName="Helvetica-Bold", fontSize=15, leading=19, alignment=1)
_SUBTITLE = ParagraphStyle("lg-subtitle", parent=_BODY, fontSize=10, alignment=1, spaceAfter=10)
_HEADING = ParagraphStyle("lg-heading", parent=_BODY, fontName="Helvetica-Bold", fontSize=11, textColor=_BLUE,
                          spaceBefore=8, spaceAfter=6, keepWithNext=True)
_CELL = ParagraphStyle("lg-cell", fontName="Helvetica", fontSize=6.8, leading=8)

_GRID = [
    ("FONT", (0, 0), (-1, -1), "Helvetica", 6.8),
    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 6.8),
    ("BACKGROUND", (0, 0), (-1, 0), _LIGHT),
    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
    ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
]


def _p(text: str) -> Paragraph:
    return Paragraph(escape(text or ""), _CELL)


def _table(rows: list[list], widths: list[float], numeric_from: int, total: bool = False) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = list(_GRID) + [("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT")]
    if total:
        style += [("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 6.8), ("BACKGROUND", (0, -1), (-1, -1), _LIGHT)]
    table.setStyle(TableStyle(style))
    return table


def _decrees(data: dict) -> list:
    head = ["Decreto", "Legislado", "Bajo convenio", "Sin convenio", "Ejecutado", "Reintegrado",
            "Anticipos por rendir", "Nunca transferido", "No ejecutado"]
    keys = ["legislated", "under_agreements", "without_agreement", "executed", "refunded", "outstanding",
            "never_transferred", "not_executed"]
    rows = [head] + [[d["decree_number"], *[formats.usd(d[k]) for k in keys]] for d in data["decrees"]]
    total = data["reconciliation"]["totals"]
    rows.append(["Totales", *[formats.usd(total[k]) for k in keys]])
    widths = [4.2 * cm] + [2.85 * cm] * 8
    checks = [["Comprobación", "Monto", "Monto", ""]] + [
        [_p(c["label"]), formats.usd(c["left"]), formats.usd(c["right"]), "cuadra" if c["holds"] else "NO CUADRA"]
        for c in data["reconciliation"]["checks"]]
    return [Paragraph("1. Por decreto legislativo: legislado, ejecutado y no ejecutado", _HEADING),
            _table(rows, widths, 1, total=True), Spacer(1, 4),
            Paragraph("No ejecutado = legislado − ejecutado (pagos directos y comprobantes aceptados). Una asignación "
                      "sin convenio cuenta entera como no ejecutada; lo no ejecutado se compone de lo reintegrado "
                      "(confirmado por tesorería), los anticipos aún por rendir y lo nunca transferido.", _BODY),
            Paragraph("Conciliación", _HEADING), _table(checks, [14 * cm, 3 * cm, 3 * cm, 2.5 * cm], 1)]


def _verdicts(data: dict) -> list:
    """Each agreement: the verdict and its reasoning, incidents and fines, findings by rule name."""
    words = {"observation": "observación", "sanction": "sanción", "suspension": "suspensión",
             "termination": "terminación"}
    rows = [["Convenio", "ONG", "Dictamen y fundamento", "Aprobaron la liquidación final", "Incumplimientos y multas",
             "Hallazgos por regla"]]
    for r in data["rows"]:
        if r["agreement_id"] is None:
            continue
        incidents = r["incidents"]
        measures = ", ".join(f"{incidents[m]} {w}" for m, w in words.items() if incidents[m]) or "ninguno"
        if r["fines_assessed"]:
            measures += f". Multas {formats.usd(r['fines_assessed'])}, cobradas {formats.usd(r['fines_collected'])}"
        rules = "; ".join(f"{f['rule']}: {f['count']}" for f in r["findings_by_rule_name"]) or "ninguno"
        verdict = r["verdict_label"] + (f". {r['reasoning']}" if r["reasoning"] else "")
        signed = "; ".join(f"{e['discipline_label']}: {e['name']} ({formats.day(e['signed_on'])})"
                           for e in r["signoffs"]) or "—"
        rows.append([r["agreement_number"], _p(r["organization_name"]), _p(verdict), _p(signed), _p(measures),
                     _p(rules)])
    story = [PageBreak(), Paragraph("4. Dictamen y fundamento, incumplimientos y hallazgos por convenio", _HEADING)]
    if len(rows) == 1:
        return story + [Paragraph("No hay convenios en este ejercicio.", _BODY)]
    return story + [_table(rows, [3.0 * cm, 3.8 * cm, 6.4 * cm, 4.6 * cm, 4.0 * cm, 4.9 * cm], 6)]


def _summary(data: dict) -> list:
    head = ["N.º", "Decreto", "ONG (NIT)", "Convenio", "Asignación", "Monto del convenio", "Pagado directo",
            "Anticipado", "Liquidado", "Reintegrado", "No ejecutado", "Disponible"]
    rows = [head]
    for n, r in enumerate(data["rows"], start=1):
        agreement = f"{r['agreement_number']}\n{r['agreement_status_label']}" if r["agreement_id"] else "Sin convenio"
        rows.append([str(n), r["decree_number"], _p(f"{r['organization_name']} ({r['organization_nit']})"),
                     agreement, formats.usd(r["allocation_amount"]), formats.usd(r["assigned"]), formats.usd(r["paid_directly"]),
                     formats.usd(r["advanced"]), formats.usd(r["liquidated"]), formats.usd(r["refunded"]), formats.usd(r["unspent"]), formats.usd(r["available"])])
    t = data["totals"]
    rows.append(["", "Totales", f"{t['organizations']} ONG", f"{t['agreements']} {'convenio' if t['agreements'] == 1 else 'convenios'}", formats.usd(t["allocation_amount"]),
                 formats.usd(t["assigned"]), formats.usd(t["paid_directly"]), formats.usd(t["advanced"]), formats.usd(t["liquidated"]),
                 formats.usd(t["refunded"]), formats.usd(t["unspent"]), formats.usd(t["available"])])
    widths = [0.8 * cm, 2.0 * cm, 4.4 * cm, 3.0 * cm] + [2.06 * cm] * 8
    return [PageBreak(), Paragraph("2. Resumen financiero por asignación", _HEADING),
            _table(rows, widths, 4, total=True)]


def _results(data: dict) -> list:
    head = ["N.º", "ONG", "Convenio", "Meta de beneficiarios", "Validados", "Alcanzados", "Dictamen",
            "Hallazgos", "Abiertos", "Justificados", "Confirmados", "Resueltos"]
    rows = [head]
    for n, r in enumerate(data["rows"], start=1):
        f = r["findings"]
        rows.append([str(n), _p(r["organization_name"]), r["agreement_number"] or "Sin convenio",
                     formats.quantity(r["beneficiaries_target"]), formats.quantity(r["beneficiaries_validated"]),
                     formats.quantity(r["beneficiaries_reached"]), r["verdict_label"], str(f["total"]), str(f["open"]),
                     str(f["justified"]), str(f["confirmed"]), str(f["resolved"])])
    t = data["totals"]
    f = t["findings"]
    rows.append(["", "Totales", "", formats.quantity(t["beneficiaries_target"]), formats.quantity(t["beneficiaries_validated"]),
                 formats.quantity(t["beneficiaries_reached"]), "", str(f["total"]), str(f["open"]), str(f["justified"]),
                 str(f["confirmed"]), str(f["resolved"])])
    widths = [0.8 * cm, 6.4 * cm, 3.4 * cm, 1.9 * cm, 1.6 * cm, 1.7 * cm, 3.3 * cm] + [1.5 * cm] * 5
    table = _table(rows, widths, 3, total=True)
    table.setStyle(TableStyle([("ALIGN", (6, 0), (6, -1), "LEFT")]))
    verdicts = t["verdicts"]
    summary = (f"Dictámenes: cumple {verdicts['cumple']}, cumple parcialmente {verdicts['cumple_parcialmente']}, "
               f"no cumple {verdicts['no_cumple']}; en ejecución {verdicts['en_ejecucion']}, terminados sin "
               f"liquidación {verdicts['terminado']}, sin convenio {verdicts['sin_convenio']}.")
    return [Paragraph("3. Beneficiarios, dictamen y hallazgos", _HEADING), table, Spacer(1, 4),
            Paragraph(summary, _BODY)]


def _chart(ngos: list[dict], first: int) -> Drawing:
    height = 40 + 16 * len(ngos)
    drawing = Drawing(WIDTH - 12, height + 75)  # the frame keeps 6 pt of padding on each side
    chart = HorizontalBarChart()
    chart.x, chart.y = 7.2 * cm, 30
    chart.width, chart.height = WIDTH - 8 * cm, height
    # Bottom to top in the chart: reverse so the largest allocation is on top. Bar lengths are
    # drawing coordinates (floats); the figures themselves are printed from Decimals in the tables.
    ordered = list(reversed(ngos))
    chart.data = [[float(e["assigned"]) for e in ordered], [float(e["executed"]) for e in ordered]]
    chart.categoryAxis.categoryNames = [e["name"][:48] for e in ordered]
    chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize = "Helvetica", 6.5
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontName, chart.valueAxis.labels.fontSize = "Helvetica", 6.5
    chart.valueAxis.labelTextFormat = lambda v: f"${v:,.0f}"
    chart.bars[0].fillColor, chart.bars[1].fillColor = _LIGHT, _EXECUTED
    chart.bars.strokeWidth = 0.25
    chart.barSpacing, chart.groupSpacing = 0.5, 4
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 7.2 * cm, height + 58
    legend.fontName, legend.fontSize = "Helvetica", 7
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.colorNamePairs = [(_LIGHT, "Asignado (monto del convenio)"),
                             (_EXECUTED, "Ejecutado (pagos directos + comprobantes aceptados)")]
    drawing.add(legend)
    drawing.add(String(0, height + 52, f"ONG {first} a {first + len(ngos) - 1}", fontName="Helvetica-Bold",
                       fontSize=7.5))
    return drawing


def _charts(data: dict) -> list:
    story: list = [PageBreak(), Paragraph("5. Asignado y ejecutado por ONG", _HEADING)]
    ngos = data["ngos"]
    if not ngos:
        return story + [Paragraph("No hay asignaciones en este ejercicio.", _BODY)]
    for start in range(0, len(ngos), NGOS_PER_CHART):
        if start:
            story.append(PageBreak())
        story.append(_chart(ngos[start:start + NGOS_PER_CHART], start + 1))
    return story


def _indicators(data: dict) -> list:
    rows = [["Convenio", "ONG", "Indicador", "Unidad", "Línea base", "Meta", "Logrado"]]
    for r in data["rows"]:
        for i in r["indicators"]:
            rows.append([r["agreement_number"], _p(r["organization_name"]), _p(i["name"]), i["unit"],
                         formats.quantity(i["baseline"]), formats.quantity(i["target"]),
                         formats.quantity(i["achieved"], "sin informe")])
    story = [PageBreak(), Paragraph("6. Indicadores: meta y logro (último informe de seguimiento)", _HEADING)]
    if len(rows) == 1:
        return story + [Paragraph("Ningún convenio del ejercicio tiene indicadores.", _BODY)]
    widths = [3.3 * cm, 6.5 * cm, 8.2 * cm, 2.4 * cm, 2 * cm, 2 * cm, 2.2 * cm]
    return story + [_table(rows, widths, 4)]


def _findings(data: dict) -> list:
    story = [Paragraph("7. Hallazgos de auditoría interna por regla", _HEADING)]
    rules = data["findings_by_rule"]
    if not rules:
        return story + [Paragraph("No hay hallazgos de auditoría en los convenios del ejercicio.", _BODY)]
    rows = [["Regla", "Severidad", "Total", "Abiertos", "Justificados", "Confirmados", "Resueltos"]]
    severity = {"low": "baja", "medium": "media", "high": "alta"}
    for e in rules:
        rows.append([_p(e["rule"]), severity.get(e["severity"], e["severity"]), str(e["total"]), str(e["open"]),
                     str(e["justified"]), str(e["confirmed"]), str(e["resolved"])])
    return story + [_table(rows, [8 * cm, 2.5 * cm] + [2.2 * cm] * 5, 2)]


def _decorate(canvas: Canvas, page: int, pages: int, data: dict) -> None:
    width, height = PAGE
    left, right = MARGIN, width - MARGIN
    canvas.saveState()
    canvas.setFont("Helvetica-Bold", 8.5)
    canvas.setFillColor(_BLUE)
    canvas.drawString(left, height - 1.0 * cm, f"{data['ministry']} — República de El Salvador")
    canvas.setFont("Helvetica", 8.5)
    canvas.drawRightString(right, height - 1.0 * cm,
                           f"Informe a la Asamblea Legislativa · Ejercicio fiscal {data['fiscal_year']}")
    canvas.setStrokeColor(_BLUE)
    canvas.line(left, height - 1.15 * cm, right, height - 1.15 * cm)
    canvas.setFillColor(colors.grey)
    canvas.setFont("Helvetica", 8)
    canvas.drawString(left, 0.8 * cm, f"Generado el {formats.day(data['generated_on'])}")
    canvas.drawRightString(right, 0.8 * cm, f"Página {page} de {pages}")
    canvas.restoreState()


def build_legislature_pdf(data: dict) -> bytes:
    out = BytesIO()
    year = data["fiscal_year"]
    template = SimpleDocTemplate(
        out, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=1.5 * cm, bottomMargin=1.3 * cm,
        title=f"Informe a la Asamblea Legislativa — Ejercicio fiscal {year}", author=data["ministry"],
        subject="Transferencias a ONG y su liquidación", invariant=True)
    t = data["totals"]
    h = data["reconciliation"]["totals"]
    intro = (f"Asignaciones del ejercicio fiscal {year}: {t['allocations']}, a {t['organizations']} ONG, con "
             f"{t['agreements']} convenios de cooperación. Montos en dólares de los Estados Unidos de América, "
             f"tomados del libro mayor de cada convenio. Legislado {formats.usd(h['legislated'])}, de los que "
             f"{formats.usd(h['under_agreements'])} bajo convenio; ejecutado {formats.usd(h['executed'])} (pagos directos "
             f"{formats.usd(t['paid_directly'])} y comprobantes aceptados {formats.usd(t['liquidated'])}); reintegrado "
             f"{formats.usd(h['refunded'])}; <b>no ejecutado {formats.usd(h['not_executed'])}</b>.")
    story = [
        Paragraph("INFORME A LA ASAMBLEA LEGISLATIVA", _TITLE),
        Paragraph(f"Transferencias a organizaciones sin fines de lucro — Ejercicio fiscal {year}<br/>"
                  f"{escape(data['ministry'])} · Generado el {formats.day(data['generated_on'])}", _SUBTITLE),
        Paragraph(intro, _BODY),
        *_decrees(data),
        *_summary(data),
        PageBreak(),
        *_results(data),
        *_verdicts(data),
        *_charts(data),
        *_indicators(data),
        *_findings(data),
    ]
    template.build(story, canvasmaker=partial(_NumberedCanvas, decorate=partial(_decorate, data=data)))
    return out.getvalue()
