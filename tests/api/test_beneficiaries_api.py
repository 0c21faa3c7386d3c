"""Beneficiary lists through the API: report, errors download, confirm, masking, 413, 404."""
import csv
import io

import pytest
from sqlalchemy import func, select

from grants.extensions import db
from grants.models import AuditEvent
from tests.agreement_helpers import ENROLLED_ON, agreement_in_execution, born
from tests.factories import make_user, valid_dui
from tests.helpers import api_headers, assert_problem, built_file
from tests.pdfs import broken_xlsx
from tests.timeline import iso

HEADER = "Tipo de documento,DUI,Nombres,Apellidos,Fecha de nacimiento,Sexo,Municipio,Fecha de inscripción"
BORN, ENROLLED = born(25).strftime("%d/%m/%Y"), iso(ENROLLED_ON)  # an adult, enrolled inside the term


@pytest.fixture
def ctx(client, app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    data = agreement_in_execution()
    data["h"] = {k: api_headers(client, data[k]) for k in ("ngo", "monitoring", "financial")}
    return data


def upload(client, ctx, text, name="lista.csv", kind="enrollment"):
    return client.post(f"/api/v1/agreements/{ctx['agreement'].id}/beneficiary-imports", headers=ctx["h"]["ngo"],
                       data={"kind": kind, "file": (io.BytesIO(text.encode("utf-8")), name)},
                       content_type="multipart/form-data")


def accepted(client, ctx, response) -> dict:
    """An upload is answered 202 with the batch (processing) and its Location; the job has run by
    the time the response is closed (inline in tests): the Location then shows the result."""
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "processing" and response.headers["Location"] == f"/api/v1/beneficiary-imports/{body['id']}"
    followed = client.get(response.headers["Location"], headers=ctx["h"]["ngo"])
    assert followed.status_code == 200
    return followed.get_json()


def test_upload_report_errors_download_confirm_and_masking(client, ctx):
    good = [f"DUI,{valid_dui(n)},Ana,López,{BORN},F,0623,{ENROLLED}" for n in (1, 2)]
    bad = f"DUI,12345678-5,=HYPERLINK(\"http://x\"),López,{BORN},F,0623,{ENROLLED}"
    batch = accepted(client, ctx, upload(client, ctx, "\n".join([HEADER, *good, bad]) + "\n"))
    assert (batch["status"], batch["rows_total"], batch["rows_valid"], batch["rows_error"]) == ("ready", 3, 2, 1)

    rows = client.get(f"/api/v1/beneficiary-imports/{batch['id']}/rows?outcome=error", headers=ctx["h"]["ngo"]).get_json()
    finding = rows["items"][0]["findings"][0]
    assert rows["items"][0]["row_number"] == 4 and finding["column"] == "DUI"
    assert "dígito verificador" in finding["message"]

    download = client.get(f"/api/v1/beneficiary-imports/{batch['id']}/errors.csv", headers=ctx["h"]["ngo"])
    table = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert table[0][0] == "Fila" and table[0][-1] == "Errores" and table[0][1:-1] == HEADER.split(",")
    assert table[1][0] == "4" and table[1][3].startswith("'=HYPERLINK") and "dígito verificador" in table[1][-1]
    xlsx = built_file(client, f"/api/v1/beneficiary-imports/{batch['id']}/errors.xlsx", ctx["h"]["ngo"])
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.data), read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][3].startswith("'=HYPERLINK") and values[1][-1].startswith("DUI:")

    confirmed = client.post(f"/api/v1/beneficiary-imports/{batch['id']}/confirm", headers=ctx["h"]["ngo"])
    assert confirmed.get_json()["status"] == "confirmed"
    mine = client.get(f"/api/v1/agreements/{ctx['agreement'].id}/enrollments", headers=ctx["h"]["ngo"]).get_json()
    assert {e["document_number"] for e in mine["items"]} == {valid_dui(1), valid_dui(2)}
    staff = client.get(f"/api/v1/agreements/{ctx['agreement'].id}/enrollments", headers=ctx["h"]["financial"]).get_json()
    assert all(e["document_number"].startswith("•") and len(e["birth_date"]) == 4 for e in staff["items"])

    person = staff["items"][0]["beneficiary_id"]
    assert_problem(client.post(f"/api/v1/beneficiaries/{person}/reveal", headers=ctx["h"]["financial"],
                               json={"reason": "curiosidad"}), 403, "forbidden")
    revealed = client.post(f"/api/v1/beneficiaries/{person}/reveal", headers=ctx["h"]["monitoring"],
                           json={"reason": "Verificar identidad ante denuncia"})
    assert revealed.status_code == 200 and "•" not in revealed.get_json()["document_number"]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "personal_data.revealed")).one()
    assert event.after["reason"] == "Verificar identidad ante denuncia"

    validated = client.post(f"/api/v1/beneficiary-imports/{batch['id']}/validate", headers=ctx["h"]["monitoring"])
    assert validated.get_json()["status"] == "validated"


def test_an_oversized_list_is_413_and_nothing_is_stored(client, ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "BENEFICIARY_LIST_MAX_BYTES", 1000)
    response = upload(client, ctx, HEADER + "\n" + (f"DUI,00016297-5,Ana,López,{BORN},F,0623,{ENROLLED}\n" * 40))
    assert_problem(response, 413, "payload_too_large")
    listing = client.get(f"/api/v1/agreements/{ctx['agreement'].id}/beneficiary-imports", headers=ctx["h"]["ngo"])
    assert listing.get_json()["total"] == 0


def test_a_file_that_is_not_what_it_claims_fails_with_a_reason(client, ctx):
    path = f"/api/v1/agreements/{ctx['agreement'].id}/beneficiary-imports"
    refused = client.post(path, headers=ctx["h"]["ngo"], content_type="multipart/form-data",
                          data={"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + bytes(64)), "lista.xlsx")})
    assert "se revisa su contenido" in assert_problem(refused, 422, "validation_error")["errors"]["file"][0]
    response = client.post(path, headers=ctx["h"]["ngo"], data={"file": (io.BytesIO(broken_xlsx()), "lista.xlsx")},
                           content_type="multipart/form-data")
    body = accepted(client, ctx, response)  # a zip that is no workbook inside: the job finds out
    assert body["status"] == "failed" and body["failure"].startswith("not_xlsx")
    assert_problem(client.post(f"/api/v1/beneficiary-imports/{body['id']}/confirm", headers=ctx["h"]["ngo"]),
                   409, "batch_not_ready")


def test_another_organization_gets_404(client, ctx):
    response = upload(client, ctx, HEADER + f"\nDUI,00016297-5,Ana,López,{BORN},F,0623,{ENROLLED}\n")
    batch_id = response.get_json()["id"]
    other = api_headers(client, agreement_in_execution()["ngo"])
    assert_problem(client.get(f"/api/v1/beneficiary-imports/{batch_id}", headers=other), 404, "not_found")
    assert_problem(client.get(f"/api/v1/beneficiary-imports/{batch_id}/errors.csv", headers=other), 404, "not_found")
    assert_problem(client.get(f"/api/v1/agreements/{ctx['agreement'].id}/enrollments", headers=other),
                   404, "not_found")
    staff_upload = client.post(f"/api/v1/agreements/{ctx['agreement'].id}/beneficiary-imports",
                               headers=api_headers(client, make_user(["monitoring_reviewer"])),
                               data={"file": (io.BytesIO(b"x"), "l.csv")}, content_type="multipart/form-data")
    assert_problem(staff_upload, 403, "forbidden")


# --- issue 11: who reads a list's rows; the column of each finding; control characters ---------

STAFF = ("monitoring_reviewer", "auditor", "financial_reviewer", "legal_reviewer", "administrator", "treasury",
         "admin")


def _faulty_batch(client, ctx):
    first = upload(client, ctx, f"{HEADER}\nDUI,{valid_dui(1)},Ana,López,{BORN},F,0623,{ENROLLED}\n").get_json()
    client.post(f"/api/v1/beneficiary-imports/{first['id']}/confirm", headers=ctx["h"]["ngo"])
    lines = [f"DUI,{valid_dui(1)},Ana,López,{BORN},F,0623,{ENROLLED}",          # row 2: already enrolled
             f"DUI,{valid_dui(2)},Luis,Ramos,{BORN},M,0623,{ENROLLED}",          # row 3
             f"DUI,{valid_dui(2)},Luis,Ramos,{BORN},M,0623,{ENROLLED}",          # row 4: the same as row 3
             f"DUI,{valid_dui(3)},Eva\x14,=cmd|' /C calc'!A0,{BORN},F,0623,{ENROLLED}"]  # row 5: control, formula
    return accepted(client, ctx, upload(client, ctx, HEADER + "\n" + "\n".join(lines) + "\n"))


def test_the_rows_name_the_column_of_duplicates_and_people_already_enrolled(client, ctx):
    batch = _faulty_batch(client, ctx)
    assert (batch["rows_total"], batch["rows_warning"], batch["rows_error"]) == (4, 1, 2)
    items = client.get(f"/api/v1/beneficiary-imports/{batch['id']}/rows", headers=ctx["h"]["ngo"]).get_json()["items"]
    by_row = {i["row_number"]: [(f["column"], f["code"]) for f in i["findings"]] for i in items}
    assert by_row[2] == [("DUI", "already_enrolled")]
    assert by_row[4] == [("DUI", "duplicate_in_file")]
    assert ("Nombres", "control_character") in by_row[5] and ("Apellidos", "name_formula") in by_row[5]
    assert all(f["column"] for i in items for f in i["findings"])


def test_a_control_character_in_an_uploaded_cell_never_breaks_the_error_files(client, ctx):
    from openpyxl import load_workbook

    batch = _faulty_batch(client, ctx)
    xlsx = built_file(client, f"/api/v1/beneficiary-imports/{batch['id']}/errors.xlsx", ctx["h"]["ngo"])
    assert xlsx.status_code == 200
    values = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    row = next(v for v in values[1:] if v[0] == 5)
    assert row[3] == "Eva\ufffd" and row[4] == "'=cmd|' /C calc'!A0" and "Nombres:" in row[-1]
    download = client.get(f"/api/v1/beneficiary-imports/{batch['id']}/errors.csv", headers=ctx["h"]["ngo"])
    table = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    row = next(r for r in table[1:] if r[0] == "5")
    assert row[3] == "Eva\ufffd" and row[4].startswith("'=") and "\x14" not in download.data.decode("utf-8-sig")


@pytest.mark.parametrize("role", STAFF)
def test_only_the_organization_reads_its_rows_as_typed_staff_read_the_report(client, ctx, role):
    batch = _faulty_batch(client, ctx)
    base = f"/api/v1/beneficiary-imports/{batch['id']}"
    staff = api_headers(client, make_user([role]))
    for suffix in ("errors.csv", "errors.xlsx"):
        assert client.get(f"{base}/{suffix}", headers=ctx["h"]["ngo"]).status_code in (200, 202)
        assert_problem(client.get(f"{base}/{suffix}", headers=staff), 403, "forbidden")
    # the workbook built for the organization is not theirs either, by its own address
    from grants.extensions import db
    from grants.models import GeneratedFile

    file_id = db.session.scalar(select(GeneratedFile.id).where(GeneratedFile.kind == "import_errors_xlsx"))
    assert_problem(client.get(f"/api/v1/files/{file_id}", headers=staff), 403, "forbidden")
    assert_problem(client.get(f"/api/v1/files/{file_id}/content", headers=staff), 403, "forbidden")
    own = client.get(f"{base}/rows", headers=ctx["h"]["ngo"]).get_json()["items"]
    seen = client.get(f"{base}/rows", headers=staff)
    assert seen.status_code == 200
    seen = seen.get_json()["items"]
    assert [i["findings"] for i in seen] == [i["findings"] for i in own]  # the report: row, column, message
    assert {i["document_number"] for i in own} >= {valid_dui(1), valid_dui(2)}
    assert all(i["document_number"] is None or i["document_number"].startswith("•") for i in seen)


def test_another_organization_reads_nothing_of_the_list(client, ctx):
    batch = _faulty_batch(client, ctx)
    other = api_headers(client, agreement_in_execution()["ngo"])
    for suffix in ("errors.csv", "errors.xlsx", "rows"):
        assert_problem(client.get(f"/api/v1/beneficiary-imports/{batch['id']}/{suffix}", headers=other),
                       404, "not_found")


def test_a_failed_list_has_no_error_file(client, ctx):
    response = client.post(f"/api/v1/agreements/{ctx['agreement'].id}/beneficiary-imports", headers=ctx["h"]["ngo"],
                           data={"file": (io.BytesIO(broken_xlsx()), "lista.xlsx")},
                           content_type="multipart/form-data")
    batch_id = response.get_json()["id"]  # a workbook that cannot be read: a failed batch
    assert_problem(client.get(f"/api/v1/beneficiary-imports/{batch_id}/errors.xlsx", headers=ctx["h"]["ngo"]),
                   404, "not_found")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t"])
def test_names_that_begin_like_a_formula_are_refused_by_the_api(client, start):
    from tests.factories import organization_data

    headers = api_headers(client, make_user(["admin"]))
    data = organization_data(legal_rep_name=f"{start}Ana", board_members=[
        {"name": f"{start}Luis", "dui": "00016297-5", "position": "Tesorero"}])
    body = assert_problem(client.post("/api/v1/organizations", json=data, headers=headers), 422, "validation_error")
    text = str(body)
    assert "legal_rep_name" in text and "board_members" in text and "no puede comenzar con" in text
    user = {"email": "x@test.example.org", "full_name": f"{start}Root", "password": "una-clave-larga-2026",
            "roles": ["auditor"]}
    body = assert_problem(client.post("/api/v1/users", json=user, headers=headers), 422, "validation_error")
    assert "full_name" in str(body)


def test_an_upload_retried_with_its_idempotency_key_makes_one_batch(client, ctx):
    """A client whose upload timed out sends it again with the same Idempotency-Key: the first answer
    comes back (one batch); the same key with another file is refused; without a key, two uploads are
    two batches, as before."""
    from grants.models import ImportBatch

    def send(text, key=None):
        headers = {**ctx["h"]["ngo"], **({"Idempotency-Key": key} if key else {})}
        return client.post(f"/api/v1/agreements/{ctx['agreement'].id}/beneficiary-imports", headers=headers,
                           data={"kind": "enrollment", "file": (io.BytesIO(text.encode("utf-8")), "lista.csv")},
                           content_type="multipart/form-data")

    def batches() -> int:
        return db.session.scalar(select(func.count()).select_from(ImportBatch))

    def row(n: int) -> str:
        return f"DUI,{valid_dui(n)},Ana,López,{BORN},F,0623,{ENROLLED}"

    text = HEADER + "\n" + row(1) + "\n"
    first = send(text, "subida-lista-0001")
    before = batches()
    again = send(text, "subida-lista-0001")
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (202, "true")
    assert again.get_json()["id"] == first.get_json()["id"] and batches() == before
    assert_problem(send(text + row(2) + "\n", "subida-lista-0001"), 422, "idempotency_key_reused")
    send(text)
    send(text)
    assert batches() == before + 2
