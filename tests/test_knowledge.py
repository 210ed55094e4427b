"""From an answered escalation to knowledge over HTTP: a new article from the KCS draft, the
caller's wording added to an existing article, no article with a reason; the loop check on
publish and the notice to the operators."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kb import escalations as esc_core
from kb.clock import utcnow
from kb.models import Escalation, User

from .conftest import csrf_token
from .editorhelpers import as_role, fields_of, form_of, own_app
from .webhelpers import add_person, db, escalate

QUESTION = "ふくろうが電話の向こうで鳴いて聞き取れない"
ANSWER = "1. 通話を保留にする。\n2. ふくろうが静かになってから再開する。"


@pytest.fixture
def kapp(tmp_path, built_instance, articles_dir):
    return own_app(tmp_path, built_instance, articles_dir)


def answered(app, query=QUESTION, attach_by: str | None = None) -> int:
    esc_id = escalate(app, "op", query=query, category="テスト")
    with db(app).write() as session:
        esc = session.get(Escalation, esc_id)
        if attach_by:
            other = session.scalar(select(User).where(User.name == attach_by))
            esc_core.attach(session, esc, other, "ふくろうの声で聞こえない", "", utcnow())
        expert = session.scalar(select(User).where(User.name == "sv"))
        esc_core.transition(esc, expert, "answer", utcnow(), text=ANSWER)
    return esc_id


def escalation(app, esc_id: int) -> Escalation:
    with db(app).read() as session:
        return session.get(Escalation, esc_id)


def test_new_article_from_an_escalation_closes_the_loop_and_tells_the_operators(kapp):
    add_person(kapp, "op3", "operator", "伊藤オペ")
    esc_id = answered(kapp, attach_by="op3")
    editor = as_role(kapp, "editor")
    page = editor.get(f"/escalations/{esc_id}")
    assert 'id="knowledge-new"' in page.text
    assert 'id="knowledge"' not in as_role(kapp, "expert").get(f"/escalations/{esc_id}").text

    draft = form_of(editor, f"/editor/new?escalation={esc_id}")
    assert draft["id"] == f"esc-{esc_id}"
    assert QUESTION in draft["questions"] and "ふくろうの声で聞こえない" in draft["questions"]
    assert "通話を保留にする" in draft["body"] and draft["escalations"] == str(esc_id)
    assert draft["knowledge"] == "new_article"
    draft["status"] = "review"
    assert editor.post("/editor/new", data=draft).status_code == 303
    assert escalation(kapp, esc_id).knowledge_action == "new_article"
    assert escalation(kapp, esc_id).loop_checked_at is None  # not published yet

    publish = form_of(editor, f"/editor/esc-{esc_id}")
    publish["status"] = "published"
    saved = editor.post(f"/editor/esc-{esc_id}", data=publish, follow_redirects=True)
    assert "この質問は検索で見つかるようになりました（1位）" in saved.text

    esc = escalation(kapp, esc_id)
    assert (esc.knowledge_article, esc.loop_rank) == (f"esc-{esc_id}", 1)
    operator = as_role(kapp, "operator")
    shown = operator.get(f"/escalations/{esc_id}").text
    assert "この質問は検索で見つかるようになりました（1位）" in shown
    assert operator.get("/api/search", query_string={"q": QUESTION}).json["hits"][0]["id"] \
        == f"esc-{esc_id}"
    # the operator who raised it and the one who attached a call are told, once each
    for who in ("operator", None):
        client = operator if who else _login_as(kapp, "op3")
        notices = client.get("/api/notices").json["notices"]
        assert [n["article_id"] for n in notices] == [f"esc-{esc_id}"]
        assert notices[0]["url"] == f"/articles/esc-{esc_id}"
    editor.post(f"/editor/esc-{esc_id}", data=form_of(editor, f"/editor/esc-{esc_id}")
                | {"status": "published"})
    assert len(operator.get("/api/notices").json["notices"]) == 1  # not again on re-publish
    notice = operator.get("/api/notices").json["notices"][0]
    page = operator.get("/")
    assert operator.post(notice["read_url"]).status_code == 400  # CSRF
    assert operator.post(notice["read_url"],
                         headers={"X-CSRFToken": csrf_token(page.text)}).status_code == 200
    assert operator.get("/api/notices").json["notices"] == []
    assert as_role(kapp, "expert").post(
        notice["read_url"], headers={"X-CSRFToken": csrf_token(page.text)}).status_code in (400, 404)


def _login_as(app, name):
    from .conftest import PASSWORD

    client = app.test_client()
    page = client.get("/login")
    client.post("/login", data={"name": name, "password": PASSWORD,
                                "csrf_token": csrf_token(page.text)})
    return client


def test_wording_added_to_an_existing_article_is_checked_against_search(kapp):
    wording = "ログインの暗証番号をわすれてしまった件"
    esc_id = answered(kapp, query=wording)
    editor = as_role(kapp, "editor")
    pick = editor.get(f"/escalations/{esc_id}/knowledge/existing",
                      query_string={"q": "パスワード 忘れ"})
    assert "account-password-reset" in pick.text
    url = f"/editor/account-password-reset?escalation={esc_id}&knowledge=existing_article"
    form = form_of(editor, url)
    assert wording in form["questions"].splitlines()
    assert str(esc_id) in form["escalations"]
    form["status"] = "published"
    saved = editor.post("/editor/account-password-reset", data=form, follow_redirects=True)
    assert saved.status_code == 200
    esc = escalation(kapp, esc_id)
    assert esc.knowledge_action == "existing_article"
    assert esc.knowledge_article == "account-password-reset"
    # the recorded rank is where search puts the article for the caller's words now
    ids = [h["id"] for h in editor.get("/api/search", query_string={"q": wording}).json["hits"]]
    assert esc.loop_rank == ids.index("account-password-reset") + 1 <= 3
    assert f"（{esc.loop_rank}位）" in editor.get(f"/escalations/{esc_id}").text


def test_a_loop_not_closed_warns_with_a_link_to_improve_the_article(kapp):
    esc_id = answered(kapp, query="請求書の宛名を会社名に変えたい")
    editor = as_role(kapp, "editor")
    # the editor files it under an article whose wording does not match the question
    form = form_of(editor, "/editor/account-two-factor")
    form["escalations"] = str(esc_id)
    form["status"] = "published"
    editor.post("/editor/account-two-factor", data=form)
    esc = escalation(kapp, esc_id)
    assert esc.loop_checked_at is not None and (esc.loop_rank is None or esc.loop_rank > 3)
    page = editor.get(f"/escalations/{esc_id}").text
    assert "まだ記事が上位3件に出ません" in page
    assert 'id="improve-article" href="/editor/account-two-factor"' in page


def test_no_article_needs_a_reason_and_only_editors_record_it(kapp):
    esc_id = answered(kapp)
    editor, expert = as_role(kapp, "editor"), as_role(kapp, "expert")
    token = csrf_token(editor.get(f"/escalations/{esc_id}").text)
    refused = editor.post(f"/escalations/{esc_id}/knowledge/none",
                          data={"csrf_token": token, "reason": "  "}, follow_redirects=True)
    assert "理由を入力してください" in refused.text
    assert escalation(kapp, esc_id).knowledge_action is None
    expert_token = csrf_token(expert.get(f"/escalations/{esc_id}").text)
    assert expert.post(f"/escalations/{esc_id}/knowledge/none",
                       data={"csrf_token": expert_token, "reason": "x"}).status_code == 403
    done = editor.post(f"/escalations/{esc_id}/knowledge/none",
                       data={"csrf_token": token, "reason": "一度きりの障害のため"},
                       follow_redirects=True)
    assert "記事は不要: 一度きりの障害のため" in done.text
    esc = escalation(kapp, esc_id)
    assert (esc.knowledge_action, esc.knowledge_reason) == ("no_article", "一度きりの障害のため")


def test_an_open_escalation_cannot_become_knowledge_yet(kapp):
    esc_id = escalate(kapp, "op", query=QUESTION)
    editor = as_role(kapp, "editor")
    page = editor.get(f"/escalations/{esc_id}").text
    assert 'id="knowledge"' not in page
    assert editor.post(f"/escalations/{esc_id}/knowledge/none",
                       data={"csrf_token": csrf_token(page), "reason": "x"}).status_code == 409
    assert editor.get(f"/editor/new?escalation={esc_id}").status_code == 409
    assert editor.get(f"/editor/new?escalation={esc_id + 1000}").status_code == 404
    assert fields_of(page)  # the page itself is fine
