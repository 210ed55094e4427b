"""Fixtures for the web tests: the sample articles plus hostile ones, an app, a live server."""

from __future__ import annotations

import shutil
import threading
import urllib.request
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from kb.index import IndexStore
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
    return instance


@pytest.fixture
def app(tmp_path, built_instance, articles_dir):
    instance = tmp_path / "instance"
    shutil.copytree(built_instance, instance, symlinks=True)
    return create_app(
        {"TESTING": True, "KB_INSTANCE": str(instance), "KB_ARTICLES": str(articles_dir)}
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, articles_dir):
    """The real app in a real HTTP server on 127.0.0.1 (index built on first use)."""
    instance = tmp_path_factory.mktemp("live") / "instance"
    app = create_app({"KB_INSTANCE": str(instance), "KB_ARTICLES": str(articles_dir)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    # The first request builds the index; do it here so no test pays for it.
    with urllib.request.urlopen(f"{base_url}/", timeout=60) as response:
        assert response.status == 200
    yield base_url
    server.shutdown()
    thread.join(timeout=10)
