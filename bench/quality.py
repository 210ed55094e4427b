"""Search quality on the shared retrieval sets and on the operator query set.

    python bench/quality.py [SET ...]     # sets: localgovfaq-dev jsquad jaquad operator

Each line printed is one JSON object from the same code path as `kb eval`.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.articles import load_all
from kb.evaluate import evaluate, load_corpus, load_qrels, run_queries
from kb.index import IndexStore
from kb.search import SearchService

SHARED = ROOT.parent / "shared" / "data"
OPERATOR = ROOT / "bench" / "operator"


def shared_set(name: str) -> dict:
    d = SHARED / name
    return evaluate(load_corpus(d / "corpus.jsonl"), d / "queries.jsonl", d / "qrels.tsv")


def operator_set() -> dict:
    queries = OPERATOR / "queries.jsonl"
    result = evaluate(load_all(ROOT / "articles")[0], queries, OPERATOR / "qrels.tsv")
    kinds: dict[str, list] = {}
    for line in queries.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        kinds.setdefault(q["kind"], []).append((q["id"], q["text"]))
    qrels = load_qrels(OPERATOR / "qrels.tsv")
    with tempfile.TemporaryDirectory() as tmp:
        store = IndexStore(Path(tmp))
        store.rebuild(load_all(ROOT / "articles")[0])
        service = SearchService(store)
        result["by_kind"] = {
            kind: {k: v for k, v in run_queries(service, qs, qrels).items()
                   if k in ("ndcg@10", "hit@1", "queries")}
            for kind, qs in sorted(kinds.items())
        }
        result["confidence"] = confidence(service, [q for qs in kinds.values() for q in qs], qrels)
    return result


def confidence(service, queries, qrels) -> dict:
    """How the confidence signal serves the operator: among the labelled queries, the share
    whose first hit is right and marked confident (the rest make the page say the answer may
    be missing) and the share marked confident with a wrong first hit; among questions the
    sample articles do not answer (unanswerable.jsonl), the share wrongly marked confident."""
    right = wrong = 0
    for qid, text in queries:
        result = service.search(text)
        if result.confident and result.hits:
            if qrels.get(qid, {}).get(result.hits[0].id, 0) > 0:
                right += 1
            else:
                wrong += 1
    unanswerable = [json.loads(line)["text"] for line in
                    (OPERATOR / "unanswerable.jsonl").read_text(encoding="utf-8").splitlines()]
    false = sum(service.search(text).confident for text in unanswerable)
    return {
        "right_and_confident": round(right / len(queries), 3),
        "wrong_and_confident": round(wrong / len(queries), 3),
        "unanswerable_confident": round(false / len(unanswerable), 3),
        "unanswerable_queries": len(unanswerable),
    }


if __name__ == "__main__":
    names = sys.argv[1:] or ["localgovfaq-dev", "jsquad", "jaquad", "operator"]
    for name in names:
        metrics = operator_set() if name == "operator" else shared_set(name)
        print(json.dumps({"set": name, **metrics}, ensure_ascii=False), flush=True)
