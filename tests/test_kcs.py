"""From an answered escalation to an article that search finds: the draft, added wording, and
the loop check against a real index."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from kb import accounts, escalations, routing
from kb.articles import parse
from kb.db import Database
from kb.escalations import NewEscalation
from kb.index import IndexStore
from kb.kcs import add_questions, check_loop, draft_from_escalation
from kb.search import SearchService
from kb.trail import SearchRecorder

NOW = datetime(2026, 11, 23, 1, 0)
SAMPLES = Path(__file__).parent.parent / "articles"
QUERY = "ドローンの電波干渉で光回線が切れる"


@pytest.fixture
def answered(tmp_path):
    """An escalation with a search trail, an attached call and an expert's answer."""
    db = Database(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    db.upgrade()
    rules = routing.load(routing.DEFAULT_FILE)
    with db.write() as session:
        operator = accounts.add_user(session, "op", "operator", "long enough password")
        other = accounts.add_user(session, "op2", "operator", "long enough password")
        expert = accounts.add_user(session, "sv", "expert", "long enough password")
    recorder = SearchRecorder(db)
    for q in ("ドロ", "ドローン 回線", "ドローン 光 切れる"):
        recorder.record(operator.id, q, q, 0, at=NOW)
    recorder.flush()
    from kb.trail import current_trail

    with db.write() as session:
        trail = current_trail(session, operator.id, NOW)
        esc = escalations.create(session, rules, session.get(type(operator), operator.id),
                                 NewEscalation(QUERY, "1", "インターネット回線", "屋外で発生"),
                                 NOW, trail_id=trail.id)
        escalations.attach(session, esc, session.get(type(other), other.id),
                           "ドローン飛ばすとネットが落ちる", "", NOW)
        escalations.transition(esc, session.get(type(expert), expert.id), "answer", NOW,
                               text="1. ルーターのチャンネルを変更する。\n2. 5GHz 帯に切り替える。")
        esc_id = esc.id
    with db.read() as session:
        yield escalations.get(session, esc_id), session


def test_the_draft_follows_the_kcs_template(answered):
    esc, _ = answered
    assert esc.trail.searches  # loaded while the session is open
    text = draft_from_escalation(esc, "hikari-drone-interference", owner="ナレッジ担当")
    article = parse(text, "x.md")
    assert article.status == "draft" and article.category == "インターネット回線"
    assert article.title == QUERY
    # The trail without its type-ahead prefix ("ドロ"), the escalated query, the attached call.
    assert article.questions == [
        "ドローン 回線", "ドローン 光 切れる", QUERY, "ドローン飛ばすとネットが落ちる"]
    assert article.escalations == [str(esc.id)]
    assert "屋外で発生" in article.sections["問題"]
    assert "5GHz 帯に切り替える" in article.resolution


def test_wording_is_added_without_touching_the_body(answered):
    esc, _ = answered
    original = (SAMPLES / "hikari-slow-speed.md").read_text(encoding="utf-8")
    updated = add_questions(original, ["ドローン飛ばすとネットが落ちる"], esc.id)
    before, after = parse(original, "a.md"), parse(updated, "a.md")
    assert after.questions == before.questions + ["ドローン飛ばすとネットが落ちる"]
    assert after.escalations[-1] == str(esc.id)
    assert after.body == before.body and after.title == before.title
    assert add_questions(updated, ["ドローン飛ばすとネットが落ちる"], esc.id) == updated


def test_the_loop_check_finds_the_published_article_first(answered, tmp_path):
    esc, _ = answered
    articles = tmp_path / "articles"
    shutil.copytree(SAMPLES, articles)
    store = IndexStore(tmp_path / "index")
    store.update(articles)
    service = SearchService(store)
    questions = [QUERY, "ドローン飛ばすとネットが落ちる"]
    before = check_loop(service, "hikari-drone-interference", questions)
    assert before.best is None and not before.closed

    text = draft_from_escalation(esc, "hikari-drone-interference")
    (articles / "hikari-drone-interference.md").write_text(
        text.replace("status: draft", "status: published"), encoding="utf-8")
    store.update(articles)
    service.refresh()  # this process changed the index: look now, not at the next 0.1 s tick
    after = check_loop(service, "hikari-drone-interference", questions)
    assert after.ranks == {QUERY: 1, "ドローン飛ばすとネットが落ちる": 1}
    assert after.closed
    service.close()
