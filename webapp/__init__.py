"""Kotae's web app: the Flask application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from kb.config import default_paths
from kb.db import database_url
from kb.secrets import secret_key

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
    """Build the app: the embedded defaults, then ``config.py`` in the instance directory (e.g.
    ``KB_REVIEWER_MUST_DIFFER = True``), then ``test_config`` (what ``kb serve`` or a test
    passes: the instance and article paths, test switches)."""
    app = Flask(__name__)
    overrides = dict(test_config or {})
    app.config.from_mapping(_defaults(overrides.get("KB_INSTANCE"), overrides.get("KB_ARTICLES")))
    instance = Path(overrides.get("KB_INSTANCE") or app.config["KB_INSTANCE"])
    app.config.from_pyfile(str(instance / "config.py"), silent=True)
    app.config.from_mapping(overrides)
    instance = Path(app.config["KB_INSTANCE"])
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(instance)
    app.json = JSONProvider(app)

    from webapp import (
        articles,
        auth,
        calls,
        editor,
        errors,
        escalations,
        feedback,
        gaps,
        knowledge,
        review,
        search,
        service,
    )

    service.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    for area in (search, articles, calls, escalations, gaps, feedback, review, editor, knowledge):
        app.register_blueprint(area.bp)
    app.after_request(_security_headers)
    return app


def _defaults(instance: str | None, articles: str | None) -> dict[str, Any]:
    """The embedded defaults, everything in the instance directory."""
    paths = default_paths(instance, articles)
    return {
        "KB_INSTANCE": str(paths.instance),
        "KB_ARTICLES": str(paths.articles),
        "KB_DATABASE_URL": database_url(paths.instance),
        "KB_ROUTING": str(paths.instance / "routing.yaml"),
        "KB_MIGRATE": True,
        "KB_BACKGROUND": True,
        "KB_BACKGROUND_INTERVAL": 5.0,
        # Operators' searches are logged into call trails; KB_SEARCH_LOG=0 in the environment
        # turns that off (bench/escalation_overhead.py measures its cost against this).
        "KB_SEARCH_LOG": os.environ.get("KB_SEARCH_LOG", "1") != "0",
        # Publishing needs a reviewer other than the article's last author.
        "KB_REVIEWER_MUST_DIFFER": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("KB_COOKIE_SECURE", "") == "1",
        "SESSION_COOKIE_NAME": "kotae_session",
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_CHECK_DEFAULT": False,  # checked in webapp.auth, skipped for bearer tokens
        "WTF_CSRF_TIME_LIMIT": None,  # valid for the session (a shift), not one hour
        "MAX_CONTENT_LENGTH": 256 * 1024,
    }


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
