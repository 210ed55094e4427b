"""Fixtures for the web tests: the sample articles plus hostile ones, an app, a live server."""

from __future__ import annotations

import os
import re
import shutil
import threading
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from kb import accounts
from kb.index import IndexStore
from tests.helpers import add_people, copy_database, new_database
from webapp import create_app

SAMPLE_ARTICLES = Path(__file__).parent.parent / "articles"

HOSTILE_ID = "test-hostile-markup"
DRAFT_ID = "test-draft-article"
OUTSIDE_ID = "test-outside-link"

HOSTILE = """---
id: test-hostile-markup
title: 危険なマークアップ<script>alert("title")</script>の記事
questions:
  - 危険な記事を開くと<img src=x onerror=alert(1)>どうなる
tags: [危険, テスト]
category: テスト
status: published
updated: 2026-10-01
---

## 問題
<script>alert(1)</script>
<img src=x onerror=alert(1)>

## 回答・対応手順
1. [link](javascript:alert(1)) は押さない。
2. <a href="javascript:alert(2)" onclick="alert(3)">こちら</a>も押さない。
3. <iframe src="https://evil.example/"></iframe><style>body{display:none}</style>
"""

DRAFT = """---
id: test-draft-article
title: 下書きの秘密記事
tags: [下書き]
category: テスト
status: draft
---

## 回答・対応手順
まだ公開していない手順。
"""

OUTSIDE = """---
id: test-outside-link
title: 記事フォルダの外にあるファイル
category: テスト
status: published
---

## 回答・対応手順
記事フォルダの外のファイルは表示しない。
"""


@pytest.fixture(scope="session")
def articles_dir(tmp_path_factory) -> Path:
    """The sample articles, plus hostile, draft and out-of-tree (symlinked) articles."""
    root = tmp_path_factory.mktemp("kb") / "articles"
    shutil.copytree(SAMPLE_ARTICLES, root)
    (root / f"{HOSTILE_ID}.md").write_text(HOSTILE, encoding="utf-8")
    (root / f"{DRAFT_ID}.md").write_text(DRAFT, encoding="utf-8")
    outside = root.parent / "outside.md"
    outside.write_text(OUTSIDE, encoding="utf-8")
    (root / f"{OUTSIDE_ID}.md").symlink_to(outside)
    return root


@pytest.fixture(scope="session")
def built_instance(tmp_path_factory, articles_dir) -> Path:
    """An instance directory with the index built once; each app gets a copy of it."""
    instance = tmp_path_factory.mktemp("built") / "instance"
    report = IndexStore(instance / "index").update(articles_dir)
    assert not report.problems, report.problems
    app = create_app({"KB_INSTANCE": str(instance), "KB_ARTICLES": str(articles_dir),
                      "KB_BACKGROUND": False})
    add_users(app)
    app.extensions["kb_db"].dispose()  # checkpoints the WAL: the copies hold everything
    return instance


PASSWORD = "correct horse battery"
# One person per role; the display names are what the pages show.
USERS = {
    "operator": ("op", "山田オペ"),
    "expert": ("sv", "佐藤SV"),
    "editor": ("ed", "鈴木編集"),
    "admin": ("admin", "管理者"),
}

# A second operator on the live server, for the browser tests where two callers ask the same.
SECOND_OPERATOR = ("op2", "高橋オペ")


def add_users(app) -> None:
    with app.extensions["kb_db"].write() as session:
        for role, (name, display) in USERS.items():
            accounts.add_user(session, name, role, PASSWORD, display)


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def login(client, role: str):
    """Log ``client`` in as the user with ``role``, through the login form."""
    page = client.get("/login")
    response = client.post("/login", data={
        "name": USERS[role][0], "password": PASSWORD, "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302, response.text
    return client


# A real SQLite file with people in it, for the core tests: migrated once per test module
# (a module may override ``template`` to add people), copied for every test.

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A migrated database with two operators and two experts, and those people."""
    database = new_database(tmp_path_factory.mktemp("template"))
    return database, add_people(database)


@pytest.fixture
def db(template, tmp_path):
    database = copy_database(template[0], tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def people(template):
    return template[1]


@pytest.fixture
def app(tmp_path, built_instance, articles_dir):
    instance = tmp_path / "instance"
    shutil.copytree(built_instance, instance, symlinks=True)
    app = create_app({
        "TESTING": True, "KB_INSTANCE": str(instance), "KB_ARTICLES": str(articles_dir),
        "KB_BACKGROUND": False,
    })
    return app


@pytest.fixture
def anonymous(app):
    return app.test_client()


@pytest.fixture
def client(app):
    """An operator's browser session."""
    return login(app.test_client(), "operator")


@pytest.fixture
def expert(app):
    return login(app.test_client(), "expert")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, articles_dir):
    """The real app in a real HTTP server on 127.0.0.1 (index built on first use)."""
    instance = tmp_path_factory.mktemp("live") / "instance"
    app = create_app({"KB_INSTANCE": str(instance), "KB_ARTICLES": str(articles_dir),
                      "KB_BACKGROUND_INTERVAL": 0.5})
    add_users(app)
    with app.extensions["kb_db"].write() as session:
        accounts.add_user(session, SECOND_OPERATOR[0], "operator", PASSWORD, SECOND_OPERATOR[1])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    # The first request builds the index; do it here so no test pays for it.
    with urllib.request.urlopen(f"{base_url}/login", timeout=60) as response:
        assert response.status == 200
    app.extensions["kb_search"] if "kb_search" in app.extensions else _warm(app)
    yield base_url
    server.shutdown()
    thread.join(timeout=10)


def _warm(app) -> None:
    from webapp.service import get_search

    with app.app_context():
        get_search()


# ---- the browser tests' chromium: one per session, shared by every browser test module ----

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"the browser tests need Debian's chromium at {CHROMIUM} "
            "(apt-get install chromium); it is missing",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def logged_in_context(browser, base_url: str, role: str, name: str | None = None):
    """A browser context whose user (the one with ``role``, or ``name``) has logged in
    through the login page."""
    context = browser.new_context(base_url=base_url, locale="ja-JP")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.fill('input[name="name"]', name or USERS[role][0])
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(lambda url: "/login" not in url)
    page.close()
    return context


@contextmanager
def people_pages(browser, base_url: str):
    """open_page(who): a new tab of ``who`` (a role such as "operator" or "expert", or the
    name of SECOND_OPERATOR), each person in their own browser context. Fails, on leaving, if
    any page ran a dialog or logged an error (a script that ran, a blocked inline handler, an
    image that tried to load)."""
    contexts, dialogs, errors = {}, [], []

    def open_page(who: str):
        if who not in contexts:
            if who == SECOND_OPERATOR[0]:
                contexts[who] = logged_in_context(browser, base_url, "operator", who)
            else:
                contexts[who] = logged_in_context(browser, base_url, who)
        page = contexts[who].new_page()
        page.on("dialog", lambda d: (dialogs.append(f"{who}: {d.message}"), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(f"{who}: {e}"))
        page.on("console", lambda m: errors.append(f"{who}: {m.text}") if m.type == "error" else None)
        return page

    yield open_page
    for context in contexts.values():
        context.close()
    assert not dialogs, f"a script ran in the page: {dialogs}"
    assert not errors, f"a page logged errors (script error, CSP violation, image load?): {errors}"


def type_query(page, text: str) -> None:
    """Type into the search box, as an operator does, and wait for the page to search it."""
    box = page.locator("#q")
    box.fill("")
    box.focus()
    page.keyboard.type(text)
    expect(page).to_have_url(re.compile(r"[?&]q=" + re.escape(quote_plus(text))))

