"""The article page: what the operator reads to the caller, with a copyable answer."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user
from markupsafe import Markup

from kb.articles import ID_PATTERN, RESOLUTION, Article, ArticleError, load_file
from kb.render import to_html
from webapp.auth import require
from webapp.service import get_recorder, get_search, paths

bp = Blueprint("articles", __name__, url_prefix="/articles")


def _load(article_id: str) -> Article:
    """The published article with this id, read from its file; 404 for anything else."""
    if not ID_PATTERN.match(article_id):
        abort(404)
    relative = get_search().article_path(article_id)
    if not relative:
        abort(404)
    root = paths().articles
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        abort(404)
    try:
        article = load_file(path, root)
    except ArticleError as exc:
        current_app.logger.warning("article %s is indexed but unreadable: %s", article_id, exc)
        abort(404)
    if article.id != article_id or not article.searchable:
        abort(404)
    return article


@bp.get("/<article_id>")
@require("search")
def view(article_id: str):
    article = _load(article_id)
    get_recorder().opened(current_user.id, article.id)
    return render_template(
        "article.html",
        article=article,
        body_html=Markup(to_html(article.body)),
        resolution_heading=RESOLUTION,
    )
