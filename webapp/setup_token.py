"""The one-time token for creating the first administrator (there is no default password).

`kb serve` writes it to the instance directory and prints a link with it; creating the
administrator deletes it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from kb.db import Database
from kb.models import User

FILE = "setup-token"


def _path(app: Flask) -> Path:
    return Path(app.config["KB_INSTANCE"]) / FILE


def _anyone(db: Database) -> bool:
    with db.read() as session:
        return bool(session.scalar(select(func.count(User.id))))


def issue(instance: Path, db: Database) -> str | None:
    """A token when no user exists yet (kept across restarts until used), else None."""
    if _anyone(db):
        (instance / FILE).unlink(missing_ok=True)
        return None
    path = instance / FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


def pending(app: Flask) -> bool:
    """Whether the first administrator is still to be created. A user added meanwhile with
    `kb user add` ends it too, so that person can log in without restarting the server."""
    if not _path(app).exists():
        return False
    if _anyone(app.extensions["kb_db"]):
        consume(app)
        return False
    return True


def read(app: Flask) -> str:
    try:
        return _path(app).read_text().strip()
    except FileNotFoundError:
        return "\0"  # never equal to a submitted token


def consume(app: Flask) -> None:
    _path(app).unlink(missing_ok=True)
