"""One cell sanitizer for every spreadsheet the service writes (grants/reports/xlsx.py): text that
a workbook cannot hold is replaced, formula-like text is neutralized, and no other module writes
cells of an openpyxl worksheet directly."""
from __future__ import annotations

import ast
import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from grants.reports.findings_xlsx import findings_xlsx
from grants.reports.import_errors import errors_csv, errors_xlsx
from grants.reports.statement_template import TemplateInfo, build_statement_template
from grants.reports.xlsx import MAX_CELL_TEXT, REPLACEMENT, new_workbook, safe_cell, safe_text

ROOT = Path(__file__).resolve().parents[2] / "grants"
HELPER = ROOT / "reports" / "xlsx.py"
CONTROLS = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_like_text_is_neutralized(start):
    assert safe_cell(f"{start}HYPERLINK(\"http://x\")") == f"'{start}HYPERLINK(\"http://x\")"
    assert safe_text(f"{start}1") == f"'{start}1"


@pytest.mark.parametrize("char", CONTROLS + ["\ud800", "\ufffe", "\uffff"])
def test_characters_xml_cannot_hold_are_replaced(char):
    assert safe_cell(f"Nota{char}fin") == f"Nota{REPLACEMENT}fin"


def test_values_that_are_not_text_pass_and_long_text_is_cut():
    for value in (3, 2.5, Decimal("1.10"), date(2026, 1, 2), datetime(2026, 1, 2, 3, 4), True, None):
        assert safe_cell(value) is value
    assert safe_cell("Ana\tLópez\nPérez") == "Ana\tLópez\nPérez"  # tab/newline inside text are fine
    assert len(safe_cell("x" * (MAX_CELL_TEXT + 10))) == MAX_CELL_TEXT
    assert safe_text(None) == ""


def test_every_hostile_text_makes_a_workbook_that_opens():
    hostile = "".join(CONTROLS) + "\ud800\ufffe="
    book = new_workbook()
    sheet = book.active
    sheet.append([hostile, "=1+1", 5])
    sheet["D1"] = "@x\x14"
    sheet.cell(row=2, column=1, value="-1\x00")
    cells = list(load_workbook(io.BytesIO(book.to_bytes())).active.iter_rows(values_only=True))
    assert cells[0][1:4] == ("'=1+1", 5, "'@x" + REPLACEMENT)
    assert cells[1][0] == "'-1" + REPLACEMENT and "\x00" not in cells[0][0]


def test_the_error_exports_of_a_list_are_clean_in_csv_and_xlsx():
    rows = [(2, {"Nombres": "Ana\x14", "DUI": "=cmd|' /C calc'!A0"}, "Nombres: caracteres\x00")]
    table = list(csv.reader(io.StringIO(errors_csv(["Nombres", "DUI"], rows, "Errores", "Fila")
                                        .decode("utf-8-sig"))))
    assert table[1] == ["2", "Ana" + REPLACEMENT, "'=cmd|' /C calc'!A0", "Nombres: caracteres" + REPLACEMENT]
    sheet = list(load_workbook(io.BytesIO(errors_xlsx(["Nombres", "DUI"], rows, "Errores", "Fila")))
                 .active.iter_rows(values_only=True))
    assert sheet[1] == (2, "Ana" + REPLACEMENT, "'=cmd|' /C calc'!A0", "Nombres: caracteres" + REPLACEMENT)


def test_findings_and_statement_template_with_control_characters_open():
    from grants.services.audit_checks import FindingRecord

    record = FindingRecord(
        id=1, rule_code="x", rule_title="Regla\x01", severity="high", severity_label="Alta", status="open",
        status_label="Abierto", agreement_number="C-1", organization_name="=ONG\x0b", entity="advance 1",
        summary="Resumen\x14", amount=Decimal("10.00"), present=True, first_seen_at=None, last_seen_at=None,
        note="Nota\u0014 revisada", evidence={"dato\x02": "valor\x03", "n": 4})
    book = load_workbook(io.BytesIO(findings_xlsx([record], date(2026, 1, 1))))
    row = [c.value for c in book["Hallazgos"][3]]
    assert row[7] == "'=ONG" + REPLACEMENT and row[13] == "Nota" + REPLACEMENT + " revisada"
    evidence = list(book["Evidencia"].iter_rows(values_only=True))
    assert (1, "dato" + REPLACEMENT, "valor" + REPLACEMENT) in evidence and (1, "n", 4) in evidence

    info = TemplateInfo(agreement_number="C-1", organization="+ONG\x14", tranche_number=1,
                        advance_amount=Decimal("100"), period_start=date(2026, 1, 1), period_end=date(2026, 2, 1),
                        liquidation_due=date(2026, 3, 1), outstanding=Decimal("100"), headers=["Tipo\x01", "N.º"],
                        document_types=["Factura\x02"], budget_lines=[(1, "-Honorarios\x03", Decimal("5"))])
    book = load_workbook(io.BytesIO(build_statement_template(info)))
    assert book.worksheets[0]["A1"].value == "Tipo" + REPLACEMENT
    texts = [v for row in book.worksheets[2].iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert "'+ONG" + REPLACEMENT in texts and "'-Honorarios" + REPLACEMENT in texts


def _violations(path: Path, root: Path = ROOT.parent) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("openpyxl"):
            found += [f"imports openpyxl's {a.name}" for a in node.names
                      if a.name in ("Workbook", "WriteOnlyCell", "Cell", "Worksheet")]
        elif isinstance(node, ast.Attribute) and node.attr in ("Workbook", "WriteOnlyCell", "_ws", "_wb"):
            found.append(f"uses .{node.attr}")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found += ["assigns a cell's .value" for t in targets
                      if isinstance(t, ast.Attribute) and t.attr == "value"]
    return [f"{path.relative_to(root)}: {v}" for v in found]


def test_no_module_but_the_helper_writes_worksheet_cells():
    """Workbooks come from ``new_workbook()`` (its sheets sanitize every write); nobody else builds
    an openpyxl Workbook, reaches the raw worksheet or sets a cell's ``.value``."""
    problems = [v for path in sorted(ROOT.rglob("*.py")) if path != HELPER for v in _violations(path)]
    assert problems == []


def test_the_mechanism_test_would_catch_a_direct_write(tmp_path):
    sneaky = tmp_path / "grants" / "sneaky.py"
    sneaky.parent.mkdir()
    sneaky.write_text("from openpyxl import Workbook\nwb = Workbook()\nwb.active['A1'].value = 'x'\n"
                      "import openpyxl\nopenpyxl.Workbook()\nsheet._ws.append([1])\n")
    assert len(_violations(sneaky, tmp_path)) == 4
