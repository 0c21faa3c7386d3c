"""Import rows are written in bulk (on PostgreSQL streamed into an open COPY); the connection stays
usable between rows: a statement, a failure halfway through a file or a rollback all work."""
import pytest
from sqlalchemy import func, select

from grants.audit import Actor
from grants.db import unit_of_work
from grants.extensions import db
from grants.models import ImportBatch, ImportRow
from grants.services import beneficiary_imports as imports
from grants.services.row_store import RowWriter
from tests.agreement_helpers import ENROLLED_ON, agreement_in_execution, born
from tests.factories import valid_dui
from tests.timeline import iso

HEADER = "Tipo de documento,DUI,Nombres,Apellidos,Fecha de nacimiento,Sexo,Municipio,Fecha de inscripción\n"
BORN, ENROLLED = born(25).strftime("%d/%m/%Y"), iso(ENROLLED_ON)  # an adult, enrolled inside the term
ADULT = "DUI,{dui},Ana María,López Pérez," + BORN + ",F,San Salvador Centro," + ENROLLED + "\n"


def adults(count: int) -> str:
    return "".join(ADULT.format(dui=valid_dui(n)) for n in range(1, count + 1))


def stored(batch_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(ImportRow).where(ImportRow.batch_id == batch_id))


@pytest.fixture
def ctx(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    return agreement_in_execution()


def test_a_statement_between_rows_works_and_every_row_is_stored(ctx):
    batch = imports.start_import(Actor.for_user(ctx["ngo"]), ctx["agreement"].id, "l.csv", (HEADER + adults(1)).encode())
    writer = RowWriter(batch.id, chunk=100)
    values = {"document_type": "dui", "document_number": "00000001-7", "first_names": "Ana"}
    for number in range(2, 152):
        writer.add(number, "valid", [], values)
    # the first 100 rows are stored; on PostgreSQL this query also ends the open COPY of the next 50
    assert stored(batch.id) in (100, 150)
    for number in range(152, 162):
        writer.add(number, "error", [{"column": "DUI", "code": "dui_format"}], {})
    writer.flush()
    assert stored(batch.id) == 160
    first, last = (db.session.scalar(select(ImportRow).where(ImportRow.batch_id == batch.id,
                                                             ImportRow.row_number == n)) for n in (2, 161))
    assert (first.errors, first.first_names) == ([], "Ana")
    assert (last.outcome, last.errors, last.document_number) == ("error", [{"column": "DUI", "code": "dui_format"}],
                                                                 None)


def test_a_file_unreadable_halfway_fails_the_batch_and_keeps_no_rows(ctx):
    # 7,000 good rows (a COPY of 5,000 ended, another open), then a field over csv's size limit
    data = HEADER + adults(7000) + 'DUI,"' + "9" * 200_000 + f'",Ana,López,{BORN},F,0623,{ENROLLED}\n'
    batch = imports.import_file(Actor.for_user(ctx["ngo"]), ctx["agreement"].id, "l.csv", data.encode())
    assert batch.status == "failed" and batch.failure.startswith("csv_error"), batch.failure
    assert stored(batch.id) == 0


def test_an_error_between_rows_rolls_back_cleanly(live_app, tmp_path, monkeypatch):
    live_app.config["UPLOAD_DIR"] = str(tmp_path)
    with live_app.app_context():
        ctx = agreement_in_execution()
        actor = Actor.for_user(ctx["ngo"])
        with unit_of_work():
            batch_id = imports.start_import(actor, ctx["agreement"].id, "l.csv", (HEADER + adults(7000)).encode()).id
        checked, real = [], imports.enrollment_checker

        def failing_checker(*args):
            check = real(*args)

            def failing(cells):
                checked.append(1)
                if len(checked) == 6000:  # rows are in an open COPY now
                    raise RuntimeError("boom")
                return check(cells)

            return failing

        monkeypatch.setattr(imports, "enrollment_checker", failing_checker)
        with pytest.raises(RuntimeError, match="boom"):
            with unit_of_work():
                imports.process_batch(actor, batch_id)
        db.session.remove()
        assert db.session.get(ImportBatch, batch_id).status == "processing"
        assert stored(batch_id) == 0


# Text that COPY's text format must escape (or that looks like its markers), stored exactly as given.
TRICKY = ["tab\there", "back\\slash", "new\nline", "carriage\rreturn", "\\N", "\\.", "ends in \\", "\\t not a tab",
          "", " spaces kept ", "José Núñez «Peña»", "\\\\N", "a\r\n\tb\\"]


def test_copy_text_escapes_what_the_text_format_needs():
    from datetime import date

    from grants.services.row_store import copy_line, copy_text

    assert copy_text(None) == "\\N" and copy_text("\\N") == "\\\\N" and copy_text("") == ""
    assert copy_text("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e"
    assert copy_text("plain") == "plain" and copy_text(7) == "7" and copy_text(date(2026, 3, 1)) == "2026-03-01"
    assert (copy_text(True), copy_text(False)) == ("t", "f")
    assert copy_line([1, None, "x\ty"]) == "1\t\\N\tx\\ty\n"


def test_text_with_tabs_backslashes_and_newlines_is_stored_exactly(ctx):
    batch = imports.start_import(Actor.for_user(ctx["ngo"]), ctx["agreement"].id, "l.csv",
                                 (HEADER + adults(1)).encode())
    writer = RowWriter(batch.id, chunk=4)  # several COPYs, some ended while later rows are added
    for number, value in enumerate(TRICKY, start=2):
        error = {"column": value, "code": "municipality_unknown", "params": {"value": value}}
        writer.add(number, "error", [error], {"first_names": value, "last_names": value[::-1], "status_reason": value,
                                              "document_number": value[:30] or None})
    writer.add(100, "valid", [], {"first_names": None, "last_names": ""})
    writer.flush()
    rows = {r.row_number: r for r in db.session.scalars(select(ImportRow).where(ImportRow.batch_id == batch.id))}
    assert len(rows) == len(TRICKY) + 1
    for number, value in enumerate(TRICKY, start=2):
        row = rows[number]
        assert (row.first_names, row.last_names, row.status_reason) == (value, value[::-1], value), number
        assert row.document_number == (value[:30] or None), number
        assert row.errors == [{"column": value, "code": "municipality_unknown", "params": {"value": value}}], number
    assert (rows[100].first_names, rows[100].last_names, rows[100].errors) == (None, "", [])


def test_a_row_the_database_refuses_fails_the_import_and_rolls_back(live_app, tmp_path):
    import psycopg

    live_app.config["UPLOAD_DIR"] = str(tmp_path)
    with live_app.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite does not enforce the length of a column")
        ctx = agreement_in_execution()
        actor = Actor.for_user(ctx["ngo"])
        with unit_of_work():
            batch_id = imports.start_import(actor, ctx["agreement"].id, "l.csv", (HEADER + adults(1)).encode()).id
        with pytest.raises(psycopg.errors.StringDataRightTruncation, match="too long"):
            with unit_of_work():
                writer = RowWriter(batch_id, chunk=3)
                for number in range(2, 12):  # row 5 is longer than its column: the COPY that holds it fails
                    writer.add(number, "valid", [], {"document_number": "9" * (40 if number == 5 else 9)})
                writer.flush()
        db.session.remove()
        assert stored(batch_id) == 0
        assert db.session.get(ImportBatch, batch_id).status == "processing"  # the session works again
