"""Who may read money objects through the API: MONEY_READ, and only their own organization's (404)."""
from __future__ import annotations

from grants.context import acting_user
from grants.extensions import db
from grants.permissions import Permission
from grants.security import require, visible


def money_reader():
    user = acting_user()
    require(user, Permission.MONEY_READ)
    return user


def visible_money(model, object_id: int, options=()):
    """The object if the acting user may read money and sees its organization; else 403/404.
    ``options``: loader options for what the response dumps (a fixed number of queries)."""
    return visible(money_reader(), db.session.get(model, object_id, options=options))
