"""The escalation flow over HTTP: from the operator's search to the expert's answer and back,
the experts' queue, the JSON API, and hostile input in every field a page shows."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kb.clock import utcnow
from kb.db import Database
from kb.models import Escalation, EscalationCall
from webapp import create_app
from webapp.errors import MESSAGES
from webapp.service import get_search

from .conftest import USERS, csrf_token, login
from .webhelpers import add_person, bearer, db, escalate, snapshot, status_of, token_for

# Contacts without business hours, so the route does not depend on the time of day.
ROUTING = """
timezone: Asia/Tokyo
levels:
  - {id: "1", name: 通常, acknowledge_minutes: 30, answer_minutes: 240}
  - {id: "2", name: 至急, acknowledge_minutes: 10, answer_minutes: 60}
  - {id: "3", name: 緊急, acknowledge_minutes: 5, answer_minutes: 30}
contacts:
  - {id: desk, name: SVデスク, channel: phone, address: 内線 201}
  - {id: leader, name: 田中SVリーダー, channel: phone, address: 内線 205}
  - {id: billing, name: 料金チーム, channel: mail, address: billing@example.jp}
rules:
  - {level: "1", category: "*", primary: desk, backup: leader}
  - {level: "1", category: 料金・支払い, primary: billing, backup: desk}
  - {level: "2", category: "*", primary: leader, backup: desk}
  - {level: "3", category: "*", primary: leader}
"""
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">押す</a>'
HOSTILE_ANSWER = """**再起動**してください。

<script>alert("answer")</script>
<img src=x onerror=alert(1)>
[設定画面](javascript:alert(2))
<a href="javascript:alert(3)" onclick="alert(4)">こちら</a>
[ヘルプ](https://example.jp/help)
"""
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture
def app(tmp_path, built_instance, articles_dir):
    """The test app (see conftest), with routing rules that do not depend on the clock."""
    instance = tmp_path / "instance"
    shutil.copytree(built_instance, instance, symlinks=True)
    (instance / "routing.yaml").write_text(ROUTING, encoding="utf-8")
    app = create_app({"TESTING": True, "KB_INSTANCE": str(instance),
                      "KB_ARTICLES": str(articles_dir), "KB_BACKGROUND": False})
    add_person(app, "op2", "operator", "別のオペ")
    return app


@pytest.fixture
def token(app):
    """The operator's API token (a CTI acting for the operator)."""
    return token_for(app, USERS["operator"][0])


# ---- helpers -----------------------------------------------------------------------------------


class _ActiveContent(HTMLParser):
    """Collects everything in a page that could run code: script and frame elements (other
    than our own script file), event-handler attributes and javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src") != "/static/kotae.js":
            self.found.append(f"<script> {attrs}")
        if tag in ("iframe", "object", "embed", "style", "base"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if value and re.sub(r"\s", "", value).lower().startswith(("javascript:", "vbscript:")):
                self.found.append(f"<{tag} {name}={value!r}>")


def active_content(html: str) -> list[str]:
    parser = _ActiveContent()
    parser.feed(html)
    return parser.found


def fresh_count(app, model=Escalation) -> int:
    """Rows as another process sees them: a new connection, so only committed rows count."""
    other = Database(app.config["KB_DATABASE_URL"])
    try:
        with other.read() as session:
            return session.scalar(select(func.count()).select_from(model))
    finally:
        other.dispose()


def post_form(client, path: str, **fields):
    fields["csrf_token"] = csrf_token(client.get("/login").text)
    return client.post(path, data=fields)


def created_id(response) -> int:
    assert response.status_code == 303, response.text[:500]
    match = re.fullmatch(r"/escalations/(\d+)\?created=1", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def type_ahead(client, text: str) -> None:
    """What the search box sends while the operator types ``text``."""
    for end in range(1, len(text) + 1):
        assert client.get("/api/search", query_string={"q": text[:end]}).status_code == 200


def trail_on(html: str) -> list[str]:
    """The searches of the call as a page lists them (form: id="trail", detail: class="trail")."""
    block = re.search(r'<ol (?:id|class)="trail">(.*?)</ol>', html, re.DOTALL)
    return re.findall(r"<li>(.*?)</li>", block.group(1)) if block else []


def queue_ids(client, **filters) -> list[int]:
    response = client.get("/api/queue", query_string=filters)
    assert response.status_code == 200
    return [e["id"] for e in response.get_json()["escalations"]]


def page_row_ids(html: str, list_id: str) -> list[int]:
    block = re.search(rf'<ol id="{list_id}"[^>]*>(.*?)</ol>', html, re.DOTALL).group(1)
    return [int(i) for i in re.findall(r'class="esc-row[^"]*" data-id="(\d+)"', block)]


def api_post(client, token, payload):
    return client.post("/api/escalations", json=payload, headers=bearer(token))


# ---- the operator: search → form → 受付済み ----------------------------------------------------


def test_escalate_form_holds_the_query_the_trail_and_a_suggested_category(app, client):
    type_ahead(client, "ルーター 点滅")
    client.get("/", query_string={"q": "ルーター 点滅"})  # the operator pressed Enter
    type_ahead(client, "ランプ 赤")
    response = client.get("/escalate", query_string={"q": "ランプ 赤"})
    assert response.status_code == 200
    html = response.text
    assert '<input type="hidden" name="q" value="ランプ 赤">' in html
    # The type-ahead prefixes are gone; what the operator actually looked for is shown.
    assert trail_on(html) == ["ルーター 点滅", "ランプ 赤"]
    with app.app_context():
        hits = get_search().search("ランプ 赤", per_page=5).hits
    assert hits
    assert f'<option value="{hits[0].category}" selected>' in html
    for hit in hits:
        assert f'href="/articles/{hit.id}"' in html  # matching articles, before sending
    # Level: the first (most common) one is preselected, nothing else is required.
    assert re.search(r'name="level" value="1" checked', html)
    form = re.search(r'<form id="escalate-form".*?</form>', html, re.DOTALL).group(0)
    assert "required" not in form


def test_posting_the_form_stores_it_before_saying_received(app, client):
    type_ahead(client, "ランプ 赤")
    response = post_form(client, "/escalations", q="ランプ 赤", level="1", category="",
                         note="お客様は急いでいます")
    escalation_id = created_id(response)
    # The redirect is only sent after the commit: another connection sees the row now.
    assert fresh_count(app) == 1
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert f"受付済み（#{escalation_id}）" in page.text
    assert "SVデスクさん (内線 201) に電話" in page.text
    assert "お客様は急いでいます" in page.text
    assert trail_on(page.text) == ["ランプ 赤"]
    api = client.get(f"/api/escalations/{escalation_id}").get_json()
    assert api["status"] == "open" and api["contact"]["channel"] == "phone"
    assert api["trail"] == ["ランプ 赤"]


def test_a_mail_route_is_not_shown_as_a_phone_call(client):
    response = post_form(client, "/escalations", q="請求書が届かない", level="1",
                         category="料金・支払い")
    page = client.get(response.headers["Location"]).text
    assert "受付済み" in page and "料金チーム（メールで通知）" in page
    assert "に電話" not in page


def test_a_refused_form_keeps_what_the_operator_typed(app, client):
    type_ahead(client, "ランプ 赤")
    note = "長いメモ" * 1001  # 4,004 characters, over the 4,000 limit
    before = snapshot(app)
    response = post_form(client, "/escalations", q="ランプ 赤", level="2", category="", note=note)
    assert response.status_code == 400
    assert "メモは4000文字以内にしてください（4004文字）。" in response.text
    assert snapshot(app) == before
    assert note in response.text  # nothing the operator typed is lost
    assert '<input type="hidden" name="q" value="ランプ 赤">' in response.text
    assert re.search(r'name="level" value="2" checked', response.text)
    assert trail_on(response.text) == ["ランプ 赤"]


@pytest.mark.parametrize("fields, message", [
    ({"q": "", "note": "", "level": "1"}, "質問かメモを入力してください。"),
    ({"q": "ランプ", "level": "9"}, "レベルは 1（通常）、2（至急）、3（緊急） のいずれかです。"),
    ({"q": "あ" * 1001, "level": "1"}, "質問は1000文字以内にしてください（1001文字）。"),
])
def test_bad_form_input_is_a_400_with_a_message_and_nothing_stored(app, client, fields, message):
    before = snapshot(app)
    response = post_form(client, "/escalations", **fields)
    assert response.status_code == 400
    assert message in response.text
    assert snapshot(app) == before


def test_a_one_megabyte_note_is_refused(app, client):
    before = snapshot(app)
    response = post_form(client, "/escalations", q="ランプ", level="1", note="あ" * 350_000)
    assert response.status_code == 413
    assert MESSAGES[413] in response.text
    assert snapshot(app) == before


# ---- the same question already open: この件に追加 -----------------------------------------------


def test_open_escalations_for_the_same_question_are_offered_with_their_interim_answer(
        app, client, expert):
    question = "ルーターのランプが赤く点滅している"
    theirs = escalate(app, "op2", query=question)
    closed = escalate(app, "op2", query=question)
    unrelated = escalate(app, "op2", query="請求書の再発行をしたい")
    post_form(expert, f"/escalations/{theirs}/answer", text="**暫定**: 再起動を案内", interim="1")
    post_form(expert, f"/escalations/{closed}/close", outcome="duplicate")

    html = client.get("/escalate", query_string={"q": "ルーターのランプが赤く点滅している。"}).text
    similar = re.search(r'<section class="card similar".*?</section>', html, re.DOTALL).group(0)
    assert f"#{theirs} {question}" in similar
    assert f"#{closed} " not in similar and f"#{unrelated} " not in similar
    assert "<strong>暫定</strong>: 再起動を案内" in similar
    # この件に追加 sends the escalation form (question and note) to that escalation instead.
    button = re.search(r'<button[^>]*>この件に追加</button>', similar).group(0)
    assert 'form="escalate-form"' in button
    assert f'formaction="/escalations/{theirs}/attach"' in button
    # Every link on the form leads somewhere the operator may go.
    for href in set(re.findall(r'<a [^>]*href="(/[^"]*)"', html)):
        assert client.get(href).status_code == 200, href

    before = fresh_count(app)
    response = post_form(client, f"/escalations/{theirs}/attach", q="ルーターのランプが赤い",
                         note="2件目の問い合わせ", level="1", category="インターネット回線")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/escalations/{theirs}"
    assert fresh_count(app) == before  # no duplicate
    assert fresh_count(app, EscalationCall) == 1
    page = client.get(f"/escalations/{theirs}").text
    assert "追加された通話（1件）" in page and "ルーターのランプが赤い — 2件目の問い合わせ" in page
    # The operator who attached a call hears about the answer too.
    assert theirs in [e["id"] for e in client.get("/api/my/escalations").get_json()["escalations"]]


def test_a_closed_escalation_cannot_take_another_call(app, client, expert):
    esc = escalate(app, "op2")
    post_form(expert, f"/escalations/{esc}/close", outcome="duplicate")
    before = snapshot(app)
    response = post_form(client, f"/escalations/{esc}/attach", q="海外で着信できない")
    assert response.status_code == 400
    assert "この件は完了しています。" in response.text
    assert snapshot(app) == before


# ---- the expert: acknowledge, answer, close; the answer back to the operator -------------------


def test_expert_takes_answers_and_closes_and_the_operator_gets_the_answer(app, client, expert):
    escalation_id = created_id(post_form(client, "/escalations", q="海外で着信できない",
                                         level="2"))
    since = client.get("/api/my/escalations").get_json()["since"]

    assert post_form(expert, f"/escalations/{escalation_id}/acknowledge").status_code == 303
    assert status_of(app, escalation_id) == "acknowledged"
    queue = expert.get("/api/queue", query_string={"mine": "1"}).get_json()["escalations"]
    assert [e["id"] for e in queue] == [escalation_id]
    assert queue[0]["assignee"] == USERS["expert"][1]

    response = post_form(expert, f"/escalations/{escalation_id}/answer", text=HOSTILE_ANSWER)
    assert response.status_code == 303
    assert status_of(app, escalation_id) == "answered"

    changed = client.get("/api/my/escalations", query_string={"since": since}).get_json()
    mine = {e["id"]: e for e in changed["escalations"]}
    assert mine[escalation_id]["status"] == "answered"
    assert mine[escalation_id]["answer"] == HOSTILE_ANSWER.strip()
    assert "<strong>再起動</strong>" in mine[escalation_id]["answer_html"]
    assert active_content(mine[escalation_id]["answer_html"]) == []

    for who in (client, expert):
        page = who.get(f"/escalations/{escalation_id}").text
        assert "<strong>再起動</strong>してください。" in page
        assert 'href="https://example.jp/help"' in page
        assert active_content(page) == []
    assert active_content(client.get("/my/escalations").text) == []

    # Closing needs an outcome; then it is recorded with who, when and from → to.
    post_form(expert, f"/escalations/{escalation_id}/close")
    assert status_of(app, escalation_id) == "answered"
    assert post_form(expert, f"/escalations/{escalation_id}/close",
                     outcome="article_created").status_code == 303
    assert status_of(app, escalation_id) == "closed"
    events = client.get(f"/api/escalations/{escalation_id}").get_json()["events"]
    steps = [(e["kind"], e["from"], e["to"], e["by"]) for e in events if e["from"] or e["to"]]
    expert_name, operator_name = USERS["expert"][1], USERS["operator"][1]
    assert steps == [
        ("created", None, "open", operator_name),
        ("acknowledged", "open", "acknowledged", expert_name),
        ("answered", "acknowledged", "answered", expert_name),
        ("closed", "answered", "closed", expert_name),
    ]
    assert escalation_id not in queue_ids(expert)


def test_a_refused_transition_says_why_and_changes_nothing(app, expert):
    esc = escalate(app, "op")
    post_form(expert, f"/escalations/{esc}/close", outcome="duplicate")
    before = snapshot(app)
    response = post_form(expert, f"/escalations/{esc}/acknowledge")
    assert response.status_code == 303
    assert "この件は「完了」のため、この操作はできません。" in expert.get(response.headers["Location"]).text
    assert snapshot(app) == before


@pytest.mark.parametrize("zone, suffix", [
    (ZoneInfo("Asia/Tokyo"), "+09:00"), (UTC, "Z"), (UTC, "+00:00"), (UTC, ""),
])
def test_my_escalations_since_takes_any_iso_time(app, client, zone, suffix):
    esc = escalate(app, "op")
    now = datetime.now(UTC)

    def ids(moment: datetime) -> list[int]:
        since = moment.astimezone(zone).replace(tzinfo=None).isoformat(timespec="seconds")
        response = client.get("/api/my/escalations", query_string={"since": since + suffix})
        assert response.status_code == 200
        return [e["id"] for e in response.get_json()["escalations"]]

    assert esc in ids(now - timedelta(hours=1))
    assert esc not in ids(now + timedelta(hours=1))


def test_a_change_committed_just_after_a_poll_is_in_the_next_poll(app, client):
    """A change is stamped when its transaction starts and seen when it commits, which can be
    seconds later when it waited for the write lock: the next poll must still bring it."""
    started = utcnow() - timedelta(seconds=5)  # a write that has been waiting for the lock
    first = client.get("/api/my/escalations").get_json()
    assert first["escalations"] == []
    late = escalate(app, "op")
    with db(app).write() as session:  # ... and commits now, with its earlier stamp
        session.get(Escalation, late).updated_at = started
    response = client.get("/api/my/escalations", query_string={"since": first["since"]})
    assert late in [e["id"] for e in response.get_json()["escalations"]]


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "'; DROP TABLE escalations; --"])
def test_my_escalations_since_must_be_a_time(client, since):
    response = client.get("/api/my/escalations", query_string={"since": since})
    assert response.status_code == 400
    assert response.get_json() == {"error": "since は ISO 8601 の日時で指定してください。"}


# ---- the experts' queue ------------------------------------------------------------------------


def test_queue_is_ordered_by_level_then_deadline_and_filters(app, expert, token):
    operator = app.test_client()

    def raise_(query, level, category=None):
        payload = {"query": query, "level": level}
        if category:
            payload["category"] = category
        response = api_post(operator, token, payload)
        assert response.status_code == 201
        return response.get_json()["id"]

    a = raise_("一件目の通常の質問", "1")
    b = raise_("二件目の料金の質問", "1", "料金・支払い")
    c = raise_("緊急の質問", "3")
    d = raise_("至急の質問", "2")
    assert queue_ids(expert) == [c, d, a, b]

    post_form(expert, f"/escalations/{a}/answer", text="回答しました")  # answered: last in level
    post_form(expert, f"/escalations/{b}/acknowledge")
    assert queue_ids(expert) == [c, d, b, a]
    assert queue_ids(expert, level="1") == [b, a]
    assert queue_ids(expert, category="料金・支払い") == [b]
    assert queue_ids(expert, mine="1") == [b, a]
    post_form(expert, f"/escalations/{c}/close", outcome="no_article_needed")
    assert queue_ids(expert) == [d, b, a]

    page = expert.get("/queue")
    assert page_row_ids(page.text, "queue") == [d, b, a]
    filtered = expert.get("/queue", query_string={"level": "1", "mine": "1"}).text
    assert page_row_ids(filtered, "queue") == [b, a]
    poll = re.search(r'data-poll-url="([^"]+)"', filtered).group(1).replace("&amp;", "&")
    assert urlsplit(poll).path == "/api/queue"
    assert sorted(urlsplit(poll).query.split("&")) == ["level=1", "mine=1"]
    # Each row carries its deadline, from which the page shows the time left.
    deadline = re.search(rf'data-id="{d}".*?data-acknowledge-by="([^"]+)"', page.text,
                         re.DOTALL).group(1)
    assert deadline == expert.get(f"/api/escalations/{d}").get_json()["acknowledge_by"]


@pytest.mark.parametrize("junk", [
    {"endpoint": "x"}, {"_external": "1"}, {"_scheme": "javascript"}, {"_anchor": "x"},
    {"_method": "POST"}, {"values": "1"},
])
def test_queue_page_ignores_unknown_parameters(expert, junk):
    response = expert.get("/queue", query_string=junk)
    assert response.status_code == 200
    assert re.search(r'data-poll-url="([^"]+)"', response.text).group(1) == "/api/queue"


# ---- the JSON API ------------------------------------------------------------------------------


def test_api_create_get_and_list(app, token):
    client = app.test_client()
    response = api_post(client, token, {"query": "海外で着信できない", "level": "2",
                                        "category": "端末・故障", "note": "渡航先はタイ"})
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/api/escalations/{body['id']}"
    assert fresh_count(app) == 1
    assert (body["query"], body["level"], body["level_name"], body["category"], body["note"],
            body["status"]) == ("海外で着信できない", "2", "至急", "端末・故障", "渡航先はタイ", "open")
    assert body["contact"]["instruction"] == "田中SVリーダーさん (内線 205) に電話"
    fetched = client.get(response.headers["Location"], headers=bearer(token))
    assert fetched.status_code == 200 and fetched.get_json()["id"] == body["id"]

    other = api_post(client, token, {"query": "請求書が届かない", "level": "1"}).get_json()["id"]
    expert = login(app.test_client(), "expert")
    post_form(expert, f"/escalations/{other}/close", outcome="duplicate")

    def listed(status=None):
        query = {"status": status} if status else {}
        response = client.get("/api/escalations", query_string=query, headers=bearer(token))
        assert response.status_code == 200
        return [e["id"] for e in response.get_json()["escalations"]]

    assert listed("open") == [body["id"]]
    assert listed("closed") == [other]
    assert sorted(listed()) == sorted([body["id"], other])
    response = client.get("/api/escalations", query_string={"status": "done"},
                          headers=bearer(token))
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "status は open, acknowledged, answered, closed のいずれかです。"}


BAD_REQUESTS = {
    "not JSON": {"data": "{query: 海外", "content_type": "application/json"},
    "JSON array": {"json": [{"query": "海外", "level": "1"}]},
    "JSON string": {"json": "海外で着信できない"},
    "JSON null": {"data": "null", "content_type": "application/json"},
    "empty body": {"data": "", "content_type": "application/json"},
    "form body": {"data": {"query": "海外", "level": "1"}},
    "unknown field": {"json": {"query": "海外", "level": "1", "priority": "high"}},
    "unknown level": {"json": {"query": "海外", "level": "9"}},
    "no level": {"json": {"query": "海外"}},
    "no query": {"json": {"level": "1", "note": "メモだけ"}},
    "blank query": {"json": {"query": "   ", "level": "1"}},
    "number query": {"json": {"query": 123, "level": "1"}},
    "boolean query": {"json": {"query": True, "level": "1"}},
    "number level": {"json": {"query": "海外", "level": 1}},
    "boolean level": {"json": {"query": "海外", "level": True}},
    "list note": {"json": {"query": "海外", "level": "1", "note": ["a"]}},
    "object category": {"json": {"query": "海外", "level": "1", "category": {"a": 1}}},
    "long query": {"json": {"query": "あ" * 1001, "level": "1"}},
    "long note": {"json": {"query": "海外", "level": "1", "note": "あ" * 4001}},
    "long category": {"json": {"query": "海外", "level": "1", "category": "カ" * 101}},
    "1 MB note": {"data": json.dumps({"query": "海外", "level": "1", "note": "a" * 1_000_000}),
                  "content_type": "application/json"},
}


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_bad_api_requests_are_4xx_with_a_message_and_store_nothing(app, token, name):
    before = snapshot(app)
    response = app.test_client().post("/api/escalations", headers=bearer(token),
                                      **BAD_REQUESTS[name])
    assert response.status_code in (400, 413, 415)
    message = response.get_json()["error"]
    assert JAPANESE.search(message), message
    assert snapshot(app) == before


def test_a_one_megabyte_note_is_413(app, token):
    response = app.test_client().post("/api/escalations", headers=bearer(token),
                                      **BAD_REQUESTS["1 MB note"])
    assert response.status_code == 413
    assert response.get_json() == {"error": MESSAGES[413]}


# ---- hostile text is shown, never run ----------------------------------------------------------


def test_html_in_queries_and_notes_is_escaped_on_every_page(app, client, expert):
    escalation_id = created_id(post_form(client, "/escalations", q=HOSTILE, level="1",
                                         category=HOSTILE[:100], note=HOSTILE))
    post_form(client, f"/escalations/{escalation_id}/attach", q=HOSTILE, note=HOSTILE)
    post_form(expert, f"/escalations/{escalation_id}/answer", text=HOSTILE, interim="1")
    pages = {
        "detail (operator)": client.get(f"/escalations/{escalation_id}"),
        "detail (expert)": expert.get(f"/escalations/{escalation_id}"),
        "my escalations": client.get("/my/escalations"),
        "queue": expert.get("/queue"),
        "escalate form": client.get("/escalate", query_string={"q": HOSTILE}),
        "search": client.get("/", query_string={"q": HOSTILE}),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert active_content(response.text) == [], name
        assert "&lt;script&gt;alert(" in response.text, f"{name} does not show the text"
    stored = client.get(f"/api/escalations/{escalation_id}").get_json()
    assert stored["query"] == HOSTILE and stored["note"] == HOSTILE  # kept as typed
    assert active_content(stored["interim_html"]) == []

