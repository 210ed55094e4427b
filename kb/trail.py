"""The search trail: every search an operator makes, grouped into the trail of one call.

A trail runs from the first search after a pause (or a "新しい通話" click) until an escalation
or a "解決" click. Searches are written by a background thread in batches, so logging never
adds a database commit to the operator's search request. ``flush`` waits for the queue to
drain, for pages that show the trail (the escalation form). Searches still queued when the
process is killed (at most ``LINGER`` seconds' worth) are lost; a normal exit writes them.
Escalations are never written this way.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from kb.clock import utcnow
from kb.db import Database
from kb.models import SearchLog, Trail

log = logging.getLogger(__name__)
PAUSE = timedelta(minutes=10)
BATCH = 500
LINGER = 0.25  # seconds searches gather before they are written together
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


def latest_open_trail(session: Session, user_id: int) -> Trail | None:
    return session.scalar(
        select(Trail).where(Trail.user_id == user_id, Trail.outcome == OPEN)
        .order_by(Trail.id.desc()).limit(1)
    )


def current_trail(session: Session, user_id: int, now: datetime,
                  pause: timedelta = PAUSE) -> Trail | None:
    """The operator's open trail, unless the last search in it was longer ago than ``pause``."""
    trail = latest_open_trail(session, user_id)
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
    are immediate repeats and blank queries (a cleared search box)."""
    queries = [query for query in queries if query.strip()]
    shown: list[str] = []
    for i, query in enumerate(queries):
        following = queries[i + 1] if i + 1 < len(queries) else None
        if following is not None and following.startswith(query):
            continue
        if shown and shown[-1] == query:
            continue
        shown.append(query)
    return shown


class SearchRecorder:
    """Writes search log entries from a queue on one background thread; when not ``enabled``
    (``KB_SEARCH_LOG=0``) it records nothing.

    The thread lets searches gather for ``linger`` seconds and writes them in one transaction
    with one statement: a search costs the worker a queue put, not a commit of its own, so
    logging takes next to no time from the searches running beside it (measured in
    bench/escalation_overhead.py). ``flush`` cuts the wait short. Another worker process's
    searches reach the database within ``linger``.
    """

    def __init__(self, db: Database, pause: timedelta = PAUSE, enabled: bool = True,
                 linger: float = LINGER):
        self.db = db
        self.pause = pause
        self.enabled = enabled
        self.linger = linger
        self._queue: queue.Queue = queue.Queue(maxsize=100_000)
        # Items put and items written so far, and how far a waiting flush wants them written.
        self._progress = threading.Condition()
        self._put_count = self._written_count = self._wanted = 0
        self._thread = threading.Thread(target=self._run, name="kb-search-log", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def record(self, user_id: int, query: str, normalized: str, hits: int,
               at: datetime | None = None) -> None:
        self._put(_Search(user_id, at or utcnow(), query[:1024], normalized[:1024], hits))

    def opened(self, user_id: int, article_id: str, at: datetime | None = None) -> None:
        self._put(_Opened(user_id, at or utcnow(), article_id[:200]))

    def _put(self, item) -> None:
        if not self.enabled:
            return
        with self._progress:
            try:
                self._queue.put_nowait(item)
            except queue.Full:  # the database is stuck; searching must go on regardless
                return
            self._put_count += 1

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything recorded before this call is in the database (searches
        recorded meanwhile are not waited for); False if ``timeout`` ran out first."""
        with self._progress:
            target = self._put_count
            self._wanted = max(self._wanted, target)
            self._progress.notify_all()
            return self._progress.wait_for(lambda: self._written_count >= target, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, waiting at most ``timeout`` seconds (at process exit)."""
        self.flush(timeout)

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            with self._progress:  # linger, unless a flush is waiting
                self._progress.wait_for(lambda: self._wanted > self._written_count, self.linger)
            while len(items) < BATCH:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with self.db.write() as session:
                    self._write(session, items)
            except Exception:  # the log must never take the thread down
                log.exception("search log batch of %d lost", len(items))
            finally:
                with self._progress:
                    self._written_count += len(items)
                    self._progress.notify_all()

    def _write(self, session: Session, items: list) -> None:
        """One batch: each user's open trail read once, the new searches inserted at once."""
        trails: dict[int, Trail | None] = {}
        new_rows: dict[int, list[dict]] = {}  # trail id -> its searches in this batch, in order
        for item in items:
            if item.user_id not in trails:
                trails[item.user_id] = latest_open_trail(session, item.user_id)
            trail = trails[item.user_id]
            if trail is not None and trail.last_activity_at < item.at - self.pause:
                trail = None
            if isinstance(item, _Opened):
                if trail is not None:
                    _mark_opened(session, trail, new_rows.get(trail.id), item.article_id)
                    trail.last_activity_at = item.at
                continue
            if trail is None:
                # A trail left open by a pause was abandoned: it must not take the outcome of
                # the next call (an escalation or "解決" ends the operator's open trails).
                end_trail(session, item.user_id, ENDED)
                trail = Trail(user_id=item.user_id, started_at=item.at, last_activity_at=item.at)
                session.add(trail)
                session.flush()
                trails[item.user_id] = trail
            trail.last_activity_at = item.at
            new_rows.setdefault(trail.id, []).append({
                "trail_id": trail.id, "at": item.at, "query": item.query,
                "normalized": item.normalized, "hits": item.hits, "opened_article": None,
            })
        rows = [row for batch in new_rows.values() for row in batch]
        if rows:
            session.execute(insert(SearchLog), rows)


def _mark_opened(session: Session, trail: Trail, pending: list[dict] | None,
                 article_id: str) -> None:
    """The article opened after the trail's last search is noted on that search."""
    if pending:
        if pending[-1]["opened_article"] is None:
            pending[-1]["opened_article"] = article_id
        return
    last = session.scalar(
        select(SearchLog).where(SearchLog.trail_id == trail.id)
        .order_by(SearchLog.id.desc()).limit(1)
    )
    if last is not None and last.opened_article is None:
        last.opened_article = article_id
