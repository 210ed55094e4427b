"""Helpers for the web-level escalation tests: people, tokens, escalations and what is stored."""

from __future__ import annotations

from sqlalchemy import func, select

from kb import accounts
from kb import escalations as esc_core
from kb.clock import utcnow
from kb.models import Base, Escalation, User

from .conftest import PASSWORD


def db(app):
    return app.extensions["kb_db"]


def add_person(app, name: str, role: str, display: str | None = None) -> None:
    with db(app).write() as session:
        accounts.add_user(session, name, role, PASSWORD, display or name)


def token_for(app, name: str) -> str:
    """A new API token for the user ``name`` (what `kb token create NAME` prints)."""
    with db(app).write() as session:
        return accounts.create_token(session, session.scalar(select(User).where(User.name == name)))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def escalate(app, operator: str, query: str = "海外で着信できない", level: str = "1",
             category: str | None = None, note: str = "") -> int:
    """An escalation raised by ``operator``, straight into the database (test set-up only)."""
    with db(app).write() as session:
        user = session.scalar(select(User).where(User.name == operator))
        esc = esc_core.create(session, app.extensions["kb_routing"], user,
                              esc_core.NewEscalation(query, level, category, note), utcnow())
        return esc.id


def count(app, model=Escalation) -> int:
    with db(app).read() as session:
        return session.scalar(select(func.count()).select_from(model))


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table, after the search log queue is written: equal snapshots
    before and after a request mean the request stored nothing."""
    app.extensions["kb_recorder"].flush()
    with db(app).read() as session:
        return {
            table.name: [tuple(row) for row in session.execute(select(table)).all()]
            for table in Base.metadata.sorted_tables
        }


def status_of(app, escalation_id: int) -> str:
    with db(app).read() as session:
        return session.get(Escalation, escalation_id).status
