"""The knowledge base behind the web app: one SearchService per process, made on first use."""

from __future__ import annotations

import threading

from flask import current_app

from kb.config import Paths, default_paths
from kb.index import IndexStore
from kb.search import SearchService

EXTENSION = "kb_search"
_lock = threading.Lock()


def paths() -> Paths:
    """Where this app's instance directory and article files are."""
    return default_paths(current_app.config["KB_INSTANCE"], current_app.config["KB_ARTICLES"])


def get_search() -> SearchService:
    """The app's SearchService; the first call builds the index if there is none yet."""
    service = current_app.extensions.get(EXTENSION)
    if service is not None:
        return service
    with _lock:
        service = current_app.extensions.get(EXTENSION)
        if service is None:
            where = paths()
            store = IndexStore(where.index)
            if not store.exists():
                report = store.update(where.articles)
                current_app.logger.info(
                    "built the index in %s: %d articles, %d problems",
                    where.index, report.added, len(report.problems),
                )
            service = SearchService(store)
            current_app.extensions[EXTENSION] = service
    return service
