"""/api/v1/agreements: cooperation agreements, their signature, administrator and state."""
from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from sqlalchemy import select

from grants.api.blueprint import Blueprint
from grants.api.fields import PageArgsSchema, paginate
from grants.api.plan_schemas import (
    AdministratorSchema,
    AgreementPageSchema,
    AgreementSchema,
    AgreementUpdateSchema,
    ReasonSchema,
    SignSchema,
    agreement_load,
)
from grants.context import acting_user, current_actor
from grants.extensions import db
from grants.models import Agreement
from grants.permissions import Permission
from grants.security import require, scope_to_user, visible
from grants.services import agreements as service
from grants.services import signing
from grants.services.agreement_document import agreement_pdf

blp = Blueprint("agreements", __name__, url_prefix="/api/v1/agreements", description="Convenios de cooperación")


def _agreement(agreement_id: int, options=()) -> Agreement:
    user = acting_user()
    require(user, Permission.AGREEMENTS_READ)
    return visible(user, db.session.get(Agreement, agreement_id, options=options))


@blp.route("")
class Agreements(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, AgreementPageSchema)
    def get(self, args):
        user = acting_user()
        require(user, Permission.AGREEMENTS_READ)
        query = scope_to_user(user, select(Agreement).order_by(Agreement.id), Agreement.organization_id)
        query = query.options(*agreement_load())
        return paginate(db.session, query, args)

    @blp.arguments(AgreementSchema)
    @blp.response(201, AgreementSchema)
    def post(self, data):
        """Draft the agreement of an approved plan; its number is MJSP-CONV-<year>-<seq>."""
        require(acting_user(), Permission.AGREEMENTS_MANAGE)
        return service.create_agreement(current_actor(), data.pop("plan_id"), data)


@blp.route("/<int:agreement_id>")
class AgreementById(MethodView):
    @blp.response(200, AgreementSchema)
    def get(self, agreement_id):
        return _agreement(agreement_id, agreement_load(detail=True))

    @blp.arguments(AgreementUpdateSchema(partial=True))
    @blp.response(200, AgreementSchema)
    def patch(self, data, agreement_id):
        _agreement(agreement_id)
        return service.update_agreement(current_actor(), agreement_id, data)


@blp.route("/<int:agreement_id>/sign", methods=["POST"])
@blp.arguments(SignSchema, location="form")
@blp.response(200, AgreementSchema)
def sign(data, agreement_id):
    """multipart/form-data: ``signed_on`` and the signed scan as ``scan`` (PDF)."""
    _agreement(agreement_id)
    upload = request.files.get("scan")
    scan = upload.read() if upload else b""
    return service.sign_agreement(current_actor(), agreement_id, data["signed_on"], scan)


@blp.route("/<int:agreement_id>/administrator", methods=["POST"])
@blp.arguments(AdministratorSchema)
@blp.response(200, AgreementSchema)
def designate_administrator(data, agreement_id):
    _agreement(agreement_id)
    return service.designate_administrator(current_actor(), agreement_id, data["user_id"])


@blp.route("/<int:agreement_id>/start", methods=["POST"])
@blp.response(200, AgreementSchema)
def start_execution(agreement_id):
    """Signed, with an administrator: execution starts."""
    _agreement(agreement_id)
    return service.start_execution(current_actor(), agreement_id)


def _state_change(name, function, doc):
    @blp.route(f"/<int:agreement_id>/{name}", methods=["POST"], endpoint=name)
    @blp.arguments(ReasonSchema)
    @blp.response(200, AgreementSchema)
    def view(data, agreement_id):
        _agreement(agreement_id)
        return function(current_actor(), agreement_id, data["reason"])

    view.__doc__ = doc
    return view


suspend = _state_change("suspend", service.suspend_agreement, "Suspend: payments and advances stop at once.")
resume = _state_change("resume", service.resume_agreement, "Resume execution after a suspension.")
terminate = _state_change("terminate", service.terminate_agreement, "Terminate early, with a reason (final).")


@blp.route("/<int:agreement_id>/document.pdf")
@blp.response(200, content_type="application/pdf")
def document(agreement_id):
    """The agreement as a PDF in Spanish."""
    agreement = _agreement(agreement_id)
    pdf = signing.issue("agreement", agreement, lambda day: agreement_pdf(agreement, day), actor=current_actor())
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{agreement.number}.pdf"'})
