"""The search log switch: on by default, ``KB_SEARCH_LOG`` off records no search at all."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from kb.models import SearchLog
from webapp import create_app

from .conftest import login


def searched_and_opened(app) -> int:
    """An operator searches twice and opens an article; how many searches were logged."""
    client = login(app.test_client(), "operator")
    assert client.get("/api/search", query_string={"q": "パスワード 忘れた"}).status_code == 200
    assert client.get("/", query_string={"q": "解約 違約金"}).status_code == 200
    assert client.get("/articles/account-password-reset").status_code == 200
    app.extensions["kb_recorder"].flush()
    with app.extensions["kb_db"].read() as session:
        return session.scalar(select(func.count()).select_from(SearchLog))


def test_searches_are_logged_by_default(app):
    assert app.config["KB_SEARCH_LOG"] is True
    assert searched_and_opened(app) == 2


@pytest.mark.parametrize("source", ["config", "environment"])
def test_search_log_off_records_nothing(tmp_path, built_instance, articles_dir, monkeypatch,
                                        source):
    instance = tmp_path / "instance"
    shutil.copytree(built_instance, instance, symlinks=True)
    config = {"TESTING": True, "KB_INSTANCE": str(instance), "KB_ARTICLES": str(articles_dir),
              "KB_BACKGROUND": False}
    if source == "config":
        config["KB_SEARCH_LOG"] = False
    else:
        monkeypatch.setenv("KB_SEARCH_LOG", "0")
    app = create_app(config)
    assert searched_and_opened(app) == 0
