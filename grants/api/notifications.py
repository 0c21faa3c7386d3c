"""/api/v1/notifications: the caller's inbox."""
from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from grants.api.blueprint import Blueprint
from grants.api.fields import PageArgsSchema, paginate
from grants.api.plan_schemas import NotificationPageSchema, NotificationQuerySchema, NotificationSchema
from grants.context import acting_user
from grants.extensions import db
from grants.models import Notification
from grants.services import notifications

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications", description="Bandeja de avisos")


class NotificationArgs(PageArgsSchema, NotificationQuerySchema):
    pass


@blp.route("")
class Notifications(MethodView):
    @blp.arguments(NotificationArgs, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args):
        """The caller's notifications, newest first."""
        query = select(Notification).where(Notification.user_id == acting_user().id).order_by(
            Notification.id.desc())
        if args.get("unread"):
            query = query.where(Notification.read_at.is_(None))
        return paginate(db.session, query, args)


@blp.route("/<int:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
def mark_read(notification_id):
    return notifications.mark_read(acting_user(), notification_id)
