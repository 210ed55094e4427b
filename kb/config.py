"""Where things live: the instance directory (index, database, routing rules) and the article
files. By default the articles are the instance's own copy of the sample knowledge base, made on
first start, so editing articles in the app never touches the files tracked in the repository."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = PACKAGE_ROOT / "articles"


@dataclass(frozen=True)
class Paths:
    instance: Path
    articles: Path

    @property
    def index(self) -> Path:
        return self.instance / "index"


def default_paths(instance: str | os.PathLike | None = None,
                  articles: str | os.PathLike | None = None) -> Paths:
    """Explicit arguments, then KB_INSTANCE / KB_ARTICLES, then the embedded defaults (the
    articles in ``instance/articles``, seeded from the samples by ``ensure_articles``)."""
    instance = Path(instance or os.environ.get("KB_INSTANCE") or Path.cwd() / "instance")
    articles = articles or os.environ.get("KB_ARTICLES") or instance / "articles"
    return Paths(instance.resolve(), Path(articles).resolve())


def ensure_articles(paths: Paths) -> bool:
    """Seed the instance's own article folder from the samples when it is the default one and
    does not exist yet; True when it was seeded."""
    if paths.articles != paths.instance / "articles" or paths.articles.exists():
        return False
    paths.instance.mkdir(parents=True, exist_ok=True)
    tmp = paths.instance / ".articles-seeding"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(SAMPLE_ARTICLES, tmp)
    try:
        tmp.rename(paths.articles)
    except OSError:  # another process seeded it first
        shutil.rmtree(tmp, ignore_errors=True)
    return True
