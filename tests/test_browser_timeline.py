"""Issue 10 in headless Chromium (Debian's, through Playwright), on both backends:

* an NGO answers an incident (descargo) with an attachment before the measure takes effect, and the
  administrator then applies it;
* monitoring activates a validated list from a past day on the list's page, and a payment for that
  past period then pays every one of those people (nothing deducted).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from grants.extensions import db
from grants.models import Enrollment, Incident, Payment
from grants.services import beneficiary_imports, incidents, invoices, ledger
from tests import browser_support as support
from tests.factories import valid_dui
from tests.followup.helpers import incident_data
from tests.money.payment_helpers import HEADER, act, beneficiary_line, payments_setup, register
from tests.pdfs import tiny_pdf
from tests.timeline import day, dmy

pytestmark = pytest.mark.browser

browser, new_page = support.browser, support.new_page
log_in = support.log_in



@pytest.fixture
def served(live_app):
    """An agreement in execution with a validated supplier and treasury officers, served over HTTP."""
    with live_app.app_context():
        ctx = payments_setup(beneficiaries=False)
        emails = {k: ctx[k].email for k in ("ngo", "administrator", "monitoring", "treasury", "treasury2")}
        ids = {"agreement": ctx["agreement"].id}
        db.session.remove()
    with support.serve(live_app, "timeline-server") as base_url:
        yield base_url, emails, ids, live_app
    with live_app.app_context():
        problems = ledger.check_invariants()
        db.session.remove()
    assert problems == []


def test_an_ngo_replies_to_an_incident_with_an_attachment_before_the_measure_is_applied(served, new_page, tmp_path):
    base, emails, ids, app = served
    with app.app_context():
        from grants.models import User

        administrator = db.session.scalar(db.select(User).where(User.email == emails["administrator"]))
        incident = incidents.record_incident(act(administrator), ids["agreement"], incident_data("suspension"))
        db.session.commit()
        incident_id, due = incident.id, incident.reply_due
        db.session.remove()

    ngo = new_page()
    log_in(ngo, base, emails["ngo"])
    ngo.goto(f"{base}/incidents/{incident_id}")
    expect(ngo.get_by_test_id("measure-status")).to_contain_text("espera el descargo")
    proof = tmp_path / "acuse-de-recepcion.pdf"
    proof.write_bytes(tiny_pdf("Acuse de recepción de las listas"))
    ngo.fill("textarea[name=text]", "Las listas se entregaron a tiempo; adjuntamos el acuse.")
    ngo.set_input_files("input[name=files]", str(proof))
    ngo.get_by_test_id("submit-reply").click()
    expect(ngo.get_by_test_id("reply")).to_contain_text("Las listas se entregaron a tiempo")
    link = ngo.get_by_test_id("reply").get_by_role("link", name="acuse-de-recepcion.pdf")
    expect(link).to_be_visible()
    download = ngo.request.get(f"{base}{link.get_attribute('href')}")
    assert download.ok and download.body().startswith(b"%PDF-")

    admin = new_page()
    log_in(admin, base, emails["administrator"])
    admin.goto(f"{base}/incidents/{incident_id}")
    expect(admin.get_by_test_id("reply")).to_contain_text("acuse-de-recepcion.pdf")
    admin.fill("textarea[name=note]", "El acuse no cubre el segundo mes.")
    admin.get_by_test_id("apply-measure").click()
    expect(admin.get_by_test_id("measure-status")).to_contain_text("En vigor")
    expect(admin.get_by_test_id("agreement-state")).to_have_text("Suspendido")
    with app.app_context():
        saved = db.session.get(Incident, incident_id)
        assert (saved.measure_status, saved.reply.text[:10], saved.agreement.status) == (
            "in_effect", "Las listas", "suspended")
        assert due >= saved.reply.submitted_at.date()
        db.session.remove()


def test_monitoring_activates_a_list_from_a_past_day_and_a_payment_for_those_days_pays_them(served, new_page):
    base, emails, ids, app = served
    since, period_end = day("2026-03-02"), day("2026-03-31")
    with app.app_context():
        from grants.models import Agreement, Supplier, User

        users = {k: db.session.scalar(db.select(User).where(User.email == v)) for k, v in emails.items()}
        rows = [f"DUI,{valid_dui(50_000_000 + n)},{name},Prueba,{dmy('2000-03-15')},F,San Salvador Centro,"
                f"{day('2026-03-01').isoformat()}" for n, name in enumerate(("Ana", "Beto", "Carla"))]
        batch = beneficiary_imports.import_file(act(users["ngo"]), ids["agreement"], "lista.csv",
                                                (HEADER + "\n" + "\n".join(rows) + "\n").encode())
        beneficiary_imports.confirm_batch(act(users["ngo"]), batch.id)
        beneficiary_imports.validate_batch(act(users["monitoring"]), batch.id)  # from each enrollment date
        db.session.commit()
        batch_id = batch.id
        db.session.remove()

    monitoring = new_page()
    log_in(monitoring, base, emails["monitoring"])
    monitoring.goto(f"{base}/beneficiary-imports/{batch_id}")
    form = monitoring.get_by_test_id("activate-form")
    expect(form).to_contain_text("3 personas validadas")
    form.locator("input[name=since]").fill(since.isoformat())
    form.locator("input[name=reason]").fill("Asistencia verificada en las listas de marzo")
    form.get_by_test_id("activate").click()
    expect(monitoring.locator(".flash")).to_contain_text("3 personas activas")

    with app.app_context():
        users = {k: db.session.scalar(db.select(User).where(User.email == v)) for k, v in emails.items()}
        people = db.session.scalars(db.select(Enrollment).where(Enrollment.batch_id == batch_id)
                                    .order_by(Enrollment.id)).all()
        assert {(e.status, e.periods[-1].valid_from) for e in people} == {("active", since)}
        ctx = {"agreement": db.session.get(Agreement, ids["agreement"]), "ngo": users["ngo"],
               "supplier": db.session.scalar(db.select(Supplier).where(Supplier.agreement_id == ids["agreement"])),
               "people": {e.beneficiary.first_names: e for e in people}}
        invoice = register(ctx, [beneficiary_line(ctx, list(ctx["people"]))],
                           issue_date=(period_end + timedelta(days=1)).isoformat(),
                           period_start=since.isoformat(), period_end=period_end.isoformat())
        invoices.certify_receipt(act(users["administrator"]), invoice.id, {
            "received_on": (period_end + timedelta(days=2)).isoformat(), "conforming": True, "differences": None})
        db.session.commit()
        invoice_id = invoice.id
        db.session.remove()

    treasury = new_page()
    log_in(treasury, base, emails["treasury"])
    treasury.goto(f"{base}/invoices/{invoice_id}")
    expect(treasury.get_by_test_id("prepare")).to_contain_text("$360.00")
    treasury.get_by_test_id("prepare").click()
    expect(treasury.get_by_test_id("no-deductions")).to_be_visible()
    with app.app_context():
        payment = db.session.scalar(db.select(Payment).where(Payment.invoice_id == invoice_id))
        assert (payment.amount, payment.deducted_amount) == (360, 0)
        db.session.remove()
