"""Gaps in the web app: what search could not answer, grouped by question, most asked first.

Blameless by design: a gap shows its questions, levels, categories and counts, never who
escalated them.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kb import gaps as gap_core
from kb.clock import utcnow
from kb.escalations import OUTCOMES, STATUS_LABELS
from kb.models import Gap, User
from webapp.auth import require
from webapp.service import get_db, get_routing

bp = Blueprint("gaps", __name__)


def _level_name(level_id: str) -> str:
    level = get_routing().level(level_id)
    return level.name if level else ""


@bp.get("/gaps")
@require("gaps")
def index():
    resolved = request.args.get("resolved") == "1"
    with get_db().read() as session:
        rows = gap_core.listing(session, get_routing(), resolved=resolved)
        return render_template("gaps.html", rows=rows, resolved=resolved,
                               level_name=_level_name)


@bp.get("/gaps/<int:gap_id>")
@require("gaps")
def detail(gap_id: int):
    with get_db().read() as session:
        summary = gap_core.get(session, get_routing(), gap_id)
        if summary is None:
            abort(404)
        escalations = sorted(summary.gap.escalations, key=lambda e: e.created_at)
        return render_template("gap.html", s=summary, escalations=escalations,
                               outcomes=OUTCOMES, status_labels=STATUS_LABELS,
                               level_name=_level_name)


@bp.post("/gaps/<int:gap_id>/resolve")
@require("gaps")
def resolve(gap_id: int):
    if not 0 < gap_id <= gap_core.esc_core.MAX_ID:
        abort(404)
    try:
        with get_db().write() as session:
            gap = session.get(Gap, gap_id)
            if gap is None:
                abort(404)
            closed = gap_core.resolve(session, gap, session.get(User, current_user.id),
                                      request.form.get("outcome", ""),
                                      request.form.get("resolution", ""), utcnow())
    except gap_core.GapError as exc:
        flash(str(exc), "error")
    else:
        flash(f"解決しました（エスカレーション {len(closed)} 件を完了）。", "success")
    return redirect(url_for("gaps.detail", gap_id=gap_id), 303)
