"""The whole loop in a real browser: an operator's search finds nothing → they escalate → the
expert answers → an editor creates the article from the escalation (live preview, review,
publish) → the operator's original query now finds it first, and the operator is told."""

from __future__ import annotations

import re
import shutil
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from webapp import create_app

from .conftest import people_pages, type_query

QUERY = "ぽよぽよ量子ぴよぴよ"  # no sample article has anything like it
ANSWER = "1. 量子ぴよぴよモードを**解除**する。\n2. 端末を再起動する。"
LIVE = 10_000


@pytest.fixture(scope="module")
def own_server(tmp_path_factory, built_instance, articles_dir):
    """A live server with its own copy of the articles (this test publishes one)."""
    root = tmp_path_factory.mktemp("loop")
    shutil.copytree(built_instance, root / "instance", symlinks=True)
    shutil.copytree(articles_dir, root / "articles", symlinks=True)
    app = create_app({"KB_INSTANCE": str(root / "instance"), "KB_ARTICLES": str(root / "articles"),
                      "KB_BACKGROUND_INTERVAL": 0.5})
    app.extensions["kb_db"].dispose()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["kb_background"].stop()


@pytest.fixture
def people(browser, own_server):
    with people_pages(browser, own_server) as open_page:
        yield open_page


def test_search_escalate_answer_article_publish_found_first(people):
    # The operator: nothing found, escalate.
    operator = people("operator")
    operator.goto("/")
    operator.click("#new-call")
    type_query(operator, QUERY)
    expect(operator.locator("#notice-none")).to_be_visible()
    expect(operator.locator("#results .hit")).to_have_count(0)
    operator.click("#escalate-link")
    operator.wait_for_url("**/escalate?**")
    operator.click("#escalate-submit")
    expect(operator.locator("#received")).to_contain_text("受付済み")
    esc_id = re.search(r"/escalations/(\d+)", operator.url).group(1)

    # The expert answers.
    expert = people("expert")
    expert.goto(f"/escalations/{esc_id}")
    expert.fill("#answer-text", ANSWER)
    expert.click("#send-answer")
    expect(expert.locator("#answer")).to_be_visible()
    expect(expert.locator("#knowledge")).to_have_count(0)  # experts do not file knowledge

    # The editor makes the article from the escalation.
    editor = people("editor")
    editor.goto(f"/escalations/{esc_id}")
    editor.click("#knowledge-new")
    editor.wait_for_url("**/editor/new?escalation=*")
    expect(editor.locator("#from-escalation")).to_contain_text(f"#{esc_id}")
    expect(editor.locator("#field-questions")).to_have_value(re.compile(re.escape(QUERY)))
    expect(editor.locator("#field-body")).to_have_value(re.compile("量子ぴよぴよモード"))
    expect(editor.locator("#editor-preview strong")).to_have_text("解除")
    editor.fill("#field-title", "量子ぴよぴよモードで通話できない")
    editor.locator("#field-body").press("Control+End")
    editor.locator("#field-body").type("\n3. **完了**を確認する。\n\n<img src=x onerror=alert(1)>")
    expect(editor.locator("#editor-preview")).to_contain_text("完了を確認する")  # live preview
    expect(editor.locator("#editor-preview strong").last).to_have_text("完了")
    expect(editor.locator("#editor-preview img")).to_have_count(0)  # sanitised, never run
    editor.click("#save-review")
    expect(editor.locator("#current-state")).to_have_text("レビュー待ち")
    editor.click("#save-published")
    expect(editor.locator("#current-state")).to_have_text("公開中")
    expect(editor.locator(".flash").last).to_contain_text(
        "この質問は検索で見つかるようになりました（1位）")

    # The operator's original query now finds it first; the escalation page says so, and
    # the operator is told an article exists.
    operator.goto("/")
    expect(operator.locator("#article-notice")).to_be_visible(timeout=LIVE)
    expect(operator.locator("#article-notice")).to_contain_text(f"#{esc_id}")
    type_query(operator, QUERY)
    expect(operator.locator("#results .hit-title").first).to_have_attribute(
        "href", f"/articles/esc-{esc_id}")
    expect(operator.locator("#results .hit-title").first).to_contain_text("量子ぴよぴよモード")
    operator.goto(f"/escalations/{esc_id}")
    expect(operator.locator("#loop")).to_contain_text("この質問は検索で見つかるようになりました（1位）")
    operator.click("#article-notice a")
    operator.wait_for_url(f"**/articles/esc-{esc_id}")
    expect(operator.locator("#article-body")).to_contain_text("完了を確認する")
    operator.reload()
    expect(operator.locator("#article-notice")).to_be_hidden()  # read once, then gone
