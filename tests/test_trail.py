"""The search trail: the searches of one call, written by the background recorder."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kb.models import SearchLog, Trail
from kb.trail import ENDED, ESCALATED, PAUSE, RESOLVED, SearchRecorder, collapse, end_trail
from tests.helpers import jst

T0 = jst(2026, 11, 23, 10, 0)
MIN = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


@pytest.fixture
def recorder(db):
    return SearchRecorder(db)


def search(recorder, user, query, at, hits=3) -> None:
    recorder.record(user.id, query, query.lower(), hits, at=at)


def trails(db, user) -> list[tuple[str, list[str]]]:
    """Each trail of ``user`` as (outcome, its queries), oldest first."""
    with db.read() as session:
        rows = session.scalars(select(Trail).where(Trail.user_id == user.id).order_by(Trail.id))
        return [(t.outcome, [s.query for s in t.searches]) for t in rows]


def end(db, user, outcome) -> int | None:
    with db.write() as session:
        return end_trail(session, user.id, outcome)


def test_searches_within_the_pause_form_one_trail(db, recorder, people):
    search(recorder, people.op, "パスワード", T0, hits=5)
    search(recorder, people.op, "パスワード 忘れた", T0 + 4 * MIN, hits=0)
    search(recorder, people.op, "ログイン できない", T0 + 4 * MIN + PAUSE)  # exactly the pause
    recorder.flush()
    assert trails(db, people.op) == [
        ("open", ["パスワード", "パスワード 忘れた", "ログイン できない"])]
    with db.read() as session:
        trail = session.scalars(select(Trail)).one()
        assert (trail.started_at, trail.last_activity_at) == (T0, T0 + 4 * MIN + PAUSE)
        logged = [(s.at, s.query, s.normalized, s.hits, s.opened_article) for s in trail.searches]
    assert logged[1] == (T0 + 4 * MIN, "パスワード 忘れた", "パスワード 忘れた", 0, None)


def test_a_longer_pause_starts_a_new_trail_and_ends_the_abandoned_one(db, recorder, people):
    search(recorder, people.op, "解約", T0)
    search(recorder, people.op, "パスワード", T0 + PAUSE + SECOND)
    recorder.flush()
    assert trails(db, people.op) == [(ENDED, ["解約"]), ("open", ["パスワード"])]
    # Escalating now concerns the current call only, not the one abandoned before the pause.
    end(db, people.op, ESCALATED)
    assert trails(db, people.op) == [(ENDED, ["解約"]), (ESCALATED, ["パスワード"])]


def test_each_operator_has_their_own_trail(db, recorder, people):
    search(recorder, people.op, "解約", T0)
    search(recorder, people.op2, "請求書", T0 + SECOND)
    search(recorder, people.op, "解約 違約金", T0 + 2 * SECOND)
    recorder.flush()
    assert trails(db, people.op) == [("open", ["解約", "解約 違約金"])]
    assert trails(db, people.op2) == [("open", ["請求書"])]


@pytest.mark.parametrize("outcome", [ESCALATED, RESOLVED, ENDED])
def test_ending_a_trail_makes_the_next_search_start_a_new_one(db, recorder, people, outcome):
    search(recorder, people.op, "解約", T0)
    recorder.flush()
    assert trails(db, people.op) == [("open", ["解約"])]
    with db.read() as session:
        first_id = session.scalar(select(Trail.id))
    assert end(db, people.op, outcome) == first_id
    search(recorder, people.op, "機種変更", T0 + MIN)  # the next call, right after
    recorder.flush()
    assert trails(db, people.op) == [(outcome, ["解約"]), ("open", ["機種変更"])]
    assert end(db, people.op2, outcome) is None  # someone without a trail: nothing to end


def test_opening_an_article_marks_the_last_search(db, recorder, people):
    search(recorder, people.op, "パスワード", T0)
    search(recorder, people.op, "パスワード 再設定", T0 + MIN)
    recorder.opened(people.op.id, "password-reset", at=T0 + 2 * MIN)
    recorder.flush()
    with db.read() as session:
        trail = session.scalars(select(Trail)).one()
        assert [(s.query, s.opened_article) for s in trail.searches] == [
            ("パスワード", None), ("パスワード 再設定", "password-reset")]
        assert trail.last_activity_at == T0 + 2 * MIN  # reading counts as activity


def test_an_article_opened_after_the_pause_marks_nothing(db, recorder, people):
    search(recorder, people.op, "パスワード", T0)
    recorder.opened(people.op.id, "password-reset", at=T0 + PAUSE + MIN)
    recorder.flush()
    with db.read() as session:
        assert session.scalars(select(SearchLog.opened_article)).all() == [None]


def test_flush_makes_every_recorded_search_visible(db, recorder, people):
    for i in range(1200):  # more than one batch
        search(recorder, people.op, f"質問{i}", T0 + i * SECOND)
    recorder.flush()
    with db.read() as session:
        queries = session.scalars(select(SearchLog.query).order_by(SearchLog.id)).all()
    assert queries == [f"質問{i}" for i in range(1200)]
    assert len(trails(db, people.op)) == 1


@pytest.mark.parametrize(("typed", "shown"), [
    (["パ", "パス", "パスワ", "パスワード", "パスワード 忘れ", "パスワード 忘れた"],
     ["パスワード 忘れた"]),
    (["解約", "解約", "解約 違約金"], ["解約 違約金"]),
    (["解約 違約金", "解約 違約金", "機種変更"], ["解約 違約金", "機種変更"]),
    (["パスワード 忘れた", "パスワード"], ["パスワード 忘れた", "パスワード"]),  # went back
    (["請求", "", "  ", "請求書 再発行"], ["請求書 再発行"]),  # cleared the box, typed on
    (["", "解約", " "], ["解約"]),
    ([], []),
])
def test_collapse_drops_type_ahead_prefixes_and_repeats(typed, shown):
    assert collapse(typed) == shown
