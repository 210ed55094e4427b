"""The search page in a real browser: live results, IME, keyboard, stale responses, copying."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from .conftest import HOSTILE_ID, logged_in_context

SEARCH_API = re.compile(r"/api/search\?")


@pytest.fixture
def context(browser, live_server):
    context = logged_in_context(browser, live_server, "operator")
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    assert not dialogs, f"a script ran in the page: {dialogs}"
    assert not errors, f"the page logged errors (script error or CSP violation?): {errors}"


def first_hit(page):
    return page.locator("#results .hit-title").first


def first_hit_id(page) -> str:
    return first_hit(page).get_attribute("href").rsplit("/", 1)[-1]


def expect_first_hit(page, article_id: str) -> None:
    expect(first_hit(page)).to_have_attribute("href", f"/articles/{article_id}")


def test_typing_searches_live_and_keyboard_opens_the_result(page):
    page.goto("/")
    expect(page.locator("#q")).to_be_focused()
    page.evaluate("window.samePage = true")

    page.keyboard.type("ぱすわーど", delay=120)
    expect_first_hit(page, "account-password-reset")
    assert page.evaluate("window.samePage") is True  # no page load happened
    expect(page.locator("#summary")).to_be_visible()
    expect(page.locator("#summary [data-total]")).to_have_text(re.compile(r"^[1-9]\d*$"))
    assert "q=%E3%81%B1" in page.url  # the address follows the query (Back comes back here)
    before = first_hit(page).inner_text()

    page.keyboard.press("Control+A")
    page.keyboard.type("解約", delay=50)
    expect(first_hit(page)).not_to_have_text(before)
    expect(first_hit(page)).to_contain_text("解約")
    expect(page.locator("#results .hit mark").first).to_have_text("解約")
    target = first_hit_id(page)

    page.keyboard.press("ArrowDown")
    expect(page.locator("#results .hit").first).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/articles/{target}")
    expect(page.get_by_role("heading", name="回答・対応手順")).to_be_visible()
    expect(page.get_by_role("button", name="回答をコピー")).to_be_visible()


def test_kana_query_results_are_highlighted(page):
    page.goto("/")
    page.keyboard.type("ぱすわーど", delay=120)
    expect_first_hit(page, "account-password-reset")
    expect(page.locator("#results .hit mark").first).to_have_text("パスワード", timeout=1_000)


def test_arrow_keys_move_the_selection_up_and_down(page):
    page.goto("/?q=" + "パスワード")
    hits = page.locator("#results .hit")
    expect(hits.first).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(hits.nth(1)).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("ArrowUp")
    expect(hits.nth(0)).to_have_class(re.compile(r"\bselected\b"))
    expect(hits.nth(1)).not_to_have_class(re.compile(r"\bselected\b"))
    assert page.locator("#results .hit.selected").count() == 1
    expect(page.locator("#q")).to_be_focused()


def test_slow_older_response_never_overwrites_a_newer_one(page):
    held = []

    def hold_the_first(route):
        if held:
            route.continue_()
        else:
            held.append((route, time.monotonic()))

    page.route(SEARCH_API, hold_the_first)
    page.goto("/")
    page.fill("#q", "パスワード")
    deadline = time.monotonic() + 5
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    assert held, "the first search never reached the network"

    page.fill("#q", "解約")
    expect(first_hit(page)).to_contain_text("解約")
    newer = first_hit_id(page)

    route, since = held[0]
    page.wait_for_timeout(max(0, 800 - (time.monotonic() - since) * 1000))
    try:
        route.fulfill(response=route.fetch())  # the old answer for パスワード, late
    except PlaywrightError:
        pass  # the page already cancelled it, which is fine too
    page.wait_for_timeout(300)
    assert first_hit_id(page) == newer
    expect(page.locator("#q")).to_have_value("解約")
    assert "パスワード" not in first_hit(page).inner_text()


def test_no_search_while_composing_then_search_on_compositionend(page):
    searches = []
    page.on("request", lambda r: searches.append(r.url) if SEARCH_API.search(r.url) else None)
    page.goto("/")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.imeSetComposition", {"text": "かいや", "selectionStart": 3, "selectionEnd": 3})
    cdp.send("Input.imeSetComposition", {"text": "かいやく", "selectionStart": 4, "selectionEnd": 4})
    page.wait_for_timeout(500)
    assert searches == []
    expect(page.locator("#q")).to_have_value("かいやく")

    cdp.send("Input.insertText", {"text": "解約"})  # the conversion is confirmed
    expect(first_hit(page)).to_contain_text("解約")
    assert len(searches) == 1 and "%E8%A7%A3%E7%B4%84" in searches[0]


def test_slash_focuses_the_search_box(page):
    page.goto("/?q=" + "解約")
    page.locator(".keys").click()
    expect(page.locator("#q")).not_to_be_focused()
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    expect(page.locator("#q")).to_have_value("解約")  # the slash was not typed into it

    page.goto("/articles/account-password-reset")
    expect(page.locator("#q")).not_to_be_focused()
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()


def test_category_filter_and_notices(page):
    page.goto("/")
    page.select_option("#category", "料金・支払い")
    page.keyboard.type("料金")
    expect(first_hit(page)).to_be_visible()
    categories = page.locator("#results .hit-category").all_inner_texts()
    assert categories and set(categories) == {"料金・支払い"}

    page.fill("#q", "ぴよぴよぽよぽよ量子")
    expect(page.locator("#notice-none")).to_be_visible()
    expect(page.locator("#notice-none")).to_contain_text("該当する記事が見つかりませんでした")
    expect(page.locator("#results .hit")).to_have_count(0)

    page.fill("#q", "")
    expect(page.locator("#notice-none")).to_be_hidden()
    expect(page.locator("#summary")).to_be_hidden()


def test_did_you_mean_corrects_the_query_in_place(page):
    page.goto("/")
    page.keyboard.type("テザリンク")
    link = page.locator("#did-you-mean a")
    expect(link).to_have_text("テザリング")
    page.evaluate("window.samePage = true")
    link.click()
    expect(page.locator("#q")).to_have_value("テザリング")
    expect(page.locator("#did-you-mean")).to_be_hidden()
    expect(page.locator("#results .hit mark").first).to_have_text("テザリング")
    assert page.evaluate("window.samePage") is True


def test_suggestions_appear_under_the_box(page):
    page.goto("/")
    page.keyboard.type("ぱす", delay=80)
    suggestions = page.locator("#suggestions a")
    expect(suggestions.first).to_be_visible()
    assert any("パスワード" in t for t in suggestions.all_inner_texts())


def test_hostile_article_runs_no_script(page):
    page.goto("/")
    page.keyboard.type("危険なマークアップ")
    expect(first_hit(page)).to_contain_text('<script>alert("title")</script>')
    page.goto(f"/articles/{HOSTILE_ID}")
    expect(page.locator("h1")).to_contain_text("<script>")
    page.wait_for_timeout(200)
    assert page.locator("#article-body script, #article-body img, #article-body iframe").count() == 0
    # the page fixture fails the test if any alert() ran


def test_copy_button_copies_the_answer_as_plain_text(context, page):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/articles/account-password-reset")
    page.get_by_role("button", name="回答をコピー").click()
    expect(page.locator("#copy-done")).to_be_visible()
    text = page.evaluate("navigator.clipboard.readText()")
    assert text.startswith("1. パスワードはオペレーターが確認・代わりに設定することはできない。")
    assert re.search(r"\n *\d\. マイあおばのログイン画面で「パスワードをお忘れの方」を押す\n", text)
    assert "\nメールが届かない場合\n・迷惑メールフォルダを確認していただく" in text
    assert "**" not in text and "<" not in text
    assert "## 原因" not in text and "ドメイン指定をしているため" not in text


def test_copy_falls_back_to_a_textarea_without_the_clipboard_api(context, page):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.goto("/articles/mobile-cancel")
    page.get_by_role("button", name="回答をコピー").click()
    expect(page.locator("#copy-done")).to_be_visible()
    reader = context.new_page()
    reader.goto("/")
    assert "解約" in reader.evaluate("navigator.clipboard.readText()")
