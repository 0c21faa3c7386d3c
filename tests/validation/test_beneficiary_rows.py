"""Row checks of beneficiary lists, called directly: the checker built once per file gives what the
per-row function gives, whatever the cells (short rows, absent optional columns, XLSX values)."""
from datetime import date, datetime, timedelta

import pytest

from grants.validation.beneficiary_rows import AgreementFrame, check_enrollment_row, enrollment_checker, map_headers
from tests.agreement_helpers import born
from tests.timeline import day, dmy, iso, years_before

FRAME = AgreementFrame(start=day("2026-02-01"), end=day("2026-11-30"), territory=frozenset({"0623", "0622"}),
                       age_min=14, age_max=29, today=day("2026-11-25"))
ADULT_BORN = born(25)  # 25 on the enrollment day, 2026-03-01 on the reference calendar
HEADERS = ["Tipo de documento", "DUI", "Nombres", "Apellidos", "Fecha de nacimiento", "Sexo", "Municipio",
           "Fecha de inscripción"]


def check(cells, headers=HEADERS):
    mapping, missing = map_headers(headers, "enrollment")
    assert not missing
    return enrollment_checker(mapping, headers, FRAME)(cells)


def test_a_good_row_is_normalized():
    values = check(["dui", " 123456784 ", "  Ana   María ", "López", ADULT_BORN.strftime("%d/%m/%Y"), "f",
                    "san  salvador centro", iso("2026-03-01")])
    assert values == {"document_type": "dui", "document_number": "12345678-4", "first_names": "Ana María",
                      "last_names": "López", "birth_date": ADULT_BORN, "sex": "F", "municipality_code": "0623",
                      "enrollment_date": day("2026-03-01"), "errors": []}


def test_xlsx_values_numbers_and_dates_are_read():
    birth_cell = datetime.combine(ADULT_BORN, datetime.min.time())  # a real Excel date
    serial = (day("2026-03-01") - date(1899, 12, 30)).days  # an Excel serial number (46082 on 2026-03-01)
    values = check(["DUI", 123456784.0, "Ana", "López", birth_cell, "M", 623.0, serial])
    assert (values["document_number"], values["birth_date"], values["enrollment_date"]) == (
        "12345678-4", ADULT_BORN, day("2026-03-01"))
    assert values["errors"] == [{"column": "Municipio", "code": "municipality_unknown", "params": {"value": "623"}}]


def test_a_short_row_and_absent_optional_columns_read_as_empty():
    headers = ["DUI", "Nombres", "Apellidos", "Fecha de nacimiento", "Sexo", "Municipio"]  # no type, no date
    values = check(["12345678-4", "Ana"], headers)
    assert values["document_type"] == "dui" and values["enrollment_date"] == FRAME.today
    assert [(e["column"], e["code"]) for e in values["errors"]] == [
        ("Apellidos", "required"), ("Fecha de nacimiento", "required"), ("Sexo", "required"), ("Municipio", "required")]


@pytest.mark.parametrize("cells", [
    ["Pasaporte", "a1234567", "Ana", "López", ADULT_BORN.strftime("%d/%m/%Y"), "X", "Atlántida",
     dmy("2026-01-01")],  # enrolled before the term
    ["", "PN-2010-1", "", "N" * 130, "31/02/2010", "", "Santa Ana Centro", "2026-13-01"],
    ["DUI", "12345678-5", "Ana", "López", iso("2027-01-01"), "M", "0622", ""],  # born after "today"
])
def test_the_checker_and_the_per_row_function_agree(cells):
    mapping, _ = map_headers(HEADERS, "enrollment")
    assert enrollment_checker(mapping, HEADERS, FRAME)(list(cells)) == check_enrollment_row(list(cells), mapping,
                                                                                            HEADERS, FRAME)
    assert check(list(cells))["errors"]


ENROLLED = day("2026-03-01")
ONE_DAY = timedelta(days=1)


@pytest.mark.parametrize("birth, document, expected", [
    (years_before(ENROLLED, 18), ("DUI", "12345678-4"), []),                      # 18 on the day: an adult
    (years_before(ENROLLED, 18), ("Partida de nacimiento", "PN-1"), ["adult_needs_dui"]),
    (years_before(ENROLLED, 18) + ONE_DAY, ("DUI", "12345678-4"), ["minor_has_no_dui"]),  # 18 tomorrow
    (years_before(ENROLLED, 14), ("Partida de nacimiento", "PN-1"), []),          # the plan's youngest
    (years_before(ENROLLED, 14) + ONE_DAY, ("Partida de nacimiento", "PN-1"), ["age_out_of_range"]),
    (years_before(ENROLLED, 30) + ONE_DAY, ("DUI", "12345678-4"), []),            # 29 until tomorrow
    (years_before(ENROLLED, 30), ("DUI", "12345678-4"), ["age_out_of_range"]),    # 30 on the day
])
def test_ages_are_counted_on_the_enrollment_day(birth, document, expected):
    values = check([*document, "Ana", "López", birth.strftime("%d/%m/%Y"), "F", "0623", ENROLLED.isoformat()])
    assert [e["code"] for e in values["errors"]] == expected
