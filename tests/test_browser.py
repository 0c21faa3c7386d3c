"""End-to-end tests in headless Chromium (Debian's, driven by Playwright) on both backends.

One live server per backend for the whole module: a fresh, migrated database with the demo
data, served by Werkzeug in a daemon thread. Each test gets fresh browser contexts (no cookies).
The fixtures (Chromium, pages, the demo app and its server) are in ``tests/browser_support.py``.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from grants.demo import demo_accounts
from grants.extensions import db
from grants.models import Allocation, Organization
from tests import browser_support as support
from tests.agreement_helpers import born
from tests.helpers import demo_fiscal_year
from tests.timeline import today

pytestmark = pytest.mark.browser

# the fixtures: Chromium, a page per browser context, the demo app and its live server
browser, new_page, page = support.browser, support.new_page, support.page
demo_app, live_server = support.demo_app, support.live_server

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "demo-2026"
ADMIN = "admin@fondos.example.org"
NGO1 = "ngo1@fondos.example.org"
NGO1_ORGANIZATION = "Fundación Juventud con Futuro"
OTHER_ORGANIZATION = "Asociación Comunidades Seguras de Occidente"

# role -> (Spanish heading, English heading) of its panel on the home page
ROLE_HEADINGS = {
    "ngo": ("Portal de la organización", "Organization portal"),
    "legal_reviewer": ("Revisión jurídica", "Legal review"),
    "financial_reviewer": ("Revisión financiera", "Financial review"),
    "monitoring_reviewer": ("Seguimiento y contraloría", "Monitoring and oversight"),
    "administrator": ("Administración de programa", "Program administration"),
    "treasury": ("Tesorería", "Treasury"),
    "auditor": ("Auditoría interna", "Internal audit"),
    "admin": ("Administración del sistema", "System administration"),
}

LOGIN_URL = re.compile(r"/login(\?.*)?$")


# --- helpers ---------------------------------------------------------------------------------

def log_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Entrar").click()


def log_out(page: Page) -> None:
    page.click("[data-testid=logout]")
    expect(page).to_have_url(LOGIN_URL)


def role_heading(page: Page, role: str):
    return page.locator(f"section[data-testid=panel-{role}] h2")


def scalar(app, query):
    with app.app_context():
        try:
            return db.session.scalar(query)
        finally:
            db.session.remove()


def organization_id(app, legal_name: str) -> int:
    org_id = scalar(app, select(Organization.id).where(Organization.legal_name == legal_name))
    assert org_id is not None, legal_name
    return org_id


def count_allocations(app, decree_number: str) -> int:
    return scalar(app, select(func.count()).select_from(Allocation)
                  .where(Allocation.decree_number == decree_number))


def save_screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- tests -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("email", "roles"), demo_accounts(), ids=[email.split("@")[0] for email, _ in demo_accounts()])
def test_each_demo_role_logs_in_sees_its_spanish_home_and_logs_out(live_server, page, email, roles):
    page.goto(f"{live_server}/login")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Iniciar sesión")

    log_in(page, live_server, email)
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("section[data-testid^=panel-]")).to_have_count(len(roles))
    for role in roles:
        expect(role_heading(page, role)).to_have_text(ROLE_HEADINGS[role][0])

    page.click("[data-testid=lang-en]")
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-testid=logout]")).to_have_text("Log out")
    expect(page.locator("nav.mainnav").get_by_role("link", name="Home", exact=True)).to_be_visible()
    for role in roles:
        expect(role_heading(page, role)).to_have_text(ROLE_HEADINGS[role][1])

    log_out(page)
    page.goto(f"{live_server}/")
    expect(page).to_have_url(LOGIN_URL)


def test_logged_out_cookie_no_longer_works(live_server, new_page):
    page = new_page()
    log_in(page, live_server, ADMIN)
    expect(page).to_have_url(f"{live_server}/")
    cookies = page.context.cookies()

    # Control: before logout the copied cookies do open a session elsewhere.
    copy = new_page(cookies)
    copy.goto(f"{live_server}/")
    expect(copy).to_have_url(f"{live_server}/")
    expect(copy.locator("[data-testid=panel-admin]")).to_be_visible()

    log_out(page)

    stale = new_page(cookies)
    stale.goto(f"{live_server}/")
    expect(stale).to_have_url(LOGIN_URL)


def test_wrong_password_shows_a_spanish_error(live_server, page):
    log_in(page, live_server, ADMIN, password="not-the-password")
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.locator(".error[data-field=password]")).to_contain_text(
        "Correo o contraseña incorrectos")
    page.goto(f"{live_server}/")
    expect(page).to_have_url(LOGIN_URL)


def test_ngo_user_sees_only_its_organization(live_server, demo_app, page):
    log_in(page, live_server, NGO1)
    expect(page).to_have_url(f"{live_server}/")

    page.goto(f"{live_server}/admin/organizations")
    expect(page.get_by_role("heading", level=1)).to_have_text("Organizaciones")
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").first).to_have_text(NGO1_ORGANIZATION)

    rows.first.get_by_role("link", name=NGO1_ORGANIZATION).click()
    expect(page).to_have_url(
        f"{live_server}/admin/organizations/{organization_id(demo_app, NGO1_ORGANIZATION)}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(NGO1_ORGANIZATION)

    other_id = organization_id(demo_app, OTHER_ORGANIZATION)
    response = page.goto(f"{live_server}/admin/organizations/{other_id}")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_contain_text("404")
    expect(page.locator("body")).not_to_contain_text(OTHER_ORGANIZATION)


def test_admin_creates_an_allocation_with_a_bad_amount_then_a_good_one(
        live_server, demo_app, backend, page):
    decree = "D.L. N.º 2077"
    log_in(page, live_server, ADMIN)
    expect(page).to_have_url(f"{live_server}/")
    save_screenshot(page, f"admin-home-{backend}")

    page.goto(f"{live_server}/admin/allocations/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("Registrar asignación")
    page.fill("input[name=decree_number]", decree)
    page.fill("input[name=fiscal_year]", str(demo_fiscal_year()))  # the demo's current fiscal year
    page.fill("input[name=budget_line_code]", f"{demo_fiscal_year()}-0700-3-02-01-21-1-56304")
    page.select_option("select[name=organization_id]", label="Fundación Arte y Deporte para la Paz")
    page.fill("input[name=amount]", "12,5.5.5")
    page.fill("textarea[name=purpose]", "Torneos deportivos comunitarios en San Miguel.")
    page.get_by_role("button", name="Guardar").click()

    expect(page.locator(".error[data-field=amount]")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/admin/allocations/new")
    assert count_allocations(demo_app, decree) == 0

    page.fill("input[name=amount]", "2500.75")
    page.get_by_role("button", name="Guardar").click()

    expect(page).to_have_url(f"{live_server}/admin/allocations")
    expect(page.get_by_role("heading", level=1)).to_have_text("Asignaciones legislativas")
    new_row = page.locator("table.data tbody tr", has_text=decree)
    expect(new_row).to_have_count(1)
    expect(new_row.locator("td.num")).to_have_text("$2,500.75")
    assert count_allocations(demo_app, decree) == 1


def test_a_plan_goes_from_the_ngos_editor_to_review_and_back_with_changes_requested(
        live_server, demo_app, backend, new_page):
    title = "Jóvenes con futuro en San Salvador Centro"
    # ngo1's allocation is of the demo's fiscal year; the workshops are given as its quarter T2, so the
    # term is 01/02–30/11 of that year, which contains T2 whatever the test day
    fy = demo_fiscal_year()
    ngo = new_page()
    log_in(ngo, live_server, NGO1)
    expect(ngo).to_have_url(f"{live_server}/")
    ngo.locator("[data-testid=allocations-without-plan] li", has_text="$185,000.00") \
        .get_by_role("link", name="Crear plan de trabajo").click()
    expect(ngo.get_by_role("heading", level=1)).to_have_text("Nuevo plan de trabajo")
    expect(ngo.locator("main")).to_contain_text("$185,000.00")

    # general fields, territory and beneficiaries
    ngo.fill("input[name=title]", title)
    ngo.fill("input[name=start_date]", f"{fy}-02-01")
    ngo.fill("input[name=end_date]", f"{fy}-11-30")
    ngo.fill("textarea[name=justification]", "Altos índices de violencia juvenil en el municipio.")
    ngo.fill("textarea[name=objectives]", "Reducir la participación de jóvenes en pandillas.")
    ngo.fill("textarea[name=ministry_alignment]", "Plan de prevención del MJSP, eje 2: juventud.")
    ngo.select_option("select[name=territory]", ["0623", "0622"])
    ngo.fill("input[name=beneficiaries_target]", "300")
    ngo.fill("input[name=beneficiaries_age_min]", "14")
    ngo.fill("input[name=beneficiaries_age_max]", "29")
    ngo.fill("textarea[name=beneficiaries_profile]", "Jóvenes en riesgo")
    ngo.fill("textarea[name=monitoring]", "Visitas mensuales e informes trimestrales.")
    ngo.fill("textarea[name=internal_controls]", "Doble firma en cheques; inventario de bienes.")

    # activities: one, then a second row added with the button (the page keeps what was typed)
    ngo.fill("input[name=activities-0-name]", "Talleres vocacionales")
    ngo.fill("input[name=activities-0-responsible]", "Coordinadora")
    ngo.select_option("select[name=activities-0-quarter]", "T2")
    ngo.fill("input[name=activities-0-municipality_codes]", "0623")
    ngo.click("[data-testid=add-activity]")
    expect(ngo.locator("[data-testid=activity-row]")).to_have_count(2)
    expect(ngo.locator("input[name=activities-0-name]")).to_have_value("Talleres vocacionales")
    ngo.fill("input[name=activities-1-name]", "Tutorías escolares")
    ngo.fill("input[name=activities-1-responsible]", "Tutor")
    ngo.fill("input[name=activities-1-start_date]", f"{fy}-03-01")
    ngo.fill("input[name=activities-1-end_date]", f"{fy}-10-31")
    ngo.fill("input[name=activities-1-municipality_codes]", "San Salvador Este")

    # budget, indicators, tranches
    ngo.fill("input[name=budget_lines-0-category]", "Servicios")
    ngo.fill("input[name=budget_lines-0-description]", "Instructores")
    ngo.fill("input[name=budget_lines-0-amount]", "120000.00")
    ngo.click("[data-testid=add-budget_line]")
    expect(ngo.locator("[data-testid=budget-row]")).to_have_count(2)
    ngo.fill("input[name=budget_lines-1-category]", "Materiales")
    ngo.fill("input[name=budget_lines-1-description]", "Insumos de talleres")
    ngo.fill("input[name=budget_lines-1-amount]", "65000.00")
    expect(ngo.locator("[data-testid=budget-total]")).to_have_text("$185,000.00")  # the running total
    ngo.fill("textarea[name=indicators-0-expected_result]", "Jóvenes formados")
    ngo.fill("input[name=indicators-0-name]", "Jóvenes que terminan un taller")
    ngo.fill("input[name=indicators-0-unit]", "personas")
    ngo.fill("input[name=indicators-0-baseline]", "0")
    ngo.fill("input[name=indicators-0-target]", "250")
    ngo.fill("textarea[name=indicators-0-means_of_verification]", "Listas de asistencia")
    ngo.fill("input[name=tranches-0-planned_date]", f"{fy}-02-15")
    ngo.fill("input[name=tranches-0-amount]", "100000.00")
    ngo.fill("input[name=tranches-0-budget_lines]", "1, 2")
    ngo.click("[data-testid=add-tranche]")
    expect(ngo.locator("[data-testid=tranche-row]")).to_have_count(2)
    ngo.fill("input[name=tranches-1-planned_date]", f"{fy}-06-15")
    ngo.fill("input[name=tranches-1-amount]", "85000.00")
    ngo.fill("input[name=tranches-1-budget_lines]", "1, 2")
    expect(ngo.locator("[data-testid=tranche-total]")).to_have_text("$185,000.00")
    save_screenshot(ngo, f"plan-editor-{backend}")

    ngo.click("[data-testid=save-draft]")
    expect(ngo.get_by_role("heading", level=1)).to_contain_text(title)
    expect(ngo.locator("[data-testid=plan-state]")).to_have_text("Borrador")
    expect(ngo.locator("[data-testid=submission]")).to_contain_text("puede enviarse a revisión")
    ngo.check("[data-testid=confirm-submit_plan]")
    ngo.click("[data-testid=submit-plan]")
    expect(ngo.locator("[data-testid=plan-state]")).to_have_text("Enviado")
    plan_url = ngo.url
    log_out(ngo)

    def decide(email, decision, observation=None):
        reviewer = new_page()
        log_in(reviewer, live_server, email)
        expect(reviewer).to_have_url(f"{live_server}/")
        reviewer.goto(f"{live_server}/reviews")
        reviewer.locator("[data-testid=review-queue]").get_by_role("link", name=title).click()
        expect(reviewer.get_by_role("heading", level=1)).to_contain_text(title)
        if observation:
            reviewer.fill("textarea[name=observations-indicators]", observation)
        reviewer.check(f"input[name=decision][value={decision}]")
        reviewer.click("[data-testid=record-review]")
        expect(reviewer).to_have_url(plan_url)
        return reviewer

    log_out(decide("legal@fondos.example.org", "approve"))
    log_out(decide("financial@fondos.example.org", "approve"))
    observation = "Agregue un indicador de permanencia escolar."
    monitoring = decide("monitoring@fondos.example.org", "request_changes", observation)
    expect(monitoring.locator("[data-testid=plan-state]")).to_have_text("Cambios solicitados")
    log_out(monitoring)

    log_in(ngo, live_server, NGO1)
    expect(ngo.locator("[data-testid=unread-count]")).to_be_visible()
    ngo.locator("[data-testid=own-plans]").get_by_role("link", name=title).click()
    expect(ngo.locator("[data-testid=plan-state]")).to_have_text("Cambios solicitados")
    expect(ngo.locator("[data-testid=notes-indicators]")).to_contain_text(observation)
    expect(ngo.locator("[data-testid=reviews]")).to_contain_text(observation)

    # the NGO answers with a second version: the reviewers see what changed
    ngo.click("[data-testid=revise-plan]")
    expect(ngo.get_by_role("heading", level=1)).to_contain_text("versión 2")
    ngo.click("[data-testid=add-indicator]")
    expect(ngo.locator("[data-testid=indicator-row]")).to_have_count(2)
    ngo.fill("textarea[name=indicators-1-expected_result]", "Permanencia escolar")
    ngo.fill("input[name=indicators-1-name]", "Jóvenes que siguen estudiando")
    ngo.fill("input[name=indicators-1-unit]", "%")
    ngo.fill("input[name=indicators-1-baseline]", "60")
    ngo.fill("input[name=indicators-1-target]", "80")
    ngo.fill("textarea[name=indicators-1-means_of_verification]", "Constancias escolares")
    ngo.click("[data-testid=save-draft]")
    ngo.check("[data-testid=confirm-submit_plan]")
    ngo.click("[data-testid=submit-plan]")
    expect(ngo.locator("[data-testid=plan-state]")).to_have_text("Enviado")

    reviewer = new_page()
    log_in(reviewer, live_server, "monitoring@fondos.example.org")
    expect(reviewer).to_have_url(f"{live_server}/")
    reviewer.goto(f"{live_server}/reviews")
    reviewer.locator("[data-testid=review-queue]").get_by_role("link", name=title).click()
    expect(reviewer.locator("[data-testid=diff-summary]")).to_contain_text("1 de 12 secciones cambiaron")
    changed = reviewer.locator("section[data-section=indicators]")
    expect(changed).to_have_attribute("data-changed", "true")
    expect(changed.locator(".diff .after")).to_contain_text("Jóvenes que siguen estudiando")
    expect(changed.locator(".diff .before")).not_to_contain_text("Jóvenes que siguen estudiando")
    expect(changed).to_contain_text(observation)  # the earlier round's observation
    save_screenshot(reviewer, f"review-diff-{backend}")


def test_ngo_uploads_a_faulty_beneficiary_list_downloads_its_errors_fixes_it_and_confirms(
        live_server, backend, page, tmp_path):
    from grants.validation.identity import dui_check_digit

    def dui(n: int, wrong: bool = False) -> str:
        digits = f"{n:08d}"
        check = int(dui_check_digit(digits))
        return f"{digits}-{(check + 1) % 10 if wrong else check}"

    header = "Tipo de documento,DUI,Nombres,Apellidos,Fecha de nacimiento,Sexo,Municipio,Fecha de inscripción"
    enrolled = today()  # inside the demo agreement's term, which started 150 days ago
    people = [  # adults aged 18 to 25 when enrolled, in Santa Ana Centro (the agreement's territory)
        ("María José", "Hernández Flores", born(24, enrolled), "F"),
        ("Luis Alberto", "Mejía Castro", born(22, enrolled), "M"),
        ("Karla Beatriz", "Ramírez Guevara", born(19, enrolled), "F"),
        ("José Daniel", "Portillo Aguilar", born(23, enrolled), "M"),
    ]

    def write(name: str, last_wrong: bool) -> Path:
        lines = [header] + [
            f"DUI,{dui(7301 + i, wrong=last_wrong and i == 3)},{first},{last},{birth:%d/%m/%Y},{sex},"
            f"Santa Ana Centro,{enrolled.isoformat()}"
            for i, (first, last, birth, sex) in enumerate(people)]
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    faulty, fixed = write("beneficiarios.csv", True), write("beneficiarios-corregido.csv", False)

    log_in(page, live_server, "ngo2@fondos.example.org")
    expect(page).to_have_url(f"{live_server}/")
    page.goto(f"{live_server}/agreements")
    number = f"MJSP-CONV-{demo_fiscal_year()}-0001"  # ngo2's agreement
    page.get_by_role("link", name=number).click()
    page.click("[data-testid=agreement-beneficiaries]")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Beneficiarios del convenio {number}")
    beneficiaries_url = page.url

    page.set_input_files("input[name=file]", str(faulty))
    page.click("[data-testid=upload]")
    expect(page).to_have_url(re.compile(r"/beneficiary-imports/\d+$"))
    # processed in the background: the page refreshes itself until the report is ready
    expect(page.locator("[data-testid=batch-state]")).to_have_text("Lista para confirmar", timeout=20000)  # a job reads it; the page refreshes itself
    expect(page.locator("[data-count=total] strong")).to_have_text("4")
    expect(page.locator("[data-count=valid] strong")).to_have_text("3")
    expect(page.locator("[data-count=error] strong")).to_have_text("1")
    error_row = page.locator("[data-testid=error-rows] tbody tr")
    expect(error_row).to_have_count(1)
    expect(error_row).to_contain_text("5")
    expect(error_row).to_contain_text("DUI")
    expect(error_row).to_contain_text("El dígito verificador del DUI no es correcto.")
    save_screenshot(page, f"beneficiary-report-{backend}")

    with page.expect_download() as download_info:
        page.click("[data-testid=errors-csv]")
    download = download_info.value
    assert download.suggested_filename.endswith("-errores.csv")
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    lines = content.strip().splitlines()
    assert lines[0] == "Fila," + header + ",Errores"
    assert len(lines) == 2 and lines[1].startswith(f"5,DUI,{dui(7304, wrong=True)},José Daniel")
    assert "El dígito verificador del DUI no es correcto." in lines[1]

    # the workbook is built by a job: its page waits (refreshing itself), then offers it
    page.click("[data-testid=errors-xlsx]")
    expect(page.locator("[data-testid=file-download]")).to_be_visible(timeout=15000)
    with page.expect_download() as download_info:
        page.click("[data-testid=file-download]")
    download = download_info.value
    assert download.suggested_filename.endswith("-errores.xlsx")
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(Path(download.path()).read_bytes())).active.iter_rows(values_only=True))
    assert rows[0][0] == "Fila" and rows[0][-1] == "Errores" and rows[1][0] == 5
    assert "El dígito verificador del DUI no es correcto." in rows[1][-1]

    page.goto(beneficiaries_url)
    page.set_input_files("input[name=file]", str(fixed))
    page.click("[data-testid=upload]")
    expect(page.locator("[data-testid=batch-state]")).to_have_text("Lista para confirmar", timeout=20000)
    expect(page.locator("[data-count=valid] strong")).to_have_text("4")
    expect(page.locator("[data-count=error] strong")).to_have_text("0")
    page.check("[data-testid=confirm-confirm_list]")
    page.click("[data-testid=confirm]")
    expect(page.locator("[data-testid=batch-state]")).to_have_text("Confirmada")

    page.goto(beneficiaries_url)
    expect(page.locator("[data-testid=enrollment-counts] li[data-state=pending] strong")).to_have_text("4")
    page.select_option("[data-testid=enrollment-filters] select[name=status]", "pending")
    page.click("[data-testid=enrollment-filters] button[type=submit]")
    rows = page.locator("[data-testid=enrollment-row]")
    expect(rows).to_have_count(4)
    expect(rows.locator("[data-testid=enrollment-state]")).to_have_text(["Pendiente"] * 4)
    expect(page.locator("[data-testid=enrollments]")).to_contain_text(dui(7304))  # the NGO sees its data
    expect(page.locator("[data-testid=batches] [data-testid=batch-row]").first).to_contain_text("Confirmada")


def test_the_api_docs_run_under_their_content_security_policy(live_server, page):
    """Swagger UI renders the operations with the page's CSP in force (its inline start-up script is
    allowed by hash, nothing else): no violation reported by the browser."""
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            or "Refused to" in message.text else None)
    response = page.goto(f"{live_server}/api/docs")
    assert "script-src 'self' 'sha256-" in response.headers["content-security-policy"]
    expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=15_000)
    expect(page.get_by_text("/api/v1/agreements", exact=True).first).to_be_attached()
    assert refused == []
