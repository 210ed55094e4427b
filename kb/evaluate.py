"""Search quality on a labelled retrieval set, with exactly the product's analysis and ranking.

The set is in the format of ``shared/data``: ``corpus.jsonl`` (id, title, text),
``queries.jsonl`` (id, text) and ``qrels.tsv`` (query id, doc id, grade).
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import time
from pathlib import Path

from kb.articles import Article
from kb.index import IndexStore
from kb.search import SearchService

CUTOFF = 10


def load_corpus(path: Path) -> list[Article]:
    """FAQ-style documents as articles: title → title and questions, text → body."""
    articles = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            doc = json.loads(line)
            title = str(doc.get("title") or "")
            articles.append(
                Article(
                    id=str(doc["id"]), title=title, body=str(doc.get("text") or ""),
                    path=str(doc["id"]), questions=[title] if title else [], status="published",
                )
            )
    return articles


def load_queries(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8") as f:
        return [(str(q["id"]), q["text"]) for q in map(json.loads, filter(str.strip, f))]


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or not parts[2].lstrip("-").isdigit():
                continue  # header or blank
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def ndcg(ranked: list[str], grades: dict[str, int], k: int = CUTOFF) -> float:
    dcg = sum(grades.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def reciprocal_rank(ranked: list[str], grades: dict[str, int], k: int = CUTOFF) -> float:
    for i, d in enumerate(ranked[:k]):
        if grades.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def run_queries(service: SearchService, queries, qrels, run_file=None, tag="kotae") -> dict:
    """Search every labelled query; return the metrics (and write a TREC run if asked)."""
    scores = {"ndcg": [], "rr": [], "hit1": [], "hit5": [], "zero": []}
    latencies = []
    lines = []
    for qid, text in queries:
        if qid not in qrels:
            continue
        started = time.perf_counter()
        result = service.search(text, per_page=CUTOFF)
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = [h.id for h in result.hits]
        grades = qrels[qid]
        scores["ndcg"].append(ndcg(ranked, grades))
        scores["rr"].append(reciprocal_rank(ranked, grades))
        scores["hit1"].append(float(any(grades.get(d, 0) > 0 for d in ranked[:1])))
        scores["hit5"].append(float(any(grades.get(d, 0) > 0 for d in ranked[:5])))
        scores["zero"].append(float(not ranked))
        lines.extend(f"{qid} Q0 {h.id} {h.rank} {h.score:.4f} {tag}" for h in result.hits)
    if run_file:
        Path(run_file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    mean = lambda xs: round(statistics.fmean(xs), 4) if xs else 0.0
    return {
        "ndcg@10": mean(scores["ndcg"]),
        "mrr@10": mean(scores["rr"]),
        "hit@1": mean(scores["hit1"]),
        "hit@5": mean(scores["hit5"]),
        "zero_result_rate": mean(scores["zero"]),
        "queries": len(scores["ndcg"]),
        "latency_p50_ms": round(_percentile(latencies, 50), 2),
        "latency_p95_ms": round(_percentile(latencies, 95), 2),
    }


def evaluate(articles: list[Article], queries: Path, qrels: Path,
             run_file: Path | None = None) -> dict:
    """Build a temporary index of the articles and measure the product's search on it."""
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        store = IndexStore(Path(tmp) / "index")
        report = store.rebuild(articles)
        service = SearchService(store)
        service.search("ウォームアップ")  # open the searcher outside the timed loop
        metrics = run_queries(service, load_queries(queries), load_qrels(qrels), run_file)
        service.close()
    metrics["documents"] = len(articles)
    metrics["index_seconds"] = round(report.seconds, 2)
    return metrics
