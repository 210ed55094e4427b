"""What an answered escalation became (a new article, wording added to an existing one, or no
article with a reason), and the notices that tell operators an article now answers them."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from kb import escalations as esc_core
from kb.clock import utcnow
from kb.models import Escalation, Notice
from kb.publishing import KNOWLEDGE_ACTIONS
from webapp.auth import require
from webapp.service import get_db, get_search

bp = Blueprint("knowledge", __name__)
MAX_REASON = 2000
NOTICES_SHOWN = 20


def _answered(session, escalation_id: int) -> Escalation:
    esc = esc_core.get(session, escalation_id)
    if esc is None:
        abort(404)
    if esc.status not in ("answered", "closed"):
        abort(409, description="回答済みのエスカレーションだけ記事にできます。")
    return esc


@bp.post("/escalations/<int:escalation_id>/knowledge/none")
@require("resolve_knowledge")
def no_article(escalation_id: int):
    reason = " ".join((request.form.get("reason") or "").split())[:MAX_REASON]
    with get_db().write() as session:
        esc = _answered(session, escalation_id)
        if not reason:
            flash("記事が不要な理由を入力してください。", "error")
            return redirect(url_for("escalations.detail", escalation_id=escalation_id), 303)
        esc.knowledge_action = "no_article"
        esc.knowledge_reason = reason
        esc.updated_at = utcnow()
    flash("記事は不要として記録しました。")
    return redirect(url_for("escalations.detail", escalation_id=escalation_id), 303)


@bp.get("/escalations/<int:escalation_id>/knowledge/existing")
@require("resolve_knowledge")
def pick_article(escalation_id: int):
    """Search for the article that already answered it; the caller's wording goes there."""
    with get_db().read() as session:
        esc = _answered(session, escalation_id)
        query, esc_id = esc.query, esc.id
    q = request.args.get("q", query)
    results = get_search().search(q, per_page=10) if q.strip() else None
    return render_template("knowledge_pick.html", esc_id=esc_id, esc_query=query, q=q,
                           results=results)


def knowledge_view(esc: Escalation) -> dict:
    """The escalation page's knowledge section."""
    return {
        "action": esc.knowledge_action,
        "action_label": KNOWLEDGE_ACTIONS.get(esc.knowledge_action or "", ""),
        "article": esc.knowledge_article,
        "reason": esc.knowledge_reason,
    }


# ---- notices ---------------------------------------------------------------------------------

@bp.get("/api/notices")
@require("search")
def notices():
    """The caller's unread notices, newest first."""
    with get_db().read() as session:
        rows = session.scalars(
            select(Notice).where(Notice.user_id == current_user.id, Notice.read_at.is_(None))
            .order_by(Notice.id.desc()).limit(NOTICES_SHOWN))
        return {"notices": [{
            "id": n.id, "kind": n.kind, "text": n.text, "article_id": n.article_id,
            "escalation_id": n.escalation_id,
            "url": url_for("articles.view", article_id=n.article_id) if n.article_id else
            url_for("escalations.detail", escalation_id=n.escalation_id),
            "read_url": url_for("knowledge.read_notice", notice_id=n.id),
        } for n in rows]}


@bp.post("/api/notices/<int:notice_id>/read")
@require("search")
def read_notice(notice_id: int):
    with get_db().write() as session:
        notice = session.get(Notice, notice_id)
        if notice is None or notice.user_id != current_user.id:
            abort(404)
        notice.read_at = notice.read_at or utcnow()
    return {"ok": True}
