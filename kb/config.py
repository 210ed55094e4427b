"""Where things live: the instance directory (index, database) and the article files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Paths:
    instance: Path
    articles: Path

    @property
    def index(self) -> Path:
        return self.instance / "index"


def default_paths(instance: str | os.PathLike | None = None,
                  articles: str | os.PathLike | None = None) -> Paths:
    """Explicit arguments, then KB_INSTANCE / KB_ARTICLES, then the embedded defaults."""
    instance = instance or os.environ.get("KB_INSTANCE") or Path.cwd() / "instance"
    articles = articles or os.environ.get("KB_ARTICLES") or PACKAGE_ROOT / "articles"
    return Paths(Path(instance).resolve(), Path(articles).resolve())
