"""Gaps: the questions search could not answer, each grouping the escalations that asked it.

Every new escalation joins the open gap whose question is the same or close to it (see
:func:`kb.escalations.question_similarity`), else starts a new one, in the same transaction as
the escalation. Gaps are counted by topic, level and category only, never by person.
Resolving a gap closes every escalation in it that is still open, each as a recorded transition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kb import escalations as esc_core
from kb.models import Escalation, Gap, User
from kb.routing import Routing

# How close a question must be to a gap's to join it (the same scale as duplicate detection).
GAP_THRESHOLD = esc_core.SIMILAR_THRESHOLD
MAX_RESOLUTION = 4000


class GapError(ValueError):
    """A request that cannot be done, with a message for people; nothing was stored."""


def _question(esc: Escalation) -> str:
    return esc.query or esc.note


def find_open(session: Session, question: str) -> Gap | None:
    """The open gap asking the same question, else the closest one above the threshold."""
    key = esc_core.question_key(question)
    if not key:
        return None
    same = session.scalar(
        select(Gap).where(Gap.resolved_at.is_(None), Gap.normalized == key)
        .order_by(Gap.id).limit(1))
    if same is not None:
        return same
    best, best_score = None, GAP_THRESHOLD
    for gap in session.scalars(select(Gap).where(Gap.resolved_at.is_(None)).order_by(Gap.id)):
        score = esc_core.question_similarity(question, gap.question)
        if score >= best_score and (best is None or score > best_score):
            best, best_score = gap, score
    return best


def assign(session: Session, esc: Escalation, now: datetime) -> Gap:
    """Put the escalation into its gap (a new one when no open gap asks the same); the caller
    commits, together with the escalation."""
    question = _question(esc)
    gap = find_open(session, question)
    if gap is None:
        gap = Gap(question=question[:1024], normalized=esc_core.question_key(question)[:1024],
                  category=esc.category, created_at=now)
        session.add(gap)
        session.flush()
    elif gap.category is None and esc.category:
        gap.category = esc.category
    esc.gap_id = gap.id
    return gap


def assign_missing(session: Session, limit: int = 10000) -> int:
    """Put escalations recorded before gaps existed into their gaps, oldest first (an upgrade
    step, safe to run again); returns how many were assigned."""
    rows = session.scalars(select(Escalation).where(Escalation.gap_id.is_(None))
                           .order_by(Escalation.id).limit(limit)).all()
    for esc in rows:
        assign(session, esc, esc.created_at)
    return len(rows)


@dataclass(frozen=True)
class GapSummary:
    gap: Gap
    count: int  # escalations, all of them
    active: int  # still open, acknowledged or answered
    level: str  # the most urgent level among them
    categories: tuple[str, ...]
    last_at: datetime


def _summary(gap: Gap, rank: dict[str, int]) -> GapSummary:
    escs = gap.escalations
    levels = sorted({e.level for e in escs}, key=lambda lv: rank.get(lv, -1))
    categories = tuple(dict.fromkeys(e.category for e in escs if e.category))
    return GapSummary(
        gap=gap, count=len(escs),
        active=sum(1 for e in escs if e.status in esc_core.ACTIVE),
        level=levels[-1] if levels else "", categories=categories,
        last_at=max((e.created_at for e in escs), default=gap.created_at),
    )


def listing(session: Session, routing: Routing, resolved: bool = False,
            limit: int = 500) -> list[GapSummary]:
    """Open (or resolved) gaps, the most asked first, then the most urgent level."""
    rows = session.scalars(
        select(Gap).where(Gap.resolved_at.is_not(None) if resolved else Gap.resolved_at.is_(None))
        .options(selectinload(Gap.escalations)).order_by(Gap.id.desc()).limit(5000)
    ).all()
    rank = {lv.id: i for i, lv in enumerate(routing.levels)}
    summaries = [_summary(gap, rank) for gap in rows if gap.escalations]
    summaries.sort(key=lambda s: (-s.count, -rank.get(s.level, -1), -s.gap.id))
    return summaries[:limit]


def get(session: Session, routing: Routing, gap_id: int) -> GapSummary | None:
    if not 0 < gap_id <= esc_core.MAX_ID:
        return None
    gap = session.scalar(select(Gap).where(Gap.id == gap_id)
                         .options(selectinload(Gap.escalations)))
    if gap is None:
        return None
    return _summary(gap, {lv.id: i for i, lv in enumerate(routing.levels)})


def resolve(session: Session, gap: Gap, actor: User, outcome: str, resolution: str,
            now: datetime) -> list[int]:
    """Resolve the gap: close each of its escalations still open with ``outcome`` (a recorded
    transition by ``actor``); returns the ids closed. GapError when it cannot be done."""
    if gap.resolved_at is not None:
        raise GapError("このギャップは解決済みです。")
    if outcome not in esc_core.OUTCOMES:
        raise GapError("解決の理由を選んでください。")
    text = (resolution or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_RESOLUTION:
        raise GapError(f"メモは{MAX_RESOLUTION}文字以内にしてください（{len(text)}文字）。")
    closed = []
    for esc in gap.escalations:
        if esc.status in esc_core.ACTIVE:
            esc_core.transition(esc, actor, "close", now, outcome=outcome)
            closed.append(esc.id)
    gap.resolved_at = now
    gap.resolution = f"{esc_core.OUTCOMES[outcome]}" + (f": {text}" if text else "")
    return closed
