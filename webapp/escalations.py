"""Escalations in the web app: the operator's form and list, the experts' queue, the JSON API.

An escalation is created in one transaction that is committed before the response is sent:
"受付済み" (or the API's 201) means it is on disk.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from kb import escalations as esc_core
from kb.clock import utcnow
from kb.escalations import EscalationError, NewEscalation
from kb.models import Escalation, SearchLog, User
from kb.notify import phone_instruction
from kb.publishing import loop_summary
from kb.render import to_html
from kb.trail import ESCALATED, collapse, current_trail, end_trail
from webapp.auth import require
from webapp.knowledge import knowledge_view
from webapp.service import get_background, get_db, get_recorder, get_routing, get_search

bp = Blueprint("escalations", __name__)
POLL_SECONDS = 3
POLL_OVERLAP = timedelta(seconds=60)
# The history as people read it.
EVENT_LABELS = {
    "created": "起票", "routed": "通知", "rerouted": "代替の連絡先へ通知",
    "unacknowledged": "受付期限切れ", "acknowledged": "受付", "interim": "暫定回答",
    "answered": "回答", "attached": "通話を追加", "closed": "完了", "overdue": "回答期限超過",
}
TRAIL_SHOWN = 30


# ---- shared helpers --------------------------------------------------------------------------

def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


@bp.app_template_filter("localtime")
def localtime(value: str | datetime | None) -> str:
    """A stored UTC time in the center's time zone, as operators read it."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value.removesuffix("Z")) if isinstance(value, str) else value
    local = get_routing().local(moment)
    return local.strftime("%m/%d %H:%M")


@bp.app_template_global()
def urgency(level_id: str) -> str:
    """How urgent a level is, for colour: the first configured level is "low", the last is
    "high", any in between "mid"."""
    ids = [lv.id for lv in get_routing().levels]
    if level_id not in ids or len(ids) == 1 or ids.index(level_id) == 0:
        return "low"
    return "high" if ids.index(level_id) == len(ids) - 1 else "mid"


@bp.app_context_processor
def _server_clock() -> dict:
    # The server's time as the live pages' starting point, so a browser's wrong clock cannot
    # hide an answer.
    return {"server_now": lambda: _iso(utcnow())}


def _user(session) -> User:
    return session.get(User, current_user.id)


def _visible(esc: Escalation) -> bool:
    """Experts, editors and admins see every escalation; an operator sees the ones they raised
    or attached a call to."""
    if current_user.can("read_escalations"):
        return True
    return esc.operator_id == current_user.id or any(
        c.operator_id == current_user.id for c in esc.calls)


def _load(session, escalation_id: int) -> Escalation:
    esc = esc_core.get(session, escalation_id)
    if esc is None or not _visible(esc):
        abort(404)
    return esc


def to_dict(esc: Escalation, full: bool = False) -> dict:
    """The escalation as the API and the live pages see it."""
    routing = get_routing()
    level = routing.level(esc.level)
    contact = routing.contact(esc.contact) if esc.contact else None
    data = {
        "id": esc.id,
        "url": url_for("escalations.detail", escalation_id=esc.id),
        "status": esc.status,
        "status_label": esc_core.STATUS_LABELS[esc.status],
        "level": esc.level,
        "level_name": level.name if level else esc.level,
        "urgency": urgency(esc.level),
        "category": esc.category,
        "query": esc.query,
        "note": esc.note,
        "created_at": _iso(esc.created_at),
        "updated_at": _iso(esc.updated_at),
        "acknowledge_by": _iso(esc.acknowledge_by),
        "answer_by": _iso(esc.answer_by),
        "overdue": esc.overdue,
        "contact": None if contact is None else {
            "name": contact.name,
            "channel": contact.channel,
            "instruction": phone_instruction(contact) if contact.channel == "phone" else None,
        },
        "interim": esc.interim,
        "interim_html": str(to_html(esc.interim)) if esc.interim else None,
        "answer": esc.answer,
        "answer_html": str(to_html(esc.answer)) if esc.answer else None,
        "answered_at": _iso(esc.answered_at),
        "outcome": esc.outcome,
        "mine": esc.assignee_id == current_user.id,
        "assignee": esc.assignee.display_name if esc.assignee else None,
    }
    data["loop"] = loop_summary(esc)
    if full:
        data["knowledge"] = knowledge_view(esc)
        data["calls"] = [{"query": c.query, "note": c.note, "at": _iso(c.at)} for c in esc.calls]
        data["events"] = [{
            "at": _iso(e.at), "kind": e.kind, "from": e.from_status, "to": e.to_status,
            "by": e.actor.display_name if e.actor else "システム", "detail": e.detail,
        } for e in esc.events]
        data["trail"] = trail_queries(esc)
    return data


def trail_queries(esc: Escalation) -> list[str]:
    if esc.trail is None:
        return []
    return collapse([s.query for s in esc.trail.searches])[-TRAIL_SHOWN:]


def _categories() -> list[str]:
    return [name for name, _ in get_search().categories()]


def _created(esc_id: int) -> None:
    background = get_background()
    if background is not None:
        background.wake()  # send the notification now, not at the next pass


# ---- the operator: form, create, attach, own list ---------------------------------------------

@bp.get("/escalate")
@require("escalate")
def form():
    return _form_page(request.args.get("q", ""), request.args.get("category") or None)


def _form_page(query: str, category: str | None, errors: tuple[str, ...] = (), note: str = "",
               level: str | None = None, status: int = 200):
    """The escalation form: the question, this call's trail, matching articles and the open
    escalations for the same question. After a refused submission it holds what was typed."""
    get_recorder().flush()
    asked = query[:esc_core.MAX_QUERY]
    results = get_search().search(asked, per_page=5) if asked.strip() else None
    suggested = category if category is not None else (
        results.hits[0].category if results and results.hits else "")
    with get_db().read() as session:
        trail = current_trail(session, current_user.id, utcnow())
        searches = [] if trail is None else list(session.scalars(
            select(SearchLog.query).where(SearchLog.trail_id == trail.id).order_by(SearchLog.id)))
        similar = [dict(to_dict(e), visible=_visible(e))
                   for e in esc_core.similar_open(session, asked)] if asked else []
    return render_template(
        "escalate.html", query=query, trail=collapse(searches)[-TRAIL_SHOWN:],
        results=results, similar=similar, levels=get_routing().levels,
        categories=_categories(), suggested=suggested, errors=list(errors), note=note,
        level=level or get_routing().levels[0].id,
    ), status


def _create(request_data: NewEscalation) -> Escalation:
    """Commit a new escalation (the operator's open trail is attached and ended)."""
    get_recorder().flush()
    now = utcnow()
    with get_db().write() as session:
        trail = current_trail(session, current_user.id, now)
        esc = esc_core.create(session, get_routing(), _user(session), request_data, now,
                              trail_id=trail.id if trail else None)
        if trail is not None:
            end_trail(session, current_user.id, ESCALATED)
    _created(esc.id)
    return esc


@bp.post("/escalations")
@require("escalate")
def create():
    data = NewEscalation(
        query=request.form.get("q", ""), level=request.form.get("level", ""),
        category=request.form.get("category") or None, note=request.form.get("note", ""),
    )
    try:
        esc = _create(data)
    except EscalationError as exc:
        return _form_page(data.query, data.category or "", errors=(str(exc),), note=data.note,
                          level=data.level, status=400)
    return redirect(url_for("escalations.detail", escalation_id=esc.id, created=1), 303)


@bp.post("/escalations/<int:escalation_id>/attach")
@require("escalate")
def attach(escalation_id: int):
    get_recorder().flush()
    now = utcnow()
    try:
        with get_db().write() as session:
            esc = esc_core.get(session, escalation_id)
            if esc is None:
                abort(404)
            trail = current_trail(session, current_user.id, now)
            esc_core.attach(session, esc, _user(session), request.form.get("q", ""),
                            request.form.get("note", ""), now,
                            trail_id=trail.id if trail else None)
            if trail is not None:
                end_trail(session, current_user.id, ESCALATED)
    except EscalationError as exc:
        abort(400, description=str(exc))
    flash("この件に追加しました。回答が届くとお知らせします。")
    return redirect(url_for("escalations.detail", escalation_id=escalation_id), 303)


@bp.get("/my/escalations")
@require("escalate")
def mine():
    with get_db().read() as session:
        rows = [to_dict(e) for e in esc_core.involving(session, _user(session))]
    return render_template("my_escalations.html", escalations=rows, poll=POLL_SECONDS)


@bp.get("/api/my/escalations")
@require("escalate")
def api_mine():
    """The operator's escalations changed after ``since`` (ISO time), for live updates.

    The answer's ``since`` is what to send next time. It reaches back POLL_OVERLAP before this
    read: a change is stamped when its transaction starts but seen only once it commits, which
    can be later (a write waits up to 30 s for the lock), so a poll that reached back only to
    its own time could miss it for good. Rows seen twice are merged by id.
    """
    since = _parse_since(request.args.get("since", ""))
    now = utcnow()
    with get_db().read() as session:
        rows = [to_dict(e) for e in esc_core.involving(session, _user(session), since)]
    return {"escalations": rows, "now": _iso(now), "since": _iso(now - POLL_OVERLAP)}


def _parse_since(raw: str) -> datetime | None:
    """An ISO 8601 time as stored (naive UTC); one with an offset is converted first."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.removesuffix("Z"))
    except ValueError:
        abort(400, description="since は ISO 8601 の日時で指定してください。")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


# ---- one escalation: detail page and the experts' actions ------------------------------------

@bp.get("/escalations/<int:escalation_id>")
@require("search")
def detail(escalation_id: int):
    with get_db().read() as session:
        esc = _load(session, escalation_id)
        data = to_dict(esc, full=True)
    return render_template(
        "escalation.html", esc=data, created=request.args.get("created") == "1",
        outcomes=esc_core.OUTCOMES, poll=POLL_SECONDS,
        event_labels=EVENT_LABELS, status_labels=esc_core.STATUS_LABELS,
        answer_html=Markup(data["answer_html"] or ""),
        interim_html=Markup(data["interim_html"] or ""),
    )


def _transition(escalation_id: int, action: str, **kwargs) -> None:
    with get_db().write() as session:
        esc = esc_core.get(session, escalation_id)
        if esc is None:
            abort(404)
        esc_core.transition(esc, _user(session), action, utcnow(), **kwargs)


@bp.post("/escalations/<int:escalation_id>/<any(acknowledge, answer, close):action>")
@require("answer")
def act(escalation_id: int, action: str):
    try:
        _transition(escalation_id, action, text=request.form.get("text"),
                    outcome=request.form.get("outcome"),
                    interim=request.form.get("interim") == "1")
    except EscalationError as exc:
        flash(str(exc), "error")
    return redirect(url_for("escalations.detail", escalation_id=escalation_id), 303)


# ---- the experts' queue ----------------------------------------------------------------------

QUEUE_FILTERS = ("level", "category", "mine")


def _queue_filters() -> dict[str, str]:
    """The queue's filters from the query string; anything else there is ignored."""
    return {key: request.args[key] for key in QUEUE_FILTERS if request.args.get(key)}


def _queue_rows() -> list[dict]:
    filters = _queue_filters()
    with get_db().read() as session:
        assignee = _user(session) if filters.get("mine") == "1" else None
        rows = esc_core.queue(session, get_routing(), level=filters.get("level"),
                              category=filters.get("category"), assignee=assignee)
        return [to_dict(e) for e in rows]


@bp.get("/queue")
@require("queue")
def queue_page():
    filters = _queue_filters()
    return render_template(
        "queue.html", rows=_queue_rows(), levels=get_routing().levels,
        categories=_categories(), poll=POLL_SECONDS, args=filters,
        poll_url=url_for("escalations.api_queue", **filters),
    )


@bp.get("/api/queue")
@require("queue")
def api_queue():
    return {"escalations": _queue_rows(), "now": _iso(utcnow())}


# ---- the JSON API for integrations -----------------------------------------------------------

@bp.post("/api/escalations")
@require("escalate")
def api_create():
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(400, description="JSON のオブジェクトを送ってください。")
    unknown = set(payload) - {"query", "level", "category", "note"}
    if unknown:
        abort(400, description=f"不明な項目です: {', '.join(sorted(map(str, unknown)))}")
    for key in ("query", "level", "category", "note"):
        if payload.get(key) is not None and not isinstance(payload[key], str):
            abort(400, description=f"{key} は文字列で指定してください。")
    if not (payload.get("query") or "").strip():
        abort(400, description="query は必須です。")
    data = NewEscalation(
        query=payload["query"], level=payload.get("level") or "",
        category=payload.get("category") or None, note=payload.get("note") or "",
    )
    try:
        esc = _create(data)
    except EscalationError as exc:
        abort(400, description=str(exc))
    with get_db().read() as session:
        body = to_dict(esc_core.get(session, esc.id), full=True)
    return body, 201, {"Location": url_for("escalations.api_get", escalation_id=esc.id)}


@bp.get("/api/escalations/<int:escalation_id>")
@require("search")
def api_get(escalation_id: int):
    with get_db().read() as session:
        return to_dict(_load(session, escalation_id), full=True)


@bp.get("/api/escalations")
@require("search")
def api_list():
    status = request.args.get("status") or None
    if status is not None and status not in esc_core.STATUS_LABELS:
        abort(400, description=f"status は {', '.join(esc_core.STATUS_LABELS)} のいずれかです。")
    with get_db().read() as session:
        if current_user.can("read_escalations"):
            query = select(Escalation).order_by(Escalation.id.desc()).limit(200)
            if status:
                query = query.where(Escalation.status == status)
            rows = list(session.scalars(query))
        else:
            rows = [e for e in esc_core.involving(session, _user(session))
                    if status is None or e.status == status]
        return {"escalations": [to_dict(e) for e in rows]}
