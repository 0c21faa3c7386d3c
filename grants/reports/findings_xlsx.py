"""Audit findings as an XLSX workbook (Spanish): one row per finding, then one sheet with the
evidence of each (each datum by its label, days dd/mm/yyyy, amounts in dollars). Every cell goes through ``grants.reports.xlsx`` (formulas neutralized,
control characters replaced).
Plain data in (``grants.services.audit_checks.FindingRecord``), bytes out."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from grants import formats
from grants.labels import evidence_label, evidence_text
from grants.reports.xlsx import new_workbook

HEADERS = ["N.º", "Regla", "Código", "Severidad", "Estado", "Vigente", "Convenio", "Organización", "Entidad",
           "Resumen", "Monto (USD)", "Detectado", "Última vez", "Nota"]


def findings_xlsx(findings: Iterable, generated_on: date) -> bytes:
    from openpyxl.styles import Font

    findings = list(findings)
    workbook = new_workbook()
    sheet = workbook.active
    sheet.title = "Hallazgos"
    sheet.append([f"Hallazgos de las revisiones de liquidación — generado el {formats.day(generated_on)}"])
    sheet["A1"].font = Font(bold=True)
    sheet.append(HEADERS)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for f in findings:
        sheet.append([
            f.id, f.rule_title, f.rule_code, f.severity_label, f.status_label, "Sí" if f.present else "No",
            f.agreement_number, f.organization_name, f.entity,
            f.summary, f.amount, f.first_seen_at, f.last_seen_at, f.note,
        ])
        if f.amount is not None:
            sheet.cell(row=sheet.max_row, column=11).number_format = "#,##0.00"
    sheet.append([])
    sheet.append([f"Total: {len(findings)} {'hallazgo' if len(findings) == 1 else 'hallazgos'}"])
    for column, width in zip("ABCDEFGHIJKLMN", (7, 38, 28, 10, 12, 8, 22, 34, 22, 80, 14, 12, 12, 40)):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A3"

    evidence = workbook.create_sheet("Evidencia")
    evidence.append(["N.º", "Dato", "Valor"])
    for cell in evidence[1]:
        cell.font = Font(bold=True)
    for f in findings:
        for key, value in (f.evidence or {}).items():
            shown = value if isinstance(value, int) and not isinstance(value, bool) else evidence_text(key, value)
            evidence.append([f.id, str(evidence_label(key)), shown])
    evidence.column_dimensions["B"].width = 24
    evidence.column_dimensions["C"].width = 100
    return workbook.to_bytes()
