"""The article editor: every article with its state, create and edit with a live preview, the
conflict page, history with diffs and restore, and what an answered escalation became.

Saves go through kb.publishing: the state check, the atomic write with history, the index
updated in the same request (so a published article is found at once), then the loop check.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup

from kb import editing, kcs, publishing, workflow
from kb import escalations as esc_core
from kb.article_store import ArticleStore, Conflict, diff
from kb.articles import ID_PATTERN, ArticleError, article_files, load_file, parse
from kb.clock import utcnow
from kb.index import IndexStore
from kb.models import Escalation, User
from kb.render import to_html
from webapp.auth import require
from webapp.service import get_db, get_search, paths

bp = Blueprint("editor", __name__, url_prefix="/editor")


def store() -> ArticleStore:
    return ArticleStore(paths().articles, get_db())


def _editor() -> publishing.Editor:
    return publishing.Editor(current_user.id, current_user.role)


def _must_differ() -> bool:
    return bool(current_app.config.get("KB_REVIEWER_MUST_DIFFER", False))


@bp.app_template_global()
def state_label(state: str) -> str:
    return workflow.STATE_LABELS.get(state, state)


# ---- the list --------------------------------------------------------------------------------

@bp.get("/")
@require("edit")
def index():
    root = paths().articles
    rows, problems = [], []
    for path in article_files(root):
        try:
            rows.append(load_file(path, root))
        except ArticleError as exc:
            problems.extend(exc.problems)
    state = request.args.get("state") or ""
    if state in workflow.STATE_LABELS:
        rows = [a for a in rows if a.status == state]
    rows.sort(key=lambda a: (a.updated is None, a.updated and -a.updated.toordinal(), a.id))
    return render_template("editor_list.html", articles=rows, problems=problems, state=state,
                           states=workflow.STATE_LABELS)


# ---- create and edit -------------------------------------------------------------------------

def _form_page(values: dict, revision: str | None, is_new: bool, before: str | None,
               errors: list[str] = (), status: int = 200, escalation: dict | None = None):
    return render_template(
        "editor_form.html", values=values, revision=revision or "", is_new=is_new,
        before=before, targets=workflow.targets(before, current_user.role),
        actions=workflow.ACTIONS, errors=list(errors), escalation=escalation,
        preview=Markup(to_html(values.get("body", ""))),
    ), status


def _escalation_context() -> dict | None:
    """The escalation this edit comes from (?escalation= or the hidden field), for editors."""
    raw = request.values.get("escalation", "")
    if not raw.isdigit() or not current_user.can("resolve_knowledge"):
        return None
    action = request.values.get("knowledge", "new_article")
    if action not in ("new_article", "existing_article"):
        action = "new_article"
    with get_db().read() as session:
        esc = esc_core.get(session, int(raw))
        if esc is None:
            abort(404)
        if esc.status not in ("answered", "closed"):
            abort(409, description="回答済みのエスカレーションだけ記事にできます。")
        return {"id": esc.id, "query": esc.query, "action": action}


@bp.get("/new")
@require("edit")
def new():
    escalation = _escalation_context()
    if escalation is not None:
        with get_db().read() as session:
            esc = session.get(Escalation, escalation["id"])
            owner = session.get(User, current_user.id).display_name
            text = kcs.draft_from_escalation(esc, _free_id(f"esc-{esc.id}"), owner)
        values = editing.form_values(text)
    else:
        values = editing.form_values(f"---\nstatus: draft\n---\n{editing.NEW_BODY}")
        values["owner"] = current_user.display_name
    return _form_page(values, None, True, None, escalation=escalation)


def _free_id(wanted: str) -> str:
    root = paths().articles
    candidate, n = wanted, 2
    while (root / f"{candidate}.md").exists():
        candidate, n = f"{wanted}-{n}", n + 1
    return candidate


@bp.post("/new")
@require("edit")
def create():
    article_id = (request.form.get("id") or "").strip()
    if not ID_PATTERN.match(article_id):
        return _refused(None, True, None, ["ID は a-z・0-9・ハイフンの3〜64文字で入力してください。"])
    if store().read(article_id) is not None:
        return _refused(None, True, None, [f"ID「{article_id}」の記事はすでにあります。別の ID にしてください。"])
    return _save(article_id, None, True, None)


@bp.get("/<article_id>")
@require("edit")
def edit(article_id: str):
    text, revision = _current(article_id)
    escalation = _escalation_context()
    if escalation is not None and escalation["action"] == "existing_article":
        with get_db().read() as session:
            esc = session.get(Escalation, escalation["id"])
            text = kcs.add_questions(text, kcs.escalated_questions(esc), esc.id)
    return _form_page(editing.form_values(text), revision, False, _status_of(text),
                      escalation=escalation)


@bp.post("/<article_id>")
@require("edit")
def update(article_id: str):
    text, _ = _current(article_id)
    return _save(article_id, request.form.get("revision") or None, False, _status_of(text))


def _current(article_id: str) -> tuple[str, str]:
    if not ID_PATTERN.match(article_id):
        abort(404)
    found = store().read(article_id)
    if found is None:
        abort(404)
    return found


def _status_of(text: str) -> str | None:
    try:
        return parse(text, "article.md").status
    except ArticleError:
        return None


def _refused(before, is_new, revision, errors, status=400):
    values = {k: request.form.get(k, "") for k in (*editing.FORM_FIELDS, "body")}
    values["status"] = request.form.get("status", "draft")
    return _form_page(values, revision, is_new, before, errors, status, _escalation_context())


def _save(article_id: str, base_revision: str | None, is_new: bool, before: str | None):
    status = request.form.get("status", "draft")
    if status not in workflow.STATE_LABELS:
        return _refused(before, is_new, base_revision, ["保存する状態を選んでください。"])
    current = store().read(article_id)
    text = editing.compose(request.form, status, current[0] if current else None,
                           utcnow().date())
    try:
        _, article = publishing.save(
            store(), IndexStore(paths().index), article_id, text, base_revision, _editor(),
            utcnow(), request.form.get("message", ""), _must_differ())
    except ArticleError as exc:
        return _refused(before, is_new, base_revision, [_problem(p) for p in exc.problems])
    except workflow.TransitionError as exc:
        return _refused(before, is_new, base_revision, [str(exc)], 403)
    except Conflict as exc:
        return _conflict(exc, before)
    get_search().refresh()
    escalation = _escalation_context()
    loops = []
    if escalation is not None or (article.searchable and article.escalations):
        with get_db().write() as session:
            if escalation is not None:
                esc = esc_core.get(session, escalation["id"])
                esc.knowledge_action = escalation["action"]
                esc.knowledge_article = article.id
                esc.knowledge_reason = None
            checked = publishing.check_loops(session, get_search(), article, utcnow())
            loops = [(e.id, publishing.loop_summary(e)) for e in checked]
    flash(f"{workflow.STATE_LABELS[article.status]}として保存しました。")
    for esc_id, summary in loops:
        flash(f"#{esc_id}: {summary['message']}", "info" if summary["closed"] else "error")
    return redirect(url_for("editor.edit", article_id=article.id), 303)


FIELD_NAMES = {"id": "ID", "title": "タイトル", "status": "状態", "category": "カテゴリ",
               "questions": "質問の言い回し", "tags": "タグ", "updated": "更新日",
               "review_by": "レビュー期限", "escalations": "エスカレーション", "body": "本文",
               "front matter": "項目"}


def _problem(problem) -> str:
    return f"{FIELD_NAMES.get(problem.field, problem.field)}: {problem.message}"


def _conflict(exc: Conflict, before: str | None):
    """Someone saved first: show both versions and the difference; saving again applies this
    person's version over theirs (nothing is lost: theirs stays in the history)."""
    values = editing.form_values(exc.yours)
    return render_template(
        "editor_conflict.html", article_id=exc.article_id, theirs=exc.theirs, yours=exc.yours,
        difference=diff(exc.theirs, exc.yours, "保存済みの版", "あなたの版"),
        values=values, revision=exc.revision if exc.theirs else "",
        targets=workflow.targets(_status_of(exc.theirs) if exc.theirs else None,
                                 current_user.role),
        actions=workflow.ACTIONS, escalation=_escalation_context(),
    ), 409


@bp.post("/preview")
@require("edit")
def preview():
    """The body rendered by the same sanitising renderer as the article page."""
    return {"html": str(to_html(request.form.get("body", "")))}


# ---- history ---------------------------------------------------------------------------------

@bp.get("/<article_id>/history")
@require("edit")
def history(article_id: str):
    _current(article_id)  # records a hand edit, 404 for an unknown article
    versions = store().history(article_id)
    with get_db().read() as session:
        names = {u.id: u.display_name for u in session.query(User).filter(
            User.id.in_({v.author_id for v in versions if v.author_id}))}
    rows = []
    for i, v in enumerate(versions):
        older = versions[i + 1].text if i + 1 < len(versions) else ""
        rows.append({"id": v.id, "at": v.at, "message": v.message,
                     "author": names.get(v.author_id, "（ファイルの直接編集）"),
                     "diff": diff(older, v.text, f"版 {versions[i + 1].id}" if i + 1 < len(versions) else "（なし）",
                                  f"版 {v.id}"),
                     "current": i == 0})
    return render_template("editor_history.html", article_id=article_id, versions=rows)


@bp.post("/<article_id>/restore/<int:version_id>")
@require("edit")
def restore(article_id: str, version_id: int):
    _current(article_id)
    try:
        _, article = publishing.restore(store(), IndexStore(paths().index), article_id,
                                        version_id, _editor(), utcnow(), _must_differ())
    except KeyError:
        abort(404)
    except workflow.TransitionError as exc:
        flash(str(exc), "error")
        return redirect(url_for("editor.history", article_id=article_id), 303)
    except (ArticleError, Conflict) as exc:
        flash(f"戻せませんでした: {exc}", "error")
        return redirect(url_for("editor.history", article_id=article_id), 303)
    get_search().refresh()
    if article.searchable and article.escalations:
        with get_db().write() as session:
            publishing.check_loops(session, get_search(), article, utcnow())
    flash(f"版 {version_id} に戻しました。")
    return redirect(url_for("editor.history", article_id=article_id), 303)
