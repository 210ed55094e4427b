"""Saving articles: atomic writes, conflicts between two editors, history and restore."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from kb import accounts
from kb.article_store import ArticleStore, Conflict, atomic_write, diff, revision_of
from kb.articles import ArticleError, parse
from kb.db import Database

NOW = datetime(2026, 11, 23, 10, 0)


def article(title: str, answer: str = "手順どおりに案内する。") -> str:
    return textwrap.dedent(f"""\
        ---
        id: wifi-setup
        title: {title}
        category: インターネット回線
        status: draft
        ---

        ## 回答・対応手順
        {answer}
        """)


@pytest.fixture
def store(tmp_path) -> ArticleStore:
    db = Database(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    db.upgrade()
    with db.write() as session:  # editors with ids 1..8
        for n in range(1, 9):
            accounts.add_user(session, f"editor{n}", "editor", "long enough password")
    return ArticleStore(tmp_path / "articles", db)


def test_a_new_article_is_written_and_recorded(store):
    saved = store.save("wifi-setup", article("Wi-Fiの設定"), None, None, NOW)
    text, revision = store.read("wifi-setup")
    assert parse(text, "x").title == "Wi-Fiの設定"
    assert revision == saved.revision == revision_of(text)
    assert [v.id for v in store.history("wifi-setup")] == [saved.version_id]


def test_an_invalid_article_is_refused_and_the_file_is_untouched(store):
    store.save("wifi-setup", article("Wi-Fiの設定"), None, None, NOW)
    before = store.read("wifi-setup")
    with pytest.raises(ArticleError):
        store.save("wifi-setup", "no front matter", before[1], None, NOW)
    with pytest.raises(ArticleError):  # the id inside the file must match
        store.save("wifi-setup", article("x").replace("id: wifi-setup", "id: other"),
                   before[1], None, NOW)
    assert store.read("wifi-setup") == before


def test_path_tricks_are_refused(store):
    for bad in ("../etc/passwd", "a/b", "", "UPPER", ".hidden"):
        with pytest.raises(ArticleError):
            store.save(bad, article("x"), None, None, NOW)


def test_the_second_of_two_saves_from_the_same_version_gets_a_conflict(store):
    store.save("wifi-setup", article("Wi-Fiの設定"), None, None, NOW)
    _, opened = store.read("wifi-setup")  # both editors open the same version
    first = article("Wi-Fiの設定（編集者A）")
    second = article("Wi-Fiの設定（編集者B）")
    store.save("wifi-setup", first, opened, 1, NOW)
    with pytest.raises(Conflict) as conflict:
        store.save("wifi-setup", second, opened, 2, NOW)
    assert conflict.value.theirs == first and conflict.value.yours == second
    assert store.read("wifi-setup")[0] == first  # nothing overwritten


def test_concurrent_saves_never_lose_an_edit(store):
    store.save("wifi-setup", article("v0"), None, None, NOW)
    _, base = store.read("wifi-setup")
    results: list[str] = []

    def edit(n: int) -> None:
        try:
            store.save("wifi-setup", article(f"v{n}"), base, n, NOW)
            results.append(f"saved {n}")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count("conflict") == 7
    winner = next(r for r in results if r.startswith("saved")).split()[1]
    assert parse(store.read("wifi-setup")[0], "x").title == f"v{winner}"


def test_history_shows_a_readable_diff_and_restores_any_version(store):
    first = store.save("wifi-setup", article("Wi-Fiの設定", "ルーターを再起動する。"), None, 1, NOW)
    second = store.save("wifi-setup", article("Wi-Fiの設定", "初期化してから設定する。"),
                        first.revision, 2, NOW)
    versions = store.history("wifi-setup")
    assert [v.id for v in versions] == [second.version_id, first.version_id]
    change = diff(versions[1].text, versions[0].text)
    assert "-ルーターを再起動する。" in change and "+初期化してから設定する。" in change
    store.restore("wifi-setup", first.version_id, 3, NOW)
    assert "ルーターを再起動する。" in store.read("wifi-setup")[0]
    assert len(store.history("wifi-setup")) == 3  # restoring is a new version, nothing erased


def test_a_file_edited_by_hand_becomes_a_version_and_old_bases_conflict(store):
    saved = store.save("wifi-setup", article("Wi-Fiの設定"), None, 1, NOW)
    path = store.path_for("wifi-setup")
    path.write_text(article("手で直したタイトル"), encoding="utf-8")
    text, _ = store.read("wifi-setup")
    assert "手で直したタイトル" in text
    latest = store.history("wifi-setup")[0]
    assert latest.author_id is None and latest.text == text
    with pytest.raises(Conflict):
        store.save("wifi-setup", article("アプリから"), saved.revision, 1, NOW)


def test_a_failure_before_the_rename_leaves_the_old_file_and_no_debris(tmp_path, monkeypatch):
    path = tmp_path / "a.md"
    path.write_text("old", encoding="utf-8")

    def crash(*args):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write(path, "new")
    assert path.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md"]


WRITER = """
import sys
from pathlib import Path
from kb import accounts
from kb.article_store import atomic_write
path = Path(sys.argv[1])
n = 0
while True:
    n += 1
    atomic_write(path, (f"{n:08d}\\n") + ("本文" * 200_000) + "\\nEND\\n")
"""


def test_a_process_killed_mid_write_leaves_a_whole_file(tmp_path):
    """SIGKILL a process that rewrites a 1.2 MB file in a loop: every time, the file on disk
    is one whole version, never a torn one."""
    path = tmp_path / "big.md"
    atomic_write(path, "00000000\n" + "本文" * 200_000 + "\nEND\n")
    root = Path(__file__).resolve().parent.parent
    for delay in (0.05, 0.13, 0.31, 0.5):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=root,
                                 env={**os.environ, "PYTHONPATH": str(root)})
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\nEND\n") and len(text) == 9 + 400_000 + 5
