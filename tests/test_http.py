"""The web app over HTTP: search page, JSON API, article pages, errors and security headers."""

from __future__ import annotations

import re

import pytest

from webapp import create_app

from .conftest import DRAFT_ID, HOSTILE_ID, OUTSIDE_ID, add_users, login

HOSTILE_QUERIES = [
    "",
    "あ" * 10_000,
    "a" * 10_000,
    "!!!???",
    '"解約"',
    "title:解約",
    "解約 AND 料金 OR *",
    "\x00\x07",
    "%00",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "（）［］｛｝＊？",
    "\u200b\ufeff",
]
BAD_PAGING = [
    {"page": "abc"},
    {"page": "-1"},
    {"page": "0"},
    {"page": "1.5"},
    {"page": "9" * 5000},
    {"per_page": "100000"},
    {"per_page": "0"},
    {"per_page": "x"},
]


def hit_ids(html: str) -> list[str]:
    return re.findall(r'class="hit-title" href="/articles/([^"]+)"', html)


def own_script_tags_removed(html: str) -> str:
    """The page without our one script tag, so what is left must hold no script at all."""
    return html.replace('<script src="/static/kotae.js" defer></script>', "", 1)


# ---- search page ---------------------------------------------------------------------------


def test_search_page_shows_results_without_javascript(client):
    response = client.get("/", query_string={"q": "パスワード 忘れた"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert hit_ids(html)[0] == "account-password-reset"
    assert "<mark>パスワード</mark>" in html
    assert 'value="パスワード 忘れた"' in html
    # The escalate link carries the query, but a confident answer does not push it first.
    assert 'id="escalate-link"' in html and "/escalate?q=" in html
    assert 'class="escalate-bar prominent"' not in html


def test_search_page_without_query_shows_the_box_and_categories(client):
    html = client.get("/").get_data(as_text=True)
    assert 'id="q"' in html and "autofocus" in html
    assert "アカウント・ログイン（" in html  # the category filter, with counts
    assert hit_ids(html) == []


def test_category_filter_keeps_only_that_category(client):
    html = client.get("/", query_string={"q": "料金", "category": "料金・支払い"}).get_data(
        as_text=True
    )
    ids = hit_ids(html)
    assert ids and all(i.startswith(("billing-", "payment-")) for i in ids)
    assert '<option value="料金・支払い" selected>' in html


def test_zero_hits_say_so(client):
    html = client.get("/", query_string={"q": "ぴよぴよぽよぽよ量子"}).get_data(as_text=True)
    assert hit_ids(html) == []
    assert '<p id="notice-none" class="notice">該当する記事が見つかりませんでした</p>' in html


def test_index_is_built_on_first_use(tmp_path, articles_dir):
    instance = tmp_path / "empty-instance"
    app = create_app({"TESTING": True, "KB_INSTANCE": str(instance),
                      "KB_ARTICLES": str(articles_dir), "KB_BACKGROUND": False})
    add_users(app)
    response = login(app.test_client(), "operator").get("/", query_string={"q": "解約"})
    assert response.status_code == 200
    assert hit_ids(response.get_data(as_text=True))
    assert (instance / "index" / "current").is_symlink()


# ---- JSON API ------------------------------------------------------------------------------


def test_api_search_json_shape(client):
    response = client.get("/api/search", query_string={"q": "パスワード 忘れた", "per_page": 5})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert {
        "query", "normalized", "hits", "total", "page", "per_page", "pages", "confident",
        "did_you_mean", "message", "elapsed_ms",
    } <= set(data)
    assert data["query"] == "パスワード 忘れた"
    assert data["per_page"] == 5 and len(data["hits"]) == 5 and data["total"] >= 5
    assert isinstance(data["confident"], bool)
    hit = data["hits"][0]
    assert hit["id"] == "account-password-reset"
    assert {"id", "title", "title_html", "category", "tags", "snippet_html", "score", "rank",
            "updated"} <= set(hit)
    assert isinstance(hit["tags"], list) and hit["rank"] == 1
    assert "<mark>" in hit["snippet_html"] + hit["title_html"]


def test_api_search_kana_typed_query(client):
    data = client.get("/api/search", query_string={"q": "ぱすわーど"}).get_json()
    assert data["hits"][0]["id"] == "account-password-reset"
    assert data["confident"] in (True, False)


def test_did_you_mean_is_a_link_to_the_corrected_query(client):
    html = client.get("/", query_string={"q": "テザリンク"}).get_data(as_text=True)
    assert re.search(r'<p id="did-you-mean" class="did-you-mean">もしかして:\s*<a href="/\?q=%E3%83%86'
                     r'[^"]*" data-query="テザリング">テザリング</a>', html)


def test_api_search_pages_and_filters(client):
    first = client.get("/api/search", query_string={"q": "料金", "per_page": 3}).get_json()
    second = client.get("/api/search", query_string={"q": "料金", "per_page": 3, "page": 2}).get_json()
    assert second["page"] == 2 and second["hits"][0]["rank"] == 4
    assert {h["id"] for h in first["hits"]}.isdisjoint(h["id"] for h in second["hits"])
    tagged = client.get("/api/search", query_string={"q": "パスワード", "tag": "再設定"}).get_json()
    assert tagged["hits"] and all("再設定" in h["tags"] for h in tagged["hits"])


def test_api_search_never_returns_drafts(client):
    data = client.get("/api/search", query_string={"q": "下書きの秘密記事"}).get_json()
    assert DRAFT_ID not in [h["id"] for h in data["hits"]]


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=repr)
def test_api_search_takes_any_text(client, query):
    response = client.get("/api/search", query_string={"q": query})
    assert response.status_code == 200
    data = response.get_json()
    assert isinstance(data["hits"], list)
    if not data["hits"]:
        assert data["message"] or data["normalized"]


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=repr)
def test_search_page_takes_any_text(client, query):
    response = client.get("/", query_string={"q": query})
    assert response.status_code == 200
    assert "<script>alert" not in response.get_data(as_text=True)


def test_long_query_says_it_was_cut(client):
    data = client.get("/api/search", query_string={"q": "解約 " * 2000}).get_json()
    assert data["message"] and "文字で検索しました" in data["message"]
    assert data["hits"]


@pytest.mark.parametrize("url", [
    "/api/search?q=%00", "/api/search?q=%E8%A7%A3", "/api/search?q=%ff%fe",
    "/api/search?q=a&category=%00", "/api/search?q=a&tag=%22%27", "/?q=%00&category=%00",
    "/api/suggest?q=%00", "/api/suggest?q=%ff", "/api/search", "/api/suggest",
])
def test_raw_urls_never_fail(client, url):
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("params", BAD_PAGING, ids=repr)
def test_bad_paging_is_a_400_with_a_message(client, params):
    response = client.get("/api/search", query_string={"q": "解約", **params})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert "の整数で指定してください" in error
    page = client.get("/", query_string={"q": "解約", **params})
    assert page.status_code == 400
    assert "の整数で指定してください" in page.get_data(as_text=True)


def test_api_errors_are_json(client):
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["error"]
    wrong_method = client.post("/api/search", data={"q": "解約"})
    assert wrong_method.status_code == 405 and wrong_method.get_json()["error"]


def test_unexpected_errors_are_a_calm_500(app, monkeypatch):
    from kb.search import SearchService

    def broken(*args, **kwargs):
        raise RuntimeError("index on fire")

    monkeypatch.setattr(SearchService, "search", broken)
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    client = login(app.test_client(), "operator")
    api = client.get("/api/search", query_string={"q": "解約"})
    assert api.status_code == 500
    assert api.get_json() == {"error": "サーバーでエラーが発生しました。時間をおいてもう一度お試しください。"}
    page = client.get("/", query_string={"q": "解約"})
    assert page.status_code == 500
    html = page.get_data(as_text=True)
    assert "サーバーでエラーが発生しました" in html and "index on fire" not in html


def test_api_suggest(client):
    response = client.get("/api/suggest", query_string={"q": "ぱす"})
    assert response.status_code == 200
    suggestions = response.get_json()["suggestions"]
    assert any("パスワード" in s["text"] for s in suggestions)
    assert all(set(s) == {"text", "article_id", "kind"} for s in suggestions)
    assert len(suggestions) <= 8


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=repr)
def test_api_suggest_takes_any_text(client, query):
    response = client.get("/api/suggest", query_string={"q": query})
    assert response.status_code == 200
    assert isinstance(response.get_json()["suggestions"], list)


# ---- article page --------------------------------------------------------------------------


def test_article_page(client):
    response = client.get("/articles/account-password-reset")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1 class=\"article-title\">マイあおばのパスワードを忘れた（パスワード再設定）</h1>" in html
    assert "アカウント・ログイン" in html and "2026-09-03" in html
    assert '<span class="tag">再設定</span>' in html
    assert "<h2>回答・対応手順</h2>" in html
    assert "<strong>オペレーターが確認・代わりに設定することはできない</strong>" in html
    assert 'id="copy-answer"' in html and "回答をコピー" in html


def test_hostile_article_is_sanitised(client):
    response = client.get(f"/articles/{HOSTILE_ID}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    body = own_script_tags_removed(html)
    assert "<script" not in body.lower()
    assert "onerror" not in body.lower()
    assert "onclick" not in body.lower()
    assert "javascript:" not in body.lower()
    assert "<iframe" not in body.lower() and "<style" not in body.lower()
    assert "&lt;script&gt;" in html  # the title is shown as text
    assert "は押さない。" in html


def test_hostile_article_in_results_is_escaped(client):
    html = client.get("/", query_string={"q": "危険なマークアップ"}).get_data(as_text=True)
    assert HOSTILE_ID in hit_ids(html)
    body = own_script_tags_removed(html)
    assert "<script" not in body.lower() and "<img" not in body.lower()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown as text, not as a tag
    data = client.get("/api/search", query_string={"q": "危険なマークアップ"}).get_json()
    for hit in data["hits"]:
        assert "<script" not in hit["title_html"] and "<img" not in hit["snippet_html"]


@pytest.mark.parametrize("url", [
    "/articles/no-such-article",
    "/articles/..%2F..%2Fetc%2Fpasswd",
    "/articles/../pyproject",
    "/articles/..",
    "/articles/%2e%2e",
    "/articles/%2Fetc%2Fpasswd",
    "/articles/account-password-reset.md",
    "/articles/Account-Password-Reset",
    "/articles/a",
    "/articles/" + "a" * 65,
    "/articles/-leading-dash",
    "/articles/account-password-reset%00",
    "/articles/account-password-reset%2F",
    f"/articles/{DRAFT_ID}",
    f"/articles/{OUTSIDE_ID}",
])
def test_unknown_or_tricky_article_urls_are_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "お探しのページは見つかりませんでした" in html
    assert "[tool.setuptools" not in html and "root:" not in html


# ---- headers and assets --------------------------------------------------------------------

PAGES = [
    "/",
    "/?q=%E8%A7%A3%E7%B4%84",
    "/articles/account-password-reset",
    f"/articles/{HOSTILE_ID}",
    "/articles/no-such-article",
    "/?q=x&page=abc",
]


@pytest.mark.parametrize("url", [*PAGES, "/api/search?q=a", "/api/suggest?q=a", "/api/nothing"])
def test_security_headers(client, url):
    headers = client.get(url).headers
    csp = headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["object-src"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("url", PAGES)
def test_pages_load_nothing_from_elsewhere(client, url):
    html = client.get(url).get_data(as_text=True)
    asset_tag = re.compile(r"<(?:script|link|img|iframe|source|video|audio)\b[^>]*>", re.IGNORECASE)
    remote = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:|//)""", re.IGNORECASE)
    assets = asset_tag.findall(html)
    assert assets
    for tag in assets:
        assert not remote.search(tag), tag
    assert "style=" not in html  # the CSP forbids inline styles, so none are written


def test_static_assets_are_served_locally(client):
    css = client.get("/static/kotae.css")
    js = client.get("/static/kotae.js")
    assert css.status_code == 200 and js.status_code == 200
    assert js.mimetype in ("text/javascript", "application/javascript")
    text = css.get_data(as_text=True) + js.get_data(as_text=True)
    assert "http://" not in text and "https://" not in text
    assert "@import" not in text and "url(" not in text
    # HTML is only ever set from the server's escaped-and-marked fields.
    assigned = re.findall(r"innerHTML\s*=\s*([\w.]+)", text)
    assert sorted(assigned) == ["hit.snippet_html", "hit.title_html", "html"]
    # the answers the server rendered and cleaned: its definition, the lists, the escalation
    # page, the answer notice and the editor's preview
    assert text.count("setSanitisedHtml(") == 5
