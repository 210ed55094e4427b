"""Feedback on an article page: 役に立った / 役に立たなかった, by form or JSON."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user

from kb import feedback as fb
from kb.articles import Article
from kb.clock import utcnow
from kb.models import User
from webapp.articles import _load
from webapp.auth import require
from webapp.service import get_db

bp = Blueprint("feedback", __name__)
THANKS = "ご意見ありがとうございました。"


def _store(article: Article, helpful: bool, reason: str | None) -> fb.Summary:
    now = utcnow()
    with get_db().write() as session:
        fb.record(session, article.id, session.get(User, current_user.id), helpful, reason, now)
        session.flush()
        return fb.summary(session, article.id, now, article.updated)


@bp.app_template_global()
def article_feedback(article: Article) -> fb.Summary:
    """The article's recent feedback, for the editors' view of the article page."""
    with get_db().read() as session:
        return fb.summary(session, article.id, utcnow(), article.updated)


@bp.app_template_global()
def feedback_flag_threshold() -> int:
    return fb.NOT_HELPFUL_FLAG


@bp.post("/articles/<article_id>/feedback")
@require("feedback")
def give(article_id: str):
    article = _load(article_id)
    choice = request.form.get("helpful")
    target = url_for("articles.view", article_id=article.id) + "#feedback"
    if choice not in ("1", "0"):
        flash("「役に立った」か「役に立たなかった」を選んでください。", "error")
        return redirect(target, 303)
    try:
        _store(article, choice == "1", request.form.get("reason"))
    except fb.FeedbackError as exc:
        flash(str(exc), "error")
    else:
        flash(THANKS, "success")
    return redirect(target, 303)


@bp.post("/api/articles/<article_id>/feedback")
@require("feedback")
def api_give(article_id: str):
    article = _load(article_id)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(400, description="JSON のオブジェクトを送ってください。")
    unknown = set(payload) - {"helpful", "reason"}
    if unknown:
        abort(400, description=f"不明な項目です: {', '.join(sorted(map(str, unknown)))}")
    if not isinstance(payload.get("helpful"), bool):
        abort(400, description="helpful は true か false で指定してください。")
    reason = payload.get("reason")
    if reason is not None and not isinstance(reason, str):
        abort(400, description="reason は文字列で指定してください。")
    try:
        summary = _store(article, payload["helpful"], reason)
    except fb.FeedbackError as exc:
        abort(400, description=str(exc))
    return {"article": article.id, "helpful": payload["helpful"],
            "flagged": summary.flagged}, 201
