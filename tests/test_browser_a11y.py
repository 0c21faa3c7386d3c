"""Accessibility of every main page of every role, in headless Chromium on the demo data.

Each page of ``PAGES`` (role → pages; add new pages there) is opened as that role and checked:

* axe-core (vendored: ``tests/assets/axe-core``, injected into the page) finds no violation of
  impact *serious* or *critical* (the failure lists each rule, its impact and the elements);
* the first element the keyboard reaches is the skip link "Saltar al contenido", and following it
  moves the focus to the page's ``<main id=…>``;
* no ``id`` is used twice;
* at 390 px wide (a phone, 390×844) axe finds no serious or critical violation either, and the
  page does not scroll sideways, in Spanish and in English: the navigation collapses into a menu
  and wide tables scroll inside their own box.

The demo has no plan being edited nor an agreement being drafted: ``more_cases`` adds them to
this module's demo (a draft plan of ngo1, an approved plan waiting for its agreement and a draft
agreement, on new allocations of ngo1's organization), through the services as people would.

A page is a path, or a path followed by links to follow in turn (Playwright selectors: the first
match is followed), so detail pages are found from the demo data rather than by id.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests import browser_support as support

pytestmark = pytest.mark.browser

browser, new_page = support.browser, support.new_page
demo_app, live_server = support.demo_app, support.live_server

AXE = Path(__file__).resolve().parent / "assets" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SKIP_LINK = "Saltar al contenido"
AXE_URL = "/__tests__/axe.min.js"  # answered by the browser (serve_axe), not by the app


def link(href_start: str, inside: str = "main") -> str:
    """The first link inside ``inside`` to a page whose address starts with ``href_start`` (not a
    file to download nor a filtered list)."""
    return f"{inside} a[href^='{href_start}']:not([href*='.']):not([href*='?'])"


# the demo's records, reached from the lists that show them
AGREEMENT = ("/agreements", link("/agreements/", "tr:has(.state-in_execution)"))
CLOSING_AGREEMENT = ("/agreements", link("/agreements/", "tr:has(.state-closing)"))
MONEY = (*AGREEMENT, "main a[href$='/money']")
INVOICE = (*MONEY, link("/invoices/"))
PAYMENT = (*MONEY, link("/payments/"))
ADVANCE = (*MONEY, link("/advances/"))
STATEMENT = (*ADVANCE, link("/expense-statements/"))
SUPPLIERS = (*AGREEMENT, "main a[href$='/suppliers']")
SUPPLIER = (*SUPPLIERS, link("/suppliers/"))
BENEFICIARIES = (*AGREEMENT, "main a[href$='/beneficiaries']")
BATCH = (*BENEFICIARIES, link("/beneficiary-imports/"))
FOLLOW_UP = (*AGREEMENT, "main a[href$='/follow-up']")
FOLLOW_UP_REPORT = (*FOLLOW_UP, link("/follow-up-reports/"))
INCIDENT = (*FOLLOW_UP, link("/incidents/"))
FINAL_LIQUIDATION = (*CLOSING_AGREEMENT, "main a[href$='/final-liquidation']")
PLAN = ("/plans", link("/plans/"))
PLAN_EDITOR = ("/plans", link("/plans/", "tr:has(.state-draft)"), "main a[href$='/edit']")
AGREEMENT_NEW = ("/", "main a[href$='/agreement/new']")  # from the legal team's home
AGREEMENT_EDIT = ("/agreements", link("/agreements/", "tr:has(.state-draft)"), "main a[href$='/edit']")
# a list's export built by the job queue: its page (/files/N) while it is built
GENERATED_FILE = ("/agreements", link("/agreements/", "tr:has(.state-in_execution)"),
                  "main a[href$='/beneficiaries']", "main a[data-testid='export-csv']")
DASHBOARD_YEAR = ("/tablero", "select[name='year'] option:last-child")  # a year chosen in its form
REVIEW = ("/reviews", "main a[href$='/review']")
MEETINGS = ("/admin/allocations", link("/allocations/", "main"))
MEETING = (*MEETINGS, link("/meetings/"))
ORGANIZATION = ("/admin/organizations", link("/admin/organizations/", "main td"))
FINDING = ("/audit/findings", link("/audit/findings/"))
CHECK_RUN = ("/audit/checks", link("/audit/check-runs/"))

STAFF = ["/", "/trabajo", "/inbox", "/plans", PLAN, "/agreements", AGREEMENT, MONEY, "/admin/organizations",
         ORGANIZATION, "/admin/allocations", "/beneficiarios?q=a"]

# role (a demo account) → the pages it works on; None: not logged in
PAGES: dict[str | None, list] = {
    None: ["/login", "/transparencia", "/verificar"],  # (/transparencia answers with its latest year's page, /transparencia/<year>)
    "admin": [*STAFF, "/tablero", "/admin/organizations/new", (*ORGANIZATION, "main a[href$='/edit']"),
              "/admin/allocations/new", "/admin/users", "/admin/users/new",
              ("/admin/users", "main a[href$='/edit']"), "/audit", "/legislature-reports",
              "/debarred-suppliers", MEETINGS],
    "legal": [*STAFF, "/tablero", DASHBOARD_YEAR, "/reviews", REVIEW, FINAL_LIQUIDATION, AGREEMENT_NEW,
              AGREEMENT_EDIT],
    "financial": [*STAFF, "/tablero", "/reviews", "/suppliers/queue", ADVANCE, STATEMENT, INVOICE],
    "monitoring": [*STAFF, "/tablero", "/beneficiary-imports", "/double-enrollments", BENEFICIARIES, BATCH,
                   FOLLOW_UP, FOLLOW_UP_REPORT, INCIDENT, GENERATED_FILE],
    "administrator": [*STAFF, INVOICE, FOLLOW_UP, (*FOLLOW_UP, "main a[href$='/follow-up-reports/new']"),
                      (*FOLLOW_UP, "main a[href$='/incidents/new']")],
    "treasury": [*STAFF, "/tablero", "/payments", "/bank-statements", PAYMENT, ADVANCE, INVOICE,
                 "/trabajo?kind=invoices_to_pay", "/payment-batches", "/payment-batches/new",
                 "/trabajo?kind=payments_to_authorize", "/trabajo?kind=advances_to_disburse"],
    "auditor": [*STAFF, "/tablero", "/audit/findings", FINDING, "/audit/checks", CHECK_RUN, "/audit",
                "/legislature-reports", FINAL_LIQUIDATION],
    "ngo2": ["/", "/trabajo", "/inbox", "/beneficiarios?q=a", "/plans", PLAN, "/agreements", AGREEMENT, MONEY, INVOICE, PAYMENT, ADVANCE,
             STATEMENT, (*MONEY, "main a[href$='/invoices/new']"), (*MONEY, "main a[href$='/advances/new']"),
             SUPPLIERS, SUPPLIER, (*SUPPLIERS, "main a[href$='/suppliers/new']"), BENEFICIARIES, BATCH,
             FOLLOW_UP, FOLLOW_UP_REPORT, INCIDENT, ORGANIZATION, MEETINGS, MEETING],
    "ngo1": ["/", ("/", "main a[href$='/plan/new']"), PLAN_EDITOR, FINAL_LIQUIDATION],  # plan editors; a closing
    "ngo3": ["/", PLAN],  # a plan in review
}


def email(role: str) -> str:
    return f"{role}@fondos.example.org"


def resolve(page: Page, base: str, spec) -> str:
    """The path of a page of ``PAGES``, following its links from the first page."""
    steps = (spec,) if isinstance(spec, str) else spec
    response = page.goto(base + steps[0])
    for selector in steps[1:]:
        assert response is None or response.ok, f"{page.url}: HTTP {response.status}"
        target = page.locator(selector).first
        assert target.count(), f"{page.url}: no link {selector!r} to follow to {steps}"
        if target.evaluate("e => e.tagName") == "OPTION":  # an option of a GET form: chosen
            name = target.evaluate("e => e.closest('select').name")
            href = f"{page.url[len(base):].split('?')[0]}?{name}={target.get_attribute('value')}"
        else:
            href = target.get_attribute("href")
        response = page.goto(base + href)
    assert response is None or response.ok, f"{page.url}: HTTP {response.status}"
    for _ in range(10):  # a page that refreshes itself (a file being built): until it stops
        if not page.locator("meta[http-equiv='refresh']").count():
            break
        page.wait_for_timeout(1000)
        page.wait_for_load_state()
    return page.url[len(base):]


def axe_violations(page: Page) -> list[dict]:
    page.add_script_tag(url=AXE_URL)
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact,
            targets: v.nodes.map(n => n.target.join(' '))}));
    }""")


def serve_axe(page: Page) -> None:
    """axe from the page's own origin: the app's CSP allows no inline script."""
    page.route(f"**{AXE_URL}", lambda route: route.fulfill(path=AXE, content_type="text/javascript"))


def duplicate_ids(page: Page) -> list[str]:
    ids = page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)")
    return sorted(i for i, n in Counter(ids).items() if n > 1)


def skip_link_problem(page: Page) -> str | None:
    """None if the first element the keyboard reaches (in document order: an autofocus field
    would move the start) is the skip link, and following it with Enter focuses <main id=…>."""
    first = page.evaluate("""() => {
        const e = [...document.querySelectorAll(
            'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]')]
            .find(e => e.tabIndex >= 0 && !e.disabled);
        return e && {text: e.textContent.trim(), href: e.getAttribute('href')}; }""")
    if not first or first["text"] != SKIP_LINK or not (first["href"] or "").startswith("#"):
        return f"the first focusable element is {first}, not the skip link {SKIP_LINK!r}"
    page.locator("a[href='%s']" % first["href"]).first.focus()
    page.keyboard.press("Enter")
    focused = page.evaluate("() => [document.activeElement.tagName, document.activeElement.id]")
    if focused != ["MAIN", first["href"][1:]]:
        return f"the skip link {first['href']} moved the focus to {focused}, not to <main>"
    return None


def sideways_scroll(page: Page) -> str | None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    if widths[0] > widths[1]:
        wide = page.evaluate("""() => {  // the widest elements not inside a box that scrolls
            const scrolls = e => e.parentElement && e.parentElement !== document.body
                && (getComputedStyle(e.parentElement).overflowX !== 'visible' || scrolls(e.parentElement));
            return [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
                .filter(e => !scrolls(e)).slice(-5)
                .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''));
        }""")
        return f"scrolls sideways at 390 px: scrollWidth {widths[0]} > {widths[1]} (wide: {wide})"
    return None


def axe_problems(page: Page, path: str, width: str, violations: Counter) -> list[str]:
    """axe's serious and critical violations of the page as it is shown now; every violation is
    counted in ``violations`` ("impact rule")."""
    problems = []
    for violation in axe_violations(page):
        violations[f"{violation['impact']} {violation['id']}"] += len(violation["targets"])
        if violation["impact"] in BLOCKING:
            problems.append(f"{path} ({width}): axe {violation['id']} ({violation['impact']}) "
                            f"on {violation['targets']}")
    return problems


def check_pages(page: Page, base: str, specs) -> tuple[dict, list[str], Counter]:
    """Open each page in Spanish on a desktop and then on a phone; the paths reached, the
    problems found, and the count of elements in violation of each axe rule ("impact rule"),
    both widths together."""
    paths, problems, violations = {}, [], Counter()
    serve_axe(page)
    for spec in specs:
        page.set_viewport_size(DESKTOP)
        path = resolve(page, base, spec)
        paths[spec] = path
        problems += axe_problems(page, path, "1280 px", violations)
        problems += [f"{path}: id {i!r} used more than once" for i in duplicate_ids(page)]
        if problem := skip_link_problem(page):
            problems.append(f"{path}: {problem}")
        page.set_viewport_size(PHONE)
        problems += axe_problems(page, path, "390 px", violations)
        if problem := sideways_scroll(page):
            problems.append(f"{path} (es): {problem}")
    return paths, problems, violations


@pytest.fixture(scope="module")
def more_cases(demo_app):
    """A draft plan of ngo1 (its editor), an approved plan without agreement (the agreement's
    form) and a draft agreement (its edit form), on three new allocations of ngo1's
    organization, like the demo's ngo2 plan (the same content and days)."""
    from grants import clock
    from grants.audit import Actor
    from grants.demo import Timeline, _plan_content
    from grants.extensions import db
    from grants.models import Allocation, User
    from grants.services import agreements, plans
    from grants.services.allocations import create_allocation
    from sqlalchemy import select

    with demo_app.app_context():
        users = {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}

        def as_(key):
            return Actor.for_user(users[key])

        t = Timeline.of_today()
        model = db.session.scalars(select(Allocation).order_by(Allocation.id)).all()[1]  # ngo2's, in execution
        content = _plan_content(t, ["0215"], [("Servicios profesionales", "Mediadores", "75000.00"),
                                              ("Equipamiento", "Mobiliario", "30000.00"),
                                              ("Materiales", "Materiales didácticos", "22500.00"),
                                              ("Alimentación", "Refrigerios", "15000.00")],
                                ["60000.00", "50000.00", "32500.00"], 420, (10, 25))
        made = []
        with clock.at(t.day(-20)):
            for n in range(3):
                allocation = create_allocation(Actor.system("tests"), {
                    "decree_number": f"D.L. N.º 99{n}", "fiscal_year": model.fiscal_year,
                    "budget_line_code": model.budget_line_code, "organization_id": users["ngo1"].organization_id,
                    "amount": str(model.amount), "purpose": "Prueba de accesibilidad"})
                made.append(plans.create_plan(as_("ngo1"), allocation.id, f"Plan de prueba {n + 1}", content))
            for plan in made[1:]:
                plans.submit_plan(as_("ngo1"), plan.id)
        with clock.at(t.day(-12)):
            for plan in made[1:]:
                for discipline in ("legal", "financial", "monitoring"):
                    plans.record_review(as_(discipline), plan.id, 1, discipline, "approve", [])
            agreements.create_agreement(as_("legal"), made[2].id, {
                "ministry_signatory_name": "Lic. Ernesto Cañas Orellana",
                "ministry_signatory_title": "Ministro de Justicia y Seguridad Pública",
                "ngo_signatory_name": "Representante", "ngo_signatory_title": "Representante legal"})
        db.session.commit()


@pytest.mark.parametrize("role", list(PAGES), ids=[role or "anonymous" for role in PAGES])
def test_main_pages_are_accessible_and_fit_a_phone(demo_app, more_cases, live_server, new_page, role):
    page = new_page()
    if role:
        support.log_in(page, live_server, email(role), demo_app.config["DEMO_PASSWORD"])
    paths, problems, violations = check_pages(page, live_server, PAGES[role])

    page.context.add_cookies([{"name": "fondos_lang", "value": "en", "url": live_server}])
    page.set_viewport_size(PHONE)
    for path in paths.values():
        page.goto(live_server + path)
        assert page.locator("html").get_attribute("lang") == "en"
        if problem := sideways_scroll(page):
            problems.append(f"{path} (en): {problem}")

    print(f"\naxe {role or 'anonymous'}: {len(paths)} pages, elements in violation by rule: "
          f"{json.dumps(dict(violations), sort_keys=True)}")
    assert not problems, "\n".join(problems)
