"""Writing article files safely, with history.

- A save is atomic: the new text goes to a temporary file in the same directory, is fsynced,
  then renamed over the old file (and the directory is fsynced), so a crash mid-write leaves
  the old file intact.
- A save names the revision it was based on (the SHA-256 of the file it was edited from). If
  the file changed since, the save is refused with a Conflict carrying both texts: two editors
  never overwrite each other silently. Saves are serialised by a lock file, so the check and
  the write are one step even across processes.
- Every saved version is kept in the database (who, when, the text), so any earlier version can
  be shown as a diff and restored. A file edited by hand outside the app is recorded as a
  version by nobody the next time it is read.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from kb.articles import ID_PATTERN, ArticleError, Problem, parse
from kb.db import Database
from kb.filelock import locked
from kb.models import ArticleVersion

LOCK_FILE = ".kotae-write.lock"


def revision_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Conflict(Exception):
    """The file changed after the editor opened it; both versions are kept for the page."""

    def __init__(self, article_id: str, theirs: str, yours: str):
        self.article_id = article_id
        self.theirs = theirs
        self.yours = yours
        self.revision = revision_of(theirs)
        super().__init__(f"{article_id}: changed since it was opened")


@dataclass(frozen=True)
class Saved:
    article_id: str
    revision: str
    version_id: int


class ArticleStore:
    def __init__(self, root: Path, db: Database):
        self.root = Path(root)
        self.db = db

    def path_for(self, article_id: str) -> Path:
        if not ID_PATTERN.match(article_id or ""):
            raise ArticleError([Problem(f"{article_id}.md", "id",
                                        "must be 3-64 of a-z, 0-9 and '-'")])
        return self.root / f"{article_id}.md"

    def read(self, article_id: str) -> tuple[str, str] | None:
        """The file's text and revision, or None when there is no such article."""
        path = self.path_for(article_id)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        self._remember_outside_edit(article_id, text)
        return text, revision_of(text)

    def save(self, article_id: str, text: str, base_revision: str | None, author_id: int | None,
             now: datetime, message: str = "") -> Saved:
        """Write ``text`` as the article, if the file is still at ``base_revision`` (None: the
        article must not exist yet). Raises ArticleError for an invalid article, Conflict when
        someone else saved first."""
        path = self.path_for(article_id)
        article = parse(text, path.name)
        if article.id != article_id:
            raise ArticleError([Problem(path.name, "id", f"must stay {article_id!r}")])
        with locked(self.root / LOCK_FILE):
            current = path.read_text(encoding="utf-8") if path.exists() else None
            current_revision = revision_of(current) if current is not None else None
            if current_revision != base_revision:
                raise Conflict(article_id, current or "", text)
            if current is not None:
                self._remember_outside_edit(article_id, current)
            atomic_write(path, text)
            version_id = self._record(article_id, text, author_id, now, message)
        return Saved(article_id, revision_of(text), version_id)

    def _record(self, article_id: str, text: str, author_id: int | None, now: datetime,
                message: str) -> int:
        with self.db.write() as session:
            version = ArticleVersion(article_id=article_id, revision=revision_of(text), text=text,
                                     author_id=author_id, at=now, message=message[:500])
            session.add(version)
            session.flush()
            return version.id

    def _remember_outside_edit(self, article_id: str, text: str) -> None:
        """Keep a hand-edited (or never recorded) file as a version by nobody."""
        revision = revision_of(text)
        with self.db.read() as session:
            latest = session.scalar(
                select(ArticleVersion.revision).where(ArticleVersion.article_id == article_id)
                .order_by(ArticleVersion.id.desc()).limit(1))
        if latest != revision:
            from kb.clock import utcnow

            self._record(article_id, text, None, utcnow(), "ファイルの直接編集")

    def history(self, article_id: str) -> list[ArticleVersion]:
        """Every recorded version, newest first."""
        with self.db.read() as session:
            return list(session.scalars(
                select(ArticleVersion).where(ArticleVersion.article_id == article_id)
                .order_by(ArticleVersion.id.desc())))

    def version(self, version_id: int) -> ArticleVersion | None:
        with self.db.read() as session:
            return session.get(ArticleVersion, version_id)

    def restore(self, article_id: str, version_id: int, author_id: int | None,
                now: datetime) -> Saved:
        old = self.version(version_id)
        if old is None or old.article_id != article_id:
            raise KeyError(version_id)
        current = self.read(article_id)
        return self.save(article_id, old.text, current[1] if current else None, author_id, now,
                         message=f"版 {version_id} に戻す")


def diff(before: str, after: str, before_name: str = "前", after_name: str = "後") -> str:
    """A readable unified diff of two article texts."""
    return "".join(difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=before_name, tofile=after_name))


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader or a crash sees the old or the new file,
    never a part of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
