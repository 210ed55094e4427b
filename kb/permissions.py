"""Who may do what: one table, used by the web app's routes and checked by the tests."""

from __future__ import annotations

PERMISSIONS: dict[str, frozenset[str]] = {
    "search": frozenset({"operator", "expert", "editor", "admin"}),
    "escalate": frozenset({"operator", "expert", "admin"}),
    "queue": frozenset({"expert", "admin"}),
    "answer": frozenset({"expert", "admin"}),
    "read_escalations": frozenset({"expert", "editor", "admin"}),
    # The knowledge loop: gaps (grouped escalations) and resolving them, article feedback,
    # and the editors' 要レビュー list.
    "gaps": frozenset({"expert", "editor", "admin"}),
    "feedback": frozenset({"operator", "expert", "editor", "admin"}),
    "review": frozenset({"editor", "admin"}),
    # Articles: experts and editors write drafts and ask for review; only editors publish,
    # archive, and change what is already published.
    "edit": frozenset({"expert", "editor", "admin"}),
    "publish": frozenset({"editor", "admin"}),
    # What happened to an answered escalation's knowledge (new article, wording, none).
    "resolve_knowledge": frozenset({"editor", "admin"}),
}


def allowed(role: str | None, permission: str) -> bool:
    return role in PERMISSIONS[permission]
