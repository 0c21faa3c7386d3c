"""The bank statement pages: treasury uploads a camt.053 file and sees each line's outcome; the
payment page then shows the bank's reference and date; the same file again changes nothing; a bad
CSV says which row; unmatched lines are resolved by hand; the auditor and the financial reviewer
read, an NGO never."""
from __future__ import annotations

import io
import re

import pytest

from grants.extensions import db
from grants.models import BankStatement, BankStatementLine
from grants.workflows.bank_statement import LineState
from tests.factories import make_user
from tests.helpers import csrf_token, html_of, login
from tests.money.bank_statement_helpers import ACCOUNT, authorized, camt, debit, events, setup, statements
from tests.timeline import today

LIST = "/bank-statements"


@pytest.fixture
def ctx(app):
    return setup()


def post_file(client, data: bytes, name: str = "extracto.xml"):
    return client.post(LIST, data={"csrf_token": csrf_token(client, LIST), "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_treasury_uploads_a_statement_and_the_payment_shows_the_bank_transfer(client, ctx):
    paid = authorized(ctx, "145.00")
    wrong = authorized(ctx, "99.00")
    data = camt([debit(paid, reference="BANCO-778"), debit(wrong, amount="98.00")], statement_id="EXT-WEB-1")
    login(client, ctx["treasury3"])
    response = post_file(client, data)
    assert response.status_code == 303, html_of(response)
    page = html_of(client.get(response.headers["Location"]))
    assert "EXT-WEB-1" in page and "Extracto EXT-WEB-1 subido: 2 movimientos, 1 conciliados." in page
    assert re.search(r'data-line="1" data-status="matched".*?pago N\.º ' + str(paid.id), page, re.S)
    assert re.search(r'data-line="2" data-status="unmatched".*?data-reason="wrong_amount">Importe distinto', page,
                     re.S)
    transfer = re.search(r'data-testid="transfer"><code>([^<]+)</code> · ([^<]+)</dd>',
                         html_of(client.get(f"/payments/{paid.id}")))
    assert transfer.group(1) == "BANCO-778" and transfer.group(2).strip() == today().strftime("%d/%m/%Y")
    # The same file again: nothing changes, the statement already stored is shown.
    before = (events(), statements())
    again = post_file(client, data)
    assert again.status_code == 303 and again.headers["Location"] == response.headers["Location"]
    assert "ya se había subido" in html_of(client.get(again.headers["Location"]))
    assert (events(), statements()) == before


def test_a_bad_csv_is_refused_on_the_page_row_by_row(client, ctx):
    login(client, ctx["treasury3"])
    data = ("fecha,tipo,monto,referencia_banco,id_extremo_a_extremo,descripcion,cuenta\n"
            f"{today().isoformat()},debito,abc,R1,,x,{ACCOUNT}\n").encode()
    response = post_file(client, data, "extracto.csv")
    assert response.status_code == 422
    assert "Fila 2: monto" in html_of(response) and statements() == 0


def test_unmatched_lines_are_resolved_by_hand_on_the_page(client, ctx):
    payment = authorized(ctx, "210.00")
    login(client, ctx["treasury3"])
    response = post_file(client, camt([
        {"direction": "debit", "amount": "210.00", "bank_reference": "SIN-ID", "remittance": "Transferencia"},
        {"direction": "debit", "amount": "3.50", "bank_reference": "COMISION"}]))
    page_url = response.headers["Location"]
    lines = {x.line_number: x for x in db.session.query(BankStatementLine).all()}
    page = html_of(client.get(page_url))
    assert f'value="payment:{payment.id}"' in page
    token = csrf_token(client, page_url)
    missing_reason = client.post(f"/bank-statements/lines/{lines[1].id}/match",
                                 data={"csrf_token": token, f"m{lines[1].id}-target": f"payment:{payment.id}"})
    assert missing_reason.status_code == 422 and "Indique el motivo." in html_of(missing_reason)
    done = client.post(f"/bank-statements/lines/{lines[1].id}/match", data={
        "csrf_token": token, f"m{lines[1].id}-target": f"payment:{payment.id}",
        f"m{lines[1].id}-reason": "El banco no trajo el identificador"})
    assert done.status_code == 303
    ignored = client.post(f"/bank-statements/lines/{lines[2].id}/ignore", data={
        "csrf_token": token, f"i{lines[2].id}-reason": "Comisión bancaria"})
    assert ignored.status_code == 303
    db.session.expire_all()
    assert db.session.get(BankStatementLine, lines[1].id).status == LineState.MATCHED
    assert db.session.get(BankStatementLine, lines[2].id).status == LineState.IGNORED
    page = html_of(client.get(page_url))
    assert "Motivo: Comisión bancaria" in page and 'data-testid="resolve"' not in page
    figures = html_of(client.get(f"/bank-statements/reconciliation?account={ACCOUNT}&day={today().isoformat()}"))
    assert re.search(r'data-row="debits".*?\$210\.00.*?\$210\.00.*?\$0\.00', figures, re.S)


def test_who_reads_bank_statements(client, ctx):
    payment = authorized(ctx)
    login(client, ctx["treasury3"])
    location = post_file(client, camt([debit(payment)])).headers["Location"]
    statement_id = db.session.query(BankStatement.id).scalar()
    for user in (make_user(["auditor"]), ctx["financial"]):
        login(client, user)
        listing = client.get(LIST)
        assert listing.status_code == 200 and "statement-upload-form" not in html_of(listing)
        assert client.get(location).status_code == 200
    for user in (ctx["ngo"], ctx["legal"], ctx["administrator"]):
        login(client, user)
        assert client.get(LIST).status_code == 403
        assert client.get(f"/bank-statements/{statement_id}").status_code == 403
        assert client.get(f"/bank-statements/reconciliation?account={ACCOUNT}&day={today()}").status_code == 403
    login(client, ctx["ngo"])
    token = csrf_token(client, "/")
    assert client.post(LIST, data={"csrf_token": token, "file": (io.BytesIO(camt([])), "x.xml")},
                       content_type="multipart/form-data").status_code == 403
    assert statements() == 1
