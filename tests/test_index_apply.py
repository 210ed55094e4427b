"""The editor's fast path into the index: just the saved articles, while readers (other
worker processes) keep searching the index they opened."""

from __future__ import annotations

import shutil

from kb.articles import load_file
from kb.index import IndexStore
from kb.search import SearchService

from .conftest import SAMPLE_ARTICLES
from .helpers import write_article


def test_apply_indexes_the_saved_article_and_removes_deleted_ones(tmp_path):
    root = tmp_path / "articles"
    shutil.copytree(SAMPLE_ARTICLES, root)
    store = IndexStore(tmp_path / "index")
    store.update(root)
    service = SearchService(store)
    write_article(root, "otter-care", "カワウソの預かりを申し込みたい", "窓口を案内します。")
    report = store.apply([load_file(root / "otter-care.md", root)])
    assert (report.added, report.changed) == (1, 0)
    service.refresh()
    assert [h.id for h in service.search("カワウソの預かり").hits][:1] == ["otter-care"]
    assert store.apply([load_file(root / "otter-care.md", root)]).changed == 0  # unchanged
    (root / "otter-care.md").unlink()
    assert store.apply([], ["otter-care"]).deleted == 1
    service.refresh()
    assert "otter-care" not in [h.id for h in service.search("カワウソの預かり").hits]


def test_readers_opened_between_saves_still_read_every_document(tmp_path):
    """Worker processes keep the searcher they opened while the editor saves again and again:
    merging the saves' small segments must not delete files such a searcher has yet to read
    (it reads a document's stored fields only when the document is a hit)."""
    root = tmp_path / "articles"
    shutil.copytree(SAMPLE_ARTICLES, root)
    store = IndexStore(tmp_path / "index")
    store.update(root)
    _, ix = store.open()
    searchers = []
    for i in range(30):
        write_article(root, f"saved-{i:02d}", f"保存{i}回目の記事", "本文。")
        store.apply([load_file(root / f"saved-{i:02d}.md", root)])
        searchers.append(ix.searcher())  # a reader opened now, stored fields not read yet
    for searcher in searchers:
        titles = [searcher.stored_fields(n).get("title")
                  for n in range(searcher.doc_count_all()) if not searcher.reader().is_deleted(n)]
        assert titles and all(titles)
        searcher.close()
    ix.close()
