"""BM25F over whoosh postings, vectorised with numpy.

whoosh stores the index and the postings; scoring a long disjunctive query (a polite spoken
question analyses into a dozen words and dozens of character bigrams) through whoosh's matcher
tree costs tens of milliseconds in pure Python. Here each term's postings are read once per
index generation into arrays, and a query is scored with a few array operations per term.

Scoring is BM25F proper: a term's frequencies in the word fields are length-normalised per
field, weighted and summed before saturation, so a word that appears in the title and the body
is not counted as two independent pieces of evidence. A query word's synonyms (Sudachi's
synonym groups, indexed as terms of their own) count inside that word's saturation, each
occurrence as a fraction of an occurrence of the word: a synonym widens a word, it never adds
a second word to the query. The character-bigram fields are scored as a separate, lighter
BM25 component: at full weight for what words cannot carry (kana typed for a word, typos), and
for the whole query as a context score over titles and questions, scaled to a small share of
the best word score: a second opinion that reorders the articles the words found (a typo such
as eSMI still shares most of its characters with eSIM).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

WORD_FIELDS = ("title", "questions", "keywords", "body")
GRAM_FIELDS = ("ngram", "reading")


@dataclass(frozen=True)
class Weights:
    """The ranking parameters, identical for every corpus."""

    fields: tuple[tuple[str, float, float], ...] = (
        # field, weight, length normalisation b. Titles and caller questions are one sentence
        # each: a word in a short one is its topic, and one that also names many other things
        # is less about it, so their length counts in full (b = 1).
        ("title", 1.5, 1.0),
        ("questions", 1.5, 1.0),
        ("keywords", 2.0, 0.3),
        ("body", 1.0, 0.75),  # BM25's usual b: a long answer is not penalised beyond that
    )
    k1: float = 1.2
    # What an occurrence of a synonym of a query word counts for, against the word itself.
    synonym: float = 0.5
    # Character bigrams (surface and reading): only used when words cannot carry the query.
    grams: tuple[tuple[str, float, float], ...] = (("ngram", 0.3, 0.5), ("reading", 0.3, 0.5))
    gram_k1: float = 1.2
    # Bigrams of the whole query against titles and questions: field, share of the best word
    # score that the best bigram score is scaled to, b.
    context: tuple[tuple[str, float, float], ...] = (("ngram", 0.1, 0.5),)


DEFAULT_WEIGHTS = Weights()


class Postings:
    """A term's postings in one field, as global doc numbers and weights."""

    __slots__ = ("ids", "weights")

    def __init__(self, ids: np.ndarray, weights: np.ndarray):
        self.ids = ids
        self.weights = weights

    def __len__(self) -> int:
        return len(self.ids)


_EMPTY = Postings(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))


def _leaf_arrays(matcher) -> tuple[np.ndarray, np.ndarray]:
    """All ids and weights of a leaf matcher, a block at a time where the codec allows."""
    ids, weights = [], []
    if hasattr(matcher, "_read_ids") and hasattr(matcher, "_next_block"):
        while matcher.is_active():
            if matcher._ids is None:
                matcher._read_ids()
            if matcher._weights is None:
                matcher._read_weights()
            ids.append(np.asarray(matcher._ids, dtype=np.int32))
            weights.append(np.asarray(matcher._weights, dtype=np.float32))
            matcher._next_block()
    else:  # any other codec: the public, slower way
        pairs = [(matcher.id(), matcher.weight()) for _ in _walk(matcher)]
        if pairs:
            ids.append(np.array([p[0] for p in pairs], dtype=np.int32))
            weights.append(np.array([p[1] for p in pairs], dtype=np.float32))
    if not ids:
        return _EMPTY.ids, _EMPTY.weights
    return np.concatenate(ids), np.concatenate(weights)


# whoosh keeps a field's length in a document as one byte on a log scale; this table turns
# the bytes back into lengths (exactly as IndexReader.doc_field_length does).
_BYTE_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)


def _leaf_lengths(leaf, fieldname: str, n: int) -> np.ndarray:
    """A field's length in each of a segment's ``n`` documents, all read at once."""
    perdoc = getattr(leaf, "_perdoc", None)
    name = _lenfield(fieldname)
    if isinstance(perdoc, W3PerDocReader):
        if not perdoc.has_column(name):
            return np.zeros(n, dtype=np.float32)
        column = perdoc.column_reader(name, LENGTHS_COLUMN)
        codes = np.zeros(n, dtype=np.uint8)
        raw = np.frombuffer(column._dbfile.get(column._basepos, column._count), dtype=np.uint8)
        codes[: len(raw)] = raw[:n]
        return _BYTE_LENGTHS[codes]
    # any other codec: the public, slower way
    return np.array([leaf.doc_field_length(i, fieldname, 0) or 0 for i in range(n)])


def _walk(matcher):
    while matcher.is_active():
        yield
        matcher.next()


class Scorer:
    """Per index generation: doc lengths, the live-document mask and a postings cache."""

    def __init__(
        self, reader, weights: Weights = DEFAULT_WEIGHTS, cache_postings: int = 4_000_000
    ):
        self.reader = reader
        self.weights = weights
        self.leaves = list(reader.leaf_readers())
        self.doc_count = reader.doc_count_all()
        self.live = np.ones(self.doc_count, dtype=bool)
        for leaf, offset in self.leaves:
            if leaf.has_deletions():
                self.live[offset : offset + leaf.doc_count_all()] = False
                self.live[[offset + d for d in leaf.all_doc_ids()]] = True
        self.live_count = int(self.live.sum())
        self._norms: dict[tuple[str, float], np.ndarray] = {}
        self._cache: OrderedDict = OrderedDict()
        self._frequencies: dict[str, int] = {}
        self._cached_postings = 0
        self._cache_limit = cache_postings

    # -- data read once per generation -------------------------------------------------------

    def _lengths(self, fieldname: str) -> np.ndarray:
        """The field's length in every document (deleted ones are masked out by the caller)."""
        lengths = np.zeros(self.doc_count, dtype=np.float32)
        for leaf, offset in self.leaves:
            n = leaf.doc_count_all()
            lengths[offset : offset + n] = _leaf_lengths(leaf, fieldname, n)
        return lengths

    def norm(self, fieldname: str, b: float) -> np.ndarray:
        """1 - b + b * length / average length, per document."""
        key = (fieldname, b)
        cached = self._norms.get(key)
        if cached is None:
            lengths = self._lengths(fieldname)
            live_lengths = lengths[self.live]
            average = float(live_lengths.mean()) if len(live_lengths) else 1.0
            cached = (1 - b) + b * lengths / (average or 1.0)
            self._norms[key] = cached = cached.astype(np.float32)
        return cached

    def postings(self, fieldname: str, text: str) -> Postings:
        key = (fieldname, text)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        btext = text.encode("utf-8")
        ids, weights = [], []
        for leaf, offset in self.leaves:
            try:
                matcher = leaf.postings(fieldname, btext)
            except TermNotFound:
                continue
            if isinstance(matcher, FilterMatcher):
                # whoosh hides a segment's deleted documents behind a filter, which would
                # force the slow posting-by-posting read; they are masked out below instead.
                matcher = matcher.child
            leaf_ids, leaf_weights = _leaf_arrays(matcher)
            ids.append(leaf_ids + offset)
            weights.append(leaf_weights)
        if ids:
            all_ids = np.concatenate(ids)
            keep = self.live[all_ids]
            result = Postings(all_ids[keep], np.concatenate(weights)[keep])
        else:
            result = _EMPTY
        self._remember(key, result)
        return result

    def _remember(self, key, postings: Postings) -> None:
        self._cache[key] = postings
        self._cached_postings += len(postings) + 1
        while self._cached_postings > self._cache_limit and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached_postings -= len(old) + 1

    # -- scoring ----------------------------------------------------------------------------

    def idf(self, doc_frequency: int) -> float:
        n = max(self.live_count, 1)
        return math.log(1 + (n - doc_frequency + 0.5) / (doc_frequency + 0.5))

    def word_frequency(self, text: str) -> int:
        """Documents that contain the word in any word field (cached per generation)."""
        df = self._frequencies.get(text)
        if df is None:
            lists = [self.postings(f, text).ids for f, _, _ in self.weights.fields]
            lists = [ids for ids in lists if len(ids)]
            if len(lists) <= 1:
                df = len(lists[0]) if lists else 0
            else:
                seen = np.zeros(self.doc_count, dtype=bool)
                for ids in lists:
                    seen[ids] = True
                df = int(np.count_nonzero(seen))
            if len(self._frequencies) > 100_000:
                self._frequencies.clear()
            self._frequencies[text] = df
        return df

    def _pseudo_tf(self, text: str) -> np.ndarray:
        """A term's weighted, length-normalised frequency summed over the word fields."""
        pseudo_tf = np.zeros(self.doc_count, dtype=np.float32)
        for fieldname, weight, b in self.weights.fields:
            p = self.postings(fieldname, text)
            if len(p):
                pseudo_tf[p.ids] += weight * p.weights / self.norm(fieldname, b)[p.ids]
        return pseudo_tf

    def _gram_bm25(self, fieldname: str, b: float, grams, out: np.ndarray, weight: float) -> None:
        norm = None
        k1 = self.weights.gram_k1
        for gram in grams:
            p = self.postings(fieldname, gram)
            if not len(p):
                continue
            if norm is None:
                norm = self.norm(fieldname, b)
            tf = p.weights / norm[p.ids]
            out[p.ids] += weight * self.idf(len(p)) * tf * (k1 + 1) / (k1 + tf)

    def score(self, words: list[tuple], grams: dict[str, list[str]],
              context: list[str] = ()) -> np.ndarray:
        """Score every document; words are (text, boost) or (text, boost, synonym terms),
        grams are per gram field, context the bigrams of the whole query."""
        w = self.weights
        scores = np.zeros(self.doc_count, dtype=np.float32)
        for text, boost, *rest in words:
            df = self.word_frequency(text)
            synonyms = [s for s in (rest[0] if rest else ()) if self.word_frequency(s)]
            if not df and not synonyms:
                continue
            pseudo_tf = self._pseudo_tf(text)
            if synonyms and w.synonym:
                # Occurrences of the other members of the word's groups (a group term is
                # indexed for every member, the word included), averaged over its groups.
                others = np.zeros(self.doc_count, dtype=np.float32)
                for term in synonyms:
                    others += np.maximum(self._pseudo_tf(term) - pseudo_tf, 0)
                pseudo_tf += (w.synonym / len(synonyms)) * others
                # The widened word is as common as its commonest group.
                df = max(df, *(self.word_frequency(s) for s in synonyms))
            touched = pseudo_tf > 0
            tf = pseudo_tf[touched]
            scores[touched] += boost * self.idf(df) * tf * (w.k1 + 1) / (w.k1 + tf)
        for fieldname, weight, b in w.grams:
            self._gram_bm25(fieldname, b, grams.get(fieldname, ()), scores, weight)
        if context:
            # Only among documents the words or the fallback found: the context reorders,
            # it never brings in an article for sharing a bigram such as ですか.
            matched = scores > 0
            best = float(scores.max())
            for fieldname, share, b in w.context:
                extra = np.zeros(self.doc_count, dtype=np.float32)
                self._gram_bm25(fieldname, b, context, extra, 1.0)
                top = float(extra[matched].max()) if best > 0 else 0.0
                if top > 0:
                    scores[matched] += (share * best / top) * extra[matched]
        return scores

    def contains(self, fieldname: str, text: str, docnum: int) -> bool:
        ids = self.postings(fieldname, text).ids
        i = int(np.searchsorted(ids, docnum))
        return i < len(ids) and ids[i] == docnum


def top_documents(scores: np.ndarray, mask: np.ndarray, start: int, count: int):
    """Doc numbers of ranks start..start+count among matching documents, and their total."""
    candidates = np.flatnonzero((scores > 0) & mask)
    total = len(candidates)
    end = min(start + count, total)
    if start >= end:
        return [], total
    cand_scores = scores[candidates]
    if end < total:
        part = np.argpartition(-cand_scores, end - 1)[:end]
    else:
        part = np.arange(total)
    # Ties broken by doc number, so the order is stable across runs.
    order = part[np.lexsort((candidates[part], -cand_scores[part]))]
    return [int(d) for d in candidates[order[start:end]]], total
