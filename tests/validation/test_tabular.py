"""Hostile and odd files are refused with a clear reason before anything is stored."""
import io
import zipfile

import pytest
from openpyxl import Workbook

from grants.validation.tabular import UnreadableFile, open_table


def xlsx_bytes(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read(tmp_path, data: bytes, name: str):
    path = tmp_path / "upload"
    path.write_bytes(data)
    table = open_table(path, name)
    return table.headers, list(table.rows)


def reason(tmp_path, data, name):
    with pytest.raises(UnreadableFile) as exc:
        read(tmp_path, data, name)
    return exc.value.code


def test_a_png_renamed_xlsx_or_csv_is_refused(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    assert reason(tmp_path, png, "lista.xlsx") == "not_csv"  # the content says what it is, not the name
    assert reason(tmp_path, png, "lista.csv") == "not_csv"


def test_a_zip_bomb_is_refused_before_parsing(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (40 * 1024 * 1024))
    assert len(buffer.getvalue()) < 200_000
    assert reason(tmp_path, buffer.getvalue(), "lista.xlsx") == "zip_bomb"


def test_an_xml_entity_bomb_is_refused(tmp_path):
    good = xlsx_bytes([["DUI", "Nombres"], ["00016297-5", "Ana"]])
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(f'<!ENTITY lol{i} "{"&lol{};".format(i - 1 if i > 1 else "") * 10}">' for i in range(1, 9))
            + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol8;</t></is></c></row></sheetData>'
              '</worksheet>')
    source = zipfile.ZipFile(io.BytesIO(good))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = bomb.encode() if item.filename == "xl/worksheets/sheet1.xml" else source.read(item.filename)
            archive.writestr(item, data)
    assert reason(tmp_path, buffer.getvalue(), "lista.xlsx") in ("xlsx_content", "not_xlsx")


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hola.txt", "no soy una hoja de cálculo")
    assert reason(tmp_path, buffer.getvalue(), "lista.xlsx") == "not_xlsx"


def test_the_name_says_nothing_and_an_empty_file_is_refused(tmp_path):
    assert read(tmp_path, b"DUI\n00016297-5\n", "lista.pdf") == (["DUI"], [(2, ["00016297-5"])])
    assert read(tmp_path, xlsx_bytes([["DUI"], ["00016297-5"]]), "lista.csv")[0] == ["DUI"]
    assert reason(tmp_path, b"", "lista.csv") == "empty"
    assert reason(tmp_path, b"DUI\n\x81\x8d\n", "lista.csv") == "not_csv"  # neither UTF-8 nor Windows-1252


def test_csv_delimiters_encodings_and_blank_lines(tmp_path):
    text = "DUI;Nombres\r\n00016297-5;José Núñez\r\n\r\n12345678-4;Ana\r\n"
    headers, rows = read(tmp_path, text.encode("cp1252"), "l.csv")
    assert headers == ["DUI", "Nombres"]
    assert [r[1] for r in rows] == [["00016297-5", "José Núñez"], ["12345678-4", "Ana"]]
    headers, rows = read(tmp_path, ("\ufeff" + text.replace(";", ",")).encode("utf-8"), "l.csv")
    assert headers == ["DUI", "Nombres"] and rows[0][1][1] == "José Núñez"
