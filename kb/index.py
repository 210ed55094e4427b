"""The whoosh index: schema, full rebuild, incremental update, atomic swap.

Layout of an index root (inside the instance directory, never the repository)::

    index/
      current -> gen-20261122T101500-1234     (symlink, replaced atomically)
      gen-20261122T101500-1234/               (a complete whoosh index)

A rebuild writes a new generation directory and then swaps the ``current`` link, so readers
see either the old index or the new one, never a half-built one. Incremental updates commit
into the current generation; whoosh's table of contents makes each commit atomic for readers.
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.analysis import Token
from whoosh.columns import CompressedBytesColumn, PickleColumn
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.writing import SegmentWriter

from kb import offsets
from kb.analysis import morphemes, ngram_analyzer, reading_analyzer, word_analyzer
from kb.articles import Article, Problem, load_all
from kb.filelock import locked
from kb.render import to_text
from kb.textnorm import fold_kana, normalize

CURRENT = "current"
# Bump whenever analysis or the schema changes: an index built otherwise is rebuilt, because
# query analysis must match the analysis the index was built with.
ANALYSIS_VERSION = "12"
# Analysis also depends on these: a new dictionary can split, normalise and group synonyms
# differently (its synonym group ids are index terms).
_ANALYSIS_PACKAGES = ("sudachipy", "sudachidict-core")
_VERSION_FILE = "ANALYSIS_VERSION"
_GEN_PREFIX = "gen-"
# Held by whoever writes the index (rebuild, update, apply), across processes.
_WRITE_LOCK = ".write.lock"
# Below this many articles a second process costs more than it saves.
_PARALLEL_MIN_ARTICLES = 400
# Each worker of a rebuild writes one segment, and a searcher opens every segment (about
# 0.15 ms each), so a rebuild uses at most this many processes.
_MAX_PROCS = 4
# whoosh's estimate of a writer's posting pool before it spills sorted runs to disk and later
# merges them back. Spilling is slow: a worker writing 5,000 generated articles took 13.6 ms an
# article at 512 MB (one spill, 885 MB peak) and 10.2 ms at 1024 MB (none, 1,020 MB peak).
_LIMIT_MB = 1024
# One analyzer object for the word fields and their stored spans, so the two always agree.
_WORDS = word_analyzer()


@cache
def analysis_version() -> str:
    """What an index's analysis depends on: this code's version and the Sudachi packages'
    (read once per process: ``open`` checks it at every searcher refresh)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "none"

    return " ".join([ANALYSIS_VERSION, *(f"{p}={installed(p)}" for p in _ANALYSIS_PACKAGES)])


class IndexMissing(Exception):
    """No index has been built yet in this index root."""


class AnalysedText:
    """A text analysed once at index time: its word tokens feed its postings and its spans."""

    __slots__ = ("text", "tokens")

    def __init__(self, text: str):
        self.text = text
        self.tokens = [
            (t.text, t.boost, t.startchar, t.endchar, t.reading)
            for t in _WORDS(text, chars=True, mode="index")
        ]

    def replay(self, value=None, **kwargs):
        """An analyzer that yields the tokens again (one Token reused, as whoosh's own do)."""
        token = Token(chars=True)
        for token.text, token.boost, token.startchar, token.endchar, token.reading in self.tokens:
            yield token


class WordField(TEXT):
    """A TEXT field of words that also takes an :class:`AnalysedText` as its value."""

    def index(self, value, **kwargs):
        if not isinstance(value, AnalysedText):
            return super().index(value, **kwargs)
        kwargs["mode"] = "index"
        values = self.format.word_values(value, value.replay, **kwargs)
        return ((term.encode("utf-8"), freq, weight, encoded) for term, freq, weight, encoded in values)


def schema() -> Schema:
    # Ranking needs term weights only (no positions); highlighting reads the stored spans.
    words = _WORDS
    return Schema(
        id=ID(stored=True, unique=True),
        path=STORED,
        digest=STORED,
        title=WordField(analyzer=words, stored=True, phrase=False),
        questions=WordField(analyzer=words, stored=True, phrase=False),
        keywords=WordField(analyzer=words, phrase=False),
        body=WordField(analyzer=words, stored=True, phrase=False),
        reading=TEXT(analyzer=reading_analyzer(), phrase=False),
        ngram=TEXT(analyzer=ngram_analyzer(), phrase=False),
        category=ID(stored=True),
        tags=KEYWORD(stored=True, commas=True, scorable=False),
        status=ID(stored=True),
        updated=STORED,
        suggest=STORED,
        # A column, not a stored field: a hit reads its spans without loading them for
        # every other use of the stored fields, and the stored fields without the spans.
        spans=COLUMN(PickleColumn(CompressedBytesColumn())),
        # The same by katakana reading, read only for queries typed in kana.
        readings=COLUMN(PickleColumn(CompressedBytesColumn())),
    )


def reading_of(text: str) -> str:
    """Katakana reading of a short text (for suggestions typed in kana)."""
    norm = normalize(text).text
    return "".join(fold_kana(m.reading or m.surface) for m in morphemes(norm) if not m.subunit)


def document(article: Article) -> dict:
    """The fields whoosh stores and indexes for one article."""
    lines = [article.title, *article.questions]
    texts = {
        "title": article.title,
        "questions": "\n".join(article.questions),
        "body": to_text(article.body),
    }
    # Analysed once for both the postings and the stored spans; whoosh stores the plain text.
    analysed = {name: AnalysedText(text) for name, text in texts.items()}
    encoded = {name: offsets.encode(a.replay, a.text) for name, a in analysed.items()}
    return {
        "id": article.id,
        "path": article.path,
        "digest": article.digest,
        **analysed,
        **{f"_stored_{name}": text for name, text in texts.items()},
        "keywords": " ".join([*article.tags, article.category]),
        "reading": "\n".join([*lines, *article.tags]),
        "ngram": "\n".join(lines),
        "category": article.category,
        "tags": ",".join(t.replace(",", " ") for t in article.tags),
        "status": article.status,
        "updated": article.updated.isoformat() if article.updated else "",
        "suggest": [(line, fold_kana(normalize(line).text), reading_of(line)) for line in lines],
        "spans": {name: spans[0] for name, spans in encoded.items()},
        "readings": {name: spans[1] for name, spans in encoded.items()},
    }


class _LengthsInMemory:
    """The per-document reader a segment writer hands to its postings writer, which asks
    for the field length of every posting it writes (millions in a rebuild). Each field's
    lengths are read from the column file once, for every document, then kept in a list."""

    def __init__(self, reader):
        self._reader = reader
        self._lengths: dict[str, list[int]] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            read = self._reader.doc_field_length
            lengths = self._lengths[fieldname] = [
                read(n, fieldname, default) for n in range(self._reader.doc_count_all())
            ]
        return lengths[docnum]

    def close(self) -> None:
        self._reader.close()


class _SegmentWriter(SegmentWriter):
    """whoosh's segment writer, with the field lengths kept in memory while it writes the
    postings (a quarter of a rebuild worker's commit, otherwise)."""

    def per_document_reader(self):
        return _LengthsInMemory(super().per_document_reader())


def _write_segments(path: str, articles: list[Article], procs: int) -> list:
    """Index the articles in ``procs`` worker processes, one contiguous run each.

    Everything per article (markdown to text, analysis, readings for suggestions, stored
    spans) happens in the workers; each writes one segment and the caller lists them, in
    order, in the index's table of contents. Document numbers so follow the article order.
    """
    runs = [articles[i * len(articles) // procs : (i + 1) * len(articles) // procs]
            for i in range(procs)]
    with multiprocessing.Pool(procs) as pool:
        return pool.map(_write_segment, [(path, run) for run in runs], chunksize=1)


def _write_segment(job: tuple[str, list[Article]]):
    """In a worker: write the articles into a new segment that no table of contents lists yet."""
    path, articles = job
    ix = whoosh_index.open_dir(path)
    # Like whoosh.multiproc's workers: the parent's writer holds the lock and commits.
    writer = _SegmentWriter(ix, _lk=False, limitmb=_LIMIT_MB, compound=False)
    # The writer piles up millions of postings and frees nothing before the segment is
    # written; the cycle collector would only walk them over and over (5-10 % of the time).
    gc.disable()
    try:
        for article in articles:
            writer.add_document(**document(article))
        return writer._finalize_segment()
    except BaseException:
        writer.cancel()
        raise
    finally:
        gc.enable()
        ix.close()


@dataclass
class UpdateReport:
    added: int = 0
    changed: int = 0
    deleted: int = 0
    rebuilt: bool = False
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def articles_per_second(self) -> float:
        return (self.added + self.changed) / self.seconds if self.seconds else 0.0


def _merge_compound_only(writer, segments):
    """Whoosh's small-segment merge, applied only to the compound segments that incremental
    commits write. Merging deletes the merged segments' files; a reader in another process
    opens a non-compound segment's column files lazily and would find them gone, while a
    compound segment is one file it holds open. So the rebuild's (non-compound) segment is
    never merged away under a reader; it only collects deletions."""
    from whoosh.writing import MERGE_SMALL

    base = [s for s in segments if not s.is_compound()]
    return base + MERGE_SMALL(writer, [s for s in segments if s.is_compound()])




class IndexStore:
    """One index root: finds the current generation, rebuilds and updates it."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    @property
    def link(self) -> Path:
        return self.root / CURRENT

    def current_name(self) -> str | None:
        try:
            return os.readlink(self.link)
        except OSError:
            return None

    def exists(self) -> bool:
        """Is there a current index built with this version's analysis, and does it open?"""
        try:
            _, ix = self.open()
        except IndexMissing:
            return False
        ix.close()
        return True

    def open(self):
        """Open the current generation; IndexMissing when there is none usable."""
        name = self.current_name()
        if name is None:
            raise IndexMissing(f"no index in {self.root}: run `kb index`")
        path = self.root / name
        try:
            version = (path / _VERSION_FILE).read_text().strip()
        except OSError:
            version = None
        if version != analysis_version():
            raise IndexMissing(
                f"the index in {path} was built for another analysis ({version}, now "
                f"{analysis_version()}): run `kb index`"
            )
        try:
            return name, whoosh_index.open_dir(str(path))
        except Exception as exc:  # unreadable TOC, schema pickled by other code, ...
            raise IndexMissing(f"the index in {path} cannot be opened ({exc}): run `kb index`") from exc

    def _writing(self):
        """One index writer at a time, across processes (readers never wait)."""
        return locked(self.root / _WRITE_LOCK)

    @contextmanager
    def _incremental(self, report: UpdateReport, limitmb: int) -> Iterator[tuple]:
        """A searcher and a writer on the current generation (the caller holds the writer
        lock). On leaving, the writer commits a small compound segment when ``report`` counts
        a change, and is cancelled otherwise: no new segment, readers keep their searcher."""
        _, ix = self.open()
        writer = ix.writer(timeout=30.0, limitmb=limitmb, compound=True)
        try:
            with ix.searcher() as searcher:
                yield searcher, writer
            if report.added or report.changed or report.deleted:
                writer.commit(mergetype=_merge_compound_only)
            else:
                writer.cancel()
        except BaseException:
            writer.cancel()
            raise
        finally:
            ix.close()

    def rebuild(self, articles: list[Article], procs: int | None = None) -> UpdateReport:
        """Index every article into a new generation and swap it in."""
        with self._writing():
            return self._rebuild(articles, procs)

    def _rebuild(self, articles: list[Article], procs: int | None = None) -> UpdateReport:
        started = time.perf_counter()
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
        name = f"{_GEN_PREFIX}{stamp}-{os.getpid()}"
        target = self.root / name
        target.mkdir()
        ix = whoosh_index.create_in(str(target), schema())
        (target / _VERSION_FILE).write_text(analysis_version())
        procs = min(procs or os.cpu_count() or 1, _MAX_PROCS)
        writer = _SegmentWriter(ix, limitmb=_LIMIT_MB, compound=False)
        try:
            if procs > 1 and len(articles) >= _PARALLEL_MIN_ARTICLES:
                segments = _write_segments(str(target), articles, procs)
                # The segments of the workers, in article order, are the whole index.
                writer.commit(mergetype=lambda _writer, existing: existing + segments)
            else:
                for article in articles:
                    writer.add_document(**document(article))
                writer.commit(optimize=True)
        except BaseException:
            writer.cancel()
            shutil.rmtree(target, ignore_errors=True)
            raise
        ix.close()
        self._swap(name)
        return UpdateReport(
            added=len(articles), rebuilt=True, seconds=time.perf_counter() - started
        )

    def _swap(self, name: str) -> None:
        tmp = self.root / f".{CURRENT}.{os.getpid()}"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(name, tmp)
        os.replace(tmp, self.link)
        self._remove_old_generations(keep={name})

    def _remove_old_generations(self, keep: set[str]) -> None:
        # Keep the generation before the new one a little: a reader may be opening it now.
        gens = sorted(
            (p for p in self.root.glob(f"{_GEN_PREFIX}*") if p.name not in keep),
            key=lambda p: p.stat().st_mtime,
        )
        for old in gens[:-1]:
            shutil.rmtree(old, ignore_errors=True)

    def update(self, articles_dir: Path, rebuild: bool = False) -> UpdateReport:
        """Bring the index in line with the article files (full rebuild when asked or needed)."""
        with self._writing():
            return self._update(Path(articles_dir), rebuild)

    def _update(self, articles_dir: Path, rebuild: bool) -> UpdateReport:
        articles, problems = load_all(articles_dir)
        if rebuild or not self.exists():
            report = self._rebuild(articles)
            report.problems = problems
            return report
        started = time.perf_counter()
        report = UpdateReport(problems=problems)
        broken_paths = {p.path for p in problems}
        with self._incremental(report, limitmb=128) as (searcher, writer):
            indexed = {f["id"]: (f["digest"], f["path"]) for f in searcher.all_stored_fields()}
            for article in articles:
                old = indexed.get(article.id)
                if old is None or old[0] != article.digest or old[1] != article.path:
                    writer.update_document(**document(article))
                    report.added += old is None
                    report.changed += old is not None
            live = {a.id for a in articles}
            for article_id, (_, path) in indexed.items():
                # A file that is broken now keeps its last good version searchable.
                if article_id not in live and path not in broken_paths:
                    writer.delete_by_term("id", article_id)
                    report.deleted += 1
        report.seconds = time.perf_counter() - started
        return report

    def apply(self, articles: Iterable[Article], deleted_ids: Iterable[str] = ()) -> UpdateReport:
        """Index just these articles (added or changed) and remove ``deleted_ids``: what a
        save in the editor needs, without reading every file. Readers see the change at their
        next refresh; IndexMissing when there is no index to update."""
        started = time.perf_counter()
        report = UpdateReport()
        with self._writing(), self._incremental(report, limitmb=64) as (searcher, writer):
            for article in articles:
                old = searcher.document(id=article.id)
                if old is not None and old.get("digest") == article.digest \
                        and old.get("path") == article.path:
                    continue
                writer.update_document(**document(article))
                report.added += old is None
                report.changed += old is not None
            for article_id in deleted_ids:
                if searcher.document_number(id=article_id) is not None:
                    writer.delete_by_term("id", article_id)
                    report.deleted += 1
        report.seconds = time.perf_counter() - started
        return report
