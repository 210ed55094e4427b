"""The background work of a server process: the deadline sweep and sending notifications.

Several processes may run it at once against one database: the sweep changes rows only from
the state it read, and each delivery is claimed before it is sent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from kb import escalations, notify
from kb.clock import utcnow
from kb.db import Database
from kb.routing import Routing

log = logging.getLogger(__name__)
INTERVAL = 5.0


def run_once(db: Database, routing: Routing, now: datetime) -> None:
    """One pass: the sweep, then the outbox (sent even when the sweep failed)."""
    try:
        with db.write() as session:
            escalations.sweep(session, routing, now)
    finally:
        notify.send_pending(db, routing, now)


class Background:
    """Runs ``run_once`` every ``interval`` seconds on a daemon thread; ``wake`` runs it now."""

    def __init__(self, db: Database, routing: Callable[[], Routing],
                 interval: float = INTERVAL, clock: Callable[[], datetime] = utcnow,
                 tasks: tuple[Callable[[], object], ...] = ()):
        self.db = db
        self.tasks = tasks  # more work for each pass (e.g. picking up hand-edited articles)
        self.routing = routing
        self.interval = interval
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kb-background", daemon=True)

    def start(self) -> Background:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                run_once(self.db, self.routing(), self.clock())
            except Exception:  # keep sweeping; the next pass retries
                log.exception("background pass failed")
            for task in self.tasks:
                try:
                    task()
                except Exception:
                    log.exception("background task %r failed", task)
            self._wake.wait(self.interval)
            self._wake.clear()
