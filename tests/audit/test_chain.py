"""G6: every change writes one chained event; tampering is detected and named; the table is
append-only in the database; a change without its event rolls back; concurrent writers don't fork."""
import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from grants.audit import Actor, record_event, verify_chain
from grants.audit.guard import UnauditedChange
from grants.cli import audit_verify
from grants.db import unit_of_work
from grants.extensions import db
from grants.models import AuditEvent, Organization
from grants.models.audit import GENESIS_HASH
from grants.services.organizations import create_organization, update_organization
from tests.factories import make_organization, organization_data

SYSTEM = Actor.system("tests")


def events():
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()


def test_each_change_writes_one_event_chained_to_the_previous(app):
    org = make_organization()
    update_organization(SYSTEM, org.id, {"address": "Otra dirección 2"})
    db.session.commit()
    first, second = events()
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    assert (first.action, second.action) == ("organization.created", "organization.updated")
    assert second.before["address"] != second.after["address"] == "Otra dirección 2"
    assert verify_chain(db.session).ok


def test_an_update_that_changes_nothing_writes_no_event(app):
    org = make_organization()
    update_organization(SYSTEM, org.id, {"address": org.address})
    db.session.commit()
    assert len(events()) == 1


def test_a_change_without_its_audit_event_rolls_back(app):
    org = make_organization()
    org.legal_name = "Cambio a escondidas"
    with pytest.raises(UnauditedChange):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Organization, org.id).legal_name != "Cambio a escondidas"


def test_a_child_row_change_needs_its_parents_event(app):
    org = make_organization()
    org.phones[0].number = "79998888"
    with pytest.raises(UnauditedChange):
        db.session.commit()
    db.session.rollback()


def test_if_writing_the_event_fails_the_change_rolls_back(app, monkeypatch):
    import grants.services.organizations as service

    def broken(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(service, "record_event", broken)
    with pytest.raises(RuntimeError):
        with unit_of_work():
            service.create_organization(SYSTEM, organization_data(legal_name="Sin bitácora"))
    assert db.session.scalar(select(Organization).where(Organization.legal_name == "Sin bitácora")) is None


# --- tampering: these need committed rows and raw SQL, on a database of their own -----------

def _tamper(app, backend, sql):
    """Run ``sql`` as a DBA would: with the append-only triggers switched off."""
    with app.app_context():
        with db.engine.begin() as conn:
            if backend == "postgresql":
                conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
                conn.execute(text(sql))
                conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
            else:
                conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
                conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
                conn.execute(text(sql))


@pytest.fixture
def chain_of_five(live_app):
    with live_app.app_context():
        with unit_of_work():
            for _ in range(5):
                create_organization(SYSTEM, organization_data())
        assert verify_chain(db.session).events == 5
    return live_app


def run_verify(app):
    return app.test_cli_runner().invoke(audit_verify)


def test_verify_passes_on_an_untouched_chain(chain_of_five):
    result = run_verify(chain_of_five)
    assert result.exit_code == 0
    assert "5 eventos" in result.output


def test_an_edited_event_is_named_by_verify(chain_of_five, backend):
    _tamper(chain_of_five, backend, "UPDATE audit_events SET actor_email = 'otra@persona.org' WHERE seq = 3")
    result = run_verify(chain_of_five)
    assert result.exit_code == 1
    assert "secuencia 3" in result.output


def test_a_deleted_event_is_named_by_verify(chain_of_five, backend):
    _tamper(chain_of_five, backend, "DELETE FROM audit_events WHERE seq = 2")
    result = run_verify(chain_of_five)
    assert result.exit_code == 1
    assert "secuencia 2" in result.output


def test_a_deleted_last_event_is_caught_by_the_chain_head(chain_of_five, backend):
    _tamper(chain_of_five, backend, "DELETE FROM audit_events WHERE seq = 5")
    result = run_verify(chain_of_five)
    assert result.exit_code == 1
    assert "secuencia 5" in result.output


def test_reordered_events_are_named_by_verify(chain_of_five, backend):
    # swap the contents of events 2 and 3 (their sequence numbers stay in place)
    _tamper(chain_of_five, backend, "UPDATE audit_events SET seq = 1000 WHERE seq = 2")
    _tamper(chain_of_five, backend, "UPDATE audit_events SET seq = 2 WHERE seq = 3")
    _tamper(chain_of_five, backend, "UPDATE audit_events SET seq = 3 WHERE seq = 1000")
    result = run_verify(chain_of_five)
    assert result.exit_code == 1
    assert "secuencia 2" in result.output


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET action = 'x' WHERE seq = 1",
    "DELETE FROM audit_events WHERE seq = 1",
    "TRUNCATE audit_events",
])
def test_the_database_refuses_to_change_audit_events(chain_of_five, backend, statement):
    if statement.startswith("TRUNCATE") and backend == "sqlite":
        pytest.skip("SQLite has no TRUNCATE")
    with chain_of_five.app_context():
        with pytest.raises(DBAPIError) as exc:
            with db.engine.begin() as conn:
                conn.execute(text(statement))
        assert "append-only" in str(exc.value)
        assert verify_chain(db.session).events == 5


def test_twenty_concurrent_writers_leave_one_unbroken_chain(live_app, backend):
    with live_app.app_context():
        with unit_of_work():
            org_ids = [create_organization(SYSTEM, organization_data()).id for _ in range(4)]
    writers = 20
    barrier = threading.Barrier(writers)
    failures = []

    def write(n):
        try:
            with live_app.app_context():
                barrier.wait(timeout=30)
                with unit_of_work():
                    update_organization(SYSTEM, org_ids[n % 4], {"address": f"Dirección concurrente {n}"})
        except Exception as exc:  # collected and asserted below
            failures.append(repr(exc))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    with live_app.app_context():
        report = verify_chain(db.session)
        assert report.ok, report
        assert report.events == 4 + writers
        seqs = db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        assert seqs == list(range(1, 4 + writers + 1))
        assert db.session.scalar(select(func.count(func.distinct(AuditEvent.prev_hash)))) == 4 + writers


def test_record_event_refuses_floats(app):
    with pytest.raises(TypeError):
        record_event(db.session, SYSTEM, "x", "organization", 1, after={"amount": 1.5})
