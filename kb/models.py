"""The database tables: people, the search trail, escalations and their history.

Times are naive UTC datetimes everywhere (SQLite has no time zones); the web layer converts
them for display.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("operator", "expert", "editor", "admin")


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token for integrations; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class Trail(Base):
    """The searches of one call, from its first search to an escalation or "解決"."""

    __tablename__ = "trails"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    # open | escalated | resolved | ended (a "新しい通話" click without either)
    outcome: Mapped[str] = mapped_column(String(16), default="open")

    searches: Mapped[list[SearchLog]] = relationship(
        back_populates="trail", order_by="SearchLog.id"
    )

    __table_args__ = (Index("ix_trails_user_outcome", "user_id", "outcome"),)


class SearchLog(Base):
    __tablename__ = "search_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    trail_id: Mapped[int] = mapped_column(ForeignKey("trails.id"), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    query: Mapped[str] = mapped_column(String(1024))
    normalized: Mapped[str] = mapped_column(String(1024), index=True)
    hits: Mapped[int]
    opened_article: Mapped[str | None] = mapped_column(String(200))

    trail: Mapped[Trail] = relationship(back_populates="searches")


class Escalation(Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    trail_id: Mapped[int | None] = mapped_column(ForeignKey("trails.id"))
    query: Mapped[str] = mapped_column(String(1024))
    normalized: Mapped[str] = mapped_column(String(1024), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(100))
    # open | acknowledged | answered | closed
    status: Mapped[str] = mapped_column(String(16), index=True)
    contact: Mapped[str | None] = mapped_column(String(64))
    routed_to_backup: Mapped[bool] = mapped_column(default=False)
    acknowledge_by: Mapped[datetime]
    answer_by: Mapped[datetime]
    overdue: Mapped[bool] = mapped_column(default=False)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    interim: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(index=True)
    # What the knowledge editors did with it: new_article | existing_article | no_article
    knowledge_action: Mapped[str | None] = mapped_column(String(32))
    knowledge_article: Mapped[str | None] = mapped_column(String(64))
    knowledge_reason: Mapped[str | None] = mapped_column(Text)
    # The loop check: the article's best-worst rank over the escalated questions (None: not
    # in the top 10) and the rank of each question, as JSON.
    loop_rank: Mapped[int | None]
    loop_detail: Mapped[str | None] = mapped_column(Text)
    loop_checked_at: Mapped[datetime | None]
    gap_id: Mapped[int | None] = mapped_column(ForeignKey("gaps.id"), index=True)

    operator: Mapped[User] = relationship(foreign_keys=[operator_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    gap: Mapped[Gap | None] = relationship(back_populates="escalations")
    trail: Mapped[Trail | None] = relationship()
    calls: Mapped[list[EscalationCall]] = relationship(
        back_populates="escalation", order_by="EscalationCall.id"
    )
    events: Mapped[list[EscalationEvent]] = relationship(
        back_populates="escalation", order_by="EscalationEvent.id"
    )


class EscalationCall(Base):
    """Another call attached to an open escalation ("この件に追加") instead of a duplicate."""

    __tablename__ = "escalation_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    trail_id: Mapped[int | None] = mapped_column(ForeignKey("trails.id"))
    query: Mapped[str] = mapped_column(String(1024))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]

    escalation: Mapped[Escalation] = relationship(back_populates="calls")
    operator: Mapped[User] = relationship()


class EscalationEvent(Base):
    """One transition or routing step: who (none for the system), when, from → to."""

    __tablename__ = "escalation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")

    escalation: Mapped[Escalation] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Delivery(Base):
    """A notification to a contact, kept until it was sent (an outbox)."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    contact: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    # pending | sending | sent | failed | shown (a phone route is shown to the operator)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class ArticleVersion(Base):
    """One saved version of an article file: who (none for a hand edit), when, the text."""

    __tablename__ = "article_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[str] = mapped_column(String(64), index=True)
    revision: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]
    message: Mapped[str] = mapped_column(String(500), default="")

    author: Mapped[User | None] = relationship()


class Gap(Base):
    """A question search could not answer, grouping its escalations (same or close question).
    Counted by topic, never by person."""

    __tablename__ = "gaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(String(1024))
    normalized: Mapped[str] = mapped_column(String(1024), index=True)
    category: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)

    escalations: Mapped[list[Escalation]] = relationship(back_populates="gap")


class Feedback(Base):
    """An operator's 役に立った / 役に立たなかった on an article."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    helpful: Mapped[bool]
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class Notice(Base):
    """Something a person should see (e.g. "an article now answers your escalation")."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    article_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(index=True)
    read_at: Mapped[datetime | None]
