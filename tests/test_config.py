"""Where the app takes its settings from: defaults, the instance's config.py, then the caller."""

from __future__ import annotations

from webapp import create_app


def test_the_instance_config_file_is_read_under_kb_serve(tmp_path, articles_dir):
    # kb serve (gunicorn) passes the paths as a mapping; the instance's settings still apply.
    (tmp_path / "config.py").write_text("KB_REVIEWER_MUST_DIFFER = True\n", encoding="utf-8")
    app = create_app({"KB_INSTANCE": str(tmp_path), "KB_ARTICLES": str(articles_dir),
                      "KB_BACKGROUND": False})
    assert app.config["KB_REVIEWER_MUST_DIFFER"] is True


def test_what_the_caller_passes_wins_over_the_file(tmp_path, articles_dir):
    (tmp_path / "config.py").write_text("KB_REVIEWER_MUST_DIFFER = True\n", encoding="utf-8")
    app = create_app({"KB_INSTANCE": str(tmp_path), "KB_ARTICLES": str(articles_dir),
                      "KB_BACKGROUND": False, "KB_REVIEWER_MUST_DIFFER": False})
    assert app.config["KB_REVIEWER_MUST_DIFFER"] is False
    assert (tmp_path / "kotae.sqlite3").exists()  # everything lives in the instance
