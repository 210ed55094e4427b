"""Operators' feedback on articles (役に立った / 役に立たなかった), and the articles it flags.

An article is flagged to its owner when at least NOT_HELPFUL_FLAG different people marked it
not helpful within FLAG_WINDOW_DAYS, counting only votes since the article was last updated:
improving the article clears its flag.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import Feedback, User

NOT_HELPFUL_FLAG = 3
FLAG_WINDOW_DAYS = 30
MAX_REASON = 1000


class FeedbackError(ValueError):
    """Feedback that cannot be stored, with a message for people; nothing was stored."""


def record(session: Session, article_id: str, user: User, helpful: bool, reason: str | None,
           now: dt.datetime) -> Feedback:
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", (reason or "").replace("\r\n", "\n"))
    text = text.strip()
    if len(text) > MAX_REASON:
        raise FeedbackError(f"理由は{MAX_REASON}文字以内にしてください（{len(text)}文字）。")
    row = Feedback(article_id=article_id, user_id=user.id, helpful=helpful, reason=text, at=now)
    session.add(row)
    return row


@dataclass
class Summary:
    helpful: int = 0  # different people, in the window, since the last update
    not_helpful: int = 0  # likewise
    reasons: list[tuple[dt.datetime, str]] = field(default_factory=list)  # newest first

    @property
    def flagged(self) -> bool:
        return self.not_helpful >= NOT_HELPFUL_FLAG


def _since(now: dt.datetime, updated: dt.date | None) -> dt.datetime:
    start = now - dt.timedelta(days=FLAG_WINDOW_DAYS)
    if updated is not None:
        start = max(start, dt.datetime.combine(updated, dt.time()))
    return start


def summaries(session: Session, now: dt.datetime,
              updated: dict[str, dt.date | None] | None = None,
              article_ids: list[str] | None = None) -> dict[str, Summary]:
    """Each article's feedback in the window (since its ``updated`` date when given)."""
    query = select(Feedback).where(
        Feedback.at >= now - dt.timedelta(days=FLAG_WINDOW_DAYS)).order_by(Feedback.at.desc())
    if article_ids is not None:
        query = query.where(Feedback.article_id.in_(article_ids))
    out: dict[str, Summary] = {}
    voters: dict[tuple[str, bool], set[int]] = {}
    for row in session.scalars(query):
        if row.at < _since(now, (updated or {}).get(row.article_id)):
            continue
        summary = out.setdefault(row.article_id, Summary())
        seen = voters.setdefault((row.article_id, row.helpful), set())
        if row.user_id not in seen:
            seen.add(row.user_id)
            if row.helpful:
                summary.helpful += 1
            else:
                summary.not_helpful += 1
        if not row.helpful and row.reason:
            summary.reasons.append((row.at, row.reason))
    return out


def summary(session: Session, article_id: str, now: dt.datetime,
            updated: dt.date | None = None) -> Summary:
    return summaries(session, now, {article_id: updated}, [article_id]).get(
        article_id, Summary())


def flagged(session: Session, now: dt.datetime,
            updated: dict[str, dt.date | None]) -> dict[str, Summary]:
    """The flagged articles among ``updated`` (article id → its updated date)."""
    return {article_id: s for article_id, s in summaries(session, now, updated).items()
            if s.flagged and article_id in updated}
