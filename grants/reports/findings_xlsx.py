"""Audit findings as an XLSX workbook (Spanish): one row per finding, then one sheet with the
evidence of each (key/value). Cells a spreadsheet would run as formulas are neutralized.
Plain data in (``grants.services.audit_checks.FindingRecord``), bytes out."""
from __future__ import annotations

import io
import json
from collections.abc import Iterable
from datetime import date

from grants.reports.import_errors import neutralize

HEADERS = ["N.º", "Regla", "Código", "Severidad", "Estado", "Vigente", "Convenio", "Organización", "Entidad",
           "Resumen", "Monto (USD)", "Detectado", "Última vez", "Nota"]


def _day(moment) -> str:
    return moment.strftime("%d/%m/%Y") if moment else ""


def findings_xlsx(findings: Iterable, generated_on: date) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    findings = list(findings)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Hallazgos"
    sheet.append([f"Hallazgos de las revisiones de liquidación — generado el {generated_on.strftime('%d/%m/%Y')}"])
    sheet["A1"].font = Font(bold=True)
    sheet.append(HEADERS)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for f in findings:
        sheet.append([
            f.id, neutralize(f.rule_title), f.rule_code, f.severity_label, f.status_label, "Sí" if f.present else "No",
            neutralize(f.agreement_number), neutralize(f.organization_name), neutralize(f.entity),
            neutralize(f.summary), f.amount, _day(f.first_seen_at), _day(f.last_seen_at), neutralize(f.note),
        ])
        if f.amount is not None:
            sheet.cell(row=sheet.max_row, column=11).number_format = "#,##0.00"
    sheet.append([])
    sheet.append([f"Total: {len(findings)} hallazgos"])
    for column, width in zip("ABCDEFGHIJKLMN", (7, 38, 28, 10, 12, 8, 22, 34, 22, 80, 14, 12, 12, 40)):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A3"

    evidence = workbook.create_sheet("Evidencia")
    evidence.append(["N.º", "Dato", "Valor"])
    for cell in evidence[1]:
        cell.font = Font(bold=True)
    for f in findings:
        for key, value in (f.evidence or {}).items():
            shown = value if isinstance(value, (str, int)) and not isinstance(value, bool) else \
                json.dumps(value, ensure_ascii=False)
            evidence.append([f.id, neutralize(key), neutralize(shown) if isinstance(shown, str) else shown])
    evidence.column_dimensions["B"].width = 24
    evidence.column_dimensions["C"].width = 100
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
