"""The round with the bank in headless Chromium on the demo data (both backends), as treasury does it:
«Lotes de pago» → a new batch of the demo's two authorized payments, paid today from the ministry's
account → its pain.001 file downloaded (the first download is confirmed: it issues the batch) and
valid against the ISO schema, one transfer per payment. The bank answers with its camt.053 statement
of the batch (grants/services/bank_answer.py, with a fee of its own); treasury uploads it on
«Extractos» and reads, on the pages, every payment executed with the bank's reference and booking
day, the fee left unmatched, and a day's reconciliation without difference. Last, anybody — without
logging in — checks the signed payment order on /verificar, and a copy with one byte changed is
refused."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from grants.extensions import db
from grants.models import PaymentBatch
from grants.reports import pain001
from grants.services import ledger
from grants.services.bank_answer import statement_for_batch
from grants.services.bank_ids import end_to_end_id
from tests import browser_support as support
from tests.timeline import today

pytestmark = pytest.mark.browser

browser, new_page = support.browser, support.new_page
demo_app, live_server = support.demo_app, support.live_server

TREASURY = "treasury@fondos.example.org"
DEMO_PASSWORD = "demo-2026"  # the demo accounts' (config DEMO_PASSWORD in tests)


def log_in(page, base: str, email: str) -> None:
    support.log_in(page, base, email, password=DEMO_PASSWORD)


def download(page, click: str):
    """Click ``click`` and return the downloaded file (its suggested name, its bytes)."""
    with page.expect_download() as info:
        page.click(click)
    file = info.value
    with open(file.path(), "rb") as handle:
        return file.suggested_filename, handle.read()


def test_treasury_sends_a_batch_uploads_the_banks_answer_and_the_order_verifies(
        live_server, demo_app, new_page, tmp_path):
    base, day = live_server, today()
    treasury = new_page()
    log_in(treasury, base, TREASURY)

    # 1. «Lotes de pago» → a new batch: the account, today, every authorized payment shown
    treasury.click("[data-testid=nav-batches]")
    expect(treasury).to_have_url(f"{base}/payment-batches")
    treasury.click("[data-testid=new-batch]")
    expect(treasury).to_have_url(f"{base}/payment-batches/new")
    treasury.select_option("select[name=debtor_account_id]", "mjsp-fondos")
    treasury.fill("input[name=execution_date]", day.isoformat())  # the date picker's value
    shown = treasury.locator("[data-testid=batch-payments] input[name=payment_ids]")
    expect(shown).to_have_count(2)  # the demo's two months of refreshments, authorized by treasury2
    payment_ids = [int(box.get_attribute("value")) for box in shown.all()]
    for box in shown.all():
        box.check()
    treasury.click("[data-testid=create-batch]")
    expect(treasury).to_have_url(re.compile(rf"{re.escape(base)}/payment-batches/\d+$"))
    batch_url = treasury.url
    expect(treasury.locator("[data-testid=batch-state]")).to_have_text("Abierto")
    expect(treasury.locator("[data-testid=execution-date]")).to_have_text(day.strftime("%d/%m/%Y"))
    expect(treasury.locator("[data-testid=item-count]")).to_have_text("2")
    e2e_ids = [end_to_end_id("payment", pid) for pid in payment_ids]
    for e2e in e2e_ids:
        expect(treasury.locator(f"[data-testid=batch-items] tr[data-item='{e2e}']")).to_have_count(1)
    control_sum = treasury.locator("[data-testid=control-sum]").inner_text().strip()

    # the first download issues the batch: confirmed, the file the bank receives
    treasury.check("[data-testid=confirm-issue_batch]")
    name, xml = download(treasury, "button[data-testid=download-file]")
    assert name.endswith(".xml")
    pain001.validate(xml)  # raises if the ISO schema refuses it
    sent = pain001.parse(xml)
    assert sorted(t.end_to_end_id for t in sent["transfers"]) == sorted(e2e_ids)
    assert sent["count"] == 2 and f"${sent['control_sum']:,.2f}" == control_sum
    treasury.goto(batch_url)
    expect(treasury.locator("[data-testid=batch-state]")).to_have_text("Emitido")
    _, again = download(treasury, "a[data-testid=download-file]")
    assert again == xml  # later downloads: the same bytes

    # 2. the bank's answer: its statement of the batch, with its transfer fee
    batch_id = int(batch_url.rsplit("/", 1)[1])
    with demo_app.app_context():
        batch = db.session.get(PaymentBatch, batch_id)
        number, account = batch.number, batch.debtor_account
        statement_file = tmp_path / "extracto.xml"
        statement_file.write_bytes(statement_for_batch(batch, fee=Decimal("2.50")))
        db.session.remove()

    # 3. treasury uploads it: both payments executed by the bank, the fee unmatched
    treasury.click("[data-testid=nav-bank-statements]")
    treasury.set_input_files("[data-testid=statement-upload-form] input[name=file]", str(statement_file))
    treasury.click("[data-testid=statement-upload-submit]")
    expect(treasury).to_have_url(re.compile(rf"{re.escape(base)}/bank-statements/\d+$"))
    expect(treasury.get_by_text("3 movimientos, 2 conciliados")).to_be_visible()
    lines = treasury.locator("[data-testid=statement-lines] tbody tr")
    expect(lines).to_have_count(3)
    for pid, e2e in zip(payment_ids, e2e_ids):
        row = lines.filter(has_text=e2e)
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Conciliada")
        expect(row).to_contain_text(f"el pago N.º {pid}")
    unmatched = lines.filter(has_text="Sin conciliar")
    expect(unmatched).to_have_count(1)
    expect(unmatched).to_contain_text("$2.50")
    expect(unmatched).to_contain_text(f"COMISION-{number}")
    expect(unmatched).to_contain_text("Referencia desconocida")

    # the bank's first transfer, opened from its line: executed with the bank's reference and day
    first = lines.filter(has_text=f"{number}-1")
    expect(first).to_have_count(1)
    first.get_by_role("link").click()
    expect(treasury).to_have_url(re.compile(rf"{re.escape(base)}/payments/\d+$"))
    paid_id = int(treasury.url.rsplit("/", 1)[1])
    assert paid_id in payment_ids
    expect(treasury.locator("[data-testid=payment-state]")).to_have_text("Ejecutado")
    expect(treasury.locator("[data-testid=transfer]")).to_have_text(f"{number}-1 · {day:%d/%m/%Y}")
    order_name, order_pdf = download(treasury, "[data-testid=order-pdf]")
    assert order_name == f"orden-de-pago-{paid_id}.pdf"

    # 4. the day's reconciliation for the batch's account: no difference
    treasury.click("[data-testid=nav-bank-statements]")
    treasury.locator(f"[data-testid=reconciliation-days] tr[data-account='{account}'][data-day='{day.isoformat()}'] a").click()
    expect(treasury.get_by_role("heading", level=1)).to_have_text(
        f"Conciliación del {day:%d/%m/%Y} · cuenta {account}")
    debits = treasury.locator("[data-testid=reconciliation] tr[data-row=debits] td")
    expect(debits).to_have_text([control_sum, control_sum, "$0.00"])
    expect(treasury.locator("[data-amount=unmatched-debits]")).to_have_text("$2.50")
    expect(treasury.locator("[data-amount=not-on-statements]")).to_have_text("$0.00")

    # 5. anybody, without logging in, checks the payment order; a copy with one byte changed fails
    anybody = new_page()
    anybody.goto(f"{base}/verificar")
    expect(anybody).to_have_url(f"{base}/verificar")
    original, tampered = tmp_path / order_name, tmp_path / f"copia-{order_name}"
    original.write_bytes(order_pdf)
    changed = bytearray(order_pdf)
    middle = len(changed) // 2  # (it falls in the signature's own bytes, the /Contents hex)
    changed[middle] = ord("0") if changed[middle] != ord("0") else ord("1")
    tampered.write_bytes(bytes(changed))

    anybody.set_input_files("[data-testid=verify-form] input[name=document]", str(original))
    anybody.get_by_role("button", name="Verificar").click()
    expect(anybody.locator("[data-testid=verdict]")).to_contain_text("Firma válida: documento emitido por el ministerio.")
    expect(anybody.locator("[data-testid=document]")).to_contain_text("Orden de pago directo")

    anybody.set_input_files("[data-testid=verify-form] input[name=document]", str(tampered))
    anybody.get_by_role("button", name="Verificar").click()
    verdict = anybody.locator("[data-testid=verdict]")
    expect(verdict).not_to_contain_text("Firma válida")
    expect(verdict).to_contain_text("Firma NO válida.")
    expect(verdict).to_contain_text("El archivo fue modificado después de firmarse")

    with demo_app.app_context():
        batch = db.session.scalars(select(PaymentBatch).where(PaymentBatch.id == batch_id)).one()
        assert batch.status == "issued"
        assert ledger.check_invariants() == []
        db.session.remove()
