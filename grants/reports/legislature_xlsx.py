"""The yearly report to the Legislative Assembly as an XLSX workbook (openpyxl), in Spanish.

Plain data in, bytes out. Sheets: «Por decreto» (the headline: legislated, under agreements,
executed, refunded, not executed per legislative decree, and the reconciliation), «Resumen» (one
row per allocation and a totals row; amounts are numbers with a currency format, written from
Decimals), «Dictámenes» (verdict and its reasoning, incidents, fines, findings by rule name),
«Indicadores» and «Hallazgos».
Totals are values, not formulas, so every reader sees them without recalculating. Every cell is
written through ``grants.reports.xlsx`` (formula-like text neutralized, control characters replaced).
"""
from __future__ import annotations

from decimal import Decimal

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from grants import formats
from grants.reports.xlsx import new_workbook

CURRENCY = '"$"#,##0.00'
NUMBER = "#,##0.00"
_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="DCE3EF")

# (header, key in a row, kind) — kind: text, money or count.
SUMMARY_COLUMNS = [
    ("Decreto", "decree_number", "text"),
    ("Cifra presupuestaria", "budget_line_code", "text"),
    ("ONG", "organization_name", "text"),
    ("NIT", "organization_nit", "text"),
    ("Asignación", "allocation_amount", "money"),
    ("Convenio", "agreement_number", "text"),
    ("Estado del convenio", "agreement_status_label", "text"),
    ("Monto del convenio", "assigned", "money"),
    ("Pagado directo", "paid_directly", "money"),
    ("Anticipado", "advanced", "money"),
    ("Liquidado", "liquidated", "money"),
    ("Reintegrado", "refunded", "money"),
    ("No ejecutado", "unspent", "money"),
    ("Comprometido", "committed", "money"),
    ("Disponible", "available", "money"),
    ("Ejecutado", "executed", "money"),
    ("Anticipos por liquidar", "outstanding", "money"),
    ("Meta de beneficiarios", "beneficiaries_target", "count"),
    ("Beneficiarios validados", "beneficiaries_validated", "count"),
    ("Beneficiarios alcanzados", "beneficiaries_reached", "count"),
    ("Dictamen", "verdict_label", "text"),
    ("Hallazgos", "findings.total", "count"),
    ("Hallazgos abiertos", "findings.open", "count"),
    ("Hallazgos justificados", "findings.justified", "count"),
    ("Hallazgos confirmados", "findings.confirmed", "count"),
    ("Hallazgos resueltos", "findings.resolved", "count"),
    ("Multas en vigor", "fines_assessed", "money"),
    ("Multas cobradas", "fines_collected", "money"),
]
DECREE_COLUMNS = [
    ("Legislado", "legislated"), ("Bajo convenio", "under_agreements"), ("Sin convenio", "without_agreement"),
    ("Ejecutado", "executed"), ("Reintegrado (confirmado)", "refunded"), ("Anticipos por rendir", "outstanding"),
    ("Nunca transferido", "never_transferred"), ("No ejecutado", "not_executed"),
]
MEASURE_WORDS = {"observation": "observaciones", "sanction": "sanciones", "suspension": "suspensiones",
                 "termination": "terminaciones"}
HEADER_ROW = 4  # rows 1-2: title and generation date; row 4: the column headers


def _value(row: dict, key: str):
    if key.startswith("findings."):
        return row["findings"][key.split(".", 1)[1]]
    return row[key]


def _headers(ws, row: int, headers: list[str], widths: list[int]) -> None:
    for col, (title, width) in enumerate(zip(headers, widths), start=1):
        cell = ws.cell(row=row, column=col, value=title)
        cell.font, cell.fill = _BOLD, _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=row + 1, column=1)


def _summary(ws, data: dict) -> None:
    ws["A1"] = f"Informe a la Asamblea Legislativa — Ejercicio fiscal {data['fiscal_year']}"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = f"{data['ministry']} · Generado el {formats.day(data['generated_on'])} · Montos en USD"
    widths = [14 if kind != "text" else 22 for _, _, kind in SUMMARY_COLUMNS]
    widths[2] = 40
    _headers(ws, HEADER_ROW, [c[0] for c in SUMMARY_COLUMNS], widths)
    r = HEADER_ROW
    for r, row in enumerate(data["rows"], start=HEADER_ROW + 1):
        for col, (_, key, kind) in enumerate(SUMMARY_COLUMNS, start=1):
            value = _value(row, key)
            if kind == "text" and value is None:
                value = "Sin convenio" if key == "agreement_number" else ""
            cell = ws.cell(row=r, column=col, value=value)
            if kind == "money":
                cell.number_format = CURRENCY
    totals = data["totals"]
    total_row = r + 1
    ws.cell(row=total_row, column=1, value="Totales").font = _BOLD
    ws.cell(row=total_row, column=3, value=f"{totals['organizations']} ONG").font = _BOLD
    ws.cell(row=total_row, column=6, value=f"{totals['agreements']} {'convenio' if totals['agreements'] == 1 else 'convenios'}").font = _BOLD
    for col, (_, key, kind) in enumerate(SUMMARY_COLUMNS, start=1):
        if kind == "text":
            continue
        value = totals["findings"][key.split(".", 1)[1]] if key.startswith("findings.") else totals[key]
        cell = ws.cell(row=total_row, column=col, value=value)
        cell.font = _BOLD
        if kind == "money":
            cell.number_format = CURRENCY


def _indicators(ws, data: dict) -> None:
    _headers(ws, 1, ["Convenio", "ONG", "Indicador", "Unidad", "Línea base", "Meta", "Logrado"],
             [22, 40, 50, 14, 12, 12, 12])
    r = 1
    for row in data["rows"]:
        for ind in row["indicators"]:
            r += 1
            values = [row["agreement_number"], row["organization_name"], ind["name"], ind["unit"], ind["baseline"],
                      ind["target"], ind["achieved"]]
            for col, value in enumerate(values, start=1):
                cell = ws.cell(row=r, column=col, value=value)
                if col >= 5 and value is not None:  # a count of people is whole: «45», not «45.00»
                    cell.number_format = "#,##0" if Decimal(value) == Decimal(value).to_integral_value() else NUMBER


def _findings(ws, data: dict) -> None:
    _headers(ws, 1, ["Regla", "Severidad", "Total", "Abiertos", "Justificados", "Confirmados", "Resueltos"],
             [56, 12, 10, 10, 12, 12, 10])
    severity = {"low": "baja", "medium": "media", "high": "alta"}
    for r, e in enumerate(data["findings_by_rule"], start=2):
        for col, value in enumerate([e["rule"], severity.get(e["severity"], e["severity"]), e["total"],
                                     e["open"], e["justified"], e["confirmed"], e["resolved"]], start=1):
            ws.cell(row=r, column=col, value=value)


def _decrees(ws, data: dict) -> None:
    ws["A1"] = f"Por decreto legislativo — Ejercicio fiscal {data['fiscal_year']}"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = "No ejecutado = legislado − ejecutado; una asignación sin convenio cuenta entera como no ejecutada."
    _headers(ws, HEADER_ROW, ["Decreto", *[h for h, _ in DECREE_COLUMNS], "Asignaciones", "Convenios"],
             [18] + [16] * len(DECREE_COLUMNS) + [12, 12])
    rows = [*data["decrees"], {"decree_number": "Totales", **data["reconciliation"]["totals"]}]
    for r, entry in enumerate(rows, start=HEADER_ROW + 1):
        values = [entry["decree_number"], *[entry[k] for _, k in DECREE_COLUMNS], entry["allocations"],
                  entry["agreements"]]
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=col, value=value)
            if 2 <= col <= len(DECREE_COLUMNS) + 1:
                cell.number_format = CURRENCY
            if entry["decree_number"] == "Totales":
                cell.font = _BOLD
    r = HEADER_ROW + len(rows) + 2
    ws.cell(row=r, column=1, value="Conciliación").font = _BOLD
    for check in data["reconciliation"]["checks"]:
        r += 1
        ws.cell(row=r, column=1, value=check["label"])
        for col, value in ((2, check["left"]), (3, check["right"])):
            ws.cell(row=r, column=col, value=value).number_format = CURRENCY
        ws.cell(row=r, column=4, value="cuadra" if check["holds"] else "NO CUADRA")


def _verdicts(ws, data: dict) -> None:
    _headers(ws, 1, ["Convenio", "ONG", "Dictamen", "Fundamento", "Aprobaron la liquidación final",
                     "Incumplimientos", "Multas en vigor", "Multas cobradas", "Hallazgos por regla"],
             [22, 36, 20, 60, 50, 34, 14, 14, 60])
    r = 1
    for row in data["rows"]:
        if row["agreement_id"] is None:
            continue
        r += 1
        incidents = row["incidents"]
        measures = ", ".join(f"{incidents[m]} {w}" for m, w in MEASURE_WORDS.items() if incidents[m]) or "ninguno"
        rules = "; ".join(f"{f['rule']}: {f['count']}" for f in row["findings_by_rule_name"]) or "ninguno"
        signed = "; ".join(f"{e['discipline_label']}: {e['name']} ({formats.day(e['signed_on'])})"
                           for e in row["signoffs"]) or "—"
        values = [row["agreement_number"], row["organization_name"], row["verdict_label"], row["reasoning"] or "",
                  signed, measures, row["fines_assessed"], row["fines_collected"], rules]
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=col, value=value)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if col in (7, 8):
                cell.number_format = CURRENCY


def build_legislature_xlsx(data: dict) -> bytes:
    wb = new_workbook()
    _decrees(wb.active, data)
    wb.active.title = "Por decreto"
    _summary(wb.create_sheet("Resumen"), data)
    _verdicts(wb.create_sheet("Dictámenes"), data)
    _indicators(wb.create_sheet("Indicadores"), data)
    _findings(wb.create_sheet("Hallazgos"), data)
    wb.properties.title = f"Informe a la Asamblea Legislativa {data['fiscal_year']}"
    wb.properties.creator = data["ministry"]
    return wb.to_bytes()
