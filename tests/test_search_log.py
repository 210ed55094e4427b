"""The search log: on by default, ``KB_SEARCH_LOG`` off records nothing; the recorder makes the
same trails whether searches are written one by one or in batches."""

from __future__ import annotations

import shutil
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from kb import accounts
from kb.db import Database
from kb.models import SearchLog, Trail
from kb.trail import SearchRecorder
from webapp import create_app

from .conftest import login


def searched_and_opened(app) -> int:
    """An operator searches twice and opens an article; how many searches were logged."""
    client = login(app.test_client(), "operator")
    assert client.get("/api/search", query_string={"q": "パスワード 忘れた"}).status_code == 200
    assert client.get("/", query_string={"q": "解約 違約金"}).status_code == 200
    assert client.get("/articles/account-password-reset").status_code == 200
    app.extensions["kb_recorder"].flush()
    with app.extensions["kb_db"].read() as session:
        return session.scalar(select(func.count()).select_from(SearchLog))


def test_searches_are_logged_by_default(app):
    assert app.config["KB_SEARCH_LOG"] is True
    assert searched_and_opened(app) == 2


@pytest.mark.parametrize("source", ["config", "environment"])
def test_search_log_off_records_nothing(tmp_path, built_instance, articles_dir, monkeypatch,
                                        source):
    instance = tmp_path / "instance"
    shutil.copytree(built_instance, instance, symlinks=True)
    config = {"TESTING": True, "KB_INSTANCE": str(instance), "KB_ARTICLES": str(articles_dir),
              "KB_BACKGROUND": False}
    if source == "config":
        config["KB_SEARCH_LOG"] = False
    else:
        monkeypatch.setenv("KB_SEARCH_LOG", "0")
    app = create_app(config)
    assert searched_and_opened(app) == 0


# ---- the recorder: trails as the operator made them, however the searches were batched ----

@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    database.upgrade()
    with database.write() as session:
        for name in ("op", "op2"):
            accounts.add_user(session, name, "operator", "correct horse battery")
    yield database
    database.dispose()


def trails(db) -> list[list[tuple]]:
    """Every trail (user, queries with the article opened after them), in order."""
    with db.read() as session:
        return [[(t.user_id, s.query, s.opened_article) for s in t.searches]
                for t in session.scalars(select(Trail).order_by(Trail.id))]


def record_a_shift(recorder: SearchRecorder, flush_between: bool) -> None:
    start = datetime(2026, 11, 2, 9, 0)
    steps = [
        ("search", 1, "パスワ", 0), ("search", 1, "パスワード 忘れた", 1),
        ("search", 2, "解約", 2), ("open", 1, "account-password-reset", 3),
        ("open", 1, "account-cannot-login", 4),  # only the first opening is noted
        ("search", 1, "二段階認証", 5),
        ("search", 1, "機種変更", 5 + 11),  # after a pause of more than 10 minutes
        ("open", 2, "billing-data-charge", 40),  # long after op2's search: no trail
    ]
    for kind, user, text, minute in steps:
        at = start + timedelta(minutes=minute)
        if kind == "search":
            recorder.record(user, text, text, 3, at=at)
        else:
            recorder.opened(user, text, at=at)
        if flush_between:
            recorder.flush()
    recorder.flush()


@pytest.mark.parametrize("linger, flush_between", [(0, True), (60, False), (60, True)])
def test_recorded_searches_form_the_same_trails_batched_or_not(db, linger, flush_between):
    record_a_shift(SearchRecorder(db, linger=linger), flush_between)
    assert trails(db) == [
        [(1, "パスワ", None), (1, "パスワード 忘れた", "account-password-reset"),
         (1, "二段階認証", None)],
        [(2, "解約", None)],
        [(1, "機種変更", None)],
    ]


def test_flush_does_not_wait_for_the_batch_to_fill(db):
    recorder = SearchRecorder(db, linger=3600)
    recorder.record(1, "請求書", "請求書", 2)
    flushing = threading.Thread(target=recorder.flush, daemon=True)
    flushing.start()
    flushing.join(timeout=60)
    assert not flushing.is_alive()
    assert trails(db) == [[(1, "請求書", None)]]


def test_close_writes_what_is_queued(db):
    recorder = SearchRecorder(db, linger=3600)
    recorder.record(2, "住所変更", "住所変更", 1)
    recorder.close(timeout=60)
    assert trails(db) == [[(2, "住所変更", None)]]


def test_flush_is_not_held_up_by_searches_made_after_it(db):
    """An operator opening the escalation form waits for their own searches, not for the
    searches other operators keep making."""
    recorder = SearchRecorder(db, linger=3600)
    stop = threading.Event()

    def others_searching():
        while not stop.is_set():
            recorder.record(2, "料金プラン", "料金プラン", 5)
            stop.wait(0.001)

    others = threading.Thread(target=others_searching, daemon=True)
    others.start()
    try:
        recorder.record(1, "請求書 再発行", "請求書 再発行", 2)
        flushing = threading.Thread(target=recorder.flush, daemon=True)
        flushing.start()
        flushing.join(timeout=30)
        assert not flushing.is_alive()
    finally:
        stop.set()
        others.join()
    assert [(1, "請求書 再発行", None)] in trails(db)
