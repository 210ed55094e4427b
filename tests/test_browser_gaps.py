"""The knowledge-loop pages in a real browser: an operator's feedback on an article, the home
page's shared knowledge, and an expert resolving a gap of two escalations."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import logged_in_context

QUESTION = "衛星電話の解約書類が届かない"
VARIANT = "衛星電話 解約書類 届かない"


def escalate(page, query: str) -> int:
    page.goto("/")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    response = page.request.post("/api/escalations", data={"query": query, "level": "2"},
                                 headers={"X-CSRFToken": token})
    assert response.status == 201, response.text()
    return response.json()["id"]


def test_an_operator_marks_an_article_not_helpful_with_a_reason(browser, live_server):
    context = logged_in_context(browser, live_server, "operator")
    page = context.new_page()
    page.goto("/")
    expect(page.locator("#shared-knowledge")).to_be_visible()
    expect(page.locator("#new-articles li").first).to_be_visible()
    page.locator("#new-articles a").first.click()
    expect(page.locator(".article-title")).to_be_visible()
    page.fill('#feedback-form input[name="reason"]', "手順の画面が今と違う")
    page.click("#feedback-not-helpful")
    expect(page.locator(".flash")).to_have_text("ご意見ありがとうございました。")
    assert page.url.endswith("#feedback")
    context.close()


def test_an_expert_resolves_a_gap_and_both_escalations_close(browser, live_server):
    operator = logged_in_context(browser, live_server, "operator")
    op_page = operator.new_page()
    first, second = escalate(op_page, QUESTION), escalate(op_page, VARIANT)
    expert = logged_in_context(browser, live_server, "expert")
    page = expert.new_page()
    page.goto("/")
    page.get_by_role("link", name="ギャップ").click()
    row = page.locator("tr.gap-row", has_text=QUESTION)
    expect(row.locator(".gap-count")).to_have_text("2")
    row.locator("a.gap-title").click()
    expect(page.locator(f'#gap-escalations [data-id="{first}"]')).to_be_visible()
    expect(page.locator(f'#gap-escalations [data-id="{second}"]')).to_be_visible()
    page.select_option('#resolve-gap select[name="outcome"]', "no_article_needed")
    page.fill('#resolve-gap textarea[name="resolution"]', "窓口で個別対応")
    page.click('#resolve-gap button[type="submit"]')
    expect(page.locator(".flash")).to_have_text("解決しました（エスカレーション 2 件を完了）。")
    expect(page.locator("#gap-state")).to_contain_text("記事は不要: 窓口で個別対応")
    for esc_id in (first, second):
        op_page.goto(f"/escalations/{esc_id}")
        expect(op_page.locator("#escalation")).to_have_attribute("data-status", "closed")
        expect(op_page.locator('#escalation [data-field="status_label"]')).to_have_text("完了")
    page.goto("/gaps")
    expect(page.locator("tr.gap-row", has_text=QUESTION)).to_have_count(0)
    assert re.search(r"/gaps$", page.url)
    operator.close()
    expert.close()
