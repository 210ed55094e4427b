"""Helpers for the editor tests: an app with its own copy of the articles (the editor writes
files), the editor's form as a browser would post it."""

from __future__ import annotations

import html
import re
import shutil

from kb.editing import form_values

from .conftest import csrf_token, login


def own_app(tmp_path, built_instance, articles_dir, **config):
    """An app whose article folder is its own copy (the shared fixture's folder is read-only
    for every other test)."""
    from webapp import create_app

    instance = tmp_path / "instance"
    shutil.copytree(built_instance, instance, symlinks=True)
    articles = tmp_path / "articles"
    shutil.copytree(articles_dir, articles, symlinks=True)
    return create_app({"TESTING": True, "KB_INSTANCE": str(instance),
                       "KB_ARTICLES": str(articles), "KB_BACKGROUND": False, **config})


def as_role(app, role: str):
    return login(app.test_client(), role)


def form_of(client, url: str) -> dict:
    """The editor form's fields as the page shows them (what a browser would submit)."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    return fields_of(page.text)


def fields_of(page: str) -> dict:
    """The editor form's inputs and text areas in a page."""
    data = {"csrf_token": csrf_token(page)}
    for name, value in re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', page):
        data[name] = html.unescape(value)
    for name, value in re.findall(r'<textarea name="([a-z_]+)"[^>]*>(.*?)</textarea>', page,
                                  re.DOTALL):
        data[name] = html.unescape(value)
    return data


def new_article_form(client, article_id: str, title: str, questions: list[str],
                     answer: str = "手順どおりに案内する。") -> dict:
    data = form_of(client, "/editor/new")
    values = form_values(f"---\nstatus: draft\n---\n## 問題\n{title}\n\n## 回答・対応手順\n{answer}\n")
    data.update(id=article_id, title=title, questions="\n".join(questions),
                category="テスト", tags="テスト", body=values["body"])
    return data
