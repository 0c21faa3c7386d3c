"""Fixtures of the browser tests (headless Chromium: Debian's, driven by Playwright).

* ``browser``: Chromium, launched once per test module (skipped if it is not installed, failed
  under CI); ``new_page`` a factory of pages, each in its own browser context (its own cookies),
  in Salvadoran Spanish; ``page`` one such page.
* ``demo_app`` / ``live_server``: one app per module on a fresh, migrated database (real commits)
  holding the demo data, served over HTTP.
* ``serve(app)``: serve any app over HTTP on a free local port in a daemon thread.
* ``log_in(page, base, email)``: sign in through the login form and land on the home page.

A test module uses them by binding them to its own names (pytest finds fixtures there)::

    browser, new_page = browser_support.browser, browser_support.new_page
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from grants.audit import Actor
from grants.demo import load_demo
from grants.extensions import db
from tests.conftest import TestDatabase, dispose, make_app
from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
]


@contextmanager
def serve(app, name: str = "live-server") -> Iterator[str]:
    """``app`` served over HTTP on a free local port by Werkzeug in a daemon thread; yields its
    base URL and stops the server on exit."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def serve_prepared(app, name: str, prepare) -> Iterator[tuple[str, dict]]:
    """``prepare()`` run (and committed by it) in ``app``'s context, then ``app`` served: yields
    (base URL, what ``prepare`` returned: plain values, no database objects)."""
    from grants.extensions import db

    with app.app_context():
        data = prepare()
        db.session.remove()
    with serve(app, name) as base_url:
        yield base_url, data


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
    """Factory: a page in a brand-new browser context (its own cookies, downloads accepted),
    closed after the test.

    The browser speaks Salvadoran Spanish, like the people who use Fondos.
    """
    contexts = []

    def factory(cookies=None) -> Page:
        context = browser.new_context(locale="es-SV", accept_downloads=True)
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


@pytest.fixture(scope="module")
def demo_app(backend, tmp_path_factory):
    """An app on its own migrated database (real commits) holding the demo data."""
    database = TestDatabase(backend, tmp_path_factory.mktemp("browser"))
    try:
        app = make_app(database)
        try:
            with app.app_context():
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
    with serve(demo_app) as base_url:
        yield base_url


def log_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Entrar").click()
    expect(page).to_have_url(f"{base}/")
