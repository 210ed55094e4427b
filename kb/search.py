"""Search: free text → ranked hits with highlighted snippets, confidence, suggestions.

Free text is never parsed as query syntax: the query is analysed into terms, and the whoosh
query object is built here, term by term, so quotes, colons, ``AND`` or ``*`` are just text.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
from whoosh.fields import Schema

from kb import offsets, snippets
from kb.analysis import kana_typed_runs, words_explain_run
from kb.index import IndexStore
from kb.ranking import WORD_FIELDS, Scorer, top_documents
from kb.spelling import KatakanaCorrector, is_katakana_word
from kb.textnorm import fold_kana, is_hiragana, normalize, normalize_query_text

MAX_QUERY_CHARS = 256
# The longest reading looked for inside a kana run (a whole run matches at any length).
MAX_READING = 16
MAX_WORD_TERMS = 32
MAX_GRAM_TERMS = 48
PER_PAGE_MAX = 50
# How often a process checks whether the index on disk has changed.
REFRESH_INTERVAL = 0.1
# Share of the query's (idf-weighted) words the best hit must match to count as confident.
CONFIDENT_COVERAGE = 0.6
HEAD_FIELDS = ("title", "questions", "keywords")
# Nouns name the topic of a question; verbs and adjectives mostly say what to do with it.
POS_WEIGHTS = {"動詞": 0.5, "形容詞": 0.5}
# Short units of a compound count as much as the compound at query time (their index weight
# is already halved), so 再設定 in a query still finds an article that only says 設定.
SUBUNIT_QUERY_BOOST = 2.0


@dataclass
class Hit:
    id: str
    title: str
    title_html: str
    category: str
    tags: list[str]
    snippet_html: str
    score: float
    rank: int
    updated: str = ""

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass
class SearchResults:
    query: str
    normalized: str
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = 10
    confident: bool = False
    did_you_mean: str | None = None
    message: str | None = None
    category: str | None = None
    tag: str | None = None
    elapsed_ms: float = 0.0

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    def to_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "hits"}
        data["pages"] = self.pages
        data["hits"] = [h.to_dict() for h in self.hits]
        return data


@dataclass
class Suggestion:
    text: str
    article_id: str
    kind: str  # "title" or "question"


class QueryWord(NamedTuple):
    text: str
    boost: float
    subunit: bool
    synonyms: tuple[str, ...] = ()  # terms of the word's synonym groups
    surface: str = ""  # as typed, normalised (ﾊﾟｽﾜｰﾄﾞ: パスワード)


@dataclass
class QueryTerms:
    """What a query text analyses to, with a message when something was dropped.

    Character and reading bigrams of the whole query are needed only when no word survived
    analysis, so they are worked out on first use rather than for every query.
    """

    schema: Schema = field(repr=False)
    text: str
    words: list[QueryWord]
    kana_runs: list[str] = field(default_factory=list)
    message: str | None = None
    # What the words the index knows do not explain, searched by characters instead (set by
    # ``find_unexplained``). The kana runs, folded to katakana: パスワード for ぱすわーど,
    # イヤクキン for いやくきん; never ごみ or つながらない, which are words.
    heard: list[str] = field(default_factory=list)
    # The katakana words the index does not know: typos such as テザリンク.
    misspelt: list[str] = field(default_factory=list)

    def find_unexplained(self, known) -> None:
        """Work out ``heard`` and ``misspelt``; ``known`` tells whether the index has a word."""
        runs = self.kana_runs
        if self.words:
            runs = [run for run in runs if not words_explain_run(run, known)]
        self.heard = [fold_kana(run) for run in runs]
        self.__dict__.pop("heard_readings", None)  # worked out again from the new runs
        self.misspelt = [w.text for w in self.words
                         if not w.subunit and is_katakana_word(w.text) and not known(w.text)]

    @cached_property
    def heard_readings(self) -> frozenset[str]:
        """The readings of the words the operator may have typed in kana: the whole of a heard
        run (いやくきん: 違約金), or a word of three to MAX_READING kana inside one
        (かいやくしたい: 解約); shorter readings inside a run match too much (キン, シ). A set,
        so that a hit's readings are tested by lookup."""
        accepted = set(self.heard)
        for run in self.heard:
            for start in range(len(run) - 2):
                for end in range(start + 3, min(len(run), start + MAX_READING) + 1):
                    accepted.add(run[start:end])
        return frozenset(accepted)

    def is_scrap(self, word: QueryWord) -> bool:
        """Is this word a piece Sudachi made of a heard run (く of いやくきん, read as the
        numeral 9) rather than a word the operator typed?"""
        return bool(self.heard and word.surface and is_hiragana(word.surface)
                    and any(fold_kana(word.surface) in run for run in self.heard))

    def highlighted_words(self, known) -> list[str]:
        """The terms whose stored spans a hit highlights: each word and those of its synonym
        groups the index has (退会 also shows 解約), but no scraps of heard runs."""
        return [
            term for w in self.words if not self.is_scrap(w)
            for term in (w.text, *(s for s in w.synonyms if known(s)))
        ]

    @cached_property
    def grams(self) -> list[str]:
        return self._bigrams("ngram")

    @cached_property
    def readings(self) -> list[str]:
        return self._bigrams("reading")

    def _bigrams(self, fieldname: str) -> list[str]:
        tokens = self.schema[fieldname].analyzer(self.text, mode="query")
        return _unique(t.text for t in tokens)[:MAX_GRAM_TERMS]


def _unique(items):
    seen, out = set(), []
    for item in items:
        key = item[0] if isinstance(item, tuple) else item
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def analyse_query(schema, text: str) -> QueryTerms:
    """Terms of a free-text query (never query syntax), capped in number and length."""
    message = None
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        message = f"検索語が長すぎるため、先頭{MAX_QUERY_CHARS}文字で検索しました。"
    words = _unique(
        QueryWord(
            t.text,
            t.boost * POS_WEIGHTS.get(t.pos_tag[0], 1.0) * (SUBUNIT_QUERY_BOOST if t.subunit else 1),
            t.subunit,
            getattr(t, "synonym_terms", ()),
            t.original,  # the normalised surface
        )
        for t in schema["body"].analyzer(text, mode="query", keeporiginal=True) if t.text
    )[:MAX_WORD_TERMS]
    return QueryTerms(schema, text, words, kana_typed_runs(text), message)


class _Marks(NamedTuple):
    """What the hits of one search highlight."""

    words: list[str]  # terms looked up in the stored word spans
    readings: frozenset[str]  # the readings of words a kana-typed run stands for


@dataclass(frozen=True)
class RecentArticle:
    id: str
    title: str
    category: str
    updated: str  # YYYY-MM-DD, or "" when the article has no date


class _Generation:
    """A searcher, its scorer and the caches that belong to one state of the index."""

    def __init__(self, name: str, ix):
        self.name = name
        self.ix = ix
        self.open(ix.searcher())

    def open(self, searcher) -> None:
        self.searcher = searcher
        self.scorer = Scorer(searcher.reader())
        self.checked = time.monotonic()
        self._masks: dict[tuple[str, str], np.ndarray] = {}
        self._categories = None
        self._recent = None
        self._suggestions = None
        self._corrector = None
        self._columns: dict = {}

    def mask(self, fieldname: str, value: str) -> np.ndarray:
        """Documents whose ``fieldname`` holds ``value``, as a boolean array."""
        key = (fieldname, value)
        mask = self._masks.get(key)
        if mask is None:
            mask = np.zeros(self.scorer.doc_count, dtype=bool)
            mask[self.scorer.postings(fieldname, value).ids] = True  # live documents only
            if len(self._masks) > 256:
                self._masks.clear()
            self._masks[key] = mask
        return mask

    @property
    def published(self) -> np.ndarray:
        return self.mask("status", "published")

    def _published_docs(self):
        published = self.published
        for docnum, fields in self.searcher.iter_docs():
            if published[docnum]:
                yield fields

    @property
    def spans(self):
        """Per document: the encoded word spans of its text fields (see kb.offsets)."""
        return self._column("spans")

    @property
    def readings(self):
        """Per document: the same spans by katakana reading."""
        return self._column("readings")

    def _column(self, name: str):
        reader = self._columns.get(name)
        if reader is None:
            reader = self._columns[name] = self.searcher.reader().column_reader(
                name, translate=False
            )
        return reader

    @property
    def categories(self) -> list[tuple[str, int]]:
        if self._categories is None:
            counts: dict[str, int] = {}
            for fields in self._published_docs():
                if fields.get("category"):
                    counts[fields["category"]] = counts.get(fields["category"], 0) + 1
            self._categories = sorted(counts.items())
        return self._categories

    @property
    def recent(self) -> list[RecentArticle]:
        """Published articles, the most recently updated first (undated ones last)."""
        if self._recent is None:
            rows = [RecentArticle(f["id"], f.get("title", ""), f.get("category", ""),
                                  f.get("updated") or "")
                    for f in self._published_docs()]
            rows.sort(key=lambda r: (r.updated, r.id), reverse=True)
            self._recent = rows
        return self._recent

    @property
    def suggestions(self) -> list[tuple[str, str, str, str, str]]:
        if self._suggestions is None:
            self._suggestions = [
                (folded, reading, text, fields["id"], "title" if i == 0 else "question")
                for fields in self._published_docs()
                for i, (text, folded, reading) in enumerate(fields.get("suggest", ()))
            ]
        return self._suggestions

    @property
    def corrector(self) -> KatakanaCorrector:
        if self._corrector is None:
            vocabulary: dict[str, int] = {}
            for fieldname in WORD_FIELDS:
                # Segment by segment: whoosh's merged view looks every term up in each segment.
                frequencies: dict[bytes, int] = {}
                for leaf, _ in self.scorer.leaves:
                    for term, info in leaf.iter_field(fieldname):
                        frequencies[term] = frequencies.get(term, 0) + info.doc_frequency()
                for term in sorted(frequencies):  # the merged view's order
                    word = term.decode("utf-8") if isinstance(term, bytes) else term
                    if is_katakana_word(word):
                        vocabulary[word] = vocabulary.get(word, 0) + frequencies[term]
            self._corrector = KatakanaCorrector(vocabulary)
        return self._corrector


class SearchService:
    """One long-lived searcher per process, refreshed when the index changes."""

    def __init__(self, store: IndexStore):
        self.store = store
        self._lock = threading.RLock()
        self._gen: _Generation | None = None

    def _generation(self) -> _Generation:
        gen = self._gen
        now = time.monotonic()
        if gen is not None and now - gen.checked < REFRESH_INTERVAL:
            return gen
        name = self.store.current_name()
        if gen is None or gen.name != name:
            name, ix = self.store.open()
            self._gen = _Generation(name, ix)
            if gen is not None:
                gen.searcher.close()
            return self._gen
        gen.checked = now
        if not gen.searcher.up_to_date():
            gen.open(gen.searcher.refresh())
        return gen

    def refresh(self) -> None:
        """Look for a changed index at the next call (after this process changed it)."""
        with self._lock:
            if self._gen is not None:
                self._gen.checked = float("-inf")

    def search(
        self,
        text: str,
        *,
        category: str | None = None,
        tag: str | None = None,
        page: int = 1,
        per_page: int = 10,
    ) -> SearchResults:
        """Ranked, highlighted hits among published articles for a free-text query."""
        started = time.perf_counter()
        text = text if isinstance(text, str) else ""
        page = max(1, int(page))
        per_page = min(max(1, int(per_page)), PER_PAGE_MAX)
        result = SearchResults(
            query=text, normalized=normalize_query_text(text[:MAX_QUERY_CHARS]),
            page=page, per_page=per_page, category=category or None, tag=tag or None,
        )
        if not result.normalized:
            result.message = "検索語を入力してください。"
            return result
        with self._lock:
            gen = self._generation()
            terms = analyse_query(gen.searcher.schema, text)
            result.message = terms.message
            if not terms.words and not terms.grams:
                result.message = "検索できる語が含まれていません。言葉を変えてお試しください。"
                return result
            self._run(gen, terms, result)
        result.elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        return result

    def _run(self, gen: _Generation, terms: QueryTerms, result: SearchResults) -> None:
        scorer = gen.scorer
        terms.find_unexplained(lambda word: scorer.word_frequency(word) > 0)
        grams = _character_terms(gen.searcher.schema, terms)
        scores = scorer.score(
            [(w.text, w.boost, w.synonyms) for w in terms.words], grams, terms.grams
        )
        mask = gen.published
        if result.category:
            mask = mask & gen.mask("category", result.category)
        if result.tag:
            mask = mask & gen.mask("tags", result.tag)
        start = (result.page - 1) * result.per_page
        docs, result.total = top_documents(scores, mask, start, result.per_page)
        marks = _Marks(terms.highlighted_words(lambda term: scorer.word_frequency(term) > 0),
                       terms.heard_readings if terms.heard else frozenset())
        for i, docnum in enumerate(docs):
            result.hits.append(self._hit(gen, docnum, marks, float(scores[docnum]), start + i + 1))
        # Typos "did you mean" corrects; confidence counts them by their correction too.
        corrections = {word: better for word in terms.misspelt
                       if (better := gen.corrector.correct(word))}
        if result.total:
            best, _ = top_documents(scores, mask, 0, 1)
            result.confident = _confident(gen, best[0], terms, corrections)
        result.did_you_mean = _did_you_mean(result.query, corrections)

    def _hit(self, gen: _Generation, docnum: int, marks: _Marks, score: float, rank: int):
        fields = gen.searcher.stored_fields(docnum)
        stored_spans = gen.spans[docnum]
        stored_readings = gen.readings[docnum] if marks.readings else {}

        def spans(fieldname: str) -> list[tuple[int, int]]:
            encoded = stored_spans.get(fieldname, "")
            found = [span for w in marks.words for span in offsets.spans(encoded, w)]
            if marks.readings:
                found += offsets.reading_spans(stored_readings.get(fieldname, {}), marks.readings)
            return found

        body, title = fields.get("body", ""), fields.get("title", "")
        snippet = snippets.highlight(body, spans("body"))
        if not snippet:
            snippet = snippets.highlight(fields.get("questions", ""), spans("questions"))
        title_html = snippets.highlight(title, spans("title"), width=len(title) or 1)
        return Hit(
            id=fields["id"],
            title=title,
            title_html=title_html or snippets.plain(title, len(title) or 1),
            category=fields.get("category", ""),
            tags=[t for t in fields.get("tags", "").split(",") if t],
            snippet_html=snippet or snippets.plain(body),
            score=round(score, 4),
            rank=rank,
            updated=fields.get("updated", ""),
        )

    def suggest(self, prefix: str, limit: int = 8) -> list[Suggestion]:
        """Titles and caller questions that start with (or contain) what was typed so far."""
        key = fold_kana(normalize(prefix[:MAX_QUERY_CHARS]).text).strip()
        if not key:
            return []
        with self._lock:
            rows = self._generation().suggestions
        starts, contains = [], []
        for folded, reading, text, article_id, kind in rows:
            if folded.startswith(key) or reading.startswith(key):
                starts.append((len(text), text, article_id, kind))
            elif key in folded or key in reading:
                contains.append((len(text), text, article_id, kind))
        out, seen = [], set()
        for _, text, article_id, kind in sorted(starts) + sorted(contains):
            if text not in seen:
                seen.add(text)
                out.append(Suggestion(text, article_id, kind))
            if len(out) >= limit:
                break
        return out

    def article_path(self, article_id: str) -> str | None:
        """Path (relative to the article directory) of an indexed article, or None."""
        with self._lock:
            gen = self._generation()
            docnum = gen.searcher.document_number(id=article_id)
            if docnum is None:
                return None
            return gen.searcher.stored_fields(docnum).get("path")

    def categories(self) -> list[tuple[str, int]]:
        """Every category of published articles, with its article count."""
        with self._lock:
            return self._generation().categories

    def recent(self, limit: int = 5) -> list[RecentArticle]:
        """The newest or most recently updated published articles."""
        with self._lock:
            return self._generation().recent[:limit]

    def close(self) -> None:
        with self._lock:
            if self._gen is not None:
                self._gen.searcher.close()
                self._gen = None


def _character_terms(schema, terms: QueryTerms) -> dict[str, list[str]]:
    """Bigrams for what words cannot carry: the whole query when no word survived analysis,
    otherwise only the kana-typed runs that are not words the index knows, and the katakana
    words the index does not know (typos such as テザリンク). Bigrams of a whole well-formed
    question at this weight only add noise; the scorer weighs them as a light context score."""
    if not terms.words:
        return {"ngram": terms.grams, "reading": terms.readings}
    unexplained = terms.heard + terms.misspelt
    if not unexplained:
        return {}
    grams = _unique(t.text for t in schema["ngram"].analyzer("\n".join(unexplained)))
    # Kana typed for a word is its reading too: match it against readings as well.
    return {"ngram": grams[:MAX_GRAM_TERMS], "reading": grams[:MAX_GRAM_TERMS]}


def _did_you_mean(query: str, corrections: dict[str, str]) -> str | None:
    """The query with its typos corrected, offered even when the hits are confident: they may
    be so thanks to the correction, and the operator still learns how the word is written."""
    if not corrections:
        return None
    text = fold_kana(normalize(query[:MAX_QUERY_CHARS]).text)
    for wrong, right in corrections.items():
        text = text.replace(wrong, right)
    return text


def _confident(gen: _Generation, docnum: int, terms: QueryTerms,
               corrections: dict[str, str]) -> bool:
    """Does the best hit hold most of what was asked, some of it in its title, questions or
    tags?

    Each word of the query weighs its idf. It is held when the hit has it, half held when the
    hit has only one of its synonyms (as the ranking counts them); a katakana word the index
    does not know (a typo) is held when the hit has the word "did you mean" would put in its
    place. A run typed in kana is searched by its bigrams, so it weighs the mean idf of those
    and is held when the hit's title, questions or tags have most of them, written or read;
    the scraps Sudachi makes of such a run count for nothing. A query of no words at all is
    judged by the bigrams of the whole of it.
    """
    scorer, contains = gen.scorer, gen.scorer.contains
    if not terms.words:
        matched = sum(contains("ngram", g, docnum) for g in terms.grams)
        return bool(terms.grams and matched / len(terms.grams) >= CONFIDENT_COVERAGE)
    total = held = 0.0
    in_head = False

    def has(term: str) -> bool:
        nonlocal in_head
        if any(contains(f, term, docnum) for f in WORD_FIELDS):
            in_head = in_head or any(contains(f, term, docnum) for f in HEAD_FIELDS)
            return True
        return False

    for w in terms.words:
        if w.subunit or terms.is_scrap(w):
            continue
        word = corrections.get(w.text, w.text)
        weight = scorer.idf(scorer.word_frequency(word))
        total += weight
        if has(word):
            held += weight
        elif any(has(s) for s in w.synonyms if scorer.word_frequency(s)):
            held += weight * scorer.weights.synonym
    for run in terms.heard:
        grams = _unique(t.text for t in gen.searcher.schema["ngram"].analyzer(run))
        if not grams:
            continue
        weight = sum(scorer.idf(len(scorer.postings("ngram", g))) for g in grams) / len(grams)
        total += weight
        share = max(sum(contains(f, g, docnum) for g in grams) for f in ("ngram", "reading"))
        if share / len(grams) >= CONFIDENT_COVERAGE:
            held += weight
            in_head = True  # the bigram fields hold titles, questions and tags only
    return bool(total and held / total >= CONFIDENT_COVERAGE and in_head)
