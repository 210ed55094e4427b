"""The escalation flow in a real browser, with operator and expert in two browsers at once:
search finds nothing → escalate → the expert's open queue shows it → the answer comes back to
the operator's open pages, none of them reloaded."""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus

import pytest
from playwright.sync_api import expect

from .conftest import SECOND_OPERATOR, people_pages, type_query

LIVE = 10_000  # ms: the pages poll every 3 s; a live update gets three chances
ESCALATION_URL = re.compile(r"/escalations/(\d+)")

# What an operator does on a page, counted by the page itself: clicks on anything but a form
# field (choosing a level pill is filling a field), and the form fields given input. Kept in
# sessionStorage, so the count runs on across the pages of the flow.
COUNT_ACTIONS = """
(() => {
  const KEY = "kotae-test-actions";
  const load = () => JSON.parse(sessionStorage.getItem(KEY) || '{"clicks": 0, "fields": []}');
  const save = (s) => sessionStorage.setItem(KEY, JSON.stringify(s));
  addEventListener("click", (e) => {
    if (!e.isTrusted || e.target.closest("input, select, textarea, label")) return;
    const s = load(); s.clicks += 1; save(s);
  }, true);
  const touched = (e) => {
    if (!e.isTrusted || !e.target.name) return;
    const s = load();
    if (!s.fields.includes(e.target.name)) s.fields.push(e.target.name);
    save(s);
  };
  addEventListener("input", touched, true);  // typing, choosing, ticking (not a blur)
})();
"""


def reset_count(page) -> None:
    page.evaluate("sessionStorage.removeItem('kotae-test-actions')")


def actions(page) -> dict:
    return page.evaluate(
        "JSON.parse(sessionStorage.getItem('kotae-test-actions') || '{\"clicks\": 0, \"fields\": []}')")


def mark_page(page) -> None:
    """Set a marker that only survives as long as no navigation or reload happens."""
    page.evaluate("window.kotaeSamePage = true")


def still_same_page(page) -> bool:
    return page.evaluate("window.kotaeSamePage === true")


@pytest.fixture
def people(browser, live_server):
    with people_pages(browser, live_server) as open_page:
        yield open_page


def new_call(page) -> None:
    """Start a new call on the search page, so the trail holds only this test's searches."""
    page.goto("/")
    page.click("#new-call")
    expect(page.locator(".flash")).to_contain_text("新しい通話")


def escalation_id(page) -> str:
    return ESCALATION_URL.search(page.url).group(1)


def escalate_as_asked(page, question: str) -> str:
    """Start a new call and escalate ``question`` with the form as it comes; its id."""
    new_call(page)
    page.goto("/escalate?q=" + quote(question))
    page.click("#escalate-submit")
    expect(page.locator("#received")).to_be_visible()
    return escalation_id(page)


def queue_row(page, esc_id: str):
    return page.locator(f'#queue .esc-row[data-id="{esc_id}"]')


def my_row(page, esc_id: str):
    return page.locator(f'#my-escalations .esc-row[data-id="{esc_id}"]')


def escalate_bar_leads(page) -> bool:
    """Whether the escalate bar comes before the results (rather than after them)."""
    return page.evaluate(
        "Boolean(document.getElementById('escalate-bar').compareDocumentPosition("
        "document.getElementById('results')) & Node.DOCUMENT_POSITION_FOLLOWING)")


def acknowledge_and_answer(page, esc_id: str, text: str, interim: bool = False) -> None:
    """The expert, on the escalation's page: take it if nobody has, then send ``text``."""
    if page.locator("#acknowledge").count():
        page.click("#acknowledge")
        expect(page.locator('#escalation [data-field="status_label"]')).to_have_text("対応中")
    page.fill("#answer-text", text)
    if interim:
        page.check('input[name="interim"]')
    page.click("#send-answer")
    expect(page.locator("#interim" if interim else "#answer")).to_be_visible()


# ---- the whole flow ------------------------------------------------------------------------


def test_zero_hits_to_answer_live_on_both_sides(people):
    query = "ぴよぴよぽよぽよ量子"  # no article has anything like it

    expert = people("expert")
    expert.goto("/queue")
    mark_page(expert)  # opened before the escalation exists

    operator = people("operator")
    operator.add_init_script(COUNT_ACTIONS)
    new_call(operator)
    type_query(operator, "パスワード 忘れた")
    expect(operator.locator("#results .hit").first).to_be_visible()
    type_query(operator, query)
    expect(operator.locator("#notice-none")).to_be_visible()
    expect(operator.locator("#results .hit")).to_have_count(0)
    bar = operator.locator("#escalate-bar")
    expect(bar).to_have_class(re.compile(r"\bprominent\b"))
    assert escalate_bar_leads(operator)

    # From the zero-hit page: one click to the form, already holding the query and the trail.
    reset_count(operator)
    operator.click("#escalate-link")
    operator.wait_for_url("**/escalate?**")
    expect(operator.locator("#escalate-query")).to_have_text(query)
    expect(operator.locator("#trail li")).to_have_text(["パスワード 忘れた", query])
    expect(operator.locator('input[name="level"]').first).to_be_checked()  # a level by default
    # A second click sends it; nothing had to be filled in.
    operator.click("#escalate-submit")
    expect(operator.locator("#received")).to_contain_text("受付済み")
    done = actions(operator)
    assert done["clicks"] <= 2 and len(done["fields"]) <= 3, done
    esc_id = escalation_id(operator)

    # The expert's queue, opened before, shows it without a reload.
    row = queue_row(expert, esc_id)
    expect(row).to_be_visible(timeout=LIVE)
    expect(row.locator(".esc-title")).to_have_text(f"#{esc_id} {query}")
    expect(row.locator(".status")).to_have_text("未対応")
    expect(row.locator(".time-left")).to_contain_text("受付期限まで")
    assert still_same_page(expert)

    # The operator goes back to searching; "my escalations" is open in another tab.
    operator.click('nav a:text-is("検索")')
    expect(operator.locator("#q")).to_be_focused()
    mark_page(operator)
    mine = people("operator")
    mine.goto("/my/escalations")
    mark_page(mine)
    expect(my_row(mine, esc_id).locator(".status")).to_have_text("未対応")

    # The expert opens it, takes it: the operator's list follows.
    row.locator(".esc-title").click()
    expect(expert.locator("#escalation h1")).to_have_text(f"#{esc_id} {query}")
    expect(expert.locator("#escalation ol.trail li")).to_have_text(["パスワード 忘れた", query])
    acknowledge_and_answer(
        expert, esc_id, "**再起動**してください。\n\n1. 電源を切る\n2. 30秒待って入れる")
    expect(expert.locator("#answer strong")).to_have_text("再起動")

    # The answer reaches the search page as a notice, and the list, without a reload.
    notice = operator.locator("#answer-notice")
    expect(notice).to_be_visible(timeout=LIVE)
    expect(notice.locator(".answer-notice-link")).to_have_attribute("href", f"/escalations/{esc_id}")
    expect(notice.locator(".answer-notice-link")).to_contain_text(query)
    expect(notice.locator(".answer-notice-body strong")).to_have_text("再起動")
    assert still_same_page(operator)
    answered = my_row(mine, esc_id)
    expect(answered.locator(".status")).to_have_text("回答済み", timeout=LIVE)
    expect(answered.locator(".esc-answer strong")).to_have_text("再起動")
    expect(answered.locator(".esc-answer li")).to_have_text(["電源を切る", "30秒待って入れる"])
    assert still_same_page(mine)

    # The notice stays while the operator moves on, until closed; closed, it stays closed.
    operator.goto("/articles/account-password-reset")
    expect(notice).to_be_visible()
    operator.click("#answer-notice-close")
    expect(notice).to_be_hidden()
    with operator.expect_response(lambda r: "/api/my/escalations" in r.url, timeout=LIVE):
        operator.goto("/")
    expect(notice).to_be_hidden()


def test_escalate_bar_leads_only_when_the_results_are_weak(people):
    page = people("operator")
    page.goto("/")
    type_query(page, "パスワード 忘れた")
    expect(page.locator("#results .hit").first).to_be_visible()
    bar = page.locator("#escalate-bar")
    expect(bar).to_be_visible()
    expect(bar).not_to_have_class(re.compile(r"\bprominent\b"))
    assert not escalate_bar_leads(page)
    expect(page.locator("#escalate-link")).to_have_attribute(
        "href", re.compile(r"^/escalate\?q=" + re.escape(quote_plus("パスワード 忘れた"))))

    # The keys still belong to the results.
    page.keyboard.press("ArrowDown")
    expect(page.locator("#results .hit").first).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("ArrowUp")

    type_query(page, "ぴよぴよ")
    expect(page.locator("#notice-none")).to_be_visible()
    expect(bar).to_have_class(re.compile(r"\bprominent\b"))
    assert escalate_bar_leads(page)

    type_query(page, "パスワード 忘れた")
    expect(page.locator("#results .hit").first).to_be_visible()
    expect(bar).not_to_have_class(re.compile(r"\bprominent\b"))
    assert not escalate_bar_leads(page)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url("**/articles/**")


def test_markup_in_a_note_and_an_answer_stays_text(people):
    query = '<img src=x onerror=alert("q")>ふわふわ土星'
    note = '<script>alert("note")</script><img src=x onerror=alert("img")>お客様が<b>激怒</b>'

    expert = people("expert")
    expert.goto("/queue")
    mark_page(expert)

    operator = people("operator")
    operator.add_init_script(COUNT_ACTIONS)
    new_call(operator)
    operator.goto("/escalate?q=" + quote(query))
    expect(operator.locator("#escalate-query")).to_have_text(query)
    reset_count(operator)
    operator.locator(".level-pill").last.click()  # the most urgent level, as a large pill
    expect(operator.locator('input[name="level"]').last).to_be_checked()
    operator.fill('textarea[name="note"]', note)
    operator.click("#escalate-submit")
    expect(operator.locator("#received")).to_contain_text("受付済み")
    done = actions(operator)
    assert done["clicks"] <= 2 and sorted(done["fields"]) == ["level", "note"], done
    esc_id = escalation_id(operator)
    mine = people("operator")
    mine.goto("/my/escalations")

    row = queue_row(expert, esc_id)
    expect(row).to_be_visible(timeout=LIVE)
    expect(row.locator(".esc-title")).to_have_text(f"#{esc_id} {query}")
    expect(row).to_have_class(re.compile(r"\burgency-high\b"))
    assert still_same_page(expert)
    assert expert.locator("#queue img, #queue script").count() == 0

    row.locator(".esc-title").click()
    expect(expert.locator("#escalation .note")).to_have_text(note)
    assert expert.locator("#escalation img, #escalation .note script").count() == 0

    answer = ('確認しました。<script>alert("answer")</script><img src=x onerror=alert("a")> '
              '[こちら](javascript:alert("link"))')
    acknowledge_and_answer(expert, esc_id, answer)
    expect(expert.locator("#answer")).to_contain_text("確認しました。")

    answered = my_row(mine, esc_id)
    expect(answered.locator(".esc-answer")).to_contain_text("確認しました。", timeout=LIVE)
    assert answered.locator(".esc-answer script, .esc-answer img").count() == 0
    assert answered.locator('.esc-answer a[href^="javascript"]').count() == 0
    # the people fixture fails the test if an alert ran or an image tried to load


def test_second_caller_gets_the_interim_answer_and_adds_the_call(people, live_server):
    question = "ぬるぬる彗星ドーナツ"

    first = people("operator")
    esc_id = escalate_as_asked(first, question)

    expert = people("expert")
    expert.goto(f"/escalations/{esc_id}")
    acknowledge_and_answer(expert, esc_id, "ただいま確認中です。**折り返し**をご案内ください。",
                           interim=True)

    # Another operator, another caller, the same question in other spacing.
    second = people(SECOND_OPERATOR[0])
    second.add_init_script(COUNT_ACTIONS)
    new_call(second)
    type_query(second, "ぬるぬる 彗星ドーナツ")
    expect(second.locator("#notice-none")).to_be_visible()
    reset_count(second)
    second.click("#escalate-link")
    similar = second.locator(f'.similar-item[data-id="{esc_id}"]')
    expect(similar).to_be_visible()
    expect(similar.locator(".answer-box.interim")).to_contain_text("ただいま確認中です。")
    expect(similar.locator(".answer-box.interim strong")).to_have_text("折り返し")
    similar.get_by_role("button", name="この件に追加").click()
    second.wait_for_url(f"**/escalations/{esc_id}")
    expect(second.locator(".flash")).to_contain_text("この件に追加しました")
    expect(second.locator("#interim")).to_contain_text("ただいま確認中です。")
    done = actions(second)
    assert done["clicks"] <= 2 and len(done["fields"]) <= 3, done

    # Attached, not duplicated.
    listing = expert.request.get("/api/escalations").json()["escalations"]
    assert [e["id"] for e in listing if "彗星ドーナツ" in e["query"]] == [int(esc_id)]
    expert.reload()
    expect(expert.locator("#escalation")).to_contain_text("追加された通話（1件）")

    # The final answer reaches the second operator too.
    second.goto("/")
    mark_page(second)
    acknowledge_and_answer(expert, esc_id, "解決しました。**再設定**で直ります。")
    notice = second.locator("#answer-notice")
    expect(notice).to_be_visible(timeout=LIVE)
    expect(notice.locator(".answer-notice-body strong")).to_have_text("再設定")
    assert still_same_page(second)


def wait_for_polls(page, path: str, count: int = 2) -> None:
    """Wait until the page has polled ``path`` ``count`` times (so the earlier answers have
    been drawn)."""
    for _ in range(count):
        with page.expect_response(lambda r: path in r.url, timeout=LIVE):
            pass


def test_live_updates_keep_the_keyboard_focus_and_the_selection(people):
    question = "しゃかしゃか木星マラカス"
    operator = people("operator")
    esc_id = escalate_as_asked(operator, question)

    # An expert going through the queue with the keyboard keeps their place while it refreshes.
    expert = people("expert")
    expert.goto("/queue")
    link = queue_row(expert, esc_id).locator(".esc-title")
    link.focus()
    wait_for_polls(expert, "/api/queue")
    expect(link).to_be_focused()
    expert.keyboard.press("Enter")
    expert.wait_for_url(f"**/escalations/{esc_id}")
    acknowledge_and_answer(expert, esc_id, "設定画面の**リセット**を案内してください。")

    # The operator selects the answer to copy it; the next polls leave the selection alone.
    answer = operator.locator("#answer .rendered")
    expect(answer).to_contain_text("リセット", timeout=LIVE)
    answer.select_text()
    wait_for_polls(operator, f"/api/escalations/{esc_id}")
    assert "リセット" in operator.evaluate("window.getSelection().toString()")
