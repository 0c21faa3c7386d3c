"""Beneficiary lists: every row rule with a failing and a passing row, batch semantics, status
history and "active on date D"."""
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from grants.audit import Actor
from grants.extensions import db
from grants.models import Beneficiary, Enrollment, EnrollmentPeriod, ImportBatch, ImportRow
from grants.services import beneficiary_imports as imports
from grants.services import import_results
from grants.services import enrollments
from grants.domain_errors import Conflict, Forbidden, ValidationFailed
from tests.agreement_helpers import agreement_in_execution, born
from tests.pdfs import broken_xlsx
from tests.factories import valid_dui
from tests.timeline import day, iso, today

HEADER = "Tipo de documento,DUI,Nombres,Apellidos,Fecha de nacimiento,Sexo,Municipio,Fecha de inscripción"
# On the reference calendar people are enrolled on 2026-03-01, inside the term (2026-02-01..2026-11-30);
# ages are counted on that day: ADULT_BORN is 25, MINOR_BORN 15 (the plan takes 14 to 29).
ENROLLED = iso("2026-03-01")
ADULT_BORN = born(25).strftime("%d/%m/%Y")
MINOR_BORN = born(15).strftime("%d/%m/%Y")
ADULT = "DUI,{dui},Ana María,López Pérez," + ADULT_BORN + ",F,San Salvador Centro," + ENROLLED


@pytest.fixture
def ctx(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    return agreement_in_execution()


def run(ctx, text_or_bytes, filename="lista.csv", kind="enrollment"):
    data = text_or_bytes.encode("utf-8") if isinstance(text_or_bytes, str) else text_or_bytes
    return imports.import_file(Actor.for_user(ctx["ngo"]), ctx["agreement"].id, filename, data, kind)


def rows_of(batch):
    return {r.row_number: r for r in db.session.scalars(select(ImportRow).where(ImportRow.batch_id == batch.id))}


def codes(row):
    return [e["code"] for e in row.errors]


@pytest.mark.parametrize("line, code", [
    (f"DUI,12345678-5,Ana,López,{ADULT_BORN},F,0623,{ENROLLED}", "dui_check_digit"),
    (f"DUI,00000000-0,Ana,López,{ADULT_BORN},F,0623,{ENROLLED}", "dui_zero"),
    (f"DUI,1234,Ana,López,{ADULT_BORN},F,0623,{ENROLLED}", "dui_format"),
    (f"Licencia,12345678-4,Ana,López,{ADULT_BORN},F,0623,{ENROLLED}", "document_type_unknown"),
    (f",ABC-123,Ana,López,{ADULT_BORN},F,0623,{ENROLLED}", "document_type_missing"),
    (f"Pasaporte,A1234567,Ana,López,{ADULT_BORN},F,0623,{ENROLLED}", "adult_needs_dui"),
    (f"DUI,12345678-4,Ana,López,{MINOR_BORN},F,0623,{ENROLLED}", "minor_has_no_dui"),
    (f"DUI,12345678-4,,López,{ADULT_BORN},F,0623,{ENROLLED}", "required"),
    (f"DUI,12345678-4,Ana,López,31/02/2000,F,0623,{ENROLLED}", "date_format"),
    (f"DUI,12345678-4,Ana,López,{iso('2027-01-01')},F,0623,{ENROLLED}", "birth_in_future"),  # after today
    (f"DUI,12345678-4,Ana,López,{born(65).strftime('%d/%m/%Y')},F,0623,{ENROLLED}", "age_out_of_range"),
    (f"DUI,12345678-4,Ana,López,{ADULT_BORN},X,0623,{ENROLLED}", "sex_unknown"),
    (f"DUI,12345678-4,Ana,López,{ADULT_BORN},F,Atlántida,{ENROLLED}", "municipality_unknown"),
    (f"DUI,12345678-4,Ana,López,{ADULT_BORN},F,Santa Ana Centro,{ENROLLED}", "municipality_outside"),
    (f"DUI,12345678-4,Ana,López,{ADULT_BORN},F,0623,{iso('2025-12-01')}", "enrollment_outside_term"),
])
def test_each_rule_rejects_its_row_and_passes_a_good_one(ctx, line, code):
    batch = run(ctx, f"{HEADER}\n{line}\n{ADULT.format(dui='00016297-5')}\n")
    rows = rows_of(batch)
    assert code in codes(rows[2]), codes(rows[2])
    assert rows[2].outcome == "error"
    assert rows[3].outcome == "valid" and codes(rows[3]) == []
    assert (batch.status, batch.rows_total, batch.rows_error, batch.rows_valid) == ("ready", 2, 1, 1)


def test_a_minor_with_a_birth_certificate_passes(ctx):
    batch = run(ctx, f"{HEADER}\nPartida de nacimiento,PN-2010-0456,Luis,Ramos,{MINOR_BORN},M,San Salvador Este,"
                     f"{ENROLLED}\n")
    assert batch.rows_valid == 1


def test_mixed_file_counts_are_exact_and_nothing_is_enrolled_before_confirmation(ctx):
    lines = [ADULT.format(dui=valid_dui(n)) for n in range(100, 110)]          # 10 valid
    lines += [f"DUI,12345678-5,Ana,López,{ADULT_BORN},F,0623,{ENROLLED}"] * 3      # 3 errors (same bad DUI)
    lines += [ADULT.format(dui=valid_dui(100))]                                 # duplicate of the first: error
    batch = run(ctx, HEADER + "\n" + "\n".join(lines) + "\n")
    assert (batch.rows_total, batch.rows_valid, batch.rows_warning, batch.rows_error) == (14, 10, 0, 4)
    duplicate = rows_of(batch)[15]
    assert duplicate.duplicate_of_row == 2 and duplicate.outcome == "error"
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0

    imports.confirm_batch(Actor.for_user(ctx["ngo"]), batch.id)
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 10
    assert db.session.scalar(select(func.count()).select_from(EnrollmentPeriod)) == 10
    assert set(db.session.scalars(select(Enrollment.status))) == {"pending"}
    # the enrollments are written in bulk (the audit guard does not see them): the batch's own event
    # says who confirmed and what it made
    confirmed = _event(batch, "beneficiary_import.confirmed")
    assert confirmed.actor_id == ctx["ngo"].id and confirmed.after["enrollments_created"] == 10
    imports.validate_batch(Actor.for_user(ctx["monitoring"]), batch.id)
    validated = _event(batch, "beneficiary_import.validated")
    assert validated.actor_id == ctx["monitoring"].id and validated.after["enrollments_validated"] == 10
    assert set(db.session.scalars(select(Enrollment.status))) == {"validated"}


def _event(batch, action):
    from grants.models import AuditEvent

    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.entity_type == "import_batch",
        AuditEvent.entity_id == str(batch.id))).one()


def test_a_person_already_enrolled_is_updated_not_enrolled_twice(ctx):
    first = run(ctx, f"{HEADER}\n{ADULT.format(dui='00016297-5')}\n")
    imports.confirm_batch(Actor.for_user(ctx["ngo"]), first.id)
    again = run(ctx, f"{HEADER}\nDUI,00016297-5,Ana María,López de Ruiz,{ADULT_BORN},F,San Salvador Este,{ENROLLED}\n")
    row = rows_of(again)[2]
    assert row.outcome == "warning" and row.existing_enrollment_id is not None
    imports.confirm_batch(Actor.for_user(ctx["ngo"]), again.id)
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 1
    person = db.session.scalars(select(Beneficiary)).one()
    assert (person.last_names, person.municipality_code) == ("López de Ruiz", "0622")


def _activate_everyone(ctx, batch):
    imports.confirm_batch(Actor.for_user(ctx["ngo"]), batch.id)
    imports.validate_batch(Actor.for_user(ctx["monitoring"]), batch.id)
    for enrollment in db.session.scalars(select(Enrollment).where(Enrollment.batch_id == batch.id)):
        enrollments.change_status(Actor.for_user(ctx["ngo"]), enrollment.id, "active", imports.today(), "inicia")


def test_double_enrollment_across_agreements_is_flagged_and_decided(ctx, app):
    _activate_everyone(ctx, run(ctx, f"{HEADER}\n{ADULT.format(dui='00016297-5')}\n"))
    other = agreement_in_execution()
    batch = imports.import_file(Actor.for_user(other["ngo"]), other["agreement"].id, "l.csv",
                                f"{HEADER}\n{ADULT.format(dui='00016297-5')}\n".encode(), "enrollment")
    row = rows_of(batch)[2]
    assert row.double_enrollment and row.outcome == "warning" and batch.rows_warning == 1
    imports.confirm_batch(Actor.for_user(other["ngo"]), batch.id)
    enrollment = db.session.scalars(select(Enrollment).where(Enrollment.agreement_id == other["agreement"].id)).one()
    assert enrollment.double_enrollment == "pending"
    imports.validate_batch(Actor.for_user(other["monitoring"]), batch.id)
    assert enrollment.status == "pending"  # waits for its own decision
    with pytest.raises(Conflict):
        enrollments.change_status(Actor.for_user(other["monitoring"]), enrollment.id, "validated", imports.today(), "")
    enrollments.decide_double_enrollment(Actor.for_user(other["monitoring"]), enrollment.id, False,
                                         "Ya participa en el programa de otra ONG")
    assert (enrollment.status, enrollment.double_enrollment) == ("withdrawn", "refused")


def test_who_was_active_on_a_date_is_one_query(ctx):
    batch = run(ctx, HEADER + "\n" + "\n".join(ADULT.format(dui=valid_dui(n)) for n in (1, 2, 3)) + "\n")
    imports.confirm_batch(Actor.for_user(ctx["ngo"]), batch.id)
    imports.validate_batch(Actor.for_user(ctx["monitoring"]), batch.id)
    people = db.session.scalars(select(Enrollment).order_by(Enrollment.id)).all()
    ngo = Actor.for_user(ctx["ngo"])
    assert {p.periods[-1].valid_from for p in people} == {day("2026-03-01")}  # validated from their enrollment
    started, left = day("2026-04-01"), day("2026-09-01")  # past days, each with its reason
    for enrollment in people:
        enrollments.change_status(ngo, enrollment.id, "active", started, "inicia")
    enrollments.change_status(ngo, people[1].id, "inactive", left, "dejó de asistir")

    def active_on(when):
        return set(db.session.scalars(enrollments.active_on(ctx["agreement"].id, when)))

    assert active_on(started - timedelta(days=1)) == set()
    assert active_on(started) == active_on(left - timedelta(days=1)) == set(people)
    assert active_on(left) == active_on(today()) == {people[0], people[2]}


def test_status_lists_apply_changes_and_refuse_impossible_ones(ctx):
    batch = run(ctx, HEADER + "\n" + "\n".join(ADULT.format(dui=valid_dui(n)) for n in (1, 2)) + "\n")
    imports.confirm_batch(Actor.for_user(ctx["ngo"]), batch.id)
    imports.validate_batch(Actor.for_user(ctx["monitoring"]), batch.id)
    when = today().isoformat()  # not before the validation (today)
    status = run(ctx, f"DUI,Estado,Fecha efectiva,Motivo\n{valid_dui(1)},activo,{when},inicia\n"
                      f"{valid_dui(2)},inactivo,{when},no puede: está validada\n{valid_dui(99)},activo,{when},x\n",
                 kind="status")
    rows = rows_of(status)
    assert rows[2].outcome == "valid"
    assert "transition_refused" in codes(rows[3]) and "not_enrolled" in codes(rows[4])
    imports.confirm_batch(Actor.for_user(ctx["ngo"]), status.id)
    states = dict(db.session.execute(select(Beneficiary.document_number, Enrollment.status)
                                     .join(Enrollment, Enrollment.beneficiary_id == Beneficiary.id)).all())
    assert states == {valid_dui(1): "active", valid_dui(2): "validated"}


def test_segregation_the_uploader_never_validates_and_other_ngos_cannot_confirm(ctx):
    batch = run(ctx, f"{HEADER}\n{ADULT.format(dui='00016297-5')}\n")
    stranger = agreement_in_execution()["ngo"]
    with pytest.raises(Exception) as exc:
        imports.confirm_batch(Actor.for_user(stranger), batch.id)
    assert type(exc.value).__name__ in ("NotFound", "Forbidden")
    imports.confirm_batch(Actor.for_user(ctx["ngo"]), batch.id)
    with pytest.raises(Forbidden):
        imports.validate_batch(Actor.for_user(ctx["ngo"]), batch.id)


def test_unreadable_files_fail_the_batch_with_a_reason_and_store_no_rows(ctx):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    for name in ("lista.xlsx", "lista.csv"):  # not a spreadsheet at all: refused at the upload, no batch
        with pytest.raises(ValidationFailed):
            run(ctx, png, name)
        assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0
    for data, name, code in ((broken_xlsx(), "lista.xlsx", "not_xlsx"),
                             (b"DUI;Nombres\n", "lista.csv", "missing_columns"), (HEADER.encode(), "l.csv", "empty")):
        batch = run(ctx, data, name)
        assert batch.status == "failed" and batch.failure.startswith(code), batch.failure
        assert db.session.scalar(select(func.count()).select_from(ImportRow).where(ImportRow.batch_id == batch.id)) == 0


@pytest.mark.parametrize("encoding, delimiter, bom", [
    ("utf-8", ",", False), ("utf-8", ";", True), ("cp1252", ";", False), ("latin-1", ",", False)])
def test_encodings_delimiters_and_bom(ctx, encoding, delimiter, bom):
    text = (HEADER + "\n" + ADULT.format(dui="00016297-5") + "\n").replace(",", delimiter)
    text = text.replace("Ana María", "Ana María Núñez").replace("Pérez", "Peñate")
    data = ("\ufeff" if bom else "").encode("utf-8") + text.encode(encoding) if bom else text.encode(encoding)
    batch = run(ctx, data)
    assert batch.rows_valid == 1, [r.errors for r in rows_of(batch).values()]
    assert rows_of(batch)[2].first_names == "Ana María Núñez"


def test_xlsx_with_real_dates_and_english_headers(ctx):
    from datetime import datetime

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Document type", "Document number", "First names", "Last names", "Birth date", "Sex",
                  "Municipality", "Enrollment date"])

    def cell(day_):  # a real Excel date cell
        return datetime.combine(day_, datetime.min.time())

    sheet.append(["DUI", "00016297-5", "Ana", "López", cell(born(25)), "F", "0623", cell(day("2026-03-01"))])
    sheet.append(["Partida de nacimiento", "PN-77", "Luis", "Ramos", cell(born(14)), "M", "san salvador este",
                  cell(day("2026-03-01"))])
    buffer = io.BytesIO()
    workbook.save(buffer)
    batch = run(ctx, buffer.getvalue(), "lista.xlsx")
    rows = rows_of(batch)
    assert batch.rows_valid == 2, [r.errors for r in rows.values()]
    assert rows[2].birth_date == born(25) and rows[3].birth_date == born(14)
    assert (rows[2].enrollment_date, rows[3].municipality_code) == (day("2026-03-01"), "0622")


def test_a_batch_is_stored_whole_or_not_at_all(ctx, monkeypatch):
    """A failure in the middle of storing rolls everything back: no batch rows, no batch."""
    before = db.session.scalar(select(func.count()).select_from(ImportBatch))
    with pytest.raises(RuntimeError):
        with db.session.begin_nested():
            batch = imports.start_import(Actor.for_user(ctx["ngo"]), ctx["agreement"].id, "l.csv",
                                         (HEADER + "\n" + "\n".join(ADULT.format(dui=valid_dui(n))
                                                                    for n in range(1, 30)) + "\n").encode())
            writer_cls = imports.RowWriter

            class Failing(writer_cls):
                def __init__(self, batch_id, chunk=10):
                    super().__init__(batch_id, chunk=10)

                added = 0

                def add(self, *args, **kwargs):
                    if self.added == 20:  # two chunks handed over (stored, or being stored), then a failure
                        raise RuntimeError("disk full")
                    self.added += 1
                    return super().add(*args, **kwargs)

            monkeypatch.setattr(imports, "RowWriter", Failing)
            imports.process_batch(Actor.for_user(ctx["ngo"]), batch.id)
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == before
    assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 0


def test_backslashes_tabs_and_newlines_in_cells_are_stored_exactly(ctx):
    # quoted cells: a backslash in a name, a tab and a line break inside a municipality (an error's value)
    lines = [HEADER, f'DUI,00016297-5,"Ana\\María \\N",López,{ADULT_BORN},F,"Ciudad\tGótica\n\\.",{ENROLLED}',
             ADULT.format(dui=valid_dui(7)).replace("López Pérez", "O\\Brien\t Peña")]
    batch = run(ctx, "\n".join(lines) + "\n")
    rows = rows_of(batch)
    first, second = rows[3], rows[4]  # numbered by the line where a row ends: the first spans two
    assert first.first_names == "Ana\\María \\N" and first.outcome == "error"
    assert first.errors == [{"column": "Municipio", "code": "municipality_unknown",
                             "params": {"value": "Ciudad\tGótica\n\\."}}]
    assert (second.outcome, second.last_names) == ("valid", "O\\Brien Peña")


# --- issue 11: names, control characters, the column of each message --------------------------

def messages_of(row):
    return [(m["column"], m["code"]) for m in import_results.row_messages(row)]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t"])
def test_a_name_that_begins_like_a_formula_or_with_a_tab_is_refused_by_column(ctx, start):
    first = f"{start}HYPERLINK(\"\"http://x\"\")"
    lines = [f"DUI,{valid_dui(1)},\"{first}\",López,{ADULT_BORN},F,0623,{ENROLLED}",
             f"DUI,{valid_dui(2)},Ana,\"{start}Pérez\",{ADULT_BORN},F,0623,{ENROLLED}",
             f"DUI,{valid_dui(3)},\" {start}Ana\",López,{ADULT_BORN},F,0623,{ENROLLED}",   # behind a space too
             ADULT.format(dui=valid_dui(4)), f"DUI,{valid_dui(5)},Ana-María,O'Neil,{ADULT_BORN},F,0623,{ENROLLED}"]
    batch = run(ctx, HEADER + "\n" + "\n".join(lines) + "\n")
    rows = rows_of(batch)
    assert messages_of(rows[2]) == [("Nombres", "name_formula")] and rows[2].first_names is None
    assert messages_of(rows[3]) == [("Apellidos", "name_formula")]
    assert messages_of(rows[4]) == [("Nombres", "name_formula")]
    assert [rows[n].outcome for n in (2, 3, 4, 5, 6)] == ["error", "error", "error", "valid", "valid"]
    assert "no puede comenzar con =, +, -, @" in import_results.row_messages(rows[2])[0]["message"]


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x14", "\x1f"])
def test_a_control_character_in_a_cell_is_a_row_error_naming_its_column(ctx, char):
    lines = [f"DUI,{valid_dui(1)},An{char}a,López,{ADULT_BORN},F,0623,{ENROLLED}",
             f"DUI,{valid_dui(2)}{char},Ana,López,{ADULT_BORN},F,0623,{ENROLLED}",
             f"DUI,{valid_dui(3)},Ana,López,{ADULT_BORN},F,06{char}23,{ENROLLED}",
             ADULT.format(dui=valid_dui(4))]
    batch = run(ctx, HEADER + "\n" + "\n".join(lines) + "\n")
    assert (batch.status, batch.rows_total, batch.rows_error, batch.rows_valid) == ("ready", 4, 3, 1)
    rows = rows_of(batch)
    assert ("Nombres", "control_character") in messages_of(rows[2])
    assert ("DUI", "control_character") in messages_of(rows[3])
    assert ("Municipio", "control_character") in messages_of(rows[4])
    stored = [getattr(r, f) or "" for r in rows.values() for f in ("first_names", "document_number")]
    assert not any(char in value for value in stored)  # nothing unstorable reached the database


def test_a_status_list_with_a_control_character_is_reported_too(ctx):
    text = ("Tipo de documento,DUI,Estado,Fecha efectiva,Motivo\n"
            f"DUI,{valid_dui(1)},activo,{ENROLLED},inicia\x00 hoy\n")
    batch = run(ctx, text, kind="status")
    assert batch.status == "ready" and ("Motivo", "control_character") in messages_of(rows_of(batch)[2])


def test_a_header_with_a_control_character_is_read_without_it(ctx):
    batch = run(ctx, HEADER.replace("Nombres", "Nom\x14bres") + "\n" + ADULT.format(dui=valid_dui(1)) + "\n")
    assert batch.status == "ready" and batch.rows_valid == 1 and "Nombres" in batch.headers


@pytest.mark.parametrize("type_cell, number, code", [
    ("", "42749100", "dui_format"),          # the check digit missing
    ("", "ABC45678-9", "dui_format"),
    ("", "4274910-01", "dui_format"),
    ("", "427491000", "dui_check_digit"),    # DUI-shaped: its check digit is checked
    ("DUI", "42749100", "dui_format"),
    ("DUI", "ABC45678-9", "dui_format"),
    ("", "ABC-123", "document_type_missing"),
])
def test_a_malformed_dui_is_reported_against_the_document_number_column(ctx, type_cell, number, code):
    header = HEADER.replace("Tipo de documento", "Tipo de Documento").replace("DUI,", "Número de documento,")
    batch = run(ctx, f"{header}\n{type_cell},{number},Ana,López,{ADULT_BORN},F,0623,{ENROLLED}\n")
    assert messages_of(rows_of(batch)[2]) == [("Número de documento", code)]


def test_an_unknown_document_type_is_reported_against_the_type_column_as_headed(ctx):
    header = HEADER.replace("Tipo de documento", "Tipo de Documento")
    batch = run(ctx, f"{header}\nCédula,{valid_dui(1)},Ana,López,{ADULT_BORN},F,0623,{ENROLLED}\n")
    assert messages_of(rows_of(batch)[2]) == [("Tipo de Documento", "document_type_unknown")]


def test_duplicates_and_people_already_enrolled_name_the_document_column(ctx):
    header = HEADER.replace("DUI,", "Documento,")
    first = run(ctx, f"{header}\n{ADULT.format(dui=valid_dui(1))}\n")
    imports.confirm_batch(Actor.for_user(ctx["ngo"]), first.id)
    lines = [ADULT.format(dui=valid_dui(1)), ADULT.format(dui=valid_dui(2)), ADULT.format(dui=valid_dui(2))]
    batch = run(ctx, header + "\n" + "\n".join(lines) + "\n")
    rows = rows_of(batch)
    assert messages_of(rows[2]) == [("Documento", "already_enrolled")]
    assert messages_of(rows[4]) == [("Documento", "duplicate_in_file")]
    assert rows[2].outcome == "warning" and rows[4].outcome == "error"
    assert import_results.row_messages(rows[4], "DUI")[0]["column"] == "DUI"  # a caller may name it


def test_error_rows_of_a_list_with_control_characters_export_clean(ctx):
    from grants.reports.import_errors import errors_csv, errors_xlsx
    from openpyxl import load_workbook

    batch = run(ctx, f"{HEADER}\nDUI,{valid_dui(1)},An\x14a,=López,{ADULT_BORN},F,0623,{ENROLLED}\n")
    rows = list(import_results.error_rows(batch))
    assert rows[0][1]["Nombres"] == "An\x14a"  # the row as typed …
    sheet = list(load_workbook(io.BytesIO(errors_xlsx(batch.headers, rows, "Errores", "Fila")))
                 .active.iter_rows(values_only=True))
    assert sheet[1][3] == "An\ufffda" and sheet[1][4] == "'=López"  # … written so any spreadsheet opens it
    text = errors_csv(batch.headers, rows, "Errores", "Fila").decode("utf-8-sig")
    assert "\x14" not in text and "'=López" in text
