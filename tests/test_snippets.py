"""Highlighting: the spans stored at index time mark exactly the words of the query."""

import re

import pytest

from kb import offsets
from kb.analysis import word_analyzer
from kb.index import schema
from kb.search import analyse_query

from .helpers import search_over, write_article


def marked(html: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html)


def test_stored_spans_find_each_word_and_nothing_else():
    text = "設定の再設定と設定変更。設定"
    encoded, _ = offsets.encode(word_analyzer(), text)
    assert [text[s:e] for s, e in offsets.spans(encoded, "再設定")] == ["再設定"]
    # 設定 is a word of its own and a short unit of 再設定 and 設定変更
    found = [(s, text[s:e]) for s, e in offsets.spans(encoded, "設定")]
    assert (0, "設定") in found and (len(text) - 2, "設定") in found
    assert offsets.spans(encoded, "定") == []
    assert offsets.spans(encoded, "存在しない語") == []
    assert offsets.encode(word_analyzer(), "") == ("", {})
    assert offsets.spans("", "設定") == []


def test_snippets_mark_the_original_characters_of_the_query_words(tmp_path):
    root = tmp_path / "articles"
    root.mkdir()
    answer = "まず本人確認をして、ﾊﾟｽﾜｰﾄﾞの再設定メールを送ります。"
    write_article(root, "password", "ﾊﾟｽﾜｰﾄﾞを忘れた", answer=answer)
    service = search_over(root)
    hit = service.search("パスワード 再設定").hits[0]
    assert marked(hit.title_html) == ["ﾊﾟｽﾜｰﾄﾞ"]
    assert "<mark>ﾊﾟｽﾜｰﾄﾞ</mark>の<mark>再設定</mark>メール" in hit.snippet_html


def test_snippets_follow_incremental_updates(tmp_path, monkeypatch):
    monkeypatch.setattr("kb.search.REFRESH_INTERVAL", 0.0)
    root = tmp_path / "articles"
    root.mkdir()
    write_article(root, "a-cancel", "解約の手続き", answer="解約は店頭で受け付けます。")
    write_article(root, "b-move", "住所の変更", answer="引っ越しの後は住所を変更してください。")
    service = search_over(root)
    store = service.store
    assert "<mark>解約</mark>は店頭" in service.search("解約").hits[0].snippet_html

    # The changed article is re-added at another document number: its new text and spans
    # must travel together, and the other article's spans must stay on its own text.
    write_article(root, "a-cancel", "解約の手続き", answer="お電話でも、長い説明のあとで解約を受け付けます。")
    assert store.update(root).changed == 1
    hit = service.search("解約").hits[0]
    assert "長い説明のあとで<mark>解約</mark>を" in hit.snippet_html
    hit = service.search("住所 変更").hits[0]
    assert hit.id == "b-move"
    assert "<mark>住所</mark>を<mark>変更</mark>して" in hit.snippet_html

    # Enough updates for whoosh to merge segments, which copies the spans along.
    for i in range(6):
        lead = "前置き" * i
        write_article(root, "a-cancel", "解約の手続き", answer=f"{lead}、{i}回目の解約です。")
        store.update(root)
        hits = service.search("解約").hits
        assert [h.id for h in hits] == ["a-cancel"]  # the replaced versions are gone
        assert f"{i}回目の<mark>解約</mark>です" in hits[0].snippet_html
    assert "<mark>住所</mark>を<mark>変更</mark>して" in service.search("住所 変更").hits[0].snippet_html


def test_stored_readings_find_words_by_how_they_sound():
    text = "違約金と解約金の違い"
    words, readings = offsets.encode(word_analyzer(), text)
    found = offsets.reading_spans(readings, frozenset({"イヤクキン", "ソンザイシナイ"}))
    assert [text[s:e] for s, e in found] == ["違約金"]
    assert offsets.spans(words, "違約金") == found
    assert offsets.reading_spans(readings, frozenset()) == []


@pytest.fixture
def kana_service(tmp_path):
    root = tmp_path / "articles"
    root.mkdir()
    write_article(root, "penalty", "途中で解約した場合の費用", questions=["かいやくしたら違約金かかる？"],
                  answer="契約期間の途中で解約すると違約金がかかります。受付は9時からです。")
    write_article(root, "password", "パスワードを忘れた", answer="パスワードは再設定できます。")
    write_article(root, "checkup", "健診の予約", answer="健診は電話で予約できます。")
    return search_over(root)


def test_a_word_typed_in_kana_is_highlighted_in_kanji(kana_service):
    hit = kana_service.search("いやくきん").hits[0]
    assert hit.id == "penalty"
    assert marked(hit.snippet_html) == ["違約金"]
    # Sudachi reads the く of いやくきん as the numeral 9: that scrap is not highlighted.
    assert "9" not in marked(hit.snippet_html)


def test_a_kana_run_highlights_each_word_it_contains(kana_service):
    hit = kana_service.search("かいやくのいやくきん").hits[0]
    assert hit.id == "penalty"
    assert set(marked(hit.snippet_html)) == {"解約", "違約金"}
    assert marked(kana_service.search("ぱすわーど").hits[0].title_html) == ["パスワード"]


def test_a_synonym_that_found_the_article_is_highlighted(kana_service):
    hit = kana_service.search("健康診断").hits[0]
    assert hit.id == "checkup"
    assert marked(hit.title_html) == ["健診"]


def test_a_kana_run_accepts_whole_readings_and_readings_of_three_kana_inside_it():
    terms = analyse_query(schema(), "かいやくきん")
    terms.find_unexplained(lambda word: False)
    assert terms.heard == ["カイヤクキン"]
    accepted = terms.heard_readings
    assert "カイヤクキン" in accepted and "カイヤク" in accepted
    assert "キン" not in accepted  # a short reading inside a run matches too much
    assert "カイヤクキンガク" not in accepted
