"""The operators' home page (the search page with no query): recently answered escalations and
new or updated articles, shared with everyone, naming no one."""

from __future__ import annotations

import re

from sqlalchemy import select

from kb import escalations as esc_core
from kb.clock import utcnow
from kb.models import User
from kb.recent import snippet

from .conftest import USERS
from .webhelpers import db, escalate


def answer(app, escalation_id: int, text: str, interim: bool = False) -> None:
    with db(app).write() as session:
        expert = session.scalar(select(User).where(User.name == "sv"))
        esc_core.transition(esc_core.get(session, escalation_id), expert, "answer", utcnow(),
                            text=text, interim=interim)


def section(html: str, list_id: str) -> list[str]:
    found = re.search(rf'<ul id="{list_id}".*?</ul>', html, re.DOTALL)
    return re.findall(r'data-id="([^"]+)"', found.group(0)) if found else []


def test_the_home_page_shows_the_newest_articles_first(client):
    page = client.get("/")
    new = section(page.text, "new-articles")
    assert len(new) == 5
    # The sample updated last (2026-11-18) comes first; drafts never appear.
    assert new[0] == "account-suspicious-login"
    first = re.search(r'<ul id="new-articles".*?<li class="shared-item" data-id="([^"]+)">.*?'
                      r'<span class="shared-when">([^<]*)</span>', page.text, re.DOTALL)
    assert first.group(2) == "2026-11-18"
    assert "test-draft-article" not in new
    assert "まだありません。" in page.text  # nothing answered yet


def test_answered_escalations_are_shared_without_names(client, app):
    answered = escalate(app, "op", "海外で着信できない")
    answer(app, answered, "**ローミング設定**を確認し、\n\n1. 端末を再起動してください。")
    still_open = escalate(app, "op", "請求書が届かない")
    interim = escalate(app, "op", "解約の違約金はいくら")
    answer(app, interim, "確認中です", interim=True)
    page = client.get("/")
    assert section(page.text, "recent-answers") == [str(answered)]
    assert "海外で着信できない" in page.text
    assert "ローミング設定 を確認し、 1. 端末を再起動してください。" in page.text
    assert "請求書が届かない" not in page.text and "確認中です" not in page.text
    assert str(still_open) not in section(page.text, "recent-answers")
    assert USERS["expert"][1] not in page.text  # 佐藤SV answered; the page names no one


def test_a_search_shows_results_not_the_home_sections(client):
    page = client.get("/?q=パスワード")
    assert 'id="shared-knowledge"' not in page.text


def test_the_snippet_is_plain_and_short():
    assert snippet("## 手順\n\n* [リンク](http://x) を `押す`") == "手順 リンク を 押す"
    long = snippet("あ" * 500)
    assert len(long) == 120 and long.endswith("…")
