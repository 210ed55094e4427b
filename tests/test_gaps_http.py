"""The gap pages over HTTP: grouped questions with their counts, opened, and resolved."""

from __future__ import annotations

import re

from kb.models import Escalation, Gap

from .conftest import USERS, csrf_token, login
from .webhelpers import db, escalate, status_of


def gap_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'class="gap-row[^"]*" data-id="(\d+)"', html)]


def gap_of(app, escalation_id: int) -> int:
    with db(app).read() as session:
        return session.get(Escalation, escalation_id).gap_id


def test_the_gap_list_counts_the_same_question_and_names_no_one(app):
    editor = login(app.test_client(), "editor")
    for query in ("パスワードを忘れました", "パスワード 忘れた", "ぱすわーど忘れた"):
        escalate(app, "op", query)
    escalate(app, "op", "解約したい", level="3")
    page = editor.get("/gaps")
    assert page.status_code == 200
    rows = re.findall(r'<tr class="gap-row.*?</tr>', page.text, re.DOTALL)
    assert len(rows) == 2
    assert "パスワードを忘れました" in rows[0] and '<td class="gap-count">3</td>' in rows[0]
    assert "解約したい" in rows[1] and "レベル3" in rows[1]
    assert USERS["operator"][1] not in page.text  # counted by topic, never by person


def test_an_escalation_made_over_http_joins_its_gap(client, app):
    first = escalate(app, "op", "請求書を再発行したい")
    page = client.get("/escalate?q=請求書の再発行")
    response = client.post("/escalations", data={
        "q": "請求書の再発行", "level": "1", "csrf_token": csrf_token(page.text)})
    assert response.status_code == 303
    with db(app).read() as session:
        newest = session.query(Escalation).order_by(Escalation.id.desc()).first()
        assert newest.id != first and newest.gap_id == gap_of(app, first)


def test_opening_and_resolving_a_gap_closes_its_escalations(app):
    expert = login(app.test_client(), "expert")
    a = escalate(app, "op", "海外で着信できない")
    b = escalate(app, "op", "海外で着信しない", level="2")
    gap_id = gap_of(app, a)
    assert gap_of(app, b) == gap_id
    page = expert.get(f"/gaps/{gap_id}")
    assert page.status_code == 200
    assert f'data-id="{a}"' in page.text and f'data-id="{b}"' in page.text
    assert USERS["operator"][1] not in page.text
    response = expert.post(f"/gaps/{gap_id}/resolve", data={
        "outcome": "article_created", "resolution": "記事 roaming-calls を公開",
        "csrf_token": csrf_token(page.text)})
    assert response.status_code == 303
    after = expert.get(response.headers["Location"])
    assert "解決しました（エスカレーション 2 件を完了）" in after.text
    assert "解決済み" in after.text and 'id="resolve-gap"' not in after.text
    assert status_of(app, a) == status_of(app, b) == "closed"
    assert gap_id not in gap_ids(expert.get("/gaps").text)
    assert gap_id in gap_ids(expert.get("/gaps?resolved=1").text)


def test_resolving_without_an_outcome_changes_nothing(app):
    editor = login(app.test_client(), "editor")
    a = escalate(app, "op", "海外で着信できない")
    gap_id = gap_of(app, a)
    page = editor.get(f"/gaps/{gap_id}")
    response = editor.post(f"/gaps/{gap_id}/resolve", data={
        "outcome": "", "csrf_token": csrf_token(page.text)}, follow_redirects=True)
    assert "解決の理由を選んでください。" in response.text
    assert status_of(app, a) == "open"
    with db(app).read() as session:
        assert session.get(Gap, gap_id).resolved_at is None


def test_resolving_needs_the_csrf_token(app):
    editor = login(app.test_client(), "editor")
    a = escalate(app, "op", "海外で着信できない")
    assert editor.post(f"/gaps/{gap_of(app, a)}/resolve",
                       data={"outcome": "duplicate"}).status_code == 400
    assert status_of(app, a) == "open"


def test_a_missing_gap_is_404(app):
    editor = login(app.test_client(), "editor")
    assert editor.get("/gaps/987654").status_code == 404
    assert editor.get(f"/gaps/{10**20}").status_code == 404
