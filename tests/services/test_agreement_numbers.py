"""Agreement numbers MJSP-CONV-<year>-<seq>: unique per year, no gaps, even under concurrency."""
import threading

from sqlalchemy import select

from grants.audit import Actor, verify_chain
from grants.db import unit_of_work
from grants.extensions import db
from grants.models import Agreement
from grants.services import agreements, plans
from tests.factories import make_allocation, make_organization, make_user, plan_content
from tests.timeline import year

SIGNATORIES = {"ministry_signatory_name": "M", "ministry_signatory_title": "T",
               "ngo_signatory_name": "N", "ngo_signatory_title": "R"}


def approved_plans(count: int) -> tuple[list[int], object]:
    reviewers = {d: make_user([f"{d}_reviewer"]) for d in ("legal", "financial", "monitoring")}
    ids = []
    for _ in range(count):
        org = make_organization()
        allocation = make_allocation(org, amount="100000.00")
        ngo = make_user(["ngo"], organization=org)
        plan = plans.create_plan(Actor.for_user(ngo), allocation.id, "Plan", plan_content())
        plans.submit_plan(Actor.for_user(ngo), plan.id)
        for discipline, user in reviewers.items():
            plans.record_review(Actor.for_user(user), plan.id, 1, discipline, "approve", [])
        db.session.commit()
        ids.append(plan.id)
    return ids, reviewers["legal"]


def test_numbers_are_consecutive_per_year(app):
    ids, legal = approved_plans(3)
    numbers = [agreements.create_agreement(Actor.for_user(legal), pid, dict(SIGNATORIES)).number for pid in ids]
    assert numbers == [f"MJSP-CONV-{year()}-{n:04d}" for n in (1, 2, 3)]


def test_a_rolled_back_agreement_leaves_no_gap(app):
    ids, legal = approved_plans(2)
    with db.session.begin_nested():
        agreements.create_agreement(Actor.for_user(legal), ids[0], dict(SIGNATORIES))
        db.session.rollback()
    assert agreements.create_agreement(Actor.for_user(legal), ids[1], dict(SIGNATORIES)).number == \
        f"MJSP-CONV-{year()}-0001"


def test_concurrent_creation_gives_distinct_consecutive_numbers(live_app):
    writers = 8
    with live_app.app_context():
        ids, legal = approved_plans(writers)
        legal_id = legal.id
    barrier = threading.Barrier(writers)
    failures = []

    def create(plan_id):
        try:
            with live_app.app_context():
                from grants.models import User

                barrier.wait(timeout=30)  # before any query: SQLite's BEGIN IMMEDIATE is the write lock
                with unit_of_work():
                    user = db.session.get(User, legal_id)
                    agreements.create_agreement(Actor.for_user(user), plan_id, dict(SIGNATORIES))
        except Exception as exc:  # asserted below
            failures.append(repr(exc))

    threads = [threading.Thread(target=create, args=(pid,)) for pid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    with live_app.app_context():
        sequences = sorted(db.session.scalars(select(Agreement.sequence)))
        assert sequences == list(range(1, writers + 1))
        numbers = set(db.session.scalars(select(Agreement.number)))
        assert numbers == {f"MJSP-CONV-{year()}-{n:04d}" for n in range(1, writers + 1)}
        assert verify_chain(db.session).ok
