"""/api/v1/audit: the event log and its verification (auditors, admins)."""
from __future__ import annotations

from dataclasses import asdict

from flask.views import MethodView
from grants.api.blueprint import Blueprint
from sqlalchemy import select

from grants.api.fields import PageArgsSchema, paginate
from grants.api.schemas import AuditEventPageSchema, AuditQuerySchema, ChainReportSchema
from grants.audit import verify_chain
from grants.context import acting_user
from grants.extensions import db
from grants.models import AuditEvent
from grants.permissions import Permission
from grants.security import require

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Bitácora de auditoría")


class AuditListArgs(PageArgsSchema, AuditQuerySchema):
    pass


@blp.route("/events")
class AuditEvents(MethodView):
    @blp.arguments(AuditListArgs, location="query")
    @blp.response(200, AuditEventPageSchema)
    def get(self, args):
        """Events, newest first."""
        require(acting_user(), Permission.AUDIT_READ)
        query = select(AuditEvent).order_by(AuditEvent.seq.desc())
        for name in ("entity_type", "entity_id", "action"):
            if args.get(name):
                query = query.where(getattr(AuditEvent, name) == args[name])
        return paginate(db.session, query, args)


@blp.route("/verification")
class AuditVerification(MethodView):
    @blp.response(200, ChainReportSchema)
    def get(self):
        """Recompute every hash of the chain and report the first broken sequence number."""
        require(acting_user(), Permission.AUDIT_VERIFY)
        return asdict(verify_chain(db.session))
