"""From a resolved escalation to knowledge: the KCS article draft, the caller's wording added to
an existing article, and the check that the escalated questions now find the article."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from kb.articles import RESOLUTION, parse
from kb.models import Escalation
from kb.trail import collapse

MAX_QUESTIONS = 12


def escalated_questions(esc: Escalation) -> list[str]:
    """How callers asked it: the escalated query, the trail's searches and attached calls',
    without type-ahead prefixes or repeats."""
    trail = [s.query for s in esc.trail.searches] if esc.trail is not None else []
    asked = collapse(trail) + [esc.query] + [c.query for c in esc.calls]
    seen, out = set(), []
    for q in asked:
        q = " ".join(q.split())
        if q and q not in seen:
            seen.add(q)
            out.append(q)
    return out[-MAX_QUESTIONS:]


def _front_matter(fields: dict) -> str:
    return yaml.safe_dump(fields, allow_unicode=True, sort_keys=False, width=1000).strip()


def draft_from_escalation(esc: Escalation, article_id: str, owner: str = "") -> str:
    """A draft article in the KCS template: 問題 from the caller's question, 回答・対応手順 from
    the expert's answer, the escalated queries as ``questions``."""
    questions = escalated_questions(esc)
    fields = {
        "id": article_id,
        "title": (esc.query or questions[0]) if questions else f"エスカレーション #{esc.id}",
        "questions": questions,
        "tags": [],
        "category": esc.category or "",
        "status": "draft",
        "owner": owner,
        "escalations": [str(esc.id)],
    }
    problem = "\n".join(filter(None, [esc.query, esc.note]))
    text = (
        f"---\n{_front_matter(fields)}\n---\n\n"
        f"## 問題\n{problem}\n\n"
        f"## {RESOLUTION}\n{(esc.answer or esc.interim or '').strip()}\n"
    )
    parse(text, f"{article_id}.md")  # the draft is always a valid article
    return text


def add_questions(text: str, questions: list[str], escalation_id: int | None = None) -> str:
    """The article with the callers' wording added to ``questions`` (and the escalation to
    ``escalations``), the body untouched."""
    article = parse(text, "article.md")
    end = text.index("\n---", 3)
    meta = yaml.load(text[text.index("\n") + 1:end], Loader=yaml.BaseLoader) or {}
    merged = list(article.questions)
    for q in questions:
        if q not in merged:
            merged.append(q)
    meta["questions"] = merged
    if escalation_id is not None:
        refs = [str(e) for e in meta.get("escalations") or []]
        if str(escalation_id) not in refs:
            refs.append(str(escalation_id))
        meta["escalations"] = refs
    rest = text[end + len("\n---"):]
    return f"---\n{_front_matter(meta)}\n---{rest}"


@dataclass(frozen=True)
class LoopCheck:
    """Where the article ranks for each escalated question (None: not in the top results)."""

    article_id: str
    ranks: dict[str, int | None]

    @property
    def best(self) -> int | None:
        found = [r for r in self.ranks.values() if r is not None]
        return min(found) if found else None

    @property
    def worst(self) -> int | None:
        values = list(self.ranks.values())
        if not values or any(r is None for r in values):
            return None
        return max(values)

    @property
    def closed(self) -> bool:
        """Every escalated question finds the article in the top 3."""
        return self.worst is not None and self.worst <= 3


def check_loop(search, article_id: str, questions: list[str], depth: int = 10) -> LoopCheck:
    """Run each question against the live index (``search`` is a SearchService)."""
    ranks: dict[str, int | None] = {}
    for q in questions:
        hits = search.search(q, per_page=depth).hits
        ranks[q] = next((h.rank for h in hits if h.id == article_id), None)
    return LoopCheck(article_id, ranks)
