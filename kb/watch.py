"""Article files edited by hand, outside the app: noticed by their modification times, then
indexed (the incremental update) and recorded in the history as a version by nobody."""

from __future__ import annotations

import logging
from pathlib import Path

from kb.article_store import ArticleStore
from kb.articles import ID_PATTERN, article_files
from kb.db import Database
from kb.index import IndexStore

log = logging.getLogger(__name__)


class ArticleWatcher:
    """``check()`` compares the files' mtimes and sizes with the last look; when anything
    changed, the index is brought in line and hand edits are recorded."""

    def __init__(self, articles: Path, index: IndexStore, db: Database | None = None):
        self.articles = Path(articles)
        self.index = index
        self.db = db
        self._seen: dict[Path, tuple[int, int]] | None = None

    def _snapshot(self) -> dict[Path, tuple[int, int]]:
        out = {}
        for path in article_files(self.articles):
            try:
                st = path.stat()
            except OSError:
                continue
            out[path] = (st.st_mtime_ns, st.st_size)
        return out

    def check(self) -> bool:
        """True when something changed (and the index was updated)."""
        now = self._snapshot()
        before, self._seen = self._seen, now
        if before == now:
            return False
        report = self.index.update(self.articles)
        if report.added or report.changed or report.deleted:
            log.info("article files changed: %d added, %d changed, %d removed",
                     report.added, report.changed, report.deleted)
        if self.db is not None and before is not None:
            store = ArticleStore(self.articles, self.db)
            for path in now:
                if before.get(path) != now[path] and ID_PATTERN.match(path.stem):
                    try:
                        store.read(path.stem)  # keeps a hand edit as a version by nobody
                    except Exception:  # a broken file is reported by the index update
                        log.warning("could not record %s", path, exc_info=True)
        return True
