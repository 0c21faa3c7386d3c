"""Follow-up reports (who, when, which period, counted active beneficiaries), indicator progress,
and the start of an agreement's closing (refused with money in flight)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from grants.clock import today
from grants.extensions import db
from grants.models import AuditEvent, Notification
from grants.services import advances, agreements, followup, payments
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.factories import make_agreement_in_execution, make_user
from tests.followup.helpers import act, report_data, reported
from tests.money import payment_helpers as ph
from tests.money.advance_helpers import requested
from tests.timeline import dmy, iso


@pytest.fixture
def ctx(app):
    return ph.payments_setup()


def events(entity_type, entity_id) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id)).order_by(AuditEvent.seq)))


def refused(call, *args, **kwargs):
    with pytest.raises(ValidationFailed) as caught:
        call(*args, **kwargs)
    db.session.rollback()
    return {k: " ".join(str(m) for m in v) for k, v in caught.value.errors.items()}


def create(ctx, user="administrator", **kwargs):
    return followup.create_report(act(ctx[user] if isinstance(user, str) else user), ctx["agreement"].id,
                                  report_data(ctx, **kwargs))


# --- the report ----------------------------------------------------------------------------------

def test_report_counts_the_enrollments_active_on_the_last_day_of_its_period(ctx):
    # History (tests/money/payment_helpers.py): on 31/03 «active» and «late» are active; on 20/02
    # «active», «inactive» and «withdrawn» (withdrawn on 28/02) are; «never» never is.
    march = reported(ctx)
    assert march.active_beneficiaries == 2
    february = reported(ctx, start=iso("2026-02-01"), end=iso("2026-02-20"), active_beneficiaries=999)
    assert february.active_beneficiaries == 3   # typed values are ignored: counted
    early = reported(ctx, start=iso("2026-02-21"), end=iso("2026-02-28"))
    assert early.active_beneficiaries == 2      # «inactive» and «active»; withdrawn from 28/02
    assert [(a.activity.name, a.progress, a.notes) for a in march.activities] == [
        ("Talleres vocacionales", Decimal("25.00"), "Avance de Talleres vocacionales"),
        ("Tutorías escolares", Decimal("10.50"), "Avance de Tutorías escolares")]
    assert [(i.indicator.name, i.value) for i in march.indicators] == [
        ("Jóvenes que terminan un taller", Decimal("40.00"))]
    assert (march.author_id, march.organization_id, march.observations) == (
        ctx["administrator"].id, ctx["organization"].id, "Sin novedades.")


def test_report_is_audited_and_the_ngo_notified(ctx):
    report = reported(ctx)
    assert events("follow_up_report", report.id) == ["follow_up_report.created"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "follow_up_report.created"))
    assert event.after["active_beneficiaries"] == 2
    assert [a["progress"] for a in event.after["activities"]] == ["25.00", "10.50"]
    note = db.session.scalar(select(Notification).where(Notification.user_id == ctx["ngo"].id,
                                                        Notification.kind == "follow_up_report.created"))
    assert note.link == f"/follow-up-reports/{report.id}"
    assert "2 beneficiarios activos" in note.body


def test_only_the_designated_administrator_reports(ctx):
    for user in (make_user(["administrator"]), ctx["ngo"], ctx["legal"], ctx["monitoring"]):
        with pytest.raises(Forbidden):
            create(ctx, user)
    outsider = make_agreement_in_execution()["ngo"]
    with pytest.raises(NotFound):
        create(ctx, outsider)
    assert create(ctx).id


def test_period_inside_the_term_not_future_and_without_overlap(ctx):
    errors = refused(create, ctx, start=iso("2026-01-15"), end=iso("2026-02-10"))
    assert list(errors) == ["period_start"] and f"{dmy('2026-02-01')} – {dmy('2026-11-30')}" in errors["period_start"]
    assert list(refused(create, ctx, start=iso("2026-03-10"), end=iso("2026-03-01"))) == ["period_end"]
    assert list(refused(create, ctx, start="2026-03-xx", end="")) == ["period_start", "period_end"]
    tomorrow = today() + timedelta(days=1)
    assert tomorrow <= ctx["agreement"].end_date  # the term is still running: tomorrow is inside it
    assert "futuro" in refused(create, ctx, start=iso("2026-03-01"), end=tomorrow.isoformat())["period_end"]
    march = reported(ctx)
    errors = refused(create, ctx, start=iso("2026-03-31"), end=iso("2026-04-30"))
    assert errors == {"period_start": f"El periodo se superpone con el informe N.º {march.id} ({dmy('2026-03-01')} – {dmy('2026-03-31')})."}
    assert list(refused(create, ctx, start=iso("2026-02-01"), end=iso("2026-03-01"))) == ["period_start"]
    april = reported(ctx, start=iso("2026-04-01"), end=iso("2026-04-30"))   # adjacent: no overlap
    assert (april.period_start.isoformat(), april.period_end.isoformat()) == (iso("2026-04-01"), iso("2026-04-30"))


def test_every_activity_once_progress_in_range_indicators_optional(ctx):
    other = make_agreement_in_execution()["agreement"].plan_version
    data = report_data(ctx)
    first, second = data["activities"]
    cases = [
        ({"activities": [first]}, "activities", "Tutorías escolares"),
        ({"activities": [first, {**second, "activity_id": other.activities[0].id}]}, "activities.1.activity_id", ""),
        ({"activities": [first, first]}, "activities.1.activity_id", "una sola vez"),
        ({"activities": [{**first, "progress": "100.01"}, second]}, "activities.0.progress", "0 a 100"),
        ({"activities": [{**first, "progress": "-1"}, second]}, "activities.0.progress", ""),
        ({"activities": [{**first, "progress": "12.345"}, second]}, "activities.0.progress", ""),
        ({"indicators": [{"indicator_id": other.indicators[0].id, "value": "1"}]}, "indicators.0.indicator_id", ""),
        ({"indicators": [{**data["indicators"][0], "value": "-3.00"}]}, "indicators.0.value", "mayor o igual"),
        ({"indicators": data["indicators"] * 2}, "indicators.1.indicator_id", "una sola vez"),
        ({"observations": "x" * 10001}, "observations", "10000"),
    ]
    for overrides, field, words in cases:
        errors = refused(followup.create_report, act(ctx["administrator"]), ctx["agreement"].id,
                         {**data, **overrides})
        assert list(errors) == [field], (overrides, errors)
        assert words in errors[field]
    report = reported(ctx, value=None, progress=("100", "0"))
    assert (report.indicators, [a.progress for a in report.activities]) == ([], [Decimal("100.00"), Decimal("0.00")])


def test_reports_while_in_execution_suspended_or_closing_only(ctx):
    agreements.suspend_agreement(act(ctx["administrator"]), ctx["agreement"].id, "Auditoría")
    assert reported(ctx).active_beneficiaries == 2
    signed = make_agreement_in_execution(status="signed")
    with pytest.raises(Conflict) as caught:
        followup.create_report(act(signed["administrator"]), signed["agreement"].id, report_data(signed))
    assert caught.value.code == "agreement_not_in_follow_up" and "Firmado" in caught.value.detail
    agreements.terminate_agreement(act(ctx["legal"]), ctx["agreement"].id, "Incumplimiento grave")
    with pytest.raises(Conflict) as caught:
        create(ctx, start=iso("2026-04-01"), end=iso("2026-04-30"))
    assert caught.value.code == "agreement_not_in_follow_up" and "Terminado" in caught.value.detail


# --- indicator progress --------------------------------------------------------------------------

def test_indicator_progress_takes_the_latest_period_reported(ctx):
    agreement = ctx["agreement"]
    [before] = followup.indicator_progress(agreement)
    assert (before["name"], before["baseline"], before["target"], before["latest_value"],
            before["percent_of_target"]) == ("Jóvenes que terminan un taller", Decimal("0.00"), Decimal("250.00"),
                                             None, None)
    reported(ctx, value="50")
    april = reported(ctx, start=iso("2026-04-01"), end=iso("2026-04-30"), value="125.00")
    reported(ctx, start=iso("2026-05-01"), end=iso("2026-05-31"), value=None)       # not measured in May
    reported(ctx, start=iso("2026-02-01"), end=iso("2026-02-28"), value="200.00")   # written later, earlier period
    [progress] = followup.indicator_progress(agreement)
    assert (progress["latest_value"], progress["period_end"].isoformat(), progress["report_id"],
            progress["percent_of_target"]) == (Decimal("125.00"), iso("2026-04-30"), april.id, Decimal("50.00"))


def test_percent_of_target_goes_from_baseline_to_target():
    pct = followup.percent_of_target
    assert pct(Decimal("0"), Decimal("250"), Decimal("125")) == Decimal("50.00")
    assert pct(Decimal("40"), Decimal("20"), Decimal("30")) == Decimal("50.00")      # an indicator that must fall
    assert pct(Decimal("10"), Decimal("40"), Decimal("50")) == Decimal("133.33")     # target exceeded: not capped
    assert pct(Decimal("10"), Decimal("40"), Decimal("5")) == Decimal("-16.67")      # the wrong way
    assert pct(Decimal("10"), Decimal("10"), Decimal("10")) is None
    assert pct(Decimal("0"), Decimal("10"), None) is None


# --- closing -------------------------------------------------------------------------------------

def test_begin_closing_is_refused_while_money_is_in_flight(ctx):
    payment = ph.prepared(ctx, [ph.line(1, "2", "50.00")])
    advance = requested(ctx, 1)
    with pytest.raises(Conflict) as caught:
        agreements.begin_closing(act(ctx["administrator"]), ctx["agreement"].id)
    db.session.rollback()
    assert caught.value.code == "money_in_flight"
    assert f"pago N.º {payment.id} de la factura {payment.invoice.number} por $100.00 («Preparado»)" in caught.value.detail
    assert f"anticipo N.º {advance.id} del desembolso 1 por $40,000.00 («Solicitado»)" in caught.value.detail
    assert ctx["agreement"].status == "in_execution"

    payments.authorize_payment(act(ctx["treasury2"]), payment.id)
    advances.reject_advance(act(ctx["financial"]), advance.id, "Falta el plan de compras")
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        agreements.begin_closing(act(ctx["administrator"]), ctx["agreement"].id)
    db.session.rollback()
    assert "«Autorizado»" in caught.value.detail and "anticipo N.º" not in caught.value.detail

    payments.execute_payment(act(ctx["treasury"]), payment.id, "TRF-1", today())
    auditor = make_user(["auditor"])
    db.session.commit()
    agreement = agreements.begin_closing(act(ctx["administrator"]), ctx["agreement"].id)
    db.session.commit()
    assert agreement.status == "closing"
    assert agreement.history[-1].action == "begin_closing"
    assert events("agreement", agreement.id)[-1] == "agreement.closing_started"
    for user in (ctx["ngo"], auditor):
        assert db.session.scalar(select(Notification.id).where(Notification.user_id == user.id,
                                                               Notification.kind == "agreement.closing_started"))
    with pytest.raises(Conflict) as caught:           # no new money while closing
        ph.prepared(ctx, [ph.line(1, "1", "10.00")])
    assert caught.value.code == "agreement_not_in_execution"
    db.session.rollback()
    assert reported(ctx).id                           # the administrator still reports


def test_who_begins_closing_and_from_which_state(ctx):
    for user in (make_user(["administrator"]), ctx["ngo"], ctx["treasury"]):
        with pytest.raises(Forbidden):
            agreements.begin_closing(act(user), ctx["agreement"].id)
    agreements.suspend_agreement(act(ctx["administrator"]), ctx["agreement"].id, "Auditoría")
    with pytest.raises(Conflict) as caught:
        agreements.begin_closing(act(ctx["administrator"]), ctx["agreement"].id)
    assert caught.value.code == "invalid_transition" and "Suspendido" in caught.value.detail
    agreements.resume_agreement(act(ctx["administrator"]), ctx["agreement"].id, "Fin de auditoría")
    assert agreements.begin_closing(act(ctx["legal"]), ctx["agreement"].id).status == "closing"
