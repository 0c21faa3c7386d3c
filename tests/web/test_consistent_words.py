"""One way to write things for people, in Spanish and in English: every main page of every role on
the demo data (its home, its menu, and the pages those link to) shows days as dd/mm/yyyy, no
"persona(s)" plural hacks, no lifecycle's raw state key where its label belongs, and — in English —
none of the Spanish labels of roles and states."""
from __future__ import annotations

import html as html_lib
import io
import re
from collections import deque
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from grants import labels
from grants.demo import DOMAIN, USERS
from grants.i18n import LANG_COOKIE
from grants.web.forms import ROLE_LABELS
from grants.workflows.states import STATE_ENUMS
from tests.browser_support import demo_app as _demo_app
from tests.helpers import web_login

demo_app = _demo_app

ROLES = ("admin", "legal", "financial", "monitoring", "administrator", "treasury", "auditor", "ngo1", "ngo2")
PAGES_PER_ROLE = 60  # the home page, the menu, and what they link to (breadth first): every role's main pages
SKIPPED = re.compile(r"\.(pdf|xlsx|csv|json|png|jpe?g)$|^/(api|static|logout|login)|/download|/file$|/scan$|/slip")

# Text people or the service wrote down once, in the language of its day: notifications (in the recipient's
# language when sent), a meeting's participants and minutes, and «quoted» states inside a stored reason.
STORED_TEXT = re.compile(r"^/(inbox|meetings/)")
QUOTED = re.compile(r"«[^»]*»")
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
PLURAL_HACK = re.compile(r"\w\((?:e?s|as|os)\)")


def _label_maps():
    return [getattr(labels, name) for name in dir(labels) if name.endswith("_LABELS")]


def raw_state_keys() -> set[str]:
    """The lifecycles' state values that are not words a person reads (their label differs)."""
    spanish = {str(label).lower() for mapping in _label_maps() for label in mapping.values()}
    return {m.value for enum in STATE_ENUMS for m in enum if m.value not in spanish}


def spanish_labels() -> set[str]:
    """The Spanish labels of roles and states (their English differs: they must be translated)."""
    from flask_babel import force_locale

    found = set()
    # the names of kinds of things (evidence, what a finding is about) are nouns that stored Spanish
    # text also uses («Anticipo 1 del convenio …»): not role or state labels
    for mapping in [ROLE_LABELS, *(m for m in _label_maps() if m not in (labels.EVIDENCE_LABELS,
                                                                          labels.EVIDENCE_VALUE_LABELS,
                                                                          labels.FINDING_ENTITY_LABELS))]:
        for label in mapping.values():
            with force_locale("en"):
                english = str(label)
            spanish = label._args[0] if hasattr(label, "_args") else str(label)
            if english != spanish:
                found.add(spanish)
    return found


def visible_text(page: str) -> str:
    """What a person reads: no tags, no attribute values, no script or style; machine records
    shown as such (an audit event's JSON, a hash in <code>/<pre>) are the API's format, not prose."""
    page = re.sub(r"<(script|style|pre|code)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<[^>]+>", " ", page)
    return " ".join(html_lib.unescape(page).split())


def links(page: str) -> list[str]:
    found = []
    for href in re.findall(r'<a\b[^>]*\bhref="([^"#]+)"', page):
        href = html_lib.unescape(href)
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/") or SKIPPED.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def crawl(client, limit: int = PAGES_PER_ROLE) -> dict[str, str]:
    """The role's pages, breadth first from its home page: path → visible text."""
    seen, queue, pages = set(), deque(["/"]), {}
    while queue and len(pages) < limit:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = response.get_data(as_text=True)
        pages[path] = visible_text(page)
        queue.extend(p for p in links(page) if p not in seen)
    return pages


def _report(bad: list) -> str:
    return "\n".join(f"{local} {path}: …{near}…" for local, path, near in bad[:25])


def _without(text: str, names: list[str]) -> str:
    for name in names:
        text = text.replace(name, " ")
    return text


def _near(text: str, match: re.Match) -> str:
    return text[max(0, match.start() - 60):match.end() + 60]


@pytest.fixture(scope="module")
def pages_by_language(demo_app):
    """Every role's pages, read in Spanish and in English."""
    result = {"es": {}, "en": {}}
    for local in ROLES:
        for language in ("es", "en"):
            client = demo_app.test_client()
            client.set_cookie(LANG_COOKIE, language)
            web_login(client, f"{local}@{DOMAIN}", "demo-2026")
            result[language][local] = crawl(client)
    return result


def test_the_crawl_reads_the_main_pages_of_every_role(pages_by_language):
    for language, roles in pages_by_language.items():
        for local, pages in roles.items():
            assert len(pages) >= 5, (language, local, list(pages))
    english_home = pages_by_language["en"]["admin"]["/"]
    assert "Sign out" in english_home or "Log out" in english_home, english_home[:300]


@pytest.mark.parametrize("language", ["es", "en"])
def test_days_are_written_dd_mm_yyyy_on_every_page(pages_by_language, language):
    bad = [(local, path, _near(text, m)) for local, pages in pages_by_language[language].items()
           for path, text in pages.items() for m in ISO_DAY.finditer(text)]
    assert not bad, _report(bad)
    shown = sum(len(re.findall(r"\b\d{2}/\d{2}/\d{4}\b", text))
                for pages in pages_by_language[language].values() for text in pages.values())
    assert shown > 50


@pytest.mark.parametrize("language", ["es", "en"])
def test_no_plural_hacks_on_any_page(pages_by_language, language):
    bad = [(local, path, _near(text, m)) for local, pages in pages_by_language[language].items()
           for path, text in pages.items() for m in PLURAL_HACK.finditer(text)]
    assert not bad, _report(bad)


def test_no_raw_state_key_is_shown_as_a_word_in_spanish(pages_by_language):
    keys = raw_state_keys()
    assert {"in_execution", "finished", "changes_requested", "pending_reply"} <= keys
    pattern = re.compile(r"(?<![\w/.-])(" + "|".join(sorted(map(re.escape, keys), key=len, reverse=True))
                         + r")(?![\w/.-])")
    bad = [(local, path, _near(text, m)) for local, pages in pages_by_language["es"].items()
           for path, text in pages.items() for m in pattern.finditer(text)]
    assert not bad, _report(bad)


def test_no_raw_state_key_with_an_underscore_in_english(pages_by_language):
    keys = {k for k in raw_state_keys() if "_" in k}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, keys)) + r")\b")
    bad = [(local, path, _near(text, m)) for local, pages in pages_by_language["en"].items()
           for path, text in pages.items() for m in pattern.finditer(text)]
    assert not bad, _report(bad)


def test_no_spanish_role_or_state_label_in_english(demo_app, pages_by_language):
    with demo_app.test_request_context():
        spanish = spanish_labels()
    assert {"Revisión jurídica", "En ejecución", "Terminada"} <= spanish
    pattern = re.compile(r"(?<![\w])(" + "|".join(sorted(map(re.escape, spanish), key=len, reverse=True))
                         + r")(?![\w])")
    names = [name for _, name, _, _ in USERS]  # people's names are data (the demo admin is called like its role)
    bad = [(local, path, _near(text, m)) for local, pages in pages_by_language["en"].items()
           for path, text in pages.items() if not STORED_TEXT.match(path)
           for m in pattern.finditer(QUOTED.sub(" ", _without(text, names)))]
    assert not bad, _report(bad)


# --- files: PDFs and workbooks write days the same way ------------------------------------------

FILES = [  # (who, url) on the demo: ngo2's agreement in execution, ngo1's in closing
    ("legal", "/agreements/1/document.pdf"),
    ("treasury", "/payments/1/order.pdf"),
    ("legal", "/agreements/2/final-liquidation.pdf"),
    ("auditor", "/audit/findings.pdf"),
    ("auditor", "/audit/findings.xlsx"),
    ("admin", "/legislature-reports/{year}.pdf"),
    ("admin", "/legislature-reports/{year}.xlsx"),
]


def _download(client, url):
    """The file, as its reader gets it: at once, or from the page of the file a job built."""
    first = client.get(url)
    if first.status_code == 303 and "/files/" in first.headers.get("Location", ""):
        page = client.get(first.headers["Location"]).get_data(as_text=True)
        return client.get(re.search(r'data-testid="file-download" href="([^"]+)"', page).group(1))
    return first


@pytest.fixture(scope="module")
def files(demo_app):
    from tests.helpers import demo_fiscal_year

    found, year = {}, demo_fiscal_year()
    for local, url in FILES:
        client = demo_app.test_client()
        web_login(client, f"{local}@{DOMAIN}", "demo-2026")
        response = _download(client, url.format(year=year))
        assert response.status_code == 200, (url, response.status_code)
        found[url] = response.data
    return found


def test_pdfs_write_days_dd_mm_yyyy(files):
    from tests.pdfs import pdf_pages

    for url, data in files.items():
        if not url.endswith(".pdf"):
            continue
        text = " ".join(pdf_pages(data))
        assert not ISO_DAY.search(text), (url, _near(text, ISO_DAY.search(text)))
        assert re.search(r"\b\d{2}/\d{2}/\d{4}\b", text), url
        assert not PLURAL_HACK.search(text), (url, _near(text, PLURAL_HACK.search(text)))


def test_workbooks_hold_days_as_dates_shown_dd_mm_yyyy(files):
    from datetime import date

    from openpyxl import load_workbook

    for url, data in files.items():
        if not url.endswith(".xlsx"):
            continue
        book = load_workbook(io.BytesIO(data))
        cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value is not None]
        days = [c for c in cells if isinstance(c.value, date)]
        texts = [c.value for c in cells if isinstance(c.value, str)]
        assert all(c.number_format.lower().startswith("dd/mm/yyyy") for c in days), \
            (url, {(c.coordinate, c.number_format) for c in days if not c.number_format.lower().startswith("dd/mm")})
        assert not [t for t in texts if ISO_DAY.search(t)], (url, [t for t in texts if ISO_DAY.search(t)][:5])
        assert days or any(re.search(r"\b\d{2}/\d{2}/\d{4}\b", t) for t in texts), url


def test_a_date_filter_takes_the_day_typed_dd_mm_yyyy_or_iso(demo_app):
    from tests.helpers import demo_term_start

    client = demo_app.test_client()
    web_login(client, f"ngo2@{DOMAIN}", "demo-2026")
    day = demo_term_start() + timedelta(days=60)
    typed, iso = (client.get(f"/agreements/1/beneficiaries?active_on={text}").get_data(as_text=True)
                  for text in (day.strftime("%d/%m/%Y"), day.isoformat()))
    rows = [re.findall(r'<tr id="inscripcion-(\d+)"', page) for page in (typed, iso)]
    assert rows[0] == rows[1] and rows[0], rows
    assert "Fecha no válida" not in typed
    assert f'value="{day.isoformat()}"' in typed  # the date input shows it back (ISO is all it shows)
    bad = client.get("/agreements/1/beneficiaries?active_on=31/02/2026").get_data(as_text=True)
    assert "Fecha no válida: escríbala como dd/mm/aaaa" in bad
