"""Japanese analysis: the forms a caller's words arrive in must meet the forms articles use."""

import pickle

import pytest

from kb.analysis import ngram_analyzer, reading_analyzer, word_analyzer
from kb.textnorm import fold_kana, normalize


def words(text: str) -> set[str]:
    return {t.text for t in word_analyzer()(text, mode="query")}


def grams(analyzer, text: str) -> set[str]:
    return {t.text for t in analyzer(text, mode="query")}


@pytest.mark.parametrize(
    "variant, canonical",
    [
        ("引越し", "引っ越し"),
        ("引越", "引っ越し"),
        ("ﾊﾟｽﾜｰﾄﾞ", "パスワード"),
        ("シュミレーション", "シミュレーション"),
        ("ＳＩＭカード", "simカード"),
        ("パスワ−ド", "パスワード"),  # minus sign typed for the long-vowel mark
    ],
)
def test_spelling_variants_share_terms(variant, canonical):
    assert words(variant) & words(canonical)


def test_hiragana_typed_word_meets_katakana_word_through_bigrams():
    assert grams(ngram_analyzer(), "ぱすわーど") <= grams(ngram_analyzer(), "パスワード")


def test_kana_reading_meets_kanji_word():
    # An operator who only heard the word types it in kana.
    assert grams(ngram_analyzer(), "いやくきん") <= grams(reading_analyzer(), "違約金")


def test_compound_is_indexed_with_its_short_units():
    indexed = {t.text for t in word_analyzer()("パスワードの再設定", mode="index")}
    assert "再設定" in indexed and "設定" in indexed
    assert words("設定") <= indexed


def test_short_unit_query_finds_long_unit_text():
    indexed = {t.text for t in word_analyzer()("カスタマーサポートへの連絡", mode="index")}
    assert words("サポート") <= indexed


def test_question_boilerplate_and_particles_are_dropped():
    assert words("解約の方法を教えてください") == words("解約")
    assert words("どうすればいいのか知りたいのですが") == set()
    assert words("日本における解約") == words("日本の解約")  # において, における


def test_offsets_point_at_the_original_text_after_width_normalisation():
    text = "ﾊﾟｽﾜｰﾄﾞを再設定"
    tokens = [t.copy() for t in word_analyzer()(text, positions=True, chars=True, mode="index")]
    first = tokens[0]
    assert first.text == "パスワード"
    assert text[first.startchar : first.endchar] == "ﾊﾟｽﾜｰﾄﾞ"
    resetting = next(t for t in tokens if t.text == "再設定")
    assert text[resetting.startchar : resetting.endchar] == "再設定"


def test_normalisation_folds_width_case_marks_and_markers():
    assert normalize("ＡＢＣ１２３").text == "abc123"
    assert normalize("回答＜改＞次の行").text.split() == ["回答", "次の行"]
    assert normalize("いすゞ").text == "いすず"
    assert fold_kana("ぱすわーど") == "パスワード"


def test_very_long_text_is_analysed_in_chunks():
    text = "解約の手続きについて。" * 3000  # far beyond what Sudachi takes at once
    tokens = [t for t in word_analyzer()(text, mode="index") if t.text == "解約"]
    assert len(tokens) == 3000


def test_analyzers_pickle_into_the_schema():
    for make in (word_analyzer, reading_analyzer, ngram_analyzer):
        analyzer = pickle.loads(pickle.dumps(make()))
        assert [t.text for t in analyzer("解約")] == [t.text for t in make()("解約")]


def test_numbers_are_words_in_any_script():
    assert {"1982", "15"} <= words("1982年に十五メートル")
    assert "20" in words("２０歳になった")


def test_synonyms_share_a_group_term_in_the_index():
    def groups(text):
        return {t.text for t in word_analyzer()(text, mode="index") if t.text.startswith("syn:")}

    assert groups("健康診断") & groups("健診")
    assert groups("医者") & groups("医師")
    query = next(iter(word_analyzer()("健康診断", mode="query")))
    assert query.text == "健康診断" and set(query.synonym_terms) & groups("健診")


@pytest.mark.parametrize(
    "verb, noun",
    [("引っ越したので", "引っ越し"), ("申し込みたい", "申込"), ("払い戻してほしい", "払戻し"),
     ("届けた", "届け")],
)
def test_a_verb_meets_its_noun_form(verb, noun):
    assert words(noun) <= {t.text for t in word_analyzer()(verb, mode="index")}
    assert words(verb) & words(noun)
