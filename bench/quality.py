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
    return result


if __name__ == "__main__":
    names = sys.argv[1:] or ["localgovfaq-dev", "jsquad", "jaquad", "operator"]
    for name in names:
        metrics = operator_set() if name == "operator" else shared_set(name)
        print(json.dumps({"set": name, **metrics}, ensure_ascii=False), flush=True)
