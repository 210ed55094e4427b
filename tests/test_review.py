"""要レビュー: articles past review_by, articles flagged by feedback and routing rules not
reviewed for 180 days, from `kb stale` (with a controllable date) and on the editors' page."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from click.testing import CliRunner

from kb import feedback as fb
from kb import review
from kb.cli import main
from kb.clock import utcnow
from kb.db import Database, database_url
from kb.routing import DEFAULT_FILE, parse
from tests.helpers import add_person, jst, write_article

from .conftest import csrf_token, login
from .webhelpers import add_person as add_web_person

ROUTING = DEFAULT_FILE.read_text(encoding="utf-8").replace(
    "{level: \"1\", category: 料金・支払い, primary: billing-team, backup: sv-desk}",
    "{level: \"1\", category: 料金・支払い, primary: billing-team, backup: sv-desk, "
    "reviewed: \"2027-03-01\"}")
# write_article's files are updated 2026-10-01 and due for review on 2027-04-01.


@pytest.fixture
def kb_dirs(tmp_path, monkeypatch):
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    articles, instance = tmp_path / "articles", tmp_path / "instance"
    articles.mkdir()
    instance.mkdir()
    write_article(articles, "due-article", "見直しが必要な記事")
    write_article(articles, "old-archived", "アーカイブ済みの記事", status="archived")
    path = write_article(articles, "flagged-draft", "不評な記事", status="draft")
    path.write_text(path.read_text(encoding="utf-8").replace("2027-04-01", "2027-06-01"),
                    encoding="utf-8")
    (instance / "routing.yaml").write_text(ROUTING, encoding="utf-8")
    database = Database(database_url(instance))
    database.upgrade()
    people = [add_person(database, name) for name in ("a1", "a2", "a3")]
    with database.write() as session:
        for person in people:
            fb.record(session, "flagged-draft", person, False, "古い", jst(2027, 3, 20, 10))
    database.dispose()
    return articles, instance


def stale(kb_dirs, today: str):
    articles, instance = kb_dirs
    return CliRunner().invoke(main, ["stale", "--articles", str(articles),
                                     "--instance", str(instance), "--today", today])


def test_kb_stale_lists_due_and_flagged_articles(kb_dirs):
    result = stale(kb_dirs, "2027-04-02")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        ("[見直し期限] due-article 見直しが必要な記事（担当: テストチーム）: "
        "見直し期限 2027-04-01 を1日過ぎています"),
        ("[要改善] flagged-draft 不評な記事（担当: テストチーム）: "
        "最近30日で3人が「役に立たなかった」としています"),
        "要レビュー: 2 件（2027-04-02 時点）",
    ]


def test_kb_stale_on_the_due_date_itself_lists_nothing_due(kb_dirs):
    result = stale(kb_dirs, "2027-04-01")
    assert "due-article" not in result.output and "flagged-draft" in result.output


def test_kb_stale_lists_routing_rules_not_reviewed_for_180_days(kb_dirs):
    result = stale(kb_dirs, "2027-05-15")  # 195 days after the file's 2026-11-01
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    rules = [line for line in lines if line.startswith("[ルーティング]")]
    assert len(rules) == len(parse(ROUTING).rules) - 1  # rules[1] was reviewed 2027-03-01
    assert not any(line.startswith("[ルーティング] rules[1] ") for line in lines)
    assert rules[0] == (
        "[ルーティング] rules[0] レベル1 通常 × すべてのカテゴリ → SVデスク / 田中SVリーダー: "
        "最後の見直し 2026-11-01 から195日（180日以上）経っています")
    # The feedback is older than 30 days by then: no longer flagged.
    assert not any("flagged-draft" in line for line in lines)
    assert lines[-1] == f"要レビュー: {len(rules) + 1} 件（2027-05-15 時点）"


def test_kb_stale_refuses_a_bad_date(kb_dirs):
    result = stale(kb_dirs, "2027-02-30")
    assert result.exit_code == 2 and "--today" in result.output


def test_a_rule_without_any_review_date_is_listed():
    routing = parse(DEFAULT_FILE.read_text(encoding="utf-8").replace(
        'reviewed: "2026-11-01"\n', ""))
    items = review.stale([], {}, routing, dt.date(2026, 11, 23))
    assert len(items) == len(routing.rules)
    assert {i.reason for i in items} == {"見直し日（reviewed）が書かれていません"}


# ---- the editors' page -------------------------------------------------------------------------

def test_the_review_page_lists_flagged_articles_and_is_for_editors(app, articles_dir):
    for name in ("r1", "r2", "r3"):
        add_web_person(app, name, "operator")
        client = app.test_client()
        client.post("/login", data={"name": name, "password": "correct horse battery",
                                    "csrf_token": csrf_token(client.get("/login").text)})
        token = csrf_token(client.get("/articles/account-password-reset").text)
        client.post("/articles/account-password-reset/feedback",
                    data={"helpful": "0", "csrf_token": token})
    editor = login(app.test_client(), "editor")
    page = editor.get("/review")
    assert page.status_code == 200
    assert 'class="review-row review-flagged" data-key="account-password-reset"' in page.text
    assert "3人が「役に立たなかった」" in page.text
    # The samples include articles whose review_by has passed (2026-07-15 and others).
    assert 'class="review-row review-review_by"' in page.text
    assert "見直し期限 2026-07-15 を" in page.text
    assert 'href="/review"' in page.text  # in the editor's menu
    operator = login(app.test_client(), "operator")
    assert operator.get("/review").status_code == 403
    assert 'href="/review"' not in operator.get("/").text


def test_kb_stale_and_the_page_agree(app, articles_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    instance = tmp_path / "instance"  # the app's copy, with its database
    shutil.copyfile(DEFAULT_FILE, instance / "routing.yaml")
    today = parse(DEFAULT_FILE.read_text(encoding="utf-8")).today(utcnow()).isoformat()
    result = CliRunner().invoke(main, ["stale", "--instance", str(instance),
                                       "--articles", str(articles_dir), "--today", today])
    assert result.exit_code == 0, result.output
    page = login(app.test_client(), "editor").get("/review").text
    keys = [line.split()[1] for line in result.output.splitlines()[:-1]]
    assert keys and all(f'data-key="{key}"' in page for key in keys)
    assert page.count('class="review-row') == len(keys)
