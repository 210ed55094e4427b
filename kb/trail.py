"""The search trail: every search an operator makes, grouped into the trail of one call.

A trail runs from the first search after a pause (or a "新しい通話" click) until an escalation
or a "解決" click. Searches are written by a background thread in small batches, so logging
never adds a database commit to the operator's search request. ``flush`` waits for the queue
to drain, for pages that show the trail (the escalation form). A search still queued when the
process is killed is lost; escalations are never written this way.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kb.clock import utcnow
from kb.db import Database
from kb.models import SearchLog, Trail

log = logging.getLogger(__name__)
PAUSE = timedelta(minutes=10)
BATCH = 500
OPEN, ESCALATED, RESOLVED, ENDED = "open", "escalated", "resolved", "ended"


@dataclass(frozen=True)
class _Search:
    user_id: int
    at: datetime
    query: str
    normalized: str
    hits: int


@dataclass(frozen=True)
class _Opened:
    user_id: int
    at: datetime
    article_id: str


def current_trail(session: Session, user_id: int, now: datetime,
                  pause: timedelta = PAUSE) -> Trail | None:
    """The operator's open trail, unless the last search in it was longer ago than ``pause``."""
    trail = session.scalar(
        select(Trail).where(Trail.user_id == user_id, Trail.outcome == OPEN)
        .order_by(Trail.id.desc()).limit(1)
    )
    if trail is None or trail.last_activity_at < now - pause:
        return None
    return trail


def end_trail(session: Session, user_id: int, outcome: str) -> int | None:
    """Close the operator's open trails with ``outcome``; returns the latest one's id."""
    latest = session.scalar(
        select(Trail.id).where(Trail.user_id == user_id, Trail.outcome == OPEN)
        .order_by(Trail.id.desc()).limit(1)
    )
    session.execute(
        update(Trail).where(Trail.user_id == user_id, Trail.outcome == OPEN)
        .values(outcome=outcome)
    )
    return latest


def collapse(queries: list[str]) -> list[str]:
    """The queries worth showing: type-ahead prefixes of the next query are dropped, and so
    are immediate repeats."""
    shown: list[str] = []
    for i, query in enumerate(queries):
        following = queries[i + 1] if i + 1 < len(queries) else None
        if not query.strip():
            continue
        if following is not None and following.startswith(query):
            continue
        if shown and shown[-1] == query:
            continue
        shown.append(query)
    return shown


class SearchRecorder:
    """Writes search log entries from a queue on one background thread; when not ``enabled``
    (``KB_SEARCH_LOG=0``) it records nothing."""

    def __init__(self, db: Database, pause: timedelta = PAUSE, enabled: bool = True):
        self.db = db
        self.pause = pause
        self.enabled = enabled
        self._queue: queue.Queue = queue.Queue(maxsize=100_000)
        self._thread = threading.Thread(target=self._run, name="kb-search-log", daemon=True)
        self._thread.start()

    def record(self, user_id: int, query: str, normalized: str, hits: int,
               at: datetime | None = None) -> None:
        self._put(_Search(user_id, at or utcnow(), query[:1024], normalized[:1024], hits))

    def opened(self, user_id: int, article_id: str, at: datetime | None = None) -> None:
        self._put(_Opened(user_id, at or utcnow(), article_id[:200]))

    def _put(self, item) -> None:
        if not self.enabled:
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:  # the database is stuck; searching must go on regardless
            pass

    def flush(self) -> None:
        """Wait until everything recorded so far is in the database."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            while len(items) < BATCH:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with self.db.write() as session:
                    for item in items:
                        self._write(session, item)
            except Exception:  # the log must never take the thread down
                log.exception("search log batch of %d lost", len(items))
            finally:
                for _ in items:
                    self._queue.task_done()

    def _write(self, session: Session, item) -> None:
        trail = current_trail(session, item.user_id, item.at, self.pause)
        if isinstance(item, _Opened):
            if trail is None:
                return
            last = session.scalar(
                select(SearchLog).where(SearchLog.trail_id == trail.id)
                .order_by(SearchLog.id.desc()).limit(1)
            )
            if last is not None and last.opened_article is None:
                last.opened_article = item.article_id
            trail.last_activity_at = item.at
            return
        if trail is None:
            trail = Trail(user_id=item.user_id, started_at=item.at, last_activity_at=item.at)
            session.add(trail)
            session.flush()
        trail.last_activity_at = item.at
        session.add(SearchLog(trail_id=trail.id, at=item.at, query=item.query,
                              normalized=item.normalized, hits=item.hits))
        session.flush()
