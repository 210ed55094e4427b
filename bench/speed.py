"""Speed benchmark: indexing rate, searcher open time, search latency with snippets, memory.

    python bench/speed.py 1000 10000

For each size: generate the articles (bench/generate.py), rebuild the index on all cores,
then, in a fresh process, open the searcher and run the fixed query set (operator queries
plus caller questions of the sample articles, >= 300) once to warm up and once measured.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.articles import load_all
from kb.index import IndexStore


def fixed_queries() -> list[str]:
    with open(ROOT / "bench/operator/queries.jsonl", encoding="utf-8") as f:
        queries = [json.loads(line)["text"] for line in f if line.strip()]
    articles, _ = load_all(ROOT / "articles")
    queries += [q for a in articles for q in a.questions[1:3]]
    return queries


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1)]


def search_phase(index_root: str) -> dict:
    from kb.search import SearchService

    store = IndexStore(index_root)
    opens = []
    for _ in range(20):
        started = time.perf_counter()
        _, ix = store.open()
        searcher = ix.searcher()
        opens.append((time.perf_counter() - started) * 1000)
        searcher.close()
        ix.close()
    service = SearchService(store)
    queries = fixed_queries()
    started = time.perf_counter()
    service.search(queries[0])
    first_ms = (time.perf_counter() - started) * 1000
    for q in queries:  # warm-up pass: postings of these terms get cached
        service.search(q)
    latencies = []
    for q in queries:
        started = time.perf_counter()
        service.search(q)
        latencies.append((time.perf_counter() - started) * 1000)
    cold = []
    for q in queries:  # a new searcher per query: nothing cached
        service = SearchService(store)
        started = time.perf_counter()
        service.search(q)
        cold.append((time.perf_counter() - started) * 1000)
        service.close()
    return {
        "queries": len(queries),
        "searcher_open_ms_median": round(statistics.median(opens), 2),
        "first_search_after_open_ms": round(first_ms, 1),
        "search_p50_ms": round(percentile(latencies, 50), 2),
        "search_p95_ms": round(percentile(latencies, 95), 2),
        "uncached_search_p95_ms": round(percentile(cold, 95), 2),
        "search_process_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def measure(count: int) -> dict:
    from bench.generate import generate

    with tempfile.TemporaryDirectory(prefix="kb-speed-") as tmp:
        articles_dir = Path(tmp) / "articles"
        generate(count, articles_dir)
        articles, problems = load_all(articles_dir)
        assert not problems, problems[:3]
        report = IndexStore(Path(tmp) / "index").rebuild(articles)
        result = {
            "articles": count,
            "index_seconds": round(report.seconds, 1),
            "index_articles_per_s": round(count / report.seconds),
            "index_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            # The largest worker process of the rebuild (or of any earlier child).
            "index_worker_peak_mb": round(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            ),
        }
        out = subprocess.run(
            [sys.executable, __file__, "--search-phase", str(Path(tmp) / "index")],
            check=True, capture_output=True, text=True,
        )
        result.update(json.loads(out.stdout.strip().splitlines()[-1]))
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["--search-phase"]:
        print(json.dumps(search_phase(sys.argv[2])))
    else:
        for size in [int(a) for a in sys.argv[1:]] or [1000, 10000]:
            print(json.dumps(measure(size), ensure_ascii=False), flush=True)
