"""The search page and its JSON API (live results and suggestions as the operator types)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, abort, g, render_template, request
from flask_login import current_user

from kb.recent import recently_answered
from kb.search import MAX_QUERY_CHARS, PER_PAGE_MAX, SearchResults
from webapp.auth import require
from webapp.errors import INVALID_NUMBER
from webapp.service import get_db, get_recorder, get_search

bp = Blueprint("search", __name__)

PAGE_MAX = 1000
SUGGEST_LIMIT = 8


def _int_arg(name: str, default: int, high: int) -> int:
    """A paging parameter from the query string; 400 with a readable message when bad."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6 and 1 <= int(raw) <= high):
        abort(400, description=INVALID_NUMBER.format(name=name, low=1, high=high))
    return int(raw)


def _run_search() -> SearchResults:
    query = request.args.get("q", "")
    page = _int_arg("page", 1, PAGE_MAX)
    per_page = _int_arg("per_page", 10, PER_PAGE_MAX)
    results = get_search().search(
        query,
        category=request.args.get("category") or None,
        tag=request.args.get("tag") or None,
        page=page,
        per_page=per_page,
    )
    if results.normalized and not g.get("bearer"):
        # The operator's own searches form the call's trail; integrations' searches do not.
        get_recorder().record(current_user.id, query, results.normalized, results.total)
    return results


HOME_ITEMS = 5


def _shared_knowledge() -> dict:
    """The home page's shared knowledge: answers given lately and new or updated articles."""
    with get_db().read() as session:
        answered = recently_answered(session, HOME_ITEMS)
    return {"answered": answered, "new_articles": get_search().recent(HOME_ITEMS)}


@bp.get("/")
@require("search")
def index():
    results = _run_search() if "q" in request.args else None
    return render_template(
        "search.html",
        shared=None if results is not None else _shared_knowledge(),
        results=results,
        query=request.args.get("q", ""),
        category=request.args.get("category", ""),
        categories=get_search().categories(),
        max_query_chars=MAX_QUERY_CHARS,
    )


@bp.get("/api/search")
@require("search")
def api_search():
    return _run_search().to_dict()


@bp.get("/api/suggest")
@require("search")
def api_suggest():
    suggestions = get_search().suggest(request.args.get("q", ""), limit=SUGGEST_LIMIT)
    return {"suggestions": [asdict(s) for s in suggestions]}
