"""What escalating and the live queue add to an operator's search request (bar: <= 5 ms p95).

    python bench/escalation_overhead.py [--workers 2] [--passes 3] [--only log|traffic]

Two real ``kb serve`` servers (gunicorn, the default two worker processes each, background
sweeper on) over one fresh instance: the sample articles, a SQLite file, the default routing
rules with mail sent to a local SMTP sink and chat posted to a local HTTP sink started here.

1. baseline: ``KB_SEARCH_LOG=0`` (searches not logged) and no other traffic;
2. product: searches logged (the operator's trail) while, concurrently, as the real pages do,
   a second operator opens the escalation form and posts an escalation every 2 s and keeps
   "自分のエスカレーション" open (polls /api/my/escalations every 3 s), the searching operator's
   page polls for answers every 3 s, and an expert polls /api/queue every 3 s and acknowledges
   and answers the most urgent open escalation on every other poll.

A logged-in operator session on each server sends /api/search requests one after another on a
keep-alive connection: the fixed operator queries, every article title and question, and
type-ahead sequences (growing prefixes of titles and questions, in typing order). One warm-up
pass on each server, then the measured passes in blocks of about 100 searches that alternate
between the two servers (ABBA), so other load on the machine falls on both alike; the
escalation traffic runs only while the product server is measured.

The last line is JSON: p50/p95 of both and ``added_p95_ms`` (product p95 - baseline p95);
the lines before it give the traffic's own latencies. ``--only log`` / ``--only traffic`` run
the product side with just one of the two, to find which one costs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlencode

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.speed import percentile
from kb import accounts, routing
from kb.articles import load_all
from kb.db import Database, database_url

PASSWORD = "bench password 123"
SEED = 7
BAR_MS = 5.0
ESCALATE_EVERY = 2.0
POLL_EVERY = 3.0
BLOCK = 40  # query sequences per block (about 100 searches)
SETTLE = 0.3
LEVELS = ("1", "2", "3")
CATEGORIES = ("", "料金・支払い", "端末・故障", "クレーム対応", "契約・解約")
CSRF = re.compile(r'name="csrf[-_]token" (?:content|value)="([^"]+)"')


# ---- the queries ---------------------------------------------------------------------------

def typing(text: str) -> list[str]:
    """What the search box sends while ``text`` is typed: a few growing prefixes, then all."""
    cuts = sorted({n for n in (2, 4, 7, 11) if n < len(text)})
    return [text[:n] for n in cuts] + [text]


def query_sequences() -> list[list[str]]:
    """Searches in the order one operator sends them; the sequences are shuffled (seeded)."""
    with open(ROOT / "bench/operator/queries.jsonl", encoding="utf-8") as f:
        sequences = [[json.loads(line)["text"]] for line in f if line.strip()]
    articles, _ = load_all(ROOT / "articles")
    for article in articles:
        sequences.append(typing(article.title))
        if article.questions:
            sequences.append(typing(article.questions[0]))
        sequences += [[q] for q in article.questions[1:]]
    random.Random(SEED).shuffle(sequences)
    return sequences


# ---- sinks for the notifications ------------------------------------------------------------

class _ChatSink(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def start_sinks():
    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    smtp = Controller(Discard(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    chat = ThreadingHTTPServer(("127.0.0.1", 0), _ChatSink)
    threading.Thread(target=chat.serve_forever, daemon=True).start()
    return smtp, chat


def write_routing(instance: Path, smtp_port: int, chat_port: int) -> None:
    rules = yaml.safe_load(routing.DEFAULT_FILE.read_text(encoding="utf-8"))
    rules["smtp"].update(host="127.0.0.1", port=smtp_port)
    for contact in rules["contacts"]:
        if contact["channel"] == "chat":
            contact["address"] = f"http://127.0.0.1:{chat_port}/hooks/{contact['id']}"
    (instance / "routing.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True),
                                           encoding="utf-8")
    routing.load(instance / "routing.yaml")


# ---- the server ----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``kb serve`` in its own process group."""

    def __init__(self, instance: Path, workers: int, search_log: bool):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("KB_DATABASE_URL", "KB_ARTICLES")}
        env.update(PYTHONPATH=str(ROOT), KB_SEARCH_LOG="1" if search_log else "0")
        self.log = open(instance.parent / "serve.log", "ab")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from kb.cli import main; main()", "serve",
             "--instance", str(instance), "--articles", str(ROOT / "articles"),
             "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"kb serve exited; see {instance.parent / 'serve.log'}")
            try:
                if Browser(self.port).get("/login")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit("kb serve did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


class Browser:
    """One person's browser: a cookie jar and a keep-alive connection (reopened when idle
    longer than the server keeps it, as browsers do)."""

    IDLE = 1.0

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None
        self.last = 0.0

    def request(self, method: str, path: str, form: dict | None = None):
        if self.connection is None or time.monotonic() - self.last > self.IDLE:
            if self.connection is not None:
                self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Accept": "application/json, text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = None
            raise
        finally:
            self.last = time.monotonic()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, text

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, form: dict):
        return self.request("POST", path, form)

    def csrf(self, path: str) -> str:
        status, html = self.get(path)
        assert status == 200, (path, status)
        return CSRF.search(html).group(1)

    def login(self, name: str) -> Browser:
        token = self.csrf("/login")
        status, _ = self.post("/login", {"name": name, "password": PASSWORD, "csrf_token": token})
        assert status == 302, f"login {name}: {status}"
        return self


# ---- the concurrent traffic of the product configuration -----------------------------------

class Traffic:
    """The escalation traffic, against one server, while ``on`` is set (paused otherwise)."""

    def __init__(self, port: int, queries: list[str]):
        self.port = port
        self.queries = queries
        self.on = threading.Event()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.latencies: dict[str, list[float]] = {}
        self.threads = [threading.Thread(target=self._guarded, args=(actor,), daemon=True)
                        for actor in (self.escalating_operator, self.my_escalations_page,
                                      self.answer_notice, self.expert)]
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.stop.set()
        self.on.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _guarded(self, actor) -> None:
        try:
            actor()
        except Exception as exc:  # noqa: BLE001 (a crashed actor is reported, not hidden)
            self.count(f"crashed: {type(exc).__name__}: {exc}"[:200])

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def ticks(self, seconds: float):
        """A tick every ``seconds`` (like setInterval); ticks while paused are skipped."""
        next_at = time.monotonic()
        n = 0
        while not self.stop.is_set():
            self.on.wait()
            if self.stop.is_set():
                return
            yield n
            n += 1
            next_at += seconds
            while next_at < time.monotonic():
                next_at += seconds
            self.stop.wait(next_at - time.monotonic())

    def timed(self, kind: str, call, *args):
        started = time.perf_counter()
        status, body = call(*args)
        with self.lock:
            self.latencies.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        return status, body

    def escalating_operator(self) -> None:
        """Opens the escalation form (query prefilled) and submits it, every 2 s."""
        browser = Browser(self.port).login("op2")
        for n in self.ticks(ESCALATE_EVERY):
            query = self.queries[n % len(self.queries)]
            status, html = self.timed("escalate_form", browser.get, f"/escalate?q={quote(query)}")
            token = CSRF.search(html).group(1)
            status, _ = self.timed("escalate_post", browser.post, "/escalations", {
                "csrf_token": token, "q": query, "level": LEVELS[n % len(LEVELS)],
                "category": CATEGORIES[n % len(CATEGORIES)], "note": f"ベンチ {n}"})
            self.count("escalations" if status == 303 else f"escalate_{status}")

    def _poll_mine(self, name: str, follow: bool) -> None:
        browser = Browser(self.port).login(name)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for _ in self.ticks(POLL_EVERY):
            status, body = self.timed("my_poll", browser.get,
                                      f"/api/my/escalations?since={quote(since)}")
            self.count("my_polls" if status == 200 else f"my_{status}")
            if follow and status == 200:
                since = json.loads(body)["now"]

    def my_escalations_page(self) -> None:
        """The escalating operator's "自分のエスカレーション" list (since moves on)."""
        self._poll_mine("op2", follow=True)

    def answer_notice(self) -> None:
        """The answer notice on the searching operator's page (since stays at page load)."""
        self._poll_mine("op", follow=False)

    def expert(self) -> None:
        """Polls the queue every 3 s; on every other poll takes the most urgent open
        escalation and answers it."""
        browser = Browser(self.port).login("sv")
        token = browser.csrf("/queue")
        for n in self.ticks(POLL_EVERY):
            status, body = self.timed("queue_poll", browser.get, "/api/queue")
            self.count("queue_polls" if status == 200 else f"queue_{status}")
            waiting = [e for e in json.loads(body)["escalations"] if e["status"] == "open"] \
                if status == 200 else []
            if n % 2 or not waiting:
                continue
            url = waiting[0]["url"]
            acknowledged, _ = self.timed("acknowledge", browser.post, f"{url}/acknowledge",
                                         {"csrf_token": token})
            answered, _ = self.timed("answer", browser.post, f"{url}/answer", {
                "csrf_token": token, "text": "**回答**: 手順書の3ページをご案内ください。"})
            ok = acknowledged == 303 and answered == 303
            self.count("answers" if ok else f"answer_{acknowledged}_{answered}")


# ---- measuring -----------------------------------------------------------------------------

def search_block(browser: Browser, sequences: list[list[str]]) -> list[float]:
    latencies = []
    for sequence in sequences:
        for query in sequence:
            started = time.perf_counter()
            status, _ = browser.get(f"/api/search?q={quote(query)}")
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"/api/search answered {status} for {query!r}")
    return latencies


def search_log_rows(db: Database) -> int:
    """The rows in the search log, once the servers' recorders have written what they had."""
    from sqlalchemy import func, select

    from kb.models import SearchLog

    count = None
    while True:
        with db.read() as session:
            now = session.scalar(select(func.count()).select_from(SearchLog))
        if now == count:
            return count
        count = now
        time.sleep(0.5)


def summary(latencies: list[float]) -> dict:
    return {"p50_ms": round(percentile(latencies, 50), 2),
            "p95_ms": round(percentile(latencies, 95), 2),
            "mean_ms": round(sum(latencies) / len(latencies), 2), "n": len(latencies)}


def measure(instance: Path, db: Database, workers: int, sequences: list[list[str]],
            passes: int, search_log: bool = True, with_traffic: bool = True) -> dict:
    """Both configurations side by side, their blocks of searches interleaved (ABBA), so
    that other load on the machine falls on both alike; the traffic runs only while the
    product server is being measured."""
    baseline = Server(instance, workers, search_log=False)
    product = Server(instance, workers, search_log=search_log)
    traffic = None
    try:
        browsers = {"baseline": Browser(baseline.port).login("op"),
                    "product": Browser(product.port).login("op")}
        for browser in browsers.values():
            search_block(browser, sequences)  # warm-up: searchers open, postings cached
        logged_before = search_log_rows(db)
        traffic = Traffic(product.port, [s[-1] for s in sequences if len(s[-1]) > 6][:200])
        latencies: dict[str, list[float]] = {"baseline": [], "product": []}
        blocks = [sequences[i:i + BLOCK] for i in range(0, len(sequences), BLOCK)] * passes
        started = time.monotonic()
        for i, block in enumerate(blocks):
            for name in (("baseline", "product") if i % 2 == 0 else ("product", "baseline")):
                if name == "product" and with_traffic:
                    traffic.on.set()
                else:
                    traffic.on.clear()
                    time.sleep(SETTLE)  # what the traffic set off is done
                latencies[name] += search_block(browsers[name], block)
        seconds = time.monotonic() - started
        traffic.close()
        logged = search_log_rows(db) - logged_before
    finally:
        if traffic is not None:
            traffic.close()
        baseline.stop()
        product.stop()
    return {
        "baseline": summary(latencies["baseline"]),
        "product": summary(latencies["product"]),
        "seconds": round(seconds, 1),
        "search_log_rows_added": logged,
        "traffic": dict(sorted(traffic.counts.items())),
        "traffic_latency": {kind: summary(values)
                            for kind, values in sorted(traffic.latencies.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (kb serve's)")
    parser.add_argument("--passes", type=int, default=3, help="measured passes over the queries")
    parser.add_argument("--only", choices=("log", "traffic"), default=None,
                        help="to find a cause: the product with only the search log on, or "
                             "only the escalation traffic")
    args = parser.parse_args()
    sequences = query_sequences()
    smtp, chat = start_sinks()
    try:
        with tempfile.TemporaryDirectory(prefix="kb-esc-bench-") as tmp:
            instance = Path(tmp) / "instance"
            instance.mkdir()
            write_routing(instance, smtp.port, chat.server_address[1])
            db = Database(database_url(instance))
            db.upgrade()
            with db.write() as session:
                for name, role in (("op", "operator"), ("op2", "operator"), ("sv", "expert")):
                    accounts.add_user(session, name, role, PASSWORD)
            result = measure(instance, db, args.workers, sequences, args.passes,
                             search_log=args.only != "traffic", with_traffic=args.only != "log")
            db.dispose()
    finally:
        smtp.stop()
        chat.shutdown()
    for kind, figures in result["traffic_latency"].items():
        print(f"{kind:>14}: p50 {figures['p50_ms']:7.2f} ms  p95 {figures['p95_ms']:7.2f} ms"
              f"  ({figures['n']} requests)")
    added = round(result["product"]["p95_ms"] - result["baseline"]["p95_ms"], 2)
    print(json.dumps({
        "queries": sum(len(s) for s in sequences), "searches_each": result["product"]["n"],
        "workers": args.workers, "only": args.only, "seconds": result["seconds"],
        "baseline_p50_ms": result["baseline"]["p50_ms"],
        "baseline_p95_ms": result["baseline"]["p95_ms"],
        "product_p50_ms": result["product"]["p50_ms"],
        "product_p95_ms": result["product"]["p95_ms"],
        "added_p95_ms": added, "bar_ms": BAR_MS, "met": added <= BAR_MS,
        "search_log_rows_added": result["search_log_rows_added"], "traffic": result["traffic"],
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
