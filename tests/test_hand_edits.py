"""Article files edited by hand while the app runs: the background pass notices them, search
finds the new text, the history keeps the edit as a version by nobody, and `kb index` still
works on the same folder."""

from __future__ import annotations

import time
from pathlib import Path

from click.testing import CliRunner

from kb.cli import main

from .editorhelpers import as_role, own_app

ARTICLE = "account-password-reset"
NEW_QUESTION = "かわうその形のパスワードを忘れた"


def wait_for(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def found_first(client, query: str, article_id: str) -> bool:
    hits = client.get("/api/search", query_string={"q": query}).json["hits"]
    return bool(hits) and hits[0]["id"] == article_id


def test_a_hand_edited_file_is_picked_up_while_the_app_runs(tmp_path, built_instance,
                                                           articles_dir):
    app = own_app(tmp_path, built_instance, articles_dir, KB_BACKGROUND=True,
                  KB_BACKGROUND_INTERVAL=0.2)
    try:
        client = as_role(app, "editor")
        assert not found_first(client, NEW_QUESTION, ARTICLE)
        path = Path(app.config["KB_ARTICLES"]) / f"{ARTICLE}.md"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("questions:\n", f"questions:\n  - {NEW_QUESTION}\n", 1),
                        encoding="utf-8")
        new = Path(app.config["KB_ARTICLES"]) / "hand-written-note.md"
        new.write_text("---\nid: hand-written-note\ntitle: 手で書いたラッコの記事\nstatus: published\n"
                       "---\n\n## 回答・対応手順\nラッコについて案内する。\n", encoding="utf-8")

        assert wait_for(lambda: found_first(client, NEW_QUESTION, ARTICLE))
        assert wait_for(lambda: found_first(client, "ラッコの記事", "hand-written-note"))
        history = client.get(f"/editor/{ARTICLE}/history").text
        assert "ファイルの直接編集" in history and f"+  - {NEW_QUESTION}" in history
        new.unlink()
        assert wait_for(lambda: not found_first(client, "ラッコの記事", "hand-written-note"))
    finally:
        app.extensions["kb_background"].stop()


def test_kb_index_still_works_after_editor_saves(tmp_path, built_instance, articles_dir):
    app = own_app(tmp_path, built_instance, articles_dir)
    client = as_role(app, "editor")
    from .editorhelpers import form_of

    form = form_of(client, f"/editor/{ARTICLE}")
    form.update(status="published", questions=form["questions"] + f"\n{NEW_QUESTION}")
    assert client.post(f"/editor/{ARTICLE}", data=form).status_code == 303
    result = CliRunner().invoke(main, ["index", "--instance", app.config["KB_INSTANCE"],
                                       "--articles", app.config["KB_ARTICLES"]])
    assert result.exit_code == 0, result.output
    assert "0 added, 0 changed, 0 deleted" in result.output  # the save had indexed it already
    assert found_first(client, NEW_QUESTION, ARTICLE)
