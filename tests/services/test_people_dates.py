"""Real dates for people (issue 10 §4): a list is validated from each person's enrollment date (or a
day monitoring gives, never before a person's enrollment), and validated people are activated from
a day — chosen one by one or the whole list — with a reason when that day is past."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from grants.clock import today
from grants.extensions import db
from grants.models import AuditEvent, Enrollment
from grants.services import beneficiary_imports as imports
from grants.services import enrollments
from grants.domain_errors import Forbidden, ValidationFailed
from tests.agreement_helpers import agreement_in_execution
from tests.factories import make_user, valid_dui
from tests.helpers import api_headers, csrf_token, web_login
from tests.money.payment_helpers import HEADER, act
from tests.timeline import day

_n = iter(range(40_000_000, 41_000_000))


@pytest.fixture
def ctx(app):
    return agreement_in_execution()


def confirmed_list(ctx, enrolled_on: dict[str, str]):
    """A confirmed list: one person per name, enrolled on the reference day given."""
    rows = [f"DUI,{valid_dui(next(_n))},{name},Prueba,15/03/2000,F,San Salvador Centro,{day(on).isoformat()}"
            for name, on in enrolled_on.items()]
    batch = imports.import_file(act(ctx["ngo"]), ctx["agreement"].id, "lista.csv",
                                (HEADER + "\n" + "\n".join(rows) + "\n").encode())
    imports.confirm_batch(act(ctx["ngo"]), batch.id)
    db.session.commit()
    people = db.session.scalars(select(Enrollment).where(Enrollment.batch_id == batch.id).order_by(Enrollment.id))
    return batch, dict(zip(enrolled_on, people))


def since(enrollment) -> object:
    return enrollment.periods[-1].valid_from


def test_a_list_is_validated_from_each_persons_enrollment_date_by_default(ctx):
    batch, people = confirmed_list(ctx, {"Ana": "2026-03-01", "Beto": "2026-04-15"})
    imports.validate_batch(act(ctx["monitoring"]), batch.id)
    db.session.commit()
    for enrollment in people.values():
        db.session.refresh(enrollment)
    assert [(e.status, since(e)) for e in people.values()] == [
        ("validated", day("2026-03-01")), ("validated", day("2026-04-15"))]
    # the pending period ends where the validated one starts: no gap, no overlap
    assert people["Ana"].periods[0].valid_to == day("2026-03-01")


def test_a_validation_day_never_goes_before_a_persons_enrollment(ctx):
    batch, people = confirmed_list(ctx, {"Ana": "2026-03-01", "Beto": "2026-04-15"})
    imports.validate_batch(act(ctx["monitoring"]), batch.id, effective=day("2026-04-01"))
    db.session.commit()
    for enrollment in people.values():
        db.session.refresh(enrollment)
    assert [since(e) for e in people.values()] == [day("2026-04-01"), day("2026-04-15")]


def test_a_validation_day_is_not_future_nor_outside_the_term(ctx):
    batch, _ = confirmed_list(ctx, {"Ana": "2026-03-01"})
    for bad in (today() + timedelta(days=1), ctx["agreement"].start_date - timedelta(days=1)):
        with pytest.raises(ValidationFailed) as refused:
            imports.validate_batch(act(ctx["monitoring"]), batch.id, effective=bad)
        assert set(refused.value.errors) == {"effective"}
        db.session.rollback()


def test_monitoring_activates_the_whole_list_from_a_past_day_with_a_reason(ctx):
    batch, people = confirmed_list(ctx, {"Ana": "2026-03-01", "Beto": "2026-03-01", "Caro": "2026-05-02"})
    imports.validate_batch(act(ctx["monitoring"]), batch.id)
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        enrollments.activate_validated(act(ctx["monitoring"]), ctx["agreement"].id, day("2026-04-01"), "",
                                       batch_id=batch.id)
    assert set(refused.value.errors) == {"reason"}
    db.session.rollback()
    result = enrollments.activate_validated(act(ctx["monitoring"]), ctx["agreement"].id, day("2026-04-01"),
                                            "Asistencia verificada en las listas de marzo", batch_id=batch.id)
    db.session.commit()
    assert (result["activated"], result["from_validation"]) == (3, 1)
    for enrollment in people.values():
        db.session.refresh(enrollment)
    assert [(e.status, since(e)) for e in people.values()] == [
        ("active", day("2026-04-01")), ("active", day("2026-04-01")), ("active", day("2026-05-02"))]
    active = set(db.session.scalars(enrollments.active_on(ctx["agreement"].id, day("2026-04-10"))))
    assert active == {people["Ana"], people["Beto"]}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "enrollments.activated")).one()
    assert event.after["reason"] == "Asistencia verificada en las listas de marzo" and event.after["back_dated"]
    assert sorted(event.after["enrollment_ids"]) == sorted(e.id for e in people.values())


def test_only_validated_people_are_activated_and_never_in_the_future(ctx):
    batch, people = confirmed_list(ctx, {"Ana": "2026-03-01", "Beto": "2026-03-01"})
    with pytest.raises(ValidationFailed) as pending:  # still pending: not validated yet
        enrollments.activate_validated(act(ctx["monitoring"]), ctx["agreement"].id, today(), None,
                                       enrollment_ids=[people["Ana"].id])
    assert str(people["Ana"].id) in str(pending.value.errors["enrollment_ids"][0])
    db.session.rollback()
    imports.validate_batch(act(ctx["monitoring"]), batch.id)
    db.session.commit()
    with pytest.raises(ValidationFailed) as future:
        enrollments.activate_validated(act(ctx["monitoring"]), ctx["agreement"].id, today() + timedelta(days=1),
                                       "mañana", enrollment_ids=[people["Ana"].id])
    assert set(future.value.errors) == {"since"}
    db.session.rollback()
    enrollments.activate_validated(act(ctx["monitoring"]), ctx["agreement"].id, today(), None,
                                   enrollment_ids=[people["Ana"].id])
    db.session.commit()
    db.session.refresh(people["Beto"])
    assert (people["Ana"].status, people["Beto"].status) == ("active", "validated")


def test_another_reviewer_or_organization_does_not_activate(ctx):
    batch, people = confirmed_list(ctx, {"Ana": "2026-03-01"})
    imports.validate_batch(act(ctx["monitoring"]), batch.id)
    db.session.commit()
    with pytest.raises(Forbidden):
        enrollments.activate_validated(act(make_user(["treasury"])), ctx["agreement"].id, today(), None,
                                       batch_id=batch.id)


def test_the_pages_validate_from_a_day_and_activate_the_ticked_people(ctx, client):
    batch, people = confirmed_list(ctx, {"Ana": "2026-03-01", "Beto": "2026-03-01"})
    web_login(client, ctx["monitoring"].email)
    page = f"/beneficiary-imports/{batch.id}"
    response = client.post(f"{page}/validate", data={"csrf_token": csrf_token(client, page),
                                                     "effective": day("2026-03-03").isoformat()})
    assert response.status_code == 303
    db.session.refresh(people["Ana"])
    assert since(people["Ana"]) == day("2026-03-03")
    listing = f"/agreements/{ctx['agreement'].id}/beneficiaries"
    html = client.get(listing).get_data(as_text=True)
    assert html.count('data-testid="select-enrollment"') == 2
    response = client.post(f"{listing[:-len('/beneficiaries')]}/enrollments/activate", data={
        "csrf_token": csrf_token(client, listing), "enrollment_ids": [str(people["Beto"].id)],
        "since": day("2026-03-10").isoformat(), "reason": "Inició talleres el 10"})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    db.session.refresh(people["Beto"])
    assert (people["Beto"].status, since(people["Beto"])) == ("active", day("2026-03-10"))
    refused = client.post(f"{listing[:-len('/beneficiaries')]}/enrollments/activate", data={
        "csrf_token": csrf_token(client, listing), "enrollment_ids": [str(people["Ana"].id)],
        "since": day("2026-03-10").isoformat(), "reason": ""})
    assert refused.status_code == 422 and "motivo" in refused.get_data(as_text=True)


def test_the_api_activates_a_list(ctx, client):
    batch, people = confirmed_list(ctx, {"Ana": "2026-03-01"})
    headers = api_headers(client, ctx["monitoring"])
    validated = client.post(f"/api/v1/beneficiary-imports/{batch.id}/validate", headers=headers)
    assert validated.status_code == 200 and validated.get_json()["status"] == "validated"
    response = client.post(f"/api/v1/agreements/{ctx['agreement'].id}/enrollments/activate", headers=headers,
                           json={"batch_id": batch.id, "since": day("2026-03-05").isoformat(), "reason": "Inicio"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"activated": 1, "since": day("2026-03-05").isoformat(), "from_validation": 0}
