"""Kotae's web app: the Flask application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from kb.config import default_paths

# Scripts only from our own origin: an article or a query can never run code in the page.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, in readable UTF-8."""

    ensure_ascii = False


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then the instance config file, then ``test_config``."""
    app = Flask(__name__, instance_relative_config=True)
    paths = default_paths()
    app.config.from_mapping(
        KB_INSTANCE=str(paths.instance),
        KB_ARTICLES=str(paths.articles),
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    app.json = JSONProvider(app)

    from webapp import articles, errors, search

    errors.init_app(app)
    app.register_blueprint(search.bp)
    app.register_blueprint(articles.bp)
    app.after_request(_security_headers)
    return app


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
