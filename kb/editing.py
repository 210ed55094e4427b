"""An article as the editor's form shows it, and the form turned back into article text.

Front matter fields the form does not know (written by hand) are kept as they were.
"""

from __future__ import annotations

import datetime as dt

import yaml

from kb.articles import _FRONT_MATTER, RESOLUTION, _FrontMatterLoader

FORM_FIELDS = ("id", "title", "questions", "tags", "category", "owner", "review_by",
               "escalations")
LIST_FIELDS = ("questions", "tags", "escalations")
NEW_BODY = f"## 問題\n\n\n## {RESOLUTION}\n\n"


def split(text: str) -> tuple[dict, str]:
    """The front matter as a mapping (dates left as text) and the body."""
    stripped = text.lstrip("\ufeff")
    match = _FRONT_MATTER.match(stripped)
    if not match:
        return {}, stripped
    try:
        meta = yaml.load(match.group(1), Loader=_FrontMatterLoader)
    except yaml.YAMLError:
        meta = None
    return (meta if isinstance(meta, dict) else {}), stripped[match.end():]


def form_values(text: str) -> dict:
    """What the editor's fields show for an article's text (lists one item a line)."""
    meta, body = split(text)
    values = {}
    for name in FORM_FIELDS:
        value = meta.get(name)
        if name in LIST_FIELDS:
            items = value if isinstance(value, list) else ([value] if value else [])
            values[name] = "\n".join(str(v) for v in items)
        else:
            values[name] = "" if value is None else str(value)
    values["status"] = str(meta.get("status") or "draft")
    values["body"] = body.lstrip("\n")
    return values


def _lines(raw: str, commas: bool = False) -> list[str]:
    parts = raw.replace("、", ",").replace(",", "\n").splitlines() if commas else raw.splitlines()
    out: list[str] = []
    for part in parts:
        part = " ".join(part.split())
        if part and part not in out:
            out.append(part)
    return out


def compose(form: dict, status: str, base_text: str | None, today: dt.date) -> str:
    """Article text from the editor's fields (``updated`` becomes today)."""
    meta, _ = split(base_text) if base_text else ({}, "")
    meta = dict(meta)
    meta["id"] = (form.get("id") or "").strip()
    meta["title"] = " ".join((form.get("title") or "").split())
    meta["questions"] = _lines(form.get("questions") or "")
    meta["tags"] = _lines(form.get("tags") or "", commas=True)
    meta["category"] = (form.get("category") or "").strip()
    meta["status"] = status
    meta["owner"] = (form.get("owner") or "").strip()
    meta["updated"] = today.isoformat()
    review_by = (form.get("review_by") or "").strip()
    if review_by:
        meta["review_by"] = review_by
    else:
        meta.pop("review_by", None)
    escalations = _lines(form.get("escalations") or "", commas=True)
    if escalations:
        meta["escalations"] = escalations
    else:
        meta.pop("escalations", None)
    for key, value in list(meta.items()):  # dates read as text are written as text
        if isinstance(value, dt.date):
            meta[key] = value.isoformat()
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000).strip()
    body = (form.get("body") or "").replace("\r\n", "\n").strip("\n")
    return f"---\n{front}\n---\n\n{body}\n"


def without_status(text: str) -> str:
    """The text with the status and updated fields blanked, to tell a status-only change."""
    meta, body = split(text)
    meta = {k: v for k, v in meta.items() if k not in ("status", "updated")}
    return yaml.safe_dump(meta, allow_unicode=True, sort_keys=True) + "\n" + body.strip()
