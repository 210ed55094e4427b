"""Japanese analysis for whoosh, over SudachiPy.

Analyzers (whoosh tokenizers, each one loop over Sudachi's morphemes):

* :func:`word_analyzer` — normalised form of Sudachi's long units (mode C) plus their short
  units (mode A) at the same position, so 再設定 finds 設定 and the other way round; particles,
  auxiliaries, symbols and the boilerplate of spoken questions dropped; a verb's noun form
  beside it (引っ越した also says 引っ越し); kana folded; each word's synonym groups from
  Sudachi's dictionary indexed beside it, so 健康診断 finds 健診.
* :func:`reading_analyzer` — character bigrams of the katakana reading, so a word typed in kana
  the operator only heard (いやくきん) finds 違約金.
* :func:`ngram_analyzer` — character bigrams of the normalised, kana-folded text, the fallback
  for words the dictionary does not know and for typos.

The Sudachi dictionary is loaded once per process; analyzers hold no Sudachi objects, so they
pickle into the index schema.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import NamedTuple

from whoosh.analysis import Token, Tokenizer

from kb.textnorm import NormalizedText, fold_kana, normalize

# Sudachi refuses very long inputs; chunks are cut at line or sentence ends below this size.
_CHUNK = 2000
_CHUNK_BREAK = re.compile(r"(?<=[\n。！？!?])")

# Parts of speech that carry no meaning for retrieval (first element of Sudachi's POS tuple,
# or a (first, second) pair).
DROP_POS: frozenset = frozenset(
    {
        "助詞",
        "助動詞",
        "補助記号",
        "記号",
        "空白",
        "接頭辞",
        ("接尾辞", "形容詞的"),
        ("接尾辞", "動詞的"),
        ("接尾辞", "形状詞的"),
        "感動詞",
        "接続詞",
        "連体詞",
        "副詞",
        "代名詞",
        ("動詞", "非自立可能"),
        ("形容詞", "非自立可能"),
    }
)
# Numbers (名詞,数詞) are kept: Sudachi joins digits and normalises kanji numerals (十五 → 15),
# and a year, an age or a plan number is often what tells two answers apart.

# Normalised forms that nearly every spoken or written question carries. They are general
# Japanese, not fitted to any data set: requests (教えてください, 知りたい), hedges, and the
# generic nouns of "how / where / when" questions.
STOP_WORDS: frozenset = frozenset(
    {
        "教える", "下さる", "くださる", "頂く", "いただく", "貰う", "もらう", "欲しい", "ほしい",
        "知る", "分かる", "わかる", "思う", "言う", "いう", "願う", "お願い", "伺う", "尋ねる",
        "聞く", "為る", "する", "有る", "ある", "居る", "いる", "成る", "なる", "出来る", "できる",
        "良い", "よい", "いい", "宜しい", "よろしい", "大丈夫",
        "方法", "仕方", "やり方", "場合", "事", "こと", "物", "もの", "為", "ため", "様", "よう",
        "所", "ところ", "時", "とき", "方", "かた", "訳", "わけ", "件", "について", "関する",
        "何", "なに", "なん", "どう", "どの", "どこ", "いつ", "誰", "だれ", "どれ", "どちら",
        "如何", "いかが", "何故", "なぜ", "どうして", "幾ら", "いくら",
        "有り難う", "ありがとう", "済みません", "すみません", "失礼",
        "今", "ちょっと", "一寸", "色々", "いろいろ", "幾つ", "いくつ", "そう",
        # compound particles Sudachi reads as verbs: によって, について, にあたって, に対して,
        # において (its おく keeps the kana: the verb 置く is normalised to kanji)
        "よる", "つく", "あたる", "たいする", "対する", "おく",
        # honorific and plural suffixes
        "さん", "さま", "ちゃん", "君", "くん", "殿", "達", "たち", "等", "など", "ら",
    }
)


class Morph(NamedTuple):
    """One Sudachi morpheme, reduced to what analysis needs (offsets in normalised text)."""

    start: int
    end: int
    surface: str
    normalized: str
    reading: str
    pos: tuple[str, str]
    subunit: bool
    synonyms: tuple[int, ...] = ()  # Sudachi's synonym group ids (none for dropped ones)
    conjugation: str = ""  # conjugation type, such as 五段-サ行
    dropped: bool = False  # a part of speech in DROP_POS


_local = threading.local()
_dictionary = None
_dictionary_lock = threading.Lock()


def _sudachi():
    """The per-thread Sudachi tokenizer over the per-process dictionary."""
    tok = getattr(_local, "tokenizer", None)
    if tok is None:
        global _dictionary
        with _dictionary_lock:
            if _dictionary is None:
                from sudachipy import Dictionary

                _dictionary = Dictionary(dict="core")
        from sudachipy import SplitMode

        tok = _local.tokenizer = (_dictionary.tokenizer(mode=SplitMode.C), SplitMode)
    return tok


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    if len(text) <= _CHUNK:
        yield 0, text
        return
    offset, buf = 0, ""
    for piece in _CHUNK_BREAK.split(text):
        while len(piece) > _CHUNK:  # no break in sight: cut hard
            if buf:
                yield offset, buf
                offset, buf = offset + len(buf), ""
            yield offset, piece[:_CHUNK]
            offset += _CHUNK
            piece = piece[_CHUNK:]
        if len(buf) + len(piece) > _CHUNK and buf:
            yield offset, buf
            offset, buf = offset + len(buf), ""
        buf += piece
    if buf:
        yield offset, buf


def is_dropped_pos(pos: tuple[str, str]) -> bool:
    return pos[0] in DROP_POS or pos in DROP_POS


# What analysis needs of a part of speech, by Sudachi's POS id: the (first, second) levels,
# the conjugation type and whether it is dropped. Cheaper than the full tuple every time.
_POS: dict[int, tuple[tuple[str, str], str, bool]] = {}


def _pos(m) -> tuple[tuple[str, str], str, bool]:
    full = m.part_of_speech()
    pos = (full[0], full[1])
    entry = _POS[m.part_of_speech_id()] = (pos, full[4], is_dropped_pos(pos))
    return entry


_new_morph = tuple.__new__  # Morph(...) without the NamedTuple's Python-level __new__
_NO_SYNONYMS: tuple[int, ...] = ()


def _morph(m, chunk: str, offset: int, subunit: bool) -> Morph:
    """One morpheme of ``chunk`` (which starts at ``offset``); every text is split into
    a thousand or more of these, so this avoids every avoidable call."""
    begin, end = m.begin(), m.end()
    pos, conjugation, dropped = _POS.get(m.part_of_speech_id()) or _pos(m)
    return _new_morph(Morph, (
        offset + begin, offset + end, chunk[begin:end],  # the surface, as Sudachi defines it
        m.normalized_form(), m.reading_form(), pos, subunit,
        _NO_SYNONYMS if dropped else tuple(m.synonym_group_ids()), conjugation, dropped,
    ))


def _analyse(text: str) -> list[Morph]:
    tokenizer, split_mode = _sudachi()
    out: list[Morph] = []
    for offset, chunk in _chunks(text):
        if not chunk.strip():
            continue
        for m in tokenizer.tokenize(chunk, split_mode.C):
            morph = _morph(m, chunk, offset, False)
            out.append(morph)
            if morph.end - morph.start < 2:
                continue  # a single character has no shorter units
            parts = m.split(split_mode.A)
            if len(parts) > 1:
                out.extend(_morph(p, chunk, offset, True) for p in parts)
    return out


# Several fields analyse the same text (words, readings); keep the last few results per thread.
_CACHE_SIZE = 8


def morphemes(normalized_text: str) -> list[Morph]:
    """Sudachi long units, each followed by its short units when it has several."""
    cache: OrderedDict | None = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = OrderedDict()
    hit = cache.get(normalized_text)
    if hit is not None:
        return hit
    result = _analyse(normalized_text)
    cache[normalized_text] = result
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return result


def _normalized(value: str) -> NormalizedText:
    cache = getattr(_local, "norm_cache", None)
    if cache is None:
        cache = _local.norm_cache = OrderedDict()
    hit = cache.get(value)
    if hit is None:
        hit = cache[value] = normalize(value)
        if len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return hit


def _new_token(positions, chars, removestops, mode, kwargs) -> Token:
    # Like whoosh's own tokenizers, each call yields one Token object over and over, updated
    # for every token: consumers read it as it comes (or keep ``token.copy()``).
    return Token(positions, chars, removestops=removestops, mode=mode, **kwargs)


SUBUNIT_BOOST = 0.5  # a short unit weighs less than the long unit it comes from

SYNONYM_PREFIX = "syn:"


def synonym_term(group: int) -> str:
    """The index term of one of Sudachi's synonym groups (never the text of a real word:
    the analyzer drops symbols such as the colon)."""
    return f"{SYNONYM_PREFIX}{group}"


_GODAN_CONTINUATIVE = str.maketrans("うくぐすつぬぶむる", "いきぎしちにびみり")


def continuative(verb: str, conjugation: str) -> str | None:
    """The continuative form (連用形) of a verb in dictionary form, which Japanese also uses
    as the verb's noun: 引っ越す → 引っ越し, 申し込む → 申し込み, 届ける → 届け.

    Only for the regular conjugations (五段, 一段), and never a single character."""
    if conjugation.startswith("五段"):
        form = verb[:-1] + verb[-1:].translate(_GODAN_CONTINUATIVE)
    elif conjugation.startswith(("上一段", "下一段")) and verb.endswith("る"):
        form = verb[:-1]
    else:
        return None
    return form if form != verb and len(form) >= 2 else None


class Word(NamedTuple):
    """A content word of a text, as indexed and searched."""

    text: str  # normalised form, lower case, kana folded
    boost: float
    start: int  # span in the normalised text
    end: int
    position: int  # ordinal of its long unit; short units share their long unit's
    pos: tuple[str, str]
    subunit: bool
    synonyms: tuple[int, ...]  # Sudachi's synonym group ids
    reading: str  # katakana reading of the word as written (a verb's noun form: "")


def content_words(normalized_text: str) -> list[Word]:
    """The words of a text that retrieval uses, with the rules of the word analyzer:

    * particles, auxiliaries, symbols and the other parts of speech in DROP_POS go, and so do
      the boilerplate words of spoken questions (STOP_WORDS) and lone kana;
    * short units weigh SUBUNIT_BOOST;
    * after a verb (a long unit) comes its noun form, as a short unit at the same place;
    * text is Sudachi's normalised form, lower case, hiragana folded to katakana.
    """
    out: list[Word] = []
    new = tuple.__new__
    position = -1
    for m in morphemes(normalized_text):
        if not m.subunit:
            position += 1
        if m.dropped:
            continue
        text = m.normalized.lower()
        if text in STOP_WORDS or m.surface in STOP_WORDS or not text.strip():
            continue
        if len(text) == 1 and "\u3041" <= text <= "\u30ff":
            continue
        boost = SUBUNIT_BOOST if m.subunit else 1.0
        out.append(new(Word, (fold_kana(text), boost, m.start, m.end, position, m.pos,
                              m.subunit, m.synonyms, fold_kana(m.reading))))
        if m.pos[0] == "動詞" and not m.subunit:
            noun = continuative(text, m.conjugation)
            if noun:
                out.append(new(Word, (fold_kana(noun), SUBUNIT_BOOST, m.start, m.end, position,
                                      m.pos, True, _NO_SYNONYMS, "")))
    return out


class WordAnalyzer(Tokenizer):
    """The word analyzer: one token per :func:`content_words` word, text then normalised
    to the original (``chars`` point into the text as given).

    Sudachi's synonym groups of a word (健康診断 and 健診 share one, 医者 and 医師 another) are
    the dictionary editors' groups, never fitted to any corpus. Indexing adds one term per
    group after the word, with the word's weight and span; a query word instead carries its
    group terms in ``synonym_terms``, and the scorer counts an occurrence of a synonym as a
    fraction of an occurrence of the word itself.

    Tokens carry ``pos_tag`` and ``subunit``, for query weighting, and ``reading`` (katakana,
    "" on synonym terms), for highlighting what a query typed in kana found. All of it is one
    loop rather than a chain of filters: an article's body is a thousand words or more.
    """

    def __eq__(self, other):
        return type(other) is type(self)

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        norm = _normalized(value)
        query = mode == "query"
        t = _new_token(positions, chars, removestops, mode, kwargs)
        for w in content_words(norm.text):
            t.text = w.text
            t.boost = w.boost
            t.pos_tag = w.pos
            t.subunit = w.subunit
            t.reading = w.reading
            if keeporiginal:
                t.original = norm.text[w.start : w.end]
            if positions:
                t.pos = start_pos + w.position
            if chars:
                s, e = norm.original_span(w.start, w.end)
                t.startchar, t.endchar = start_char + s, start_char + e
            if query:
                t.synonym_terms = tuple(synonym_term(g) for g in w.synonyms)
                yield t
                continue
            yield t
            t.reading = ""
            for group in w.synonyms:
                t.text = synonym_term(group)
                yield t


class ReadingBigramTokenizer(Tokenizer):
    """Character bigrams of the katakana reading of the content words of a text."""

    def __eq__(self, other):
        return type(other) is type(self)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        norm = _normalized(value)
        words = []
        for m in morphemes(norm.text):
            if m.subunit or m.dropped:
                continue
            if m.normalized in STOP_WORDS:
                continue
            words.append(fold_kana(m.reading if m.reading else m.surface))
        yield from _bigram_tokens(words, positions, chars, removestops, mode, kwargs, start_pos)


class CharBigramTokenizer(Tokenizer):
    """Character bigrams of the normalised, kana-folded text, within runs of word characters."""

    _RUN = re.compile(r"\w+")

    def __eq__(self, other):
        return type(other) is type(self)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        norm = _normalized(value)
        runs = self._RUN.findall(fold_kana(norm.text))
        yield from _bigram_tokens(runs, positions, chars, removestops, mode, kwargs, start_pos)


def _bigram_tokens(runs, positions, chars, removestops, mode, kwargs, start_pos):
    pos = start_pos
    t = _new_token(positions, chars, removestops, mode, kwargs)
    for run in runs:
        if len(run) == 1:
            grams = [run] if not run.isascii() else []
        else:
            grams = [run[i : i + 2] for i in range(len(run) - 1)]
        for gram in grams:
            t.text = gram
            t.boost = 1.0
            if positions:
                t.pos = pos
            if chars:
                t.startchar = t.endchar = 0
            pos += 1
            yield t
        pos += 1  # no phrase across runs


def word_analyzer():
    """Content words: long and short units, normalised form, verbs with their noun form, kana
    folded, with the synonym groups of each (see :class:`WordAnalyzer`)."""
    return WordAnalyzer()


def reading_analyzer():
    return ReadingBigramTokenizer()


def ngram_analyzer():
    return CharBigramTokenizer()


_HIRAGANA_RUN = re.compile(r"[ぁ-ゖー]{3,}")
_GRAMMAR_POS = frozenset({"助詞", "助動詞", "空白", "補助記号"})


def kana_typed_runs(text: str) -> list[str]:
    """Runs of hiragana that are not grammar, like ぱすわーど or かいやく.

    Operators type in kana the words they only heard; Sudachi then reads them as scraps of
    nouns, verbs and one- or two-kana adverbs (ぱ, でん), so such runs are searched by their
    characters instead. Runs of grammar and function words (ですが, どのような, とても, これ)
    are not.
    """
    norm = _normalized(text).text
    runs = [m.span() for m in _HIRAGANA_RUN.finditer(norm)]
    found: list[str] = []
    if not runs:
        return found
    for m in morphemes(norm):
        if m.subunit or m.pos[0] in _GRAMMAR_POS or m.pos in DROP_POS:
            continue
        if m.pos[0] in DROP_POS and not _is_scrap(m):
            continue
        if m.normalized in STOP_WORDS or m.surface in STOP_WORDS:
            continue
        for start, end in runs:
            run = norm[start:end]
            if start <= m.start and m.end <= end and run not in found:
                found.append(run)
    return found


def _is_scrap(m: Morph) -> bool:
    """A one- or two-kana adverb is what Sudachi makes of a piece of an unknown word."""
    return m.pos[0] == "副詞" and len(m.surface) <= 2


def words_explain_run(run: str, known) -> bool:
    """Does Sudachi read a kana run as words, all of which ``known`` (the index) knows?

    ごみ, しつこい or つながらない are ordinary words written in kana and are searched as
    words; かいやく (か + いやく) or ぱすわーど are not.
    """
    for m in morphemes(_normalized(run).text):
        if m.subunit or m.pos[0] in _GRAMMAR_POS or m.pos in DROP_POS:
            continue
        if m.normalized in STOP_WORDS or m.surface in STOP_WORDS:
            continue
        if m.pos[0] in DROP_POS:
            if _is_scrap(m):
                return False
            continue
        if len(m.surface) < 2 or not known(fold_kana(m.normalized.lower())):
            return False
    return True


def preload() -> None:
    """Load the dictionary now rather than on the first request."""
    _sudachi()
