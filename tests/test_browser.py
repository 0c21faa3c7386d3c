"""End-to-end tests in headless Chromium (Debian's, driven by Playwright) on both backends.

One live server per backend for the whole module: a fresh, migrated database with the demo
data, served by Werkzeug in a daemon thread. Each test gets fresh browser contexts (no cookies).
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import func, select
from werkzeug.serving import make_server

from grants.audit import Actor
from grants.demo import demo_accounts, load_demo
from grants.extensions import db, limiter
from grants.models import Allocation, Organization
from tests.conftest import TestDatabase, dispose, make_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
]
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


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_app(backend, tmp_path_factory):
    """An app on its own migrated database (real commits) holding the demo data."""
    database = TestDatabase(backend, tmp_path_factory.mktemp("browser"))
    try:
        app = make_app(database)
        try:
            with app.app_context():
                limiter.reset()
                load_demo(Actor.system("tests"))
                db.session.commit()
            yield app
        finally:
            dispose(app)
    finally:
        database.drop()


@pytest.fixture(scope="module")
def live_server(demo_app):
    """The demo app served over HTTP on a free local port; yields its base URL."""
    server = make_server("127.0.0.1", 0, demo_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Browser):
    """Factory: a page in a brand-new browser context (its own cookies), closed after the test.

    The browser speaks Salvadoran Spanish, like the people who use Fondos.
    """
    contexts = []

    def factory(cookies=None) -> Page:
        context = browser.new_context(locale="es-SV")
        context.set_default_timeout(10_000)
        if cookies:
            context.add_cookies(cookies)
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


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
    page.fill("input[name=fiscal_year]", "2026")
    page.fill("input[name=budget_line_code]", "2026-0700-3-02-01-21-1-56304")
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
