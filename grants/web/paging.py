"""Pagination for pages (the API has its own envelope in grants/api/fields.py)."""
from __future__ import annotations

from flask import request
from sqlalchemy import func, select

from grants.extensions import db

PAGE_SIZE = 25


def page_of(query, size: int = PAGE_SIZE, arg: str = "page"):
    """(items, paging) for the query argument ``arg`` (several lists may page on one screen);
    paging has arg, page, total and pages."""
    page = max(request.args.get(arg, 1, type=int), 1)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = db.session.scalars(query.limit(size).offset((page - 1) * size)).all()
    return items, {"arg": arg, "page": page, "total": total, "pages": max((total + size - 1) // size, 1)}
