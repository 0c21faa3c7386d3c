"""«Mi trabajo»: everything waiting for the signed-in user, one list per kind of work, oldest first,
each item with its age and a link to the page where it is done (the queues: web/work_queues.py)."""
from __future__ import annotations

from functools import partial

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user, login_required

from grants.web import work_queues
from grants.web.paging import PAGE_SIZE, page_of

bp = Blueprint("work", __name__)

OVERVIEW_SIZE = 10  # items per kind on the overview; ?kind= shows one kind in full, PAGE_SIZE a page


@bp.get("/trabajo")
@login_required
def my_work():
    queues = work_queues.queues_for(current_user)
    kind = request.args.get("kind") or ""
    if kind:
        if kind not in {queue.key for queue in queues}:
            abort(404)
        queues = [work_queues.BY_KEY[kind]]
    lists = []
    for queue in queues:
        arg = f"page_{queue.key}"
        size = PAGE_SIZE if kind else OVERVIEW_SIZE
        rows, paging = page_of(work_queues.rows_query(queue, current_user), size=size, arg=arg)
        lists.append((queue, work_queues.items_of(queue, rows), paging, partial(_page_url, arg, queue.key)))
    return render_template("home/work.html", lists=lists, kind=kind,
                           total=sum(paging["total"] for _, _, paging, _ in lists))


def _page_url(arg: str, anchor: str, page: int) -> str:
    """Page ``page`` of one list; the other lists keep theirs."""
    return url_for("work.my_work", **{**request.args.to_dict(), arg: page}, _anchor=anchor)
