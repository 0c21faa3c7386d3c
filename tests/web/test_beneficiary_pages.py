"""Beneficiary pages: upload a list, read its report, download the rejected rows, confirm,
validate; double enrollments; masking and revealing personal data; scoping; the background
processing of uploads."""
import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from grants import clock
from grants.audit import Actor
from grants.extensions import db
from grants.models import AuditEvent, Enrollment, ImportBatch
from grants.services import beneficiary_imports as imports
from grants.services import enrollments
from grants.web import beneficiaries as pages
from grants.web import beneficiary_imports as import_pages
from tests.agreement_helpers import ENROLLED_ON, agreement_in_execution, born
from tests.factories import valid_dui
from tests.helpers import built_file, csrf_token, web_login
from tests.pdfs import broken_xlsx
from tests.timeline import iso, today

HEADER = "Tipo de documento,DUI,Nombres,Apellidos,Fecha de nacimiento,Sexo,Municipio,Fecha de inscripción"
ENROLLED = iso(ENROLLED_ON)  # inside the term; the people are 24 to 26 years old that day
ANA_BORN = born(25)
GOOD = "DUI,{dui},{name},López Pérez," + ANA_BORN.strftime("%d/%m/%Y") + ",F,San Salvador Centro," + ENROLLED
BAD_DUI = f"DUI,12345678-5,Carlos,Martínez,{born(26).strftime('%d/%m/%Y')},M,San Salvador Centro,{ENROLLED}"
FORMULA = '=HYPERLINK("http://example.com","clic")'
BAD_SEX = (f"DUI,{valid_dui(4)},\"{FORMULA.replace(chr(34), chr(34) * 2)}\",Rivas,{born(24).strftime('%d/%m/%Y')},X,"
           f"0623,{ENROLLED}")

@pytest.fixture
def ctx(app, tmp_path, monkeypatch):
    """An agreement in execution. Today is the suite's day, 20/11 on the reference calendar: inside
    the agreement's term (01/02–30/11), after every date these tests give."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path))
    return agreement_in_execution()


def client_for(app, user):
    client = app.test_client()
    response = web_login(client, user.email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def upload(client, agreement_id, data, filename="lista.csv", kind="enrollment"):
    token = csrf_token(client, f"/agreements/{agreement_id}/beneficiaries")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return client.post(f"/agreements/{agreement_id}/beneficiaries/upload", data={
        "csrf_token": token, "kind": kind, "file": (io.BytesIO(payload), filename)},
        content_type="multipart/form-data")


def batch_id_of(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)
    match = re.search(r"/beneficiary-imports/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def post(client, path, data=None, page="/"):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **(data or {})})


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def count_in(html: str, name: str) -> int:
    match = re.search(rf'data-count="{name}"[^>]*><strong>(\d+)</strong>', html)
    assert match, name
    return int(match.group(1))


def faulty_list() -> str:
    lines = [GOOD.format(dui=valid_dui(n), name=f"Ana {n}") for n in (1, 2, 3)]
    lines += [BAD_DUI, GOOD.format(dui=valid_dui(1), name="Ana otra vez"), BAD_SEX]
    return HEADER + "\n" + "\n".join(lines) + "\n"


def test_a_faulty_list_is_reported_downloaded_confirmed_and_validated(app, ctx):
    agreement = ctx["agreement"]
    ngo = client_for(app, ctx["ngo"])
    page = ngo.get(f"/agreements/{agreement.id}/beneficiaries").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="file"' in page and 'name="kind"' in page
    template = ngo.get("/beneficiary-imports/template.csv")
    assert template.status_code == 200 and template.mimetype == "text/csv"
    assert template.get_data().decode("utf-8-sig").splitlines()[0].startswith("Tipo de documento,Número de documento")

    batch_id = batch_id_of(upload(ngo, agreement.id, faulty_list()))
    report = ngo.get(f"/beneficiary-imports/{batch_id}")
    assert report.status_code == 200
    html = report.get_data(as_text=True)
    assert 'http-equiv="refresh"' not in html
    assert [count_in(html, n) for n in ("total", "valid", "warning", "error")] == [6, 3, 0, 3]
    assert "Lista para confirmar" in html
    rows = re.findall(r'<tr data-row="(\d+)">(.*?)</tr>', html, re.S)
    by_row = {}
    for number, cells in rows:
        by_row.setdefault(int(number), []).append(text_of(cells).strip())
    assert any("DUI" in c and "El dígito verificador del DUI no es correcto." in c for c in by_row[5]), by_row
    assert any("La misma persona ya aparece en la fila 2." in c for c in by_row[6]), by_row
    assert any("Sexo" in c and "Sexo no válido: use F o M." in c for c in by_row[7]), by_row
    assert set(by_row) == {5, 6, 7}

    # the rejected rows as CSV: the original row, its number and the error column; formulas neutralized
    download = ngo.get(f"/beneficiary-imports/{batch_id}/errors.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "no-store" in download.headers["Cache-Control"]
    table = list(csv.reader(io.StringIO(download.get_data().decode("utf-8-sig"))))
    assert table[0] == ["Fila", *HEADER.split(","), "Errores"]
    assert [r[0] for r in table[1:]] == ["5", "6", "7"]
    assert table[1][1:9] == BAD_DUI.split(",")
    assert "El dígito verificador del DUI no es correcto." in table[1][9]
    assert table[3][3] == "'" + FORMULA and "Sexo no válido" in table[3][9]

    workbook = load_workbook(io.BytesIO(built_file(ngo, f"/beneficiary-imports/{batch_id}/errors.xlsx").get_data()))
    sheet = list(workbook.active.iter_rows(values_only=True))
    assert sheet[0] == ("Fila", *HEADER.split(","), "Errores")
    assert [r[0] for r in sheet[1:]] == [5, 6, 7]
    assert sheet[1][2] == "12345678-5" and "dígito verificador" in sheet[1][9]
    assert sheet[3][3] == "'" + FORMULA

    # nothing is enrolled before confirmation; the NGO confirms
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0
    response = post(ngo, f"/beneficiary-imports/{batch_id}/confirm", {"confirm": "y"}, page=f"/beneficiary-imports/{batch_id}")
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 3
    assert set(db.session.scalars(select(Enrollment.status))) == {"pending"}
    assert "Confirmada" in ngo.get(f"/beneficiary-imports/{batch_id}").get_data(as_text=True)

    # monitoring finds it first in its queue and validates it
    monitoring = client_for(app, ctx["monitoring"])
    assert 'data-testid="lists-link"' in monitoring.get("/").get_data(as_text=True)
    queue = monitoring.get("/beneficiary-imports").get_data(as_text=True)
    assert f'href="/beneficiary-imports/{batch_id}"' in queue
    batch_html = monitoring.get(f"/beneficiary-imports/{batch_id}").get_data(as_text=True)
    assert 'data-testid="validate"' in batch_html and 'data-testid="confirm"' not in batch_html
    assert 'data-testid="errors-csv"' not in batch_html  # the rows as typed are the NGO's
    assert monitoring.get(f"/beneficiary-imports/{batch_id}/errors.csv").status_code == 403
    response = post(monitoring, f"/beneficiary-imports/{batch_id}/validate")
    assert response.status_code == 303
    assert set(db.session.scalars(select(Enrollment.status))) == {"validated"}
    assert db.session.get(ImportBatch, batch_id).status == "validated"


def test_staff_see_masked_data_and_reveal_it_once_with_a_reason(app, ctx):
    agreement = ctx["agreement"]
    ngo = client_for(app, ctx["ngo"])
    batch_id = batch_id_of(upload(ngo, agreement.id, HEADER + "\n" + GOOD.format(dui="00016297-5", name="Ana") + "\n"))
    post(ngo, f"/beneficiary-imports/{batch_id}/confirm", {"confirm": "y"})
    url = f"/agreements/{agreement.id}/beneficiaries"
    own = ngo.get(url).get_data(as_text=True)
    born_on = ANA_BORN.strftime("%d/%m/%Y")
    assert "00016297-5" in own and born_on in own and 'data-testid="reveal-form"' not in own

    monitoring = client_for(app, ctx["monitoring"])
    masked = monitoring.get(url)
    assert masked.status_code == 200 and "no-store" in masked.headers["Cache-Control"]
    html = masked.get_data(as_text=True)
    assert "00016297-5" not in html and born_on not in html
    assert "•••••••7-5" in html and f">{ANA_BORN.year}<" in html  # the year of birth only
    assert 'data-testid="reveal-form"' in html

    enrollment = db.session.scalars(select(Enrollment)).one()
    refused = post(monitoring, f"/enrollments/{enrollment.id}/reveal", {"reason": "  "}, page=url)
    assert refused.status_code == 422
    assert re.search(r'data-field="reason">Indique para qué necesita ver los datos completos', refused.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "personal_data.revealed")) == 0

    shown = post(monitoring, f"/enrollments/{enrollment.id}/reveal", {"reason": "Verificación de campo"}, page=url)
    assert shown.status_code == 303
    html = monitoring.get(shown.headers["Location"]).get_data(as_text=True)
    assert "00016297-5" in html and born_on in html
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "personal_data.revealed")).one()
    assert (event.entity_id, event.actor_id) == (str(enrollment.beneficiary_id), ctx["monitoring"].id)
    assert event.after["reason"] == "Verificación de campo"
    again = monitoring.get(url).get_data(as_text=True)  # the next page is masked again
    assert "00016297-5" not in again and "•••••••7-5" in again

    # administrators read the list masked and cannot unmask
    admin = client_for(app, ctx["administrator"])
    html = admin.get(url).get_data(as_text=True)
    assert "•••••••7-5" in html and 'data-testid="reveal-form"' not in html
    assert post(admin, f"/enrollments/{enrollment.id}/reveal", {"reason": "x"}).status_code == 403


def test_status_changes_from_the_list_and_the_active_on_filter(app, ctx):
    agreement = ctx["agreement"]
    ngo = client_for(app, ctx["ngo"])
    lines = [GOOD.format(dui=valid_dui(n), name=f"Ana {n}") for n in (1, 2)]
    batch_id = batch_id_of(upload(ngo, agreement.id, HEADER + "\n" + "\n".join(lines) + "\n"))
    post(ngo, f"/beneficiary-imports/{batch_id}/confirm", {"confirm": "y"})
    first, second = db.session.scalars(select(Enrollment).order_by(Enrollment.id)).all()
    url = f"/agreements/{agreement.id}/beneficiaries"

    # the NGO cannot validate: monitoring does, from the list
    options = re.findall(r'id="status-\d+" name="status">(.*?)</select>', ngo.get(url).get_data(as_text=True))
    assert len(options) == 2 and not any('value="validated"' in o for o in options)
    assert 'value="active"' not in options[0]  # pending → active is not a step
    options = re.findall(r'id="status-\d+" name="status">(.*?)</select>', client_for(app, ctx["monitoring"])
                         .get(url).get_data(as_text=True))
    assert all('value="validated"' in o for o in options) and len(options) == 2
    monitoring = client_for(app, ctx["monitoring"])
    response = post(monitoring, f"/enrollments/{first.id}/status",
                    {"status": "validated", "effective_date": iso("2026-06-01"), "reason": ""}, page=url)
    assert response.status_code == 422 and first.status == "pending"  # a past day needs its reason
    assert re.search(r'data-field="reason">[^<]*motivo', response.get_data(as_text=True))
    response = post(monitoring, f"/enrollments/{first.id}/status",
                    {"status": "validated", "effective_date": iso("2026-06-01"), "reason": "visita de campo"},
                    page=url)
    assert response.status_code == 303 and first.status == "validated"

    # a date before the current state: the error next to the field, nothing changes
    response = post(ngo, f"/enrollments/{first.id}/status?status=validated",
                    {"status": "active", "effective_date": iso("2026-01-15"), "reason": "inicia"}, page=url)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'data-field="effective_date">La fecha efectiva debe estar dentro del plazo', html)
    assert "<details open>" in html and first.status == "validated"

    response = post(ngo, f"/enrollments/{first.id}/status",
                    {"status": "active", "effective_date": iso("2026-06-02"), "reason": "inicia"}, page=url)
    assert response.status_code == 303 and first.status == "active"
    assert post(ngo, f"/enrollments/{second.id}/status",
                {"status": "active", "effective_date": iso("2026-06-02"), "reason": ""}).status_code == 409
    assert post(ngo, f"/enrollments/{first.id}/status",
                {"status": "inactive", "effective_date": iso("2026-08-01"), "reason": "se mudó"}).status_code == 303

    def names(query):
        return re.findall(r"López Pérez, (Ana \d)", ngo.get(url + query).get_data(as_text=True))

    assert names(f"?active_on={iso('2026-07-01')}") == ["Ana 1"]
    assert names(f"?active_on={iso('2026-09-01')}") == []
    assert names("?status=pending") == ["Ana 2"]
    bad = ngo.get(url + "?active_on=ayer").get_data(as_text=True)
    assert 'data-field="active_on"' in bad and len(re.findall(r"López Pérez, Ana", bad)) == 2


def test_double_enrollment_is_warned_and_decided_by_monitoring(app, ctx):
    ngo = Actor.for_user(ctx["ngo"])
    person = HEADER + "\n" + GOOD.format(dui="00016297-5", name="Ana") + "\n"
    first = imports.import_file(ngo, ctx["agreement"].id, "l.csv", person.encode())
    imports.confirm_batch(ngo, first.id)
    imports.validate_batch(Actor.for_user(ctx["monitoring"]), first.id)
    enrolled = db.session.scalars(select(Enrollment)).one()
    enrollments.change_status(ngo, enrolled.id, "active", today(), "inicia")  # validated today, active from today
    db.session.commit()

    other = agreement_in_execution()
    other_ngo = client_for(app, other["ngo"])
    batch_id = batch_id_of(upload(other_ngo, other["agreement"].id, person))
    html = other_ngo.get(f"/beneficiary-imports/{batch_id}").get_data(as_text=True)
    assert [count_in(html, n) for n in ("total", "valid", "warning", "error")] == [1, 0, 1, 0]
    assert re.search(r'<tr data-row="2">.*Está activa en otro convenio: quedará pendiente de decisión de seguimiento',
                     html, re.S)
    post(other_ngo, f"/beneficiary-imports/{batch_id}/confirm", {"confirm": "y"})
    double = db.session.scalars(select(Enrollment).where(Enrollment.agreement_id == other["agreement"].id)).one()
    assert double.double_enrollment == "pending"

    monitoring = client_for(app, other["monitoring"])
    page = monitoring.get("/double-enrollments")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ctx["agreement"].number in html and other["agreement"].number in html
    assert "00016297-5" not in html and "•••••••7-5" in html
    missing = post(monitoring, f"/enrollments/{double.id}/double-enrollment", {"decision": "refuse", "reason": ""})
    assert missing.status_code == 422
    assert re.search(r'data-field="reason">Indique el motivo', missing.get_data(as_text=True))
    assert double.double_enrollment == "pending"
    done = post(monitoring, f"/enrollments/{double.id}/double-enrollment",
                {"decision": "refuse", "reason": "Ya participa en el programa de otra ONG"})
    assert done.status_code == 303
    assert (double.status, double.double_enrollment) == ("withdrawn", "refused")
    assert "No hay inscripciones dobles pendientes" in monitoring.get("/double-enrollments").get_data(as_text=True)
    assert client_for(app, other["ngo"]).get("/double-enrollments").status_code == 403


def test_another_ngo_sees_nothing(app, ctx):
    ngo = client_for(app, ctx["ngo"])
    batch_id = batch_id_of(upload(ngo, ctx["agreement"].id, faulty_list()))
    stranger = client_for(app, agreement_in_execution()["ngo"])
    for path in (f"/beneficiary-imports/{batch_id}", f"/beneficiary-imports/{batch_id}/errors.csv",
                 f"/beneficiary-imports/{batch_id}/errors.xlsx", f"/agreements/{ctx['agreement'].id}/beneficiaries"):
        assert stranger.get(path).status_code == 404, path
    assert post(stranger, f"/beneficiary-imports/{batch_id}/confirm", {"confirm": "y"}).status_code == 404
    assert f"/beneficiary-imports/{batch_id}" not in stranger.get("/beneficiary-imports").get_data(as_text=True)
    assert db.session.get(ImportBatch, batch_id).status == "ready"


def test_unreadable_and_refused_files_show_clear_errors(app, ctx, monkeypatch):
    agreement = ctx["agreement"]
    ngo = client_for(app, ctx["ngo"])
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    refused = upload(ngo, agreement.id, png, filename="lista.xlsx")  # not a spreadsheet: refused, nothing kept
    assert refused.status_code == 422
    assert re.search(r'data-field="file">El archivo debe ser XLSX, CSV \(se revisa su contenido',
                     refused.get_data(as_text=True))
    batch_id = batch_id_of(upload(ngo, agreement.id, broken_xlsx(), filename="lista.xlsx"))  # unreadable inside
    html = ngo.get(f"/beneficiary-imports/{batch_id}").get_data(as_text=True)
    assert "Rechazada" in html and "La lista fue rechazada" in html
    failure = re.search(r'data-testid="failure">([^<]+)<', html).group(1)
    assert "XLSX" in failure and "not_xlsx" not in failure
    assert 'data-testid="discard"' in html
    assert post(ngo, f"/beneficiary-imports/{batch_id}/discard").status_code == 303
    assert db.session.get(ImportBatch, batch_id).status == "discarded"

    missing = batch_id_of(upload(ngo, agreement.id, "DUI;Nombres\n00016297-5;Ana\n"))
    html = ngo.get(f"/beneficiary-imports/{missing}").get_data(as_text=True)
    assert "Faltan columnas obligatorias: apellidos" in html

    refused = upload(ngo, agreement.id, b"%PDF-1.4", filename="lista.pdf")
    assert refused.status_code == 422
    assert re.search(r'data-field="file">El archivo debe ser XLSX, CSV', refused.get_data(as_text=True))

    monkeypatch.setitem(app.config, "BENEFICIARY_LIST_MAX_BYTES", 1024 * 1024)
    too_big = upload(ngo, agreement.id, HEADER + "\n" + "x" * (1024 * 1024 + 10))
    assert too_big.status_code == 413
    assert "El archivo supera el máximo de 1 MB" in too_big.get_data(as_text=True)

    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2000)
    request_too_big = upload(ngo, agreement.id, HEADER + "\n" + "x" * 5000)
    assert request_too_big.status_code == 413
    html = request_too_big.get_data(as_text=True)
    assert "413" in html and "Las listas de beneficiarios pueden pesar hasta" in html
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 2


def test_an_interrupted_batch_is_shown_as_such_and_can_be_processed_again(app, ctx):
    ngo = Actor.for_user(ctx["ngo"])
    batch = imports.start_import(ngo, ctx["agreement"].id, "l.csv", faulty_list().encode())
    db.session.commit()
    client = client_for(app, ctx["ngo"])
    html = client.get(f"/beneficiary-imports/{batch.id}").get_data(as_text=True)
    assert 'http-equiv="refresh" content="2"' in html and "0 filas leídas" in html

    with clock.at(clock.now() + import_pages.STALLED_AFTER * 2):  # no progress for a while
        html = client.get(f"/beneficiary-imports/{batch.id}").get_data(as_text=True)
        assert 'http-equiv="refresh"' not in html and 'data-testid="interrupted"' in html
        assert post(client, f"/beneficiary-imports/{batch.id}/retry").status_code == 302
    assert db.session.get(ImportBatch, batch.id).status == "ready"


def test_the_upload_redirects_and_the_job_finishes_the_batch_after_the_response(live_app):
    """Inline mode (SQLite, tests): the job runs in this process once the response is sent, on a
    database that really commits; the queue's own tests (tests/test_job_queue.py) run it in workers."""
    assert live_app.config["JOBS_MODE"] == "inline"
    with live_app.app_context():
        ctx = agreement_in_execution()
        agreement_id, email = ctx["agreement"].id, ctx["ngo"].email
        db.session.remove()
    client = live_app.test_client()
    assert web_login(client, email).status_code == 302
    response = upload(client, agreement_id, faulty_list())
    batch_id = batch_id_of(response)
    with live_app.app_context():
        status = db.session.scalar(select(ImportBatch.status).where(ImportBatch.id == batch_id))
        db.session.remove()
    assert status == "ready"
    html = client.get(f"/beneficiary-imports/{batch_id}").get_data(as_text=True)
    assert [count_in(html, n) for n in ("total", "valid", "warning", "error")] == [6, 3, 0, 3]
    assert 'http-equiv="refresh"' not in html
    with live_app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(batch_id))))
        db.session.remove()
    assert {"beneficiary_import.uploaded", "beneficiary_import.processed"} <= actions


def test_long_lists_and_reports_are_paginated(app, ctx, monkeypatch):
    monkeypatch.setattr(pages, "ENROLLMENT_PAGE", 2)
    monkeypatch.setattr(import_pages, "REPORT_PAGE", 2)
    agreement = ctx["agreement"]
    ngo = client_for(app, ctx["ngo"])
    batch_id = batch_id_of(upload(ngo, agreement.id, faulty_list()))
    first = ngo.get(f"/beneficiary-imports/{batch_id}").get_data(as_text=True)
    assert "Página 1 de 2" in first and "errors_page=2" in first
    assert sorted(set(re.findall(r'<tr data-row="(\d+)">', first))) == ["5", "6"]
    second = ngo.get(f"/beneficiary-imports/{batch_id}?errors_page=2").get_data(as_text=True)
    assert set(re.findall(r'<tr data-row="(\d+)">', second)) == {"7"}

    post(ngo, f"/beneficiary-imports/{batch_id}/confirm", {"confirm": "y"})
    url = f"/agreements/{agreement.id}/beneficiaries"
    html = ngo.get(url + "?status=pending").get_data(as_text=True)
    assert re.findall(r"López Pérez, (Ana \d)", html) == ["Ana 1", "Ana 2"] and "Página 1 de 2" in html
    assert "page=2" in html and "status=pending" in html
    html = ngo.get(url + "?status=pending&page=2").get_data(as_text=True)
    assert re.findall(r"López Pérez, (Ana \d)", html) == ["Ana 3"]


# --- issue 11: who reads a list's rows; the column of each message; control characters ---------

STAFF = ("monitoring_reviewer", "auditor", "financial_reviewer", "legal_reviewer", "administrator", "treasury",
         "admin")


def _list_with_findings(app, ctx):
    """Row 2 already enrolled (warning), row 4 the same person as row 3, row 5 a control character."""
    ngo = client_for(app, ctx["ngo"])
    first = batch_id_of(upload(ngo, ctx["agreement"].id, HEADER + "\n" + GOOD.format(dui=valid_dui(1), name="Ana") + "\n"))
    post(ngo, f"/beneficiary-imports/{first}/confirm", {"confirm": "y"})
    lines = [GOOD.format(dui=valid_dui(1), name="Ana"), GOOD.format(dui=valid_dui(2), name="Eva"),
             GOOD.format(dui=valid_dui(2), name="Eva"), GOOD.format(dui=valid_dui(3), name="Lu\x14z")]
    return ngo, batch_id_of(upload(ngo, ctx["agreement"].id, HEADER + "\n" + "\n".join(lines) + "\n"))


def _rows_of(html: str, testid: str) -> dict:
    table = re.search(rf'data-testid="{testid}">(.*?)</table>', html, re.S).group(1)
    found = {}
    for number, cells in re.findall(r'<tr data-row="(\d+)">(.*?)</tr>', table, re.S):
        texts = [text_of(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)]
        found.setdefault(int(number), []).append(texts[-2:])
    return found


def test_the_report_names_the_column_of_every_message(app, ctx):
    ngo, batch_id = _list_with_findings(app, ctx)
    html = ngo.get(f"/beneficiary-imports/{batch_id}").get_data(as_text=True)
    warnings, errors = _rows_of(html, "warning-rows"), _rows_of(html, "error-rows")
    assert warnings[2] == [["DUI", "Ya está inscrita en este convenio: se actualizarán sus datos."]]
    assert errors[4] == [["DUI", "La misma persona ya aparece en la fila 3."]]
    assert errors[5][0][0] == "Nombres" and "caracteres de control" in errors[5][0][1]
    workbook = load_workbook(io.BytesIO(built_file(ngo, f"/beneficiary-imports/{batch_id}/errors.xlsx").get_data()))
    row = [r for r in workbook.active.iter_rows(values_only=True) if r[0] == 5][0]
    assert row[3] == "Lu\ufffdz"


@pytest.mark.parametrize("role", STAFF)
def test_only_the_organization_downloads_its_rows_staff_read_the_report(app, ctx, role):
    from tests.factories import make_user

    ngo, batch_id = _list_with_findings(app, ctx)
    staff = client_for(app, make_user([role]))
    own_page = ngo.get(f"/beneficiary-imports/{batch_id}").get_data(as_text=True)
    page = staff.get(f"/beneficiary-imports/{batch_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="errors-csv"' in own_page and 'data-testid="errors-csv"' not in html
    assert _rows_of(html, "error-rows") == _rows_of(own_page, "error-rows")  # the report, without personal data
    for suffix in ("errors.csv", "errors.xlsx"):
        assert ngo.get(f"/beneficiary-imports/{batch_id}/{suffix}").status_code in (200, 303)
        assert staff.get(f"/beneficiary-imports/{batch_id}/{suffix}").status_code == 403
    # nor the workbook built for the organization, by its own address
    from grants.models import GeneratedFile

    file_id = db.session.scalar(select(GeneratedFile.id).where(GeneratedFile.kind == "import_errors_xlsx"))
    assert ngo.get(f"/files/{file_id}/download").status_code == 200
    assert staff.get(f"/files/{file_id}").status_code == 403
    assert staff.get(f"/files/{file_id}/download").status_code == 403
    assert valid_dui(2) not in html
