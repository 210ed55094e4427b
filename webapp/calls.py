"""The two buttons that delimit a call's search trail: "新しい通話" and "解決"."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from kb.trail import ENDED, RESOLVED, end_trail
from webapp.auth import require
from webapp.service import get_db, get_recorder

bp = Blueprint("calls", __name__, url_prefix="/calls")


def _end(outcome: str) -> None:
    get_recorder().flush()
    with get_db().write() as session:
        end_trail(session, current_user.id, outcome)


@bp.post("/new")
@require("search")
def new_call():
    _end(ENDED)
    return _done("新しい通話として記録を始めます。")


@bp.post("/resolved")
@require("search")
def resolved():
    _end(RESOLVED)
    return _done("解決として記録しました。")


def _done(message: str):
    if request.accept_mimetypes.best == "application/json":
        return {"ok": True, "message": message}
    flash(message)
    return redirect(url_for("search.index"), 303)
