"""The app's long-lived parts, one per process, made on first use: the search service, the
database, the routing rules, the search recorder and the background sweeper."""

from __future__ import annotations

import threading

from flask import Flask, current_app

from kb import gaps, routing
from kb.background import Background
from kb.config import Paths, default_paths, ensure_articles
from kb.db import Database
from kb.index import IndexStore
from kb.search import SearchService
from kb.trail import SearchRecorder
from kb.watch import ArticleWatcher

_lock = threading.Lock()


def paths() -> Paths:
    """Where this app's instance directory and article files are."""
    return default_paths(current_app.config["KB_INSTANCE"], current_app.config["KB_ARTICLES"])


def get_search() -> SearchService:
    """The app's SearchService; the first call builds the index if there is none yet."""
    service = current_app.extensions.get("kb_search")
    if service is not None:
        return service
    with _lock:
        service = current_app.extensions.get("kb_search")
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
            current_app.extensions["kb_search"] = service
    return service


def get_db() -> Database:
    return current_app.extensions["kb_db"]


def get_routing() -> routing.Routing:
    return current_app.extensions["kb_routing"]


def get_recorder() -> SearchRecorder:
    return current_app.extensions["kb_recorder"]


def get_background() -> Background | None:
    return current_app.extensions.get("kb_background")


def init_app(app: Flask) -> None:
    """Open the database (migrated to the latest schema), load the routing rules (errors name
    the key), start the search recorder and, unless disabled, the background sweeper."""
    ensure_articles(default_paths(app.config["KB_INSTANCE"], app.config["KB_ARTICLES"]))
    db = Database(app.config["KB_DATABASE_URL"])
    if app.config["KB_MIGRATE"]:
        db.upgrade()
        with db.write() as session:  # escalations from before gaps existed join theirs
            gaps.assign_missing(session)
    rules = routing.load(app.config["KB_ROUTING"])
    app.extensions["kb_db"] = db
    app.extensions["kb_routing"] = rules
    app.extensions["kb_recorder"] = SearchRecorder(db, enabled=app.config["KB_SEARCH_LOG"])
    if app.config["KB_BACKGROUND"]:
        where = default_paths(app.config["KB_INSTANCE"], app.config["KB_ARTICLES"])
        watcher = ArticleWatcher(where.articles, IndexStore(where.index), db)
        app.extensions["kb_background"] = Background(
            db, lambda: rules, interval=app.config["KB_BACKGROUND_INTERVAL"],
            tasks=(watcher.check,),
        ).start()
