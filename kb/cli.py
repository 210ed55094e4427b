"""The ``kb`` command: index, search, check, eval, serve, stale, user, token."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click
from sqlalchemy import select

from kb import accounts, routing
from kb.articles import load_all
from kb.clock import utcnow
from kb.config import SAMPLE_ARTICLES, default_paths, ensure_articles
from kb.db import Database, database_url
from kb.index import IndexMissing, IndexStore
from kb.models import ROLES, User

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
    # Before the first start there is no instance copy yet: check the samples it will copy.
    folder = paths.articles if articles or paths.articles.exists() else SAMPLE_ARTICLES
    if not folder.is_dir():
        raise click.ClickException(f"no article directory at {folder}")
    found, problems = load_all(folder)
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
    ensure_articles(paths)
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


def _database(instance) -> Database:
    paths = default_paths(instance)
    paths.instance.mkdir(parents=True, exist_ok=True)
    db = Database(database_url(paths.instance))
    db.upgrade()
    return db


@main.command()
@_instance
@_articles
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Web worker processes (gunicorn).")
def serve(instance, articles, host, port, workers) -> None:
    """Update the schema, the routing file and the index, then serve the web app."""
    from kb.server import serve as run_server
    from webapp import setup_token

    paths = default_paths(instance, articles)
    if ensure_articles(paths):
        click.echo(f"articles: copied the samples to {paths.articles}")
    db = _database(instance)
    routing_file = paths.instance / "routing.yaml"
    if not routing_file.exists():
        shutil.copyfile(routing.DEFAULT_FILE, routing_file)
        click.echo(f"routing rules: copied the defaults to {routing_file}")
    try:
        routing.load(routing_file)
    except routing.RoutingError as exc:
        _print_problems(exc.problems)
        raise click.ClickException(f"{routing_file} has errors; fix the keys named above") from None
    report = IndexStore(paths.index).update(paths.articles)
    _print_problems(report.problems)
    click.echo(f"index ready: {report.added + report.changed} indexed, {report.deleted} removed")
    token = setup_token.issue(paths.instance, db)
    db.dispose()
    click.echo(f"Kotae: http://{host}:{port}/")
    if token:
        click.echo(f"初期設定（最初の管理者の作成）: http://{host}:{port}/setup?token={token}")
    run_server(paths, host, port, workers)


@main.command()
@_instance
@_articles
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Review as of this date (YYYY-MM-DD; default: today at the center).")
def stale(instance, articles, today) -> None:
    """Print what needs a review: articles past review_by, flagged articles, routing rules."""
    from datetime import UTC, datetime, time, timedelta

    from kb import review

    paths = default_paths(instance, articles)
    ensure_articles(paths)
    if not paths.articles.is_dir():
        raise click.ClickException(f"no article directory at {paths.articles}")
    try:
        rules = routing.load(paths.instance / "routing.yaml")
    except routing.RoutingError as exc:
        _print_problems(exc.problems)
        raise click.ClickException("routing.yaml has errors; fix the keys named above") from None
    day = today.date() if today else rules.today(utcnow())
    # Feedback up to the end of that day at the center counts.
    now = (datetime.combine(day + timedelta(days=1), time(), tzinfo=rules.zone)
           .astimezone(UTC).replace(tzinfo=None))
    found, problems = load_all(paths.articles)
    _print_problems(problems)
    db = _database(instance)
    with db.read() as session:
        flagged = review.flagged_for(session, found, now)
    db.dispose()
    items = review.stale(found, flagged, rules, day)
    for item in items:
        click.echo(item.line())
    click.echo(f"要レビュー: {len(items)} 件（{day.isoformat()} 時点）")


@main.group()
def user() -> None:
    """Accounts: operator, expert, editor, admin."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--display-name", default=None, help="The name shown in the app.")
@click.password_option(help="Asked for when not given (at least 10 characters).")
@_instance
def user_add(name, role, display_name, password, instance) -> None:
    """Create a user with a role; the password is asked for, never defaulted."""
    db = _database(instance)
    try:
        with db.write() as session:
            accounts.add_user(session, name, role, password, display_name)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"user {name} ({role}) added")


@main.group()
def token() -> None:
    """API tokens for integrations (sent as Authorization: Bearer TOKEN)."""


@token.command("create")
@click.argument("name")
@_instance
def token_create(name, instance) -> None:
    """Print a new API token for user NAME (shown once; only its hash is kept)."""
    db = _database(instance)
    with db.write() as session:
        found = session.scalar(select(User).where(User.name == name))
        if found is None:
            raise click.ClickException(f"no user named {name}")
        click.echo(accounts.create_token(session, found))
