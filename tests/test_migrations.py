"""Models and migrations never drift; the app starts on an empty database and with the demo."""
from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from grants.audit import Actor, verify_chain
from grants.db import unit_of_work
from grants.demo import demo_accounts, load_demo
from grants.extensions import db
from grants.jobs import is_queue_object
from grants.models import Allocation, Organization, User
from tests.helpers import demo_fiscal_year, demo_term_start
from tests.timeline import today


def test_models_and_migrations_do_not_drift(live_database):
    """On a database migrated here from the first revision (not a copy of the suite's template)."""
    from grants import create_app

    live_database.migrate_for_real()
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=live_database.url)
    with app.app_context():
        with db.engine.connect() as conn:
            # the job queue's tables are procrastinate's (migration 0013), not the models'
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "include_name": lambda name, type_, _parents: not (
                    type_ == "table" and is_queue_object(name))})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == [], "models changed without a migration: run `flask db migrate`"


def test_app_starts_and_is_ready_on_an_empty_database(live_app):
    client = live_app.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready" and body["database"]["status"] == "ok"
    assert body["audit_events"] == 0
    assert client.get("/login").status_code == 200


def test_an_unmigrated_database_is_alive_but_not_ready(tmp_path):
    from grants import create_app

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.db'}")
    assert app.test_client().get("/healthz").status_code == 200
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["migrations"]["status"] == "not_at_head"


def test_demo_loads_through_the_services_and_the_app_serves_it(live_app):
    with live_app.app_context():
        with unit_of_work():
            load_demo(Actor.system("tests"))
        assert db.session.scalar(select(func.count()).select_from(Organization)) == 3
        assert db.session.scalar(select(func.count()).select_from(Allocation)
                                 .where(Allocation.fiscal_year == demo_fiscal_year())) >= 3
        emails = set(db.session.scalars(select(User.email)))
        assert {email for email, _ in demo_accounts()} == emails
        assert verify_chain(db.session).ok

        # the demo lives on the day it is loaded: ngo2's agreement started 150 days ago, is in execution
        # and its term includes today; ngo1's second agreement ended before today and is being closed.
        # Overdue only where intended: ngo2's first advance, its statement 18 days late.
        from grants.models import Advance, Agreement

        agreements = db.session.scalars(select(Agreement).order_by(Agreement.id)).all()
        execution, closing = agreements
        assert (execution.number, execution.status) == (f"MJSP-CONV-{demo_fiscal_year()}-0001", "in_execution")
        assert execution.start_date == demo_term_start() and today() < execution.end_date
        assert closing.status == "closing" and closing.end_date < today()
        overdue = db.session.scalars(select(Advance).where(Advance.liquidation_due < today(),
                                                           Advance.status != "liquidated")).all()
        assert [(a.agreement_id, a.liquidation_due) for a in overdue] == [
            (execution.id, today() - timedelta(days=18))]
    client = live_app.test_client()
    assert client.get("/readyz").get_json()["audit_events"] > 0
    token = client.post("/api/v1/auth/tokens",
                        json={"email": "ngo1@fondos.example.org", "password": "demo-2026"}).get_json()["token"]
    orgs = client.get("/api/v1/organizations", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [o["legal_name"] for o in orgs["items"]] == ["Fundación Juventud con Futuro"]


def test_the_demo_money_adds_up(live_app):
    """ngo2's demo: March paid with two never-active participants deducted, April waiting for a second
    treasury officer, May and June authorized (grants/demo_batches.py), the first advance disbursed with one receipt accepted; the ledger reconciles."""
    from grants.models import Advance, Agreement, Payment
    from grants.services import ledger

    with live_app.app_context():
        with unit_of_work():
            load_demo(Actor.system("tests"))
        payments = db.session.scalars(select(Payment).order_by(Payment.id)).all()
        assert [(p.status, str(p.invoiced_amount), str(p.deducted_amount), str(p.amount)) for p in payments] == [
            ("executed", "462.00", "42.00", "420.00"), ("prepared", "462.00", "42.00", "420.00"),
            ("authorized", "420.00", "0.00", "420.00"), ("authorized", "420.00", "0.00", "420.00")]
        assert [d.reason_code for d in payments[0].deductions] == ["beneficiary_not_active"] * 2
        # ngo2's agreement (ngo1's closing is tests/closing/test_final_liquidation_signoffs.py's)
        ngo2 = db.session.scalars(select(Agreement).where(Agreement.status == "in_execution")).one()
        advance = db.session.scalars(select(Advance).where(Advance.agreement_id == ngo2.id)).one()
        assert (advance.status, str(advance.amount), str(advance.liquidated_amount)) == ("disbursed", "60000.00", "1845.60")
        balances = ledger.balances(ngo2)
        assert (str(balances.paid_directly), str(balances.committed), str(balances.outstanding),
                str(balances.available)) == ("420.00", "1260.00", "58154.40", "80820.00")
        assert ledger.check_invariants() == []
        # The follow-up report counts the 20 active participants; the auditor's run found the overdue advance.
        from grants.models import AuditFinding, FollowUpReport

        assert db.session.scalars(select(FollowUpReport.active_beneficiaries)
                                  .where(FollowUpReport.agreement_id == ngo2.id)).all() == [20]
        assert "advance_overdue" in set(db.session.scalars(select(AuditFinding.rule_code)))


def test_demo_load_if_empty_does_not_load_twice(live_app):
    from grants.cli import demo_load

    runner = live_app.test_cli_runner()
    assert runner.invoke(demo_load, ["--if-empty"]).exit_code == 0
    second = runner.invoke(demo_load, ["--if-empty"])
    assert second.exit_code == 0 and "ya tiene usuarios" in second.output
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organization)) == 3


def test_migrations_go_down_to_nothing_and_up_again(live_app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from grants import MIGRATIONS_DIR

    with live_app.app_context():
        downgrade(directory=MIGRATIONS_DIR, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=MIGRATIONS_DIR)
        assert {"plans", "agreements", "audit_events"} <= set(inspect(db.engine).get_table_names())
