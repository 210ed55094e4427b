"""Shared knowledge for the operators' home page: what experts answered lately.

Only the question and the answer are shown, never who asked or who answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.escalations import ANSWERED, CLOSED
from kb.models import Escalation

SNIPPET_CHARS = 120
_MARKUP = re.compile(r"\]\([^)]*\)|!\[|[#*_`>|~\[\]]+")


@dataclass(frozen=True)
class Answered:
    id: str | int
    question: str
    snippet: str
    answered_at: datetime


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The answer's first words as plain text: Markdown marks and line breaks removed."""
    plain = " ".join(_MARKUP.sub(" ", text or "").split())
    return plain if len(plain) <= limit else plain[:limit - 1] + "…"


def recently_answered(session: Session, limit: int = 5) -> list[Answered]:
    """Escalations answered lately (answered or closed after an answer), newest first."""
    rows = session.scalars(
        select(Escalation).where(Escalation.status.in_((ANSWERED, CLOSED)),
                                 Escalation.answer.is_not(None),
                                 Escalation.answered_at.is_not(None))
        .order_by(Escalation.answered_at.desc(), Escalation.id.desc()).limit(limit))
    return [Answered(e.id, e.query or e.note, snippet(e.answer), e.answered_at) for e in rows]
