"""The XLSX template of an expense statement (liquidación de anticipo). Plain data in, bytes out.

Sheet 1 «Comprobantes» is what the NGO fills and uploads: the header row (read back by
``grants.validation.receipts.map_headers``), drop-down lists for the document type and the budget
line, date and amount formats. Sheet 2 «Instrucciones» states the advance, its period, the balance
still to account for and the agreement's budget lines.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from grants import formats
from grants.reports.xlsx import new_workbook

MAX_ROWS = 1000


@dataclass
class TemplateInfo:
    agreement_number: str
    organization: str
    tranche_number: int
    advance_amount: Decimal
    period_start: date
    period_end: date
    liquidation_due: date
    outstanding: Decimal
    headers: list[str]
    document_types: list[str]                       # labels, in the order of the drop-down list
    budget_lines: list[tuple[int, str, Decimal]] = field(default_factory=list)  # number, category, available
    texts: dict[str, str] = field(default_factory=dict)  # translated sentences of the instructions sheet


def build_statement_template(info: TemplateInfo) -> bytes:
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = new_workbook()
    sheet = workbook.active
    sheet.title = info.texts.get("data_sheet", "Comprobantes")
    sheet.append(info.headers)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE7F0")
    widths = (24, 22, 14, 22, 32, 40, 22, 14)
    for index, width in enumerate(widths, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font, cell.fill = bold, fill
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    last = MAX_ROWS + 1
    for row in range(2, last + 1):
        sheet.cell(row=row, column=3).number_format = "DD/MM/YYYY"
        sheet.cell(row=row, column=8).number_format = "#,##0.00"

    lists = workbook.create_sheet(info.texts.get("lists_sheet", "Listas"))
    for i, label in enumerate(info.document_types, start=1):
        lists.cell(row=i, column=1, value=label)
    for i, (number, category, _available) in enumerate(info.budget_lines, start=1):
        lists.cell(row=i, column=2, value=f"{number} - {category}")
    lists.sheet_state = "hidden"
    quoted = lists.title.replace("'", "''")
    types = DataValidation(type="list", formula1=f"='{quoted}'!$A$1:$A${len(info.document_types)}",
                           allow_blank=True)
    types.add(f"A2:A{last}")
    sheet.add_data_validation(types)
    if info.budget_lines:
        lines = DataValidation(type="list", formula1=f"='{quoted}'!$B$1:$B${len(info.budget_lines)}",
                               allow_blank=True)
        lines.add(f"G2:G{last}")
        sheet.add_data_validation(lines)
    amounts = DataValidation(type="decimal", operator="greaterThan", formula1="0", allow_blank=True)
    amounts.add(f"H2:H{last}")
    sheet.add_data_validation(amounts)

    notes = workbook.create_sheet(info.texts.get("instructions_sheet", "Instrucciones"))
    t = info.texts
    rows = [
        [t.get("title", "Liquidación de anticipo")],
        [],
        [t.get("agreement", "Convenio"), info.agreement_number],
        [t.get("organization", "Organización"), info.organization],
        [t.get("tranche", "Desembolso (tramo)"), info.tranche_number],
        [t.get("amount", "Monto del anticipo"), formats.usd(info.advance_amount)],
        [t.get("period", "Período de los comprobantes"),
         f"{formats.day(info.period_start)} – {formats.day(info.period_end)}"],
        [t.get("due", "Fecha límite de liquidación"), f"{formats.day(info.liquidation_due)}"],
        [t.get("outstanding", "Saldo pendiente de liquidar"), formats.usd(info.outstanding)],
        [],
        [t.get("how", "")],
        [t.get("types", ""), ", ".join(info.document_types)],
        [],
        [t.get("lines", "Líneas presupuestarias"), t.get("category", "Categoría"), t.get("available", "Disponible")],
    ]
    for number, category, available in info.budget_lines:
        rows.append([number, category, formats.usd(available)])
    for row in rows:
        notes.append(row)
    notes["A1"].font = Font(bold=True, size=13)
    notes.column_dimensions["A"].width = 34
    notes.column_dimensions["B"].width = 48
    notes.column_dimensions["C"].width = 16

    return workbook.to_bytes()
