"""Search over the sample knowledge base, the way operators type mid-call."""

import pytest

from kb.articles import load_all
from kb.config import PACKAGE_ROOT
from kb.index import IndexStore
from kb.search import MAX_QUERY_CHARS, SearchService

from .helpers import search_over, write_article


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    store = IndexStore(tmp_path_factory.mktemp("instance") / "index")
    store.rebuild(load_all(PACKAGE_ROOT / "articles")[0])
    yield SearchService(store)


def top(service, query, **kw):
    hits = service.search(query, **kw).hits
    return hits[0].id if hits else None


@pytest.mark.parametrize(
    "query, expected",
    [
        ("パスワード 忘れた", "account-password-reset"),
        ("ﾊﾟｽﾜｰﾄﾞ 忘れた", "account-password-reset"),  # half-width kana
        ("ぱすわーど わすれた", "account-password-reset"),  # kana for a heard word
        ("引越し 光", "hikari-move"),  # 引越し / 引っ越し
        ("スマホの解約をしたいのですが、どのようにすればよいか教えていただけますか", "mobile-cancel"),
        ("テザリング できない", "device-tethering"),
        ("いやくきん いくら", "mobile-cancel"),
        ("eSMIの開通", "device-esim-setup"),  # a typo the words miss; the title's characters meet it
    ],
)
def test_operator_queries_find_the_answer_first(service, query, expected):
    assert top(service, query) == expected


def test_confidence_separates_answered_and_unanswered_questions(service):
    assert service.search("パスワードを忘れた").confident
    assert not service.search("宇宙旅行のパッケージを予約したい").confident


@pytest.mark.parametrize("query, expected", [
    ("いやくきん", "mobile-cancel"),  # a word heard and typed in kana, found by its sound
    ("テザリンク できない", "device-tethering"),  # a katakana typo "did you mean" corrects
])
def test_a_right_answer_found_through_kana_or_a_typo_is_confident(service, query, expected):
    result = service.search(query)
    assert result.hits[0].id == expected and result.confident


def test_a_hit_that_holds_only_a_synonym_of_what_was_asked_is_not_confident(service):
    # しにあ (senior) is no word the articles know; 割引 only stands in for 割り引く
    assert not service.search("しにあわりびき").confident


def test_did_you_mean_fixes_a_katakana_typo(service):
    result = service.search("テザリンク")
    assert result.did_you_mean and "テザリング" in result.did_you_mean


def test_snippet_highlights_matches_with_offsets_into_the_text(service):
    hit = service.search("解約金").hits[0]
    assert "<mark>解約金</mark>" in hit.snippet_html
    assert "<mark>" in hit.title_html or "違約金" not in hit.title


def test_snippets_escape_article_text(tmp_path):
    root = tmp_path / "articles"
    root.mkdir()
    write_article(root, "html-in-body", "記号の記事", answer="解約は 5 < 10 & 条件つき")
    hit = search_over(root).search("解約").hits[0]
    assert "5 &lt; 10 &amp; 条件" in hit.snippet_html


def test_category_and_tag_filters(service):
    result = service.search("料金", category="料金・支払い")
    assert result.hits and all(h.category == "料金・支払い" for h in result.hits)
    assert service.search("料金", category="存在しないカテゴリ").total == 0
    tagged = service.search("解約", tag="違約金")
    assert tagged.hits and all("違約金" in h.tags for h in tagged.hits)


def test_paging_walks_through_all_hits_without_repeats(service):
    first = service.search("料金", per_page=5)
    second = service.search("料金", per_page=5, page=2)
    assert first.total == second.total > 5
    assert not {h.id for h in first.hits} & {h.id for h in second.hits}
    assert next(h.rank for h in second.hits) == 6
    assert service.search("料金", page=999).hits == []


def test_only_published_articles_are_found(service):
    found = {h.id for h in service.search("キャンペーン 工事費", per_page=50).hits}
    assert "campaign-summer-hikari-2026" not in found  # archived
    assert "hikari-outage-check" not in {h.id for h in service.search("障害", per_page=50).hits}


def test_suggestions_as_you_type_match_kana_and_width_variants(service):
    for prefix in ("ぱす", "ﾊﾟｽ", "パス"):
        texts = [s.text for s in service.suggest(prefix)]
        assert any("パスワード" in t or "ぱすわーど" in t for t in texts), (prefix, texts)
    assert service.suggest("") == []


@pytest.mark.parametrize(
    "query",
    [
        "", "   ", "!!!???", '"解約"', "title:解約", "解約 AND 料金 OR *", "*", "(((", "\x00\x07",
        "解約" * 5000, "a" * 10_000, "<script>alert(1)</script>", "../../etc/passwd", "🙂" * 50,
        "\ud800",
    ],
)
def test_hostile_input_never_raises_and_keeps_the_query(service, query):
    import json

    result = service.search(query)
    assert result.to_dict()["query"] == query
    assert json.dumps(result.to_dict(), ensure_ascii=False)
    if not result.normalized or not any(ch.isalnum() for ch in query):
        assert result.message  # nothing searchable: the operator is told why


def test_long_query_is_cut_with_a_message(service):
    result = service.search("解約したい" * 200)
    assert result.hits and str(MAX_QUERY_CHARS) in result.message


def test_empty_query_asks_for_words(service):
    assert service.search("").message == "検索語を入力してください。"


def test_a_number_tells_two_answers_apart(tmp_path):
    root = tmp_path / "articles"
    root.mkdir()
    write_article(root, "plan-2021", "旧料金プランの案内", answer="2021年に始まったプランです。")
    write_article(root, "plan-2024", "新料金プランの案内", answer="2024年に始まったプランです。")
    service = search_over(root)
    assert top(service, "2024年のプラン") == "plan-2024"
    assert top(service, "2021年のプラン") == "plan-2021"


def test_a_synonym_finds_the_article_but_the_word_itself_ranks_first(tmp_path):
    root = tmp_path / "articles"
    root.mkdir()
    write_article(root, "checkup-short", "健診の予約", answer="健診は電話で予約できます。")
    write_article(root, "checkup-long", "健康診断の予約", answer="健康診断は電話で予約できます。")
    write_article(root, "other", "窓口の予約", answer="窓口は電話で予約できます。")
    service = search_over(root)
    assert [h.id for h in service.search("健康診断", per_page=5).hits] == [
        "checkup-long", "checkup-short"]
    assert [h.id for h in service.search("健診", per_page=5).hits] == [
        "checkup-short", "checkup-long"]


def test_only_kana_that_words_cannot_explain_is_searched_by_characters(service):
    from kb.search import _character_terms, analyse_query

    gen = service._generation()

    def grams(query):
        terms = analyse_query(gen.searcher.schema, query)
        terms.find_unexplained(lambda word: gen.scorer.word_frequency(word) > 0)
        return _character_terms(gen.searcher.schema, terms).get("ngram", [])

    assert "パス" in grams("ぱすわーど わすれた")  # scraps: searched by characters
    assert grams("けいたいを解約したい") == []  # 携帯, a word the index knows
    assert grams("スマホがとてもおそいのですが") == []  # function words and grammar
