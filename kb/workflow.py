"""The article states and who may move an article between them.

draft → review → published → archived, with the ways back an editor needs: a review sent back
to draft, a published article taken back to draft for rework, an archived one revived as a
draft. Only publishers change what operators can find (publishing, archiving, or editing a
published article). With ``reviewer_must_differ`` the person who publishes must not be the last
author, and publishing cannot change the text.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.permissions import allowed

STATE_LABELS = {"draft": "下書き", "review": "レビュー待ち", "published": "公開中",
                "archived": "アーカイブ"}
# (from, to) → the permission it needs; (s, s) is saving without a change of state.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "draft"): "edit",
    ("draft", "review"): "edit",
    ("review", "review"): "edit",
    ("review", "draft"): "edit",
    ("review", "published"): "publish",
    ("published", "published"): "publish",
    ("published", "draft"): "publish",
    ("published", "archived"): "publish",
    ("archived", "archived"): "publish",
    ("archived", "draft"): "edit",
}
# Labels of the buttons that save into each state.
ACTIONS = {"draft": "下書き保存", "review": "レビュー依頼", "published": "公開",
           "archived": "アーカイブ"}


class TransitionError(Exception):
    """This person may not move this article into that state (the message says why)."""


@dataclass(frozen=True)
class Change:
    before: str | None  # None: a new article
    after: str
    role: str
    user_id: int
    last_author_id: int | None  # who saved the version being replaced (None: nobody/hand edit)
    text_changed: bool  # anything besides the status differs


def targets(before: str | None, role: str) -> list[str]:
    """The states this role may save an article in, from ``before``."""
    start = before or "draft"
    return [to for (frm, to), perm in TRANSITIONS.items() if frm == start and allowed(role, perm)]


def check(change: Change, reviewer_must_differ: bool = False) -> None:
    """Raise TransitionError unless the change is allowed."""
    start = change.before or "draft"
    permission = TRANSITIONS.get((start, change.after))
    if permission is None:
        raise TransitionError(
            f"{STATE_LABELS.get(start, start)}から{STATE_LABELS.get(change.after, change.after)}"
            "には変更できません。")
    if not allowed(change.role, permission):
        raise TransitionError("この変更は編集者だけが行えます。")
    if change.after == "published" and start != "published" and reviewer_must_differ:
        if change.last_author_id is not None and change.last_author_id == change.user_id:
            raise TransitionError("公開は最後に編集した人とは別の人がレビューして行います。")
        if change.text_changed:
            raise TransitionError("レビューした内容のまま公開してください（内容の変更は下書きかレビュー依頼で保存）。")
