"""Article feedback: stored as given, and repeated 役に立たなかった flags the article to its
owner, on a real SQLite file (core) and over HTTP (form, JSON, who sees the flag)."""

from __future__ import annotations

import datetime as dt

import pytest

from kb import feedback as fb
from kb.models import Feedback
from tests.helpers import add_people, add_person, copy_database, count, jst, new_database

from .conftest import csrf_token, login
from .webhelpers import add_person as add_web_person
from .webhelpers import bearer, db, token_for

NOW = jst(2026, 11, 23, 10, 0)
ARTICLE = "account-password-reset"  # a sample article, updated 2026-09-03


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    database = new_database(tmp_path_factory.mktemp("template"))
    people = add_people(database)
    people.op3 = add_person(database, "op3", "operator")
    return database, people


@pytest.fixture
def database(template, tmp_path):
    copy = copy_database(template[0], tmp_path)
    yield copy
    copy.dispose()


def vote(database, article, user, helpful, at, reason=""):
    with database.write() as session:
        fb.record(session, article, user, helpful, reason, at)


def summary(database, article="a", now=NOW, updated=None):
    with database.read() as session:
        return fb.summary(session, article, now, updated)


def test_three_people_not_helpful_within_the_window_flag_the_article(database, people):
    day = dt.timedelta(days=1)
    vote(database, "a", people.op, False, NOW - 3 * day, "手順が古い")
    vote(database, "a", people.op2, False, NOW - 2 * day)
    vote(database, "a", people.sv, True, NOW - day)
    assert not summary(database).flagged
    vote(database, "a", people.op3, False, NOW - day, "画面が違う")
    s = summary(database)
    assert (s.flagged, s.helpful, s.not_helpful) == (True, 1, 3)
    assert [r for _, r in s.reasons] == ["画面が違う", "手順が古い"]
    # A month later the votes have aged out of the window.
    assert not summary(database, now=NOW + (fb.FLAG_WINDOW_DAYS - 2) * day).flagged


def test_one_person_voting_again_and_again_does_not_flag(database, people):
    for i in range(5):
        vote(database, "a", people.op, False, NOW - dt.timedelta(hours=i))
        vote(database, "a", people.op2, True, NOW - dt.timedelta(hours=i))
    s = summary(database)
    assert (s.not_helpful, s.helpful, s.flagged) == (1, 1, False)
    assert count(database, Feedback) == 10  # every vote is kept


def test_updating_the_article_clears_the_flag(database, people):
    for person in (people.op, people.op2, people.op3):
        vote(database, "a", person, False, jst(2026, 11, 20, 9))
    assert summary(database, updated=dt.date(2026, 11, 19)).flagged
    assert not summary(database, updated=dt.date(2026, 11, 21)).flagged
    with database.read() as session:
        flagged = fb.flagged(session, NOW, {"a": dt.date(2026, 11, 19), "b": None})
    assert list(flagged) == ["a"]


def test_a_too_long_reason_stores_nothing(database, people):
    with pytest.raises(fb.FeedbackError, match="1000文字以内"), database.write() as session:
        fb.record(session, "a", people.op, False, "あ" * 1001, NOW)
    assert count(database, Feedback) == 0


# ---- over HTTP ---------------------------------------------------------------------------------

def stored(app) -> list[tuple]:
    with db(app).read() as session:
        return [(f.article_id, f.helpful, f.reason)
                for f in session.query(Feedback).order_by(Feedback.id)]


def test_an_operator_marks_an_article_with_a_reason(client, app):
    page = client.get(f"/articles/{ARTICLE}")
    assert 'id="feedback-form"' in page.text and "役に立たなかった" in page.text
    assert 'id="feedback-summary"' not in page.text  # the counts are for editors
    response = client.post(f"/articles/{ARTICLE}/feedback", data={
        "helpful": "0", "reason": "手順の画面が古い", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/articles/{ARTICLE}#feedback")
    assert "ご意見ありがとうございました。" in client.get(response.headers["Location"]).text
    assert stored(app) == [(ARTICLE, False, "手順の画面が古い")]


def test_bad_feedback_is_refused_and_stores_nothing(client, app):
    token = csrf_token(client.get(f"/articles/{ARTICLE}").text)
    response = client.post(f"/articles/{ARTICLE}/feedback",
                           data={"helpful": "maybe", "csrf_token": token}, follow_redirects=True)
    assert "「役に立った」か「役に立たなかった」を選んでください。" in response.text
    response = client.post(f"/articles/{ARTICLE}/feedback", data={
        "helpful": "0", "reason": "長" * 1001, "csrf_token": token}, follow_redirects=True)
    assert "理由は1000文字以内にしてください" in response.text
    assert client.post(f"/articles/{ARTICLE}/feedback", data={"helpful": "1"}).status_code == 400
    assert client.post("/articles/no-such-article/feedback",
                       data={"helpful": "1", "csrf_token": token}).status_code == 404
    assert stored(app) == []


def test_json_feedback_with_a_token(app):
    add_web_person(app, "cti", "operator")
    api = app.test_client()
    headers = bearer(token_for(app, "cti"))
    response = api.post(f"/api/articles/{ARTICLE}/feedback",
                        json={"helpful": True, "reason": "助かった"}, headers=headers)
    assert response.status_code == 201
    assert response.get_json() == {"article": ARTICLE, "helpful": True, "flagged": False}
    bad = api.post(f"/api/articles/{ARTICLE}/feedback", json={"helpful": "yes"}, headers=headers)
    assert bad.status_code == 400
    assert bad.get_json() == {"error": "helpful は true か false で指定してください。"}
    assert api.post("/api/articles/no-such-article/feedback", json={"helpful": True},
                    headers=headers).status_code == 404
    assert stored(app) == [(ARTICLE, True, "助かった")]


def test_three_operators_not_helpful_flag_the_article_for_editors(app):
    for name in ("op", "op2", "op3"):
        if name != "op":
            add_web_person(app, name, "operator")
        client = app.test_client()
        page = client.get("/login")
        client.post("/login", data={"name": name, "password": "correct horse battery",
                                    "csrf_token": csrf_token(page.text)})
        token = csrf_token(client.get(f"/articles/{ARTICLE}").text)
        client.post(f"/articles/{ARTICLE}/feedback",
                    data={"helpful": "0", "reason": f"{name}の理由", "csrf_token": token})
    editor = login(app.test_client(), "editor")
    page = editor.get(f"/articles/{ARTICLE}")
    assert 'id="feedback-flag"' in page.text
    assert "最近 3 人が「役に立たなかった」" in page.text and "アカウントサポートチーム" in page.text
    assert "op2の理由" in page.text
    operator_view = login(app.test_client(), "operator").get(f"/articles/{ARTICLE}")
    assert 'id="feedback-flag"' not in operator_view.text
