"""Lean reads (issue 12): every JSON GET of the OpenAPI document loads what it returns in a fixed
number of SQL statements, never one more per row.

The world is the demo (``grants.demo.load_demo``, through the real services), in a database that
really commits. Each GET of ``/api/openapi.json`` that answers JSON is called with its path ids
filled from real objects, as the first role (auditor, admin, …) that may read it.

What is counted: the statements (SQLAlchemy ``before_cursor_execute`` on the engine) issued while
the view function runs — its loads, its checks and the dump of the response. Authentication runs
before the view (one statement: the token with its user and roles) and is not counted; neither is
the token's last-use write (``api_tokens``), which the session flushes at the view's first query
and which another change makes once a minute at most.

Three checks:
* **N rows against ~3N rows**: each list whose demo data has at least 3 rows is read with
  ``page_size=1`` and ``page_size=3``; the counts must be equal.
* **No statement twice**: within one read, the same SQL text never runs twice. A lazy load per row
  is the same statement with another parent's id, so this finds a query per row wherever the demo
  has two rows of anything (nested lists of a detail included).
* **Ceilings**: the agreement read and the balances read take at most 3 statements each.
"""
from __future__ import annotations

import collections
import contextlib
import functools
import io

import pytest
from sqlalchemy import event, select

from grants import models as M
from grants.audit import Actor
from grants.db import unit_of_work
from grants.demo import load_demo
from grants.extensions import db
from tests.conftest import TestDatabase, dispose, make_app

ROLES = ("auditor", "admin", "ngo2", "administrator", "financial", "treasury")
CEILINGS = {"/api/v1/agreements/{agreement_id}": 3, "/api/v1/agreements/{agreement_id}/balances": 3}
# Reads whose repeated statement is not a row's: none today. An entry needs its reason.
REPEATS_ALLOWED: dict[str, str] = {}
# Lists compared on other page sizes than 1 and 3 rows, each with its reason.
PAGE_SIZES = {
    # the first row is the demo's executed payment; a prepared one (the second) brings the eligibility
    # preview: two statements for the page, whatever the number of prepared rows (payments API)
    "/api/v1/payments": (2, 3),
}


class StatementCounter:
    """The statements issued while a view function runs (see the module's docstring)."""

    def __init__(self, app):
        self.statements: list[str] = []
        self.counting = False
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self._seen)
        for endpoint, view in list(app.view_functions.items()):
            app.view_functions[endpoint] = self._wrap(view)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if self.counting and "api_tokens" not in statement:
            self.statements.append(statement)

    def _wrap(self, view):
        @functools.wraps(view)
        def counted(*args, **kwargs):
            self.counting = True
            try:
                return view(*args, **kwargs)
            finally:
                self.counting = False
        return counted

    def get(self, client, url, token):
        self.statements = []
        response = client.get(url, headers={"Authorization": f"Bearer {token}"})
        return response, list(self.statements)


@pytest.fixture(scope="module")
def demo(backend, tmp_path_factory):
    database = TestDatabase(backend, tmp_path_factory.mktemp("reads"))
    with contextlib.redirect_stderr(io.StringIO()):
        app = make_app(database)
    with app.app_context():
        with unit_of_work():
            load_demo(Actor.system("tests"))
            _a_finding_on_every_agreement()
            _a_payment_batch()
    counter = StatementCounter(app)
    client = app.test_client()
    tokens = {}
    for who in ROLES:
        response = client.post("/api/v1/auth/tokens", json={"email": f"{who}@fondos.example.org",
                                                             "password": "demo-2026"})
        tokens[who] = response.get_json()["token"]
    with app.app_context():  # a generated file (built by its job when the response closes) to read
        year = db.session.scalar(select(M.Allocation.fiscal_year).order_by(M.Allocation.id))
        db.session.remove()
    assert client.get(f"/api/v1/legislature-reports/{year}.xlsx",
                      headers={"Authorization": f"Bearer {tokens['auditor']}"}).status_code == 202
    yield app, client, counter, tokens
    dispose(app)
    database.drop()


def _a_finding_on_every_agreement() -> None:
    """The demo's findings concern one agreement: a lazy load of each finding's agreement would run
    once (the identity map), unseen. One more finding on every agreement makes it run per row."""
    from grants.audit import record_event
    from grants.models.base import utcnow

    system = Actor.system("tests")
    run = M.AuditCheckRun(status="finished", started_at=utcnow(), finished_at=utcnow())
    db.session.add(run)
    db.session.flush()
    record_event(db.session, system, "audit.checks_run", "audit_check_run", run.id)
    for agreement in db.session.scalars(select(M.Agreement)):
        finding = M.AuditFinding(
            fingerprint=f"query-count-{agreement.id}", rule_code="advance_overdue", severity="high",
            agreement_id=agreement.id, organization_id=agreement.organization_id, entity_type="agreement",
            entity_id=str(agreement.id), summary="planted for the query count", evidence={},
            first_run_id=run.id, last_run_id=run.id)
        db.session.add(finding)
        db.session.flush()
        record_event(db.session, system, "audit.finding_created", "audit_finding", finding.id)


def _a_payment_batch() -> None:
    """The demo's authorized payments in a payment batch (the demo leaves the batch to the reader)."""
    from grants.clock import today
    from grants.services import payment_batches
    from grants.workflows.payment import PaymentState

    treasury2 = db.session.scalars(select(M.User).where(M.User.email == "treasury2@fondos.example.org")).one()
    ids = db.session.scalars(select(M.Payment.id).where(M.Payment.status == PaymentState.AUTHORIZED)).all()
    payment_batches.create_batch(Actor.for_user(treasury2), {
        "debtor_account_id": payment_batches.accounts()[0]["id"], "execution_date": today(), "payment_ids": ids})


def _ids(app) -> dict[str, int]:
    """A real object for each path parameter: the demo's agreement with money, and its things."""
    with app.app_context():
        def last(model):
            return db.session.scalar(select(model.id).order_by(model.id.desc()))
        agreement = db.session.scalar(select(M.Advance.agreement_id).limit(1))
        return {
            "agreement_id": agreement,
            "plan_id": db.session.scalar(select(M.Agreement.plan_id).where(M.Agreement.id == agreement)),
            "number": 1, "batch_id": last(M.ImportBatch), "supplier_id": last(M.Supplier),
            "org_id": last(M.Organization), "allocation_id": last(M.Allocation), "user_id": last(M.User),
            "advance_id": last(M.Advance), "statement_id": last(M.ExpenseStatement), "refund_id": last(M.Refund),
            "invoice_id": last(M.Invoice), "payment_id": last(M.Payment), "report_id": last(M.FollowUpReport),
            "incident_id": last(M.Incident), "run_id": last(M.AuditCheckRun), "finding_id": last(M.AuditFinding),
            "meeting_id": last(M.Meeting), "commitment_id": last(M.Commitment), "file_id": last(M.GeneratedFile),
            "payment_batch_id": last(M.PaymentBatch), "bank_statement_id": last(M.BankStatement),
            "year": db.session.scalar(select(M.Allocation.fiscal_year).order_by(M.Allocation.id)),
        }


OWNERS = {"invoices": "invoice_id", "suppliers": "supplier_id", "follow-up-reports": "report_id"}


def _required_query(app, path: str) -> str:
    """The query string of a GET that needs one: the reconciliation of the demo statement's account and day."""
    if path != "/api/v1/bank-statements/reconciliation":
        return ""
    with app.app_context():
        account, day = db.session.execute(
            select(M.BankStatement.account, M.BankStatementLine.booking_date)
            .join(M.BankStatementLine, M.BankStatementLine.statement_id == M.BankStatement.id)
            .order_by(M.BankStatementLine.id.desc()).limit(1)).one()
        db.session.remove()
    return f"?account={account}&day={day.isoformat()}"


def _json_gets(client) -> list[str]:
    spec = client.get("/api/openapi.json").get_json()
    return sorted(path for path, item in spec["paths"].items()
                  if "get" in item and "application/json" in item["get"]["responses"].get("200", {}).get("content", {}))


def _url(path: str, ids: dict[str, int]) -> str:
    url = path
    if "{owner_id}" in url:
        url = url.replace("{owner_id}", str(ids[OWNERS[url.split("/")[3]]]))
    for name, value in ids.items():
        url = url.replace("{%s}" % name, str(value))
    assert "{" not in url, f"no object for a parameter of {path}"
    return url


def _reads(demo):
    """(path, url, role, statements, body) for every JSON GET, as the first role that may read it."""
    app, client, counter, tokens = demo
    ids = _ids(app)
    reads = []
    for path in _json_gets(client):
        url = _url(path, ids) + _required_query(app, path)
        for who in ROLES:
            response, statements = counter.get(client, url, tokens[who])
            if response.status_code == 200:
                reads.append((path, url, who, statements, response.get_json()))
                break
        else:
            pytest.fail(f"no demo role may read {url}")
    return reads


def test_every_json_get_is_read_without_a_query_per_row(demo):
    app, client, counter, tokens = demo
    reads = _reads(demo)
    assert len(reads) > 50, [r[0] for r in reads]
    failures, compared = [], []
    for path, url, who, statements, body in reads:
        repeated = [(n, s) for s, n in collections.Counter(statements).items() if n > 1]
        if repeated and path not in REPEATS_ALLOWED:
            n, statement = repeated[0]
            failures.append(f"{path}: one statement {n} times among {len(statements)} "
                            f"({' '.join(statement.split())[:120]})")
        if isinstance(body, dict) and "items" in body and body.get("total", 0) >= 3:
            sep = "&" if "?" in url else "?"
            small, large = PAGE_SIZES.get(path, (1, 3))
            _, one = counter.get(client, f"{url}{sep}page_size={small}", tokens[who])
            _, three = counter.get(client, f"{url}{sep}page_size={large}", tokens[who])
            compared.append(path)
            if len(one) != len(three):
                failures.append(f"{path}: {len(one)} statements for {small} rows, {len(three)} for {large}")
    assert not failures, "\n".join(failures)
    # The lists the demo fills enough to compare 1 row with 3 (others rely on the repeat check).
    assert {"/api/v1/organizations", "/api/v1/allocations", "/api/v1/plans", "/api/v1/users",
            "/api/v1/agreements/{agreement_id}/enrollments", "/api/v1/audit/events",
            "/api/v1/beneficiary-imports/{batch_id}/rows"} <= set(compared), compared


def test_the_agreement_and_its_balances_are_read_in_three_statements_at_most(demo):
    reads = {path: statements for path, _url_, _who, statements, _body in _reads(demo)}
    for path, ceiling in CEILINGS.items():
        assert len(reads[path]) <= ceiling, (path, [" ".join(s.split())[:100] for s in reads[path]])
