"""Publish → found by search: how long after an editor presses 公開 does search find the article,
with several web worker processes serving searches under load at the same time.

    PYTHONPATH=. python bench/publish_latency.py --workers 2 --articles 50 --load 4

Starts `kb serve --workers N` (gunicorn) on a fresh instance with the sample articles, an editor
and an operator with API tokens. Load threads search continuously through the HTTP server
(each request a new connection, so every worker serves them). One client then publishes
``--articles`` new articles one after another (each created in review first, then published
through the editor's form, as a browser would). For each publish, a poller starts searching
for the article's own question at the moment the publish request starts; the latency is the
time from that moment until a search through the server (any worker) lists the article.

Prints one JSON line: publish-to-found p50/p95/max in seconds (bar: p95 <= 1 s), and the load
searches' p50/p95 during the publishes (searches are not paused by the writer).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.speed import fixed_queries, percentile

PASSWORD = "bench password 1234"
# Made-up words no sample article uses, one pair per published article.
WORDS = ["カワウソ", "ハリネズミ", "モモンガ", "ヤマネ", "オコジョ", "アルマジロ", "カピバラ",
         "ミーアキャット", "フェネック", "センザンコウ"]


def kb(instance: Path, *args: str, password: str | None = None) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-c", "from kb.cli import main; main()", *args,
           "--instance", str(instance)]
    if password:
        cmd += ["--password", password]
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, base: str, token: str):
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> str:
        req = urllib.request.Request(self.base + path, headers=self.headers)
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read().decode("utf-8")

    def post(self, path: str, form: dict) -> int:
        data = urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(self.base + path, data=data, headers=self.headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            if exc.code in (302, 303):
                return exc.code
            raise

    def hits(self, query: str) -> list[str]:
        reply = json.loads(self.get("/api/search?" + urllib.parse.urlencode({"q": query})))
        return [h["id"] for h in reply["hits"]]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def article_form(i: int) -> tuple[str, dict]:
    a, b = WORDS[i % len(WORDS)], WORDS[(i // len(WORDS)) % len(WORDS)]
    question = f"{a}と{b}の{i}番目の預かりサービスを申し込みたい"
    return question, {
        "id": f"bench-publish-{i:03d}", "title": f"{a}と{b}の預かりサービス（{i}）",
        "questions": question, "category": "ベンチ", "tags": "ベンチ",
        "body": f"## 問題\n{question}\n\n## 回答・対応手順\n受付窓口を案内する（{i}）。\n",
    }


def wait_until_up(base: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("kb serve exited")
        try:
            with urllib.request.urlopen(base + "/login", timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("kb serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--articles", type=int, default=50)
    parser.add_argument("--load", type=int, default=4, help="threads searching continuously")
    parser.add_argument("--server-log", default=os.devnull, help="where kb serve's output goes")
    args = parser.parse_args()
    urllib.request.install_opener(urllib.request.build_opener(NoRedirect))

    tmp = Path(tempfile.mkdtemp(prefix="kotae-publish-"))
    instance = tmp / "instance"
    shutil.copytree(ROOT / "articles", tmp / "articles")
    kb(instance, "user", "add", "bench-editor", "--role", "editor", password=PASSWORD)
    kb(instance, "user", "add", "bench-operator", "--role", "operator", password=PASSWORD)
    editor_token = kb(instance, "token", "create", "bench-editor").strip()
    operator_token = kb(instance, "token", "create", "bench-operator").strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(args.server_log, "w")  # noqa: SIM115 (closed when the server is)
    server = subprocess.Popen(
        [sys.executable, "-c", "from kb.cli import main; main()", "serve", "--instance",
         str(instance), "--articles", str(tmp / "articles"), "--port", str(port),
         "--workers", str(args.workers)],
        env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=log, stderr=log,
        start_new_session=True)
    try:
        wait_until_up(base, server)
        editor = Client(base, editor_token)
        searcher = Client(base, operator_token)
        queries = fixed_queries()
        for q in queries[: args.workers * 8]:  # warm every worker's searcher
            searcher.hits(q)

        stop = threading.Event()
        load_times: list[float] = []

        def load(offset: int) -> None:
            n = offset
            while not stop.is_set():
                started = time.perf_counter()
                searcher.hits(queries[n % len(queries)])
                load_times.append(time.perf_counter() - started)
                n += args.load

        threads = [threading.Thread(target=load, args=(k,), daemon=True)
                   for k in range(args.load)]
        for t in threads:
            t.start()

        latencies: list[float] = []
        request_times: list[float] = []
        for i in range(args.articles):
            question, form = article_form(i)
            assert editor.post("/editor/new", {**form, "status": "review"}) == 303
            page = editor.get(f"/editor/{form['id']}")
            revision = re.search(r'name="revision" value="([0-9a-f]+)"', page).group(1)
            assert form["id"] not in searcher.hits(question)  # in review: not searchable
            found_at: list[float] = []

            def poll(article_id=form["id"], q=question, out=found_at) -> None:
                while article_id not in searcher.hits(q):
                    pass
                out.append(time.perf_counter())

            started = time.perf_counter()
            poller = threading.Thread(target=poll)
            poller.start()
            status = editor.post(f"/editor/{form['id']}",
                                 {**form, "revision": revision, "status": "published"})
            assert status == 303, status
            request_times.append(time.perf_counter() - started)
            poller.join(timeout=30)
            if not found_at:
                raise SystemExit(f"{form['id']} was not found within 30 s")
            latencies.append(found_at[0] - started)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        print(json.dumps({
            "workers": args.workers, "publishes": len(latencies), "load_threads": args.load,
            "publish_to_found_p50_s": round(percentile(latencies, 50), 3),
            "publish_to_found_p95_s": round(percentile(latencies, 95), 3),
            "publish_to_found_max_s": round(max(latencies), 3),
            "publish_request_p50_s": round(percentile(request_times, 50), 3),
            "publish_request_p95_s": round(percentile(request_times, 95), 3),
            "load_searches": len(load_times),
            "load_search_p50_ms": round(percentile(load_times, 50) * 1000, 1),
            "load_search_p95_ms": round(percentile(load_times, 95) * 1000, 1),
            "bar_p95_le_1s": percentile(latencies, 95) <= 1.0,
        }, ensure_ascii=False))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
