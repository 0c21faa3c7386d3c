"""Server-rendered pages for people: Spanish first, English too."""
from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    """Blueprints for people; templates and static files live beside this module."""
    from flask_login import current_user
    from sqlalchemy import func, select
    from sqlalchemy.exc import SQLAlchemyError

    from grants import labels
    from grants.extensions import db
    from grants.models import Notification
    from grants.validation.territory import municipality_label
    from grants.web import admin, advances, agreements, auth, home, money, payments, plans, suppliers
    from grants.web import bank_statements as bank_statement_pages
    from grants.web import beneficiary_imports
    from grants.web import followup
    from grants.web import closing
    from grants.web import audit_checks as audit_check_pages
    from grants.web import attachments as attachment_pages
    from grants.web import meetings as meeting_pages
    from grants.web import generated_files as file_pages
    from grants.web import dashboard as dashboard_pages
    from grants.web import transparency as transparency_pages
    from grants.web import verification as verification_pages
    from grants.reports import svg_charts
    from markupsafe import Markup
    from grants.web import search as search_pages
    from grants.web import people as people_pages
    from grants.web import work, work_queues
    from grants.web import payment_batches as batch_pages
    from grants.web.confirm import CONFIRMATIONS
    from grants.services import meetings as meeting_service
    from grants.services.attachments import kind_label as attachment_kind_label
    from grants.web.forms import ROLE_LABELS
    from grants.workflows.states import STATE_ENUMS

    def unread_count() -> int:
        """The signed-in user's unread notifications (for the «Bandeja» link)."""
        if not current_user or not current_user.is_authenticated:
            return 0
        try:
            return db.session.scalar(select(func.count()).select_from(Notification).where(
                Notification.user_id == current_user.id, Notification.read_at.is_(None))) or 0
        except SQLAlchemyError:  # an error page after a failed database must still render
            return 0

    def work_count() -> int:
        """Everything waiting for the signed-in user (for the «Mi trabajo» link)."""
        if not current_user or not current_user.is_authenticated:
            return 0
        try:
            return work_queues.total_for(current_user)
        except SQLAlchemyError:  # an error page after a failed database must still render
            return 0

    @app.context_processor
    def _labels():
        return {
            "role_labels": ROLE_LABELS, "municipality_label": municipality_label,
            "plan_state_labels": labels.PLAN_STATE_LABELS,
            "agreement_state_labels": labels.AGREEMENT_STATE_LABELS,
            "discipline_labels": labels.DISCIPLINE_LABELS, "decision_labels": labels.DECISION_LABELS,
            "section_labels": labels.SECTION_LABELS, "unread_count": unread_count,
            "advance_state_labels": labels.ADVANCE_STATE_LABELS,
            "meeting_stage_labels": meeting_service.STAGE_LABELS,
            "institution_labels": meeting_service.INSTITUTION_LABELS,
            "commitment_state_labels": meeting_service.COMMITMENT_STATE_LABELS,
            "work_count": work_count,
        }

    # A global, not a context value: macros imported without context (attachment_list) use it.
    app.jinja_env.globals["attachment_kind_label"] = attachment_kind_label
    app.jinja_env.globals["confirmations"] = CONFIRMATIONS  # the macro confirm_box reads it
    app.jinja_env.globals.update(evidence_label=labels.evidence_label, evidence_value=labels.evidence_value)
    # Templates compare states with the lifecycles' Enums ({% if plan.status == PlanState.DRAFT %}), never
    # with bare strings (tests/test_typed_states.py reads them); a misspelt member fails to render.
    app.jinja_env.globals.update({enum.__name__: enum for enum in STATE_ENUMS})
    # Server-side SVG charts (grants.reports.svg_charts): the words come translated from the template.
    def chart_pairs(title, items, first, second, label="name", keys=("assigned", "executed")):
        return Markup(svg_charts.paired_bars(title, [(str(i[label]), i[keys[0]], i[keys[1]]) for i in items],
                                             first, second))

    def chart_bars(title, items, label="label", key="count", money=False):
        return Markup(svg_charts.bars(title, [(str(i[label]), i[key]) for i in items], money=money))

    app.jinja_env.globals.update(chart_pairs=chart_pairs, chart_bars=chart_bars)
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(plans.bp)
    app.register_blueprint(agreements.bp)
    # "beneficiary_pages": defined in beneficiaries (enrollments), which beneficiary_imports imports
    # and adds the routes of lists to, so this one import brings every route of the blueprint
    app.register_blueprint(beneficiary_imports.bp)
    app.register_blueprint(suppliers.bp)
    app.register_blueprint(money.bp)
    app.register_blueprint(payments.bp)
    app.register_blueprint(bank_statement_pages.bp)
    app.register_blueprint(batch_pages.bp)
    app.register_blueprint(advances.bp)
    app.register_blueprint(followup.bp)
    app.register_blueprint(closing.bp)
    app.register_blueprint(audit_check_pages.bp)
    app.register_blueprint(attachment_pages.bp)
    app.register_blueprint(meeting_pages.bp)
    app.register_blueprint(file_pages.bp)
    app.register_blueprint(dashboard_pages.bp)
    app.register_blueprint(transparency_pages.bp)
    app.register_blueprint(verification_pages.bp)
    app.register_blueprint(search_pages.bp)
    app.register_blueprint(people_pages.bp)
    app.register_blueprint(work.bp)
