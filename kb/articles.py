"""Articles: Markdown files with YAML front matter, parsed and validated.

The files are the source of truth. Loading a directory never stops at the first bad file: every
problem is collected with its file and field, and the good articles are still returned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

STATUSES = ("draft", "review", "published", "archived")
RESOLUTION = "回答・対応手順"
SECTIONS = ("問題", "環境", RESOLUTION, "原因")

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^##[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
MAX_FILE_BYTES = 1_000_000


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so a bad date is a field problem, not a crash."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one article file."""

    path: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.message}"


@dataclass
class Article:
    id: str
    title: str
    body: str
    path: str
    questions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    category: str = ""
    status: str = "draft"
    owner: str = ""
    updated: dt.date | None = None
    review_by: dt.date | None = None
    escalations: list[str] = field(default_factory=list)
    digest: str = ""

    @property
    def sections(self) -> dict[str, str]:
        return split_sections(self.body)

    @property
    def resolution(self) -> str:
        return self.sections.get(RESOLUTION, "")

    @property
    def searchable(self) -> bool:
        return self.status == "published"


class ArticleError(Exception):
    """An article file could not be loaded; carries every problem found in it."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def split_sections(body: str) -> dict[str, str]:
    """The body's ``## `` sections by heading (text before the first heading is dropped)."""
    parts = _HEADING.split(body)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def _string_list(value, name: str, path: str, problems: list[Problem]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        problems.append(Problem(path, name, "must be a list of strings"))
        return []
    return [str(v).strip() for v in value if str(v).strip()]


def _date(value, name: str, path: str, problems: list[Problem]) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        problems.append(Problem(path, name, f"not a date (YYYY-MM-DD): {value!r}"))
        return None


def parse(text: str, path: str) -> Article:
    """Parse one article's text; raises ArticleError listing every problem in it."""
    problems: list[Problem] = []
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match:
        raise ArticleError([Problem(path, "front matter", "missing: the file must start with ---")])
    try:
        meta = yaml.load(match.group(1), Loader=_FrontMatterLoader)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 2})" if where else ""
        raise ArticleError([Problem(path, "front matter", f"unreadable YAML{line}")]) from None
    if not isinstance(meta, dict):
        raise ArticleError([Problem(path, "front matter", "must be a mapping of fields")])
    body = text[match.end() + (len(text) - len(text.lstrip("\ufeff"))):]

    article_id = str(meta.get("id") or "").strip()
    if not article_id:
        problems.append(Problem(path, "id", "missing"))
    elif not ID_PATTERN.match(article_id):
        problems.append(Problem(path, "id", f"must be 3-64 of a-z, 0-9 and '-': {article_id!r}"))
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem(path, "title", "missing"))
        title = ""
    status = str(meta.get("status") or "draft").strip()
    if status not in STATUSES:
        problems.append(Problem(path, "status", f"unknown {status!r}; one of {', '.join(STATUSES)}"))
    category = meta.get("category") or ""
    if not isinstance(category, str):
        problems.append(Problem(path, "category", "must be a string"))
        category = ""
    if RESOLUTION not in split_sections(body):
        problems.append(Problem(path, "body", f"missing the '## {RESOLUTION}' section"))

    article = Article(
        id=article_id,
        title=title.strip(),
        body=body,
        path=path,
        questions=_string_list(meta.get("questions"), "questions", path, problems),
        tags=_string_list(meta.get("tags"), "tags", path, problems),
        category=category.strip(),
        status=status,
        owner=str(meta.get("owner") or "").strip(),
        updated=_date(meta.get("updated"), "updated", path, problems),
        review_by=_date(meta.get("review_by"), "review_by", path, problems),
        escalations=_string_list(meta.get("escalations"), "escalations", path, problems),
        digest=hashlib.sha1(text.encode("utf-8")).hexdigest(),
    )
    if problems:
        raise ArticleError(problems)
    return article


def load_file(path: Path, root: Path | None = None) -> Article:
    """Read and parse one file; unreadable files become an ArticleError too."""
    shown = str(path.relative_to(root)) if root else str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ArticleError([Problem(shown, "file", f"larger than {MAX_FILE_BYTES} bytes")])
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ArticleError([Problem(shown, "file", "not UTF-8 text")]) from None
    except OSError as exc:
        raise ArticleError([Problem(shown, "file", f"unreadable: {exc.strerror}")]) from None
    return parse(text, shown)


def article_files(root: Path) -> list[Path]:
    """Every article file under ``root`` (hidden files and folders excluded)."""
    return sorted(
        p for p in root.rglob("*.md")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def load_all(root: Path) -> tuple[list[Article], list[Problem]]:
    """Every valid article under ``root``, and every problem found (duplicates included)."""
    articles: list[Article] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in article_files(root):
        try:
            article = load_file(path, root)
        except ArticleError as exc:
            problems.extend(exc.problems)
            continue
        if article.id in seen:
            problems.append(
                Problem(article.path, "id", f"duplicate {article.id!r}, also in {seen[article.id]}")
            )
            continue
        seen[article.id] = article.path
        articles.append(article)
    return articles, problems
