"""The index: built beside the articles, swapped in whole, kept in step with the files."""

import os
import re

import pytest

from kb.index import IndexMissing, IndexStore
from kb.search import SearchService

from .helpers import write_article


@pytest.fixture
def articles(tmp_path):
    root = tmp_path / "articles"
    root.mkdir()
    write_article(root, "cancel-mobile", "スマホ回線を解約したい", "解約はマイページから申し込みます。")
    write_article(root, "reset-password", "パスワードを忘れた", "再設定メールを送ります。")
    return root


@pytest.fixture
def store(tmp_path):
    return IndexStore(tmp_path / "instance" / "index")


def ids(service, query):
    return [h.id for h in service.search(query).hits]


def test_rebuild_swaps_a_complete_generation_in(articles, store):
    report = store.update(articles)
    assert report.rebuilt and report.added == 2
    first = store.current_name()
    assert (store.root / first).is_dir() and os.path.islink(store.root / "current")
    store.update(articles, rebuild=True)
    assert store.current_name() != first
    generations = [p for p in store.root.iterdir() if p.name.startswith("gen-")]
    assert len(generations) <= 2  # old generations are pruned


def test_rebuilt_segments_are_plain_and_updates_are_compound(articles, store):
    # A rebuild writes plain segment files (fast for big indexes); an incremental update
    # writes one compound file, which a reader holds open, so merging it away later cannot
    # pull files from under another process's searcher.
    store.update(articles)
    files = os.listdir(store.root / store.current_name())
    assert files and not any(f.endswith(".seg") for f in files)
    write_article(articles, "new-article", "新しい記事")
    store.update(articles)
    files = os.listdir(store.root / store.current_name())
    assert sum(f.endswith(".seg") for f in files) == 1


def test_open_searcher_follows_updates_and_rebuilds(articles, store, monkeypatch):
    monkeypatch.setattr("kb.search.REFRESH_INTERVAL", 0.0)
    store.update(articles)
    service = SearchService(store)
    assert ids(service, "解約") == ["cancel-mobile"]

    write_article(articles, "cancel-mobile", "スマホ回線を退会したい", "退会の手続きです。")
    report = store.update(articles)
    assert report.changed == 1 and not report.rebuilt
    assert ids(service, "退会") == ["cancel-mobile"]

    write_article(articles, "router-swap", "ルーターを交換したい")
    store.update(articles, rebuild=True)
    assert ids(service, "ルーター 交換") == ["router-swap"]


def test_deleted_files_leave_the_index_but_broken_ones_keep_their_last_good_version(
    articles, store
):
    store.update(articles)
    (articles / "cancel-mobile.md").unlink()
    (articles / "reset-password.md").write_text("---\nid: [broken\n---\n", encoding="utf-8")
    report = store.update(articles)
    assert report.deleted == 1
    assert [p.path for p in report.problems] == ["reset-password.md"]
    service = SearchService(store)
    assert ids(service, "解約") == []
    assert ids(service, "パスワード") == ["reset-password"]


def test_one_bad_file_does_not_stop_the_others(articles, store):
    (articles / "zzz-bad.md").write_text("no front matter", encoding="utf-8")
    report = store.update(articles)
    assert report.added == 2 and len(report.problems) == 1


def test_index_from_another_analysis_version_is_rebuilt(articles, store):
    store.update(articles)
    (store.root / store.current_name() / "ANALYSIS_VERSION").write_text("0")
    with pytest.raises(IndexMissing):
        store.open()
    assert store.update(articles).rebuilt
    assert ids(SearchService(store), "解約") == ["cancel-mobile"]


def test_index_built_with_another_sudachi_dictionary_is_rebuilt(articles, store):
    store.update(articles)
    marker = store.root / store.current_name() / "ANALYSIS_VERSION"
    built_with = marker.read_text()
    assert re.search(r"sudachipy=\d", built_with) and re.search(r"sudachidict-core=\d", built_with)
    marker.write_text(re.sub(r"sudachidict-core=\S+", "sudachidict-core=20190718", built_with))
    with pytest.raises(IndexMissing, match="sudachidict-core=20190718"):
        store.open()
    assert store.update(articles).rebuilt
    rebuilt = store.root / store.current_name() / "ANALYSIS_VERSION"
    assert rebuilt.read_text() == built_with
    assert ids(SearchService(store), "解約") == ["cancel-mobile"]


def test_missing_index_is_a_clear_error(store):
    with pytest.raises(IndexMissing, match="kb index"):
        SearchService(store).search("解約")


def test_parallel_rebuild_finds_what_a_serial_one_finds(tmp_path, monkeypatch):
    from kb.articles import load_all
    from kb.config import PACKAGE_ROOT

    articles = load_all(PACKAGE_ROOT / "articles")[0]
    serial = IndexStore(tmp_path / "serial")
    serial.rebuild(articles, procs=1)
    monkeypatch.setattr("kb.index._PARALLEL_MIN_ARTICLES", 1)
    parallel = IndexStore(tmp_path / "parallel")
    parallel.rebuild(articles, procs=2)

    _, ix = parallel.open()
    with ix.searcher() as searcher:
        assert len(searcher.reader().leaf_readers()) == 2  # one segment per worker
        # Documents keep the order of the articles, so ties rank the same way every time.
        assert [f["id"] for f in searcher.all_stored_fields()] == [a.id for a in articles]
    ix.close()
    for query in ("パスワード 忘れた", "いやくきん", "テザリンク", "解約金 いくら"):
        expected, got = SearchService(serial).search(query), SearchService(parallel).search(query)
        assert [h.to_dict() for h in got.hits] == [h.to_dict() for h in expected.hits]
        assert (got.total, got.confident) == (expected.total, expected.confident)
