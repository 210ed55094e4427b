"""Durability: every escalation the API acknowledged with 201 survives SIGKILL of the server.

A real ``kb serve`` (gunicorn master and two worker processes, background sweeper on, the default
routing file) over a real SQLite file in a temporary instance. The operator and the API token are
made with ``kb user add`` / ``kb token create``. Clients POST /api/escalations in a loop while
the whole process group is killed with SIGKILL at seeded random points, sometimes with requests
in flight from a second client thread, and the server is started again each time. After the
last restart the server must still answer, and the database must hold every acknowledged
escalation, complete and exactly once; rows nobody saw acknowledged may exist only for requests
that were cut off by a kill.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text

from kb.db import Database
from kb.models import Delivery, Escalation

from .conftest import PASSWORD, SAMPLE_ARTICLES

REPO = Path(__file__).resolve().parent.parent
SEED = 20261123
KILLS = 6
ACKNOWLEDGED_AT_LEAST = 110
STARTUP_SECONDS = 120
LEVELS = ("1", "2", "3")
CATEGORIES = (None, "料金・支払い", "端末・故障", "クレーム対応", "契約・解約")
QUESTIONS = (
    "解約したいが違約金がいくらか分からない",
    "請求額が先月より高い理由を知りたい",
    "端末の画面が突然映らなくなった",
    "担当者の対応に納得がいかないと言われた",
    "海外で使えるプランがあるか知りたい",
)


def _env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("KB_DATABASE_URL", "KB_ARTICLES", "KB_INSTANCE")}
    env["PYTHONPATH"] = str(REPO)
    return env


def kb(instance: Path, *args: str) -> str:
    """Run the ``kb`` command of this checkout; its output."""
    done = subprocess.run(
        [sys.executable, "-c", "from kb.cli import main; main()", *args, "--instance",
         str(instance)],
        env=_env(instance), cwd=instance.parent, capture_output=True, text=True, timeout=120,
        check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def live_members(pgid: int) -> list[int]:
    """Processes of a process group that are not yet dead (zombies count as dead)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry))
    return found


class Server:
    """``kb serve`` in its own process group, killed with SIGKILL as a whole."""

    def __init__(self, instance: Path, port: int, token: str):
        self.instance = instance
        self.port = port
        self.token = token
        self.log = open(instance.parent / "serve.log", "ab")  # noqa: SIM115 (closed by stop)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from kb.cli import main; main()", "serve",
             "--instance", str(self.instance), "--articles", str(SAMPLE_ARTICLES),
             "--port", str(self.port), "--workers", "2"],
            env=_env(self.instance), cwd=self.instance.parent, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"kb serve exited:\n{self.log_tail()}"
            try:
                status, _ = request(self.port, self.token, "GET", "/api/escalations?status=open")
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
                continue
            assert status == 200, status
            return
        raise AssertionError(f"kb serve did not answer in {STARTUP_SECONDS} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the master and its workers at once, and wait until all are gone."""
        pgid = self.process.pid
        os.killpg(pgid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 10
        while live_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not live_members(pgid), "server processes survived SIGKILL"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()
        self.log.close()

    def log_tail(self) -> str:
        self.log.flush()
        return (self.instance.parent / "serve.log").read_text(errors="replace")[-3000:]


def request(port: int, token: str, method: str, path: str, payload: dict | None = None):
    """One request on a fresh connection: (status, decoded JSON or text)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        body = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read().decode("utf-8", errors="replace")
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw
    finally:
        connection.close()


@dataclass
class Ledger:
    """What the clients saw, shared by the client threads."""

    sent: dict[str, dict] = field(default_factory=dict)  # query -> payload
    acknowledged: dict[str, int] = field(default_factory=dict)  # query -> id from the 201
    cut_off: set[str] = field(default_factory=set)  # sent, then the connection broke
    refused: list[tuple] = field(default_factory=list)  # any response other than 201
    numbers: itertools.count = field(default_factory=itertools.count)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def payload(self) -> dict:
        with self.changed:
            n = next(self.numbers)
        payload = {
            "query": f"{QUESTIONS[n % len(QUESTIONS)]}（問い合わせ {n:04d}）",
            "level": LEVELS[n % len(LEVELS)],
            "note": f"耐久テスト {n}",
        }
        category = CATEGORIES[n % len(CATEGORIES)]
        if category:
            payload["category"] = category
        return payload


def submit_until(stop: threading.Event, server: Server, ledger: Ledger) -> None:
    """One client: submit escalations until told to stop."""
    while not stop.is_set():
        payload = ledger.payload()
        query = payload["query"]
        with ledger.changed:
            ledger.sent[query] = payload
        try:
            status, body = request(server.port, server.token, "POST", "/api/escalations", payload)
        except ConnectionRefusedError:  # the server is down: this one never reached it
            time.sleep(0.01)
            continue
        except (OSError, http.client.HTTPException):  # in flight when the server was killed
            with ledger.changed:
                ledger.cut_off.add(query)
                ledger.changed.notify_all()
            continue
        with ledger.changed:
            if status == 201 and isinstance(body, dict) and body.get("query") == query:
                ledger.acknowledged[query] = body["id"]
            else:
                ledger.refused.append((query, status, str(body)[:300]))
            ledger.changed.notify_all()


def run_round(server: Server, ledger: Ledger, acknowledgements: int, clients: int,
              kill: bool) -> int:
    """Submit from ``clients`` threads until ``acknowledgements`` more 201s arrived, then
    SIGKILL the server (if ``kill``) without stopping the clients; returns how many requests
    the kill cut off."""
    stop = threading.Event()
    with ledger.changed:
        target = len(ledger.acknowledged) + acknowledgements
        cut_before = len(ledger.cut_off)
    threads = [threading.Thread(target=submit_until, args=(stop, server, ledger), daemon=True)
               for _ in range(clients)]
    for thread in threads:
        thread.start()
    with ledger.changed:
        ok = ledger.changed.wait_for(
            lambda: len(ledger.acknowledged) >= target or ledger.refused, timeout=120)
    if kill:
        server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=90)
    assert ok, f"the clients stalled:\n{server.log_tail()}"
    assert not ledger.refused, f"a submission was refused: {ledger.refused[:3]}"
    return len(ledger.cut_off) - cut_before


def stored_escalations(instance: Path) -> dict[str, dict]:
    """Every escalation in the database file, by query, as the checks below need it."""
    db = Database(f"sqlite:///{instance / 'kotae.sqlite3'}")
    try:
        with db.read() as session:
            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            deliveries = dict(session.execute(
                select(Delivery.escalation_id, func.count()).group_by(Delivery.escalation_id)
            ).all())
            stored: dict[str, dict] = {}
            for esc in session.scalars(select(Escalation).order_by(Escalation.id)):
                assert esc.query not in stored, f"stored twice: {esc.query}"
                stored[esc.query] = {
                    "id": esc.id, "level": esc.level, "category": esc.category,
                    "note": esc.note, "operator": esc.operator.name, "status": esc.status,
                    "routed": bool(esc.contact), "events": [e.kind for e in esc.events],
                    "deliveries": deliveries.get(esc.id, 0),
                }
            return stored
    finally:
        db.dispose()


def test_every_acknowledged_escalation_survives_sigkill(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    kb(instance, "user", "add", "op", "--role", "operator", "--password", PASSWORD)
    token = kb(instance, "token", "create", "op").strip()
    server = Server(instance, free_port(), token)
    ledger = Ledger()
    rng = random.Random(SEED)
    kill_points = []
    try:
        for round_number in range(KILLS):
            after = rng.randint(5, 25)
            clients = rng.choice((1, 2))
            server.start()
            cut_off = run_round(server, ledger, after, clients, kill=True)
            kill_points.append({"round": round_number, "after_201s": after, "clients": clients,
                                "cut_off": cut_off, "acknowledged": len(ledger.acknowledged)})
            print("SIGKILL", kill_points[-1])
        server.start()
        run_round(server, ledger, max(1, ACKNOWLEDGED_AT_LEAST - len(ledger.acknowledged)), 1,
                  kill=False)
        context = f"seed {SEED}, kill points {kill_points}"
        stored = stored_escalations(instance)
        print(f"seed {SEED}: {len(ledger.acknowledged)} acknowledged, {len(ledger.cut_off)} cut "
              f"off by a kill, {len(stored)} stored")

        assert len(ledger.acknowledged) >= 100, context
        lost = {query: escalation_id for query, escalation_id in ledger.acknowledged.items()
                if stored.get(query, {}).get("id") != escalation_id}
        assert not lost, f"acknowledged but lost: {lost}; {context}"
        unacknowledged = set(stored) - set(ledger.acknowledged)
        assert unacknowledged <= ledger.cut_off, (
            f"stored, never acknowledged, not in flight at a kill: "
            f"{unacknowledged - ledger.cut_off}; {context}")
        for query, row in stored.items():  # complete rows, the cut-off ones included
            sent = ledger.sent[query]
            assert row | {"id": None} == {
                "id": None, "level": sent["level"], "category": sent.get("category"),
                "note": sent["note"], "operator": "op", "status": "open", "routed": True,
                "events": ["created", "routed"], "deliveries": 1,
            }, context
        # The kills must have hit requests in flight, or the test proved less than it claims.
        assert ledger.cut_off, f"no kill hit a request in flight; {context}"

        # The restarted server still answers, and serves every acknowledged escalation.
        for query, escalation_id in ledger.acknowledged.items():
            status, body = request(server.port, token, "GET", f"/api/escalations/{escalation_id}")
            assert status == 200 and body["query"] == query, context
    finally:
        server.stop()
