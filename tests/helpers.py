"""Building blocks for tests: article files written the way editors write them, and a real
database with people and escalations in it."""

import email
import email.policy
import json
import shutil
import socket
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Self
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from kb import accounts, escalations
from kb.db import Database
from kb.escalations import NewEscalation
from kb.index import IndexStore
from kb.models import Escalation, User
from kb.routing import Routing
from kb.search import SearchService

ARTICLE = """---
id: {id}
title: {title}
questions:
{questions}
tags: [{tags}]
category: {category}
status: {status}
owner: テストチーム
updated: 2026-10-01
review_by: 2027-04-01
---

## 問題
{title}

## 回答・対応手順
{answer}
"""


def write_article(root: Path, id: str, title: str, answer: str = "手順どおりにご案内します。",
                  questions=(), tags=(), category: str = "テスト", status: str = "published",
                  name: str | None = None) -> Path:
    path = root / (name or f"{id}.md")
    qs = "\n".join(f"  - {q}" for q in questions) or "  []"
    if not questions:
        qs = "  - " + title
    path.write_text(
        ARTICLE.format(id=id, title=title, questions=qs, tags=", ".join(tags), category=category,
                       status=status, answer=answer),
        encoding="utf-8",
    )
    return path


def search_over(root: Path) -> SearchService:
    """A search service over an index, built beside ``root``, of the articles in it."""
    store = IndexStore(root.parent / "index")
    store.update(root)
    return SearchService(store)


# ---- escalations: a real database, people, moments in Japan time ------------------------------

JST = ZoneInfo("Asia/Tokyo")
PERSON_PASSWORD = "correct horse battery"


def jst(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment given in Japan time, as the database stores it (naive UTC)."""
    moment = datetime(year, month, day, hour, minute, tzinfo=JST)
    return moment.astimezone(UTC).replace(tzinfo=None)


def new_database(directory: Path) -> Database:
    """A SQLite file in ``directory`` with the schema brought up to date by the migrations."""
    db = Database(f"sqlite:///{directory}/x.sqlite3")
    db.upgrade()
    return db


def copy_database(template: Database, directory: Path) -> Database:
    """A copy of a migrated database (disposed first, so its file holds everything)."""
    template.dispose()
    source = Path(template.url.removeprefix("sqlite:///"))
    shutil.copyfile(source, directory / source.name)
    return Database(f"sqlite:///{directory / source.name}")


# The people of the escalation tests: name → (role, display name).
PEOPLE = {
    "op": ("operator", "山田オペ"),
    "op2": ("operator", "高橋オペ"),
    "sv": ("expert", "佐藤SV"),
    "sv2": ("expert", "伊藤SV"),
}


def add_people(db: Database) -> SimpleNamespace:
    """Everyone in PEOPLE, as attributes named after them."""
    return SimpleNamespace(**{name: add_person(db, name, role, display)
                              for name, (role, display) in PEOPLE.items()})


def add_person(db: Database, name: str, role: str = "operator",
               display_name: str | None = None) -> User:
    with db.write() as session:
        return accounts.add_user(session, name, role, PERSON_PASSWORD, display_name)


def escalate(db: Database, routing: Routing, operator: User, query: str, now: datetime,
             level: str = "1", category: str | None = None, note: str = "") -> int:
    """Create one escalation in its own committed transaction; returns its id."""
    with db.write() as session:
        esc = escalations.create(session, routing, operator,
                                 NewEscalation(query, level, category, note), now)
        return esc.id


def fetch(db: Database, escalation_id: int) -> Escalation:
    """The escalation as stored, with its events and calls, read in a fresh session."""
    with db.read() as session:
        return escalations.get(session, escalation_id)


def count(db: Database, model) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


# ---- real receivers for notifications -----------------------------------------------------------

class ChatReceiver:
    """A real HTTP server on 127.0.0.1 recording every JSON document POSTed to it."""

    def __init__(self, status: int = 200, port: int = 0, reply: bytes | None = None):
        self.posts: list[dict] = []  # {"path", "content_type", "json"}
        self.status = status
        self.reply = reply  # raw bytes instead of an HTTP response, to play a broken server
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self.server.serve_forever, name="chat-receiver",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts.append({"path": self.path,
                                       "content_type": self.headers.get("Content-Type"),
                                       "json": json.loads(body.decode("utf-8"))})
                if receiver.reply is not None:
                    self.wfile.write(receiver.reply)
                    self.close_connection = True
                    return
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 keeping every message it receives."""

    def __init__(self, port: int | None = None):
        self.messages: list[tuple[list[str], EmailMessage]] = []  # (envelope recipients, message)
        self.port = port or closed_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()
