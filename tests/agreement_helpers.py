"""An agreement in execution, built through the real services, for the beneficiary tests."""
from __future__ import annotations

from datetime import date, timedelta

from grants.audit import Actor
from grants.extensions import db
from grants.services import agreements, plans
from tests.factories import make_allocation, make_organization, make_user, plan_content
from tests.pdfs import tiny_pdf
from tests.timeline import day, years_before

ENROLLED_ON = "2026-03-01"
"""The reference calendar's enrollment day of the beneficiary lists (``day(ENROLLED_ON)``: see tests/timeline.py)."""


def born(age: int, on: date | None = None) -> date:
    """A birth date that makes a person ``age`` years old on ``on`` (default: the lists' enrollment day),
    away from any birthday (they turned ``age`` 100 days before), so a test that only needs "an adult"
    or "a minor" keeps that person's age on every test day."""
    return years_before((on or day(ENROLLED_ON)) - timedelta(days=100), age)


def agreement_in_execution(territory=("0623", "0622"), ages=(14, 29), amount="100000.00", start=True, **org):
    """``start=False``: signed, with its administrator, not yet in execution."""
    organization = make_organization(**org)
    allocation = make_allocation(organization, amount=amount)
    ngo = make_user(["ngo"], organization=organization)
    reviewers = {d: make_user([f"{d}_reviewer"]) for d in ("legal", "financial", "monitoring")}
    administrator = make_user(["administrator"])
    content = plan_content(territory=list(territory),
                           beneficiaries={"target": 300, "age_min": ages[0], "age_max": ages[1], "profile": "x"})
    for activity in content["activities"]:
        activity["municipality_codes"] = [territory[0]]
    plan = plans.create_plan(Actor.for_user(ngo), allocation.id, "Plan", content)
    plans.submit_plan(Actor.for_user(ngo), plan.id)
    for discipline, user in reviewers.items():
        plans.record_review(Actor.for_user(user), plan.id, 1, discipline, "approve", [])
    legal = Actor.for_user(reviewers["legal"])
    agreement = agreements.create_agreement(legal, plan.id, {
        "ministry_signatory_name": "M", "ministry_signatory_title": "T",
        "ngo_signatory_name": "N", "ngo_signatory_title": "R"})
    agreements.sign_agreement(legal, agreement.id, day("2026-01-20"), tiny_pdf())
    agreements.designate_administrator(legal, agreement.id, administrator.id)
    if start:
        agreements.start_execution(legal, agreement.id)
    db.session.commit()
    return {"agreement": agreement, "organization": organization, "ngo": ngo, "administrator": administrator,
            **reviewers}
