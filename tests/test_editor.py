"""The article editor over HTTP: who may move an article between states, the conflict when two
editors save the same revision, history and restore, the preview."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb import workflow
from kb.permissions import PERMISSIONS

from .conftest import csrf_token
from .editorhelpers import as_role, fields_of, form_of, new_article_form, own_app

ARTICLE = "account-password-reset"


@pytest.fixture
def kapp(tmp_path, built_instance, articles_dir):
    return own_app(tmp_path, built_instance, articles_dir)


def status_in_file(app, article_id: str) -> str:
    from kb.articles import load_file

    root = Path(app.config["KB_ARTICLES"])
    return load_file(root / f"{article_id}.md", root).status


def save(client, article_id: str, status: str, **changes):
    data = form_of(client, f"/editor/{article_id}")
    data.update(changes)
    data["status"] = status
    return client.post(f"/editor/{article_id}", data=data)


def create(client, article_id="test-new-article", title="テスト用の新しい記事",
           questions=("ふくろうの鳴き声が聞こえない",), status="draft"):
    data = new_article_form(client, article_id, title, list(questions))
    data["status"] = status
    return client.post("/editor/new", data=data)


# ---- who may do what --------------------------------------------------------------------------

def test_only_writers_see_the_editor(kapp):
    assert as_role(kapp, "operator").get("/editor/").status_code == 403
    page = as_role(kapp, "editor").get("/editor/")
    assert page.status_code == 200
    assert f'data-id="{ARTICLE}" data-state="published"' in page.text
    assert 'data-state="draft"' in page.text  # drafts are listed for editors


@pytest.mark.parametrize("role", ["expert", "editor", "admin"])
def test_writers_create_a_draft_and_ask_for_review(kapp, role):
    client = as_role(kapp, role)
    assert create(client).status_code == 303
    assert status_in_file(kapp, "test-new-article") == "draft"
    assert save(client, "test-new-article", "review").status_code == 303
    assert status_in_file(kapp, "test-new-article") == "review"
    assert save(client, "test-new-article", "draft").status_code == 303  # sent back
    assert status_in_file(kapp, "test-new-article") == "draft"


def test_only_editors_publish_and_archive(kapp):
    expert, editor = as_role(kapp, "expert"), as_role(kapp, "editor")
    create(expert, status="review")
    refused = save(expert, "test-new-article", "published")
    assert refused.status_code == 403
    assert "編集者だけ" in refused.text
    assert status_in_file(kapp, "test-new-article") == "review"
    assert 'id="save-published"' not in expert.get("/editor/test-new-article").text

    assert save(editor, "test-new-article", "published").status_code == 303
    assert status_in_file(kapp, "test-new-article") == "published"
    assert expert.get("/articles/test-new-article").status_code == 200
    # an expert cannot change what is published, nor archive it
    assert save(expert, "test-new-article", "published", title="書き換え").status_code == 403
    assert save(expert, "test-new-article", "archived").status_code == 403
    assert save(editor, "test-new-article", "archived").status_code == 303
    assert status_in_file(kapp, "test-new-article") == "archived"
    assert expert.get("/articles/test-new-article").status_code == 404  # gone from search
    assert save(expert, "test-new-article", "draft").status_code == 303  # revived as a draft


def test_a_draft_cannot_skip_review(kapp):
    editor = as_role(kapp, "editor")
    assert create(editor, status="published").status_code == 403
    assert not Path(kapp.config["KB_ARTICLES"], "test-new-article.md").exists()
    create(editor)
    refused = save(editor, "test-new-article", "published")
    assert refused.status_code == 403
    assert "下書きから公開中には変更できません" in refused.text


def test_every_transition_in_the_table_matches_the_permissions():
    for (before, after), permission in workflow.TRANSITIONS.items():
        for role in ("operator", "expert", "editor", "admin"):
            change = workflow.Change(before, after, role, 1, 2, True)
            if role in PERMISSIONS[permission]:
                workflow.check(change)
            else:
                with pytest.raises(workflow.TransitionError):
                    workflow.check(change)


def test_reviewer_must_differ_from_the_last_author(tmp_path, built_instance, articles_dir):
    app = own_app(tmp_path, built_instance, articles_dir, KB_REVIEWER_MUST_DIFFER=True)
    editor, admin = as_role(app, "editor"), as_role(app, "admin")
    create(editor, status="review")
    refused = save(editor, "test-new-article", "published")
    assert refused.status_code == 403
    assert "別の人" in refused.text
    # the reviewer may not slip in changes of their own while publishing
    assert save(admin, "test-new-article", "published", title="別のタイトル").status_code == 403
    assert save(admin, "test-new-article", "published").status_code == 303
    assert status_in_file(app, "test-new-article") == "published"


def test_bad_input_is_refused_with_the_field_and_nothing_is_written(kapp):
    editor = as_role(kapp, "editor")
    before = form_of(editor, f"/editor/{ARTICLE}")
    refused = save(editor, ARTICLE, "published", title="", body="## 問題\n本文だけ")
    assert refused.status_code == 400
    assert "タイトル: missing" in refused.text and "回答・対応手順" in refused.text
    assert "本文だけ" in refused.text  # what was typed is still in the form
    assert form_of(editor, f"/editor/{ARTICLE}")["title"] == before["title"]
    assert create(editor, article_id="Bad ID").status_code == 400
    assert create(editor, article_id=ARTICLE).status_code == 400  # never overwrites by create


# ---- two editors, one revision ----------------------------------------------------------------

def test_the_second_save_from_the_same_revision_gets_the_conflict_page(kapp):
    first, second = as_role(kapp, "editor"), as_role(kapp, "admin")
    form_a = form_of(first, f"/editor/{ARTICLE}")
    form_b = form_of(second, f"/editor/{ARTICLE}")
    assert form_a["revision"] == form_b["revision"]

    form_a.update(status="published", title="Aさんのタイトル")
    assert first.post(f"/editor/{ARTICLE}", data=form_a).status_code == 303
    form_b.update(status="published", body=form_b["body"] + "\nBさんの追記。\n")
    conflict = second.post(f"/editor/{ARTICLE}", data=form_b)
    assert conflict.status_code == 409
    assert "他の人が先に保存しました" in conflict.text
    assert "Aさんのタイトル" in conflict.text  # their version
    assert "+Bさんの追記。" in conflict.text  # the diff shows the second editor's change
    # nothing was lost: A's save is on disk, B's text is in the form, ready to save again
    assert form_of(first, f"/editor/{ARTICLE}")["title"] == "Aさんのタイトル"
    again = fields_of(conflict.text)
    assert "Bさんの追記。" in again["body"]
    again["title"] = "Aさんのタイトル"  # B takes A's change over, then reapplies
    again["status"] = "published"
    assert second.post(f"/editor/{ARTICLE}", data=again).status_code == 303
    merged = form_of(first, f"/editor/{ARTICLE}")
    assert merged["title"] == "Aさんのタイトル" and "Bさんの追記。" in merged["body"]


# ---- history and restore ----------------------------------------------------------------------

def test_history_shows_who_and_a_diff_and_restores_any_version(kapp):
    editor = as_role(kapp, "editor")
    save(editor, ARTICLE, "published", title="一度目の変更", message="タイトル修正")
    save(editor, ARTICLE, "published", title="二度目の変更")
    page = editor.get(f"/editor/{ARTICLE}/history")
    assert page.status_code == 200
    assert "鈴木編集" in page.text and "タイトル修正" in page.text
    assert "+title: 二度目の変更" in page.text and "-title: 一度目の変更" in page.text
    versions = [int(v) for v in re.findall(r'data-version="(\d+)"', page.text)]
    oldest = versions[-1]  # the file as it was first read (by nobody)
    assert "ファイルの直接編集" in page.text
    restored = editor.post(f"/editor/{ARTICLE}/restore/{oldest}",
                           data={"csrf_token": csrf_token(page.text)})
    assert restored.status_code == 303
    assert form_of(editor, f"/editor/{ARTICLE}")["title"].startswith("マイあおばのパスワード")
    assert f"版 {oldest} に戻す" in editor.get(f"/editor/{ARTICLE}/history").text
    # search shows the restored title again
    hits = editor.get("/api/search", query_string={"q": "パスワード 再設定"}).json["hits"]
    found = next(h for h in hits if h["id"] == ARTICLE)
    assert "二度目" not in found["title"] and "マイあおば" in found["title"]


def test_an_expert_cannot_restore_a_published_version(kapp):
    editor, expert = as_role(kapp, "editor"), as_role(kapp, "expert")
    save(editor, ARTICLE, "draft")
    page = expert.get(f"/editor/{ARTICLE}/history")
    published = re.findall(r'data-version="(\d+)"', page.text)[-1]
    expert.post(f"/editor/{ARTICLE}/restore/{published}", data={"csrf_token": csrf_token(page.text)})
    assert status_in_file(kapp, ARTICLE) == "draft"


# ---- preview ----------------------------------------------------------------------------------

def test_preview_uses_the_sanitising_renderer_and_needs_csrf(kapp):
    editor = as_role(kapp, "editor")
    page = editor.get("/editor/new")
    body = "## 見出し\n<script>alert(1)</script>\n[x](javascript:alert(1)) **太字**"
    assert editor.post("/editor/preview", data={"body": body}).status_code == 400
    reply = editor.post("/editor/preview", data={"body": body},
                        headers={"X-CSRFToken": csrf_token(page.text)})
    assert reply.status_code == 200
    assert "<h2>見出し</h2>" in reply.json["html"] and "<strong>太字</strong>" in reply.json["html"]
    assert "<script" not in reply.json["html"] and "javascript:" not in reply.json["html"]
    assert as_role(kapp, "operator").post(
        "/editor/preview", data={"body": "x"},
        headers={"X-CSRFToken": csrf_token(page.text)}).status_code in (400, 403)


def test_publishing_makes_the_article_searchable_at_once(kapp):
    editor = as_role(kapp, "editor")
    create(editor, questions=["ふくろうの鳴き声が聞こえない"], status="review")
    assert "test-new-article" not in [h["id"] for h in editor.get(
        "/api/search", query_string={"q": "ふくろうの鳴き声"}).json["hits"]]
    save(editor, "test-new-article", "published")
    hits = editor.get("/api/search", query_string={"q": "ふくろうの鳴き声"}).json["hits"]
    assert hits[0]["id"] == "test-new-article"
