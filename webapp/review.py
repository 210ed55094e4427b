"""The editors' 要レビュー list: the same list `kb stale` prints."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from kb import review as review_core
from kb.articles import load_all
from kb.clock import utcnow
from webapp.auth import require
from webapp.service import get_db, get_routing, paths

bp = Blueprint("review", __name__)


@bp.get("/review")
@require("review")
def index():
    now = utcnow()
    routing = get_routing()
    articles, problems = load_all(paths().articles)
    for problem in problems:
        current_app.logger.warning("article problem: %s", problem)
    with get_db().read() as session:
        flagged = review_core.flagged_for(session, articles, now)
    items = review_core.stale(articles, flagged, routing, routing.today(now))
    return render_template("review.html", items=items, problems=problems,
                           rule_days=review_core.RULE_REVIEW_DAYS)
