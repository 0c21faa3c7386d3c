"""Pagination and integer arguments for pages (the API has its own envelope in grants/api/fields.py).

``int_arg`` is the one way a page reads an integer from the query string or a form: a value that is
not a number, or does not fit the database's integer, is simply absent (the default), never an
"integer out of range" from the database. A page number past the end shows the last page."""
from __future__ import annotations

from flask import request
from sqlalchemy import func, select

from grants.extensions import db
from grants.input_guard import INT_MAX, INT_MIN

PAGE_SIZE = 25


def int_arg(name: str, default: int | None = None, source=None) -> int | None:
    """The integer ``name`` of the query string (or ``source``, e.g. ``request.form``), within range."""
    raw = (request.args if source is None else source).get(name, "")
    try:
        value = int(raw.strip())
    except (ValueError, AttributeError):
        return default
    return value if INT_MIN <= value <= INT_MAX else default


def db_id(value) -> int:
    """WTForms ``coerce`` for a choice that is a database id: out of range is not a valid choice."""
    number = int(value)
    if not 0 <= number <= INT_MAX:
        raise ValueError("id out of range")
    return number


def page_of(query, size: int = PAGE_SIZE, arg: str = "page", page: int | None = None, cap: int | None = None):
    """(items, paging) for the query argument ``arg`` (several lists may page on one screen), or for
    ``page`` when a form carries it; paging has arg, page, total, pages and capped. ``cap``: count
    no further than this many rows (a search of a huge table: ``capped`` says there are more, and
    the pages stop there)."""
    counted = query.order_by(None) if cap is None else query.order_by(None).limit(cap + 1)
    total = db.session.scalar(select(func.count()).select_from(counted.subquery()))
    capped = cap is not None and total > cap
    total = cap if capped else total
    pages = max((total + size - 1) // size, 1)
    page = min(max((page if page is not None else int_arg(arg, 1)) or 1, 1), pages)
    items = db.session.scalars(query.limit(size).offset((page - 1) * size)).all()
    return items, {"arg": arg, "page": page, "total": total, "pages": pages, "capped": capped}
