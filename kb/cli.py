"""The ``kb`` command: index, search, check, eval, serve."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kb.articles import load_all
from kb.config import default_paths
from kb.index import IndexMissing, IndexStore

_instance = click.option("--instance", type=click.Path(file_okay=False), default=None,
                         help="Instance directory (default: $KB_INSTANCE or ./instance).")
_articles = click.option("--articles", type=click.Path(file_okay=False), default=None,
                         help="Article directory (default: $KB_ARTICLES or the sample articles).")


@click.group()
def main() -> None:
    """Kotae knowledge base: Japanese search for call-center operators."""


def _print_problems(problems) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


@main.command()
@_articles
def check(articles) -> None:
    """Validate every article file; exit 1 when any has a problem."""
    paths = default_paths(articles=articles)
    if not paths.articles.is_dir():
        raise click.ClickException(f"no article directory at {paths.articles}")
    found, problems = load_all(paths.articles)
    _print_problems(problems)
    click.echo(f"{len(found)} articles valid, {len(problems)} problems")
    sys.exit(1 if problems else 0)


@main.command("index")
@_instance
@_articles
@click.option("--rebuild", is_flag=True, help="Rebuild from scratch into a new generation.")
def index_command(instance, articles, rebuild) -> None:
    """Bring the search index in line with the article files."""
    paths = default_paths(instance, articles)
    if not paths.articles.is_dir():
        raise click.ClickException(f"no article directory at {paths.articles}")
    report = IndexStore(paths.index).update(paths.articles, rebuild=rebuild)
    _print_problems(report.problems)
    kind = "rebuilt" if report.rebuilt else "updated"
    click.echo(
        f"index {kind}: {report.added} added, {report.changed} changed, {report.deleted} deleted"
        f" in {report.seconds:.2f}s; {len(report.problems)} problems"
    )


@main.command()
@click.argument("query")
@_instance
@click.option("--category", default=None)
@click.option("--tag", default=None)
@click.option("--page", default=1, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def search(query, instance, category, tag, page, as_json) -> None:
    """Search published articles."""
    from kb.search import SearchService

    service = SearchService(IndexStore(default_paths(instance).index))
    try:
        result = service.search(query, category=category, tag=tag, page=page)
    except IndexMissing as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    if result.message:
        click.echo(result.message)
    if result.did_you_mean:
        click.echo(f"もしかして: {result.did_you_mean}")
    for hit in result.hits:
        click.echo(f"{hit.rank:3d}. {hit.title}  [{hit.category}]  ({hit.id}, {hit.score:.2f})")
    confidence = "高" if result.confident else "低"
    click.echo(f"{result.total} 件 / 確信度 {confidence} / {result.elapsed_ms:.1f} ms")


@main.command("eval")
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False),
              help="Documents as JSON lines (id, title, text).")
@click.option("--articles", "articles_dir", type=click.Path(exists=True, file_okay=False),
              help="Or: a directory of article files (the real fields are indexed).")
@click.option("--queries", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--qrels", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--run", "run_file", type=click.Path(dir_okay=False), default=None,
              help="Write a TREC run file (top 10 per query).")
def eval_command(corpus, articles_dir, queries, qrels, run_file) -> None:
    """Measure search quality on a labelled set (last line: JSON metrics)."""
    from kb.evaluate import evaluate, load_corpus

    if bool(corpus) == bool(articles_dir):
        raise click.UsageError("give exactly one of --corpus and --articles")
    if corpus:
        documents = load_corpus(Path(corpus))
    else:
        documents, problems = load_all(Path(articles_dir))
        _print_problems(problems)
    metrics = evaluate(documents, Path(queries), Path(qrels), Path(run_file) if run_file else None)
    click.echo(json.dumps(metrics, ensure_ascii=False))


@main.command()
@_instance
@_articles
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(instance, articles, host, port) -> None:
    """Update the index, then serve the web app."""
    from webapp import create_app

    paths = default_paths(instance, articles)
    paths.instance.mkdir(parents=True, exist_ok=True)
    report = IndexStore(paths.index).update(paths.articles)
    _print_problems(report.problems)
    click.echo(f"index ready: {report.added + report.changed} indexed, {report.deleted} removed")
    app = create_app({"KB_INSTANCE": str(paths.instance), "KB_ARTICLES": str(paths.articles)})
    click.echo(f"Kotae: http://{host}:{port}/")
    app.run(host=host, port=port, threaded=True)
