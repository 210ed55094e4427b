"""Generate N realistic articles (~1,500 characters each) for the speed benchmark.

Sentences, questions and titles are recombined from the sample knowledge base with a fixed
seed, so every run indexes the same text, with the vocabulary and sentence shapes of a real
center's manual rather than random characters.

    python bench/generate.py 10000 /tmp/kb-10k
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.articles import SECTIONS, load_all
from kb.config import PACKAGE_ROOT

TARGET_CHARS = 1500
_SENTENCE = re.compile(r"[^。\n]+[。]?")


def _pools():
    articles, _ = load_all(PACKAGE_ROOT / "articles")
    sentences = {name: [] for name in SECTIONS}
    for a in articles:
        for name, text in a.sections.items():
            if name in sentences:
                sentences[name].extend(s.strip() for s in _SENTENCE.findall(text) if len(s) > 8)
    return articles, sentences


def generate(count: int, out: Path, seed: int = 20261122) -> None:
    rng = random.Random(seed)
    articles, sentences = _pools()
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        base = rng.choice(articles)
        other = rng.choice(articles)
        title = f"{base.title}（{other.category}・ケース{i % 97 + 1}）"
        questions = rng.sample(base.questions, min(3, len(base.questions)))
        questions += rng.sample(other.questions, min(2, len(other.questions)))
        body, length = [], 0
        while length < TARGET_CHARS:
            for name in SECTIONS:
                picked = "".join(rng.sample(sentences[name], 3))
                body.append(f"## {name}\n{picked}\n")
                length += len(picked)
        qs = "\n".join(f"  - {q}" for q in questions)
        tags = ", ".join(sorted(set(base.tags[:3] + other.tags[:1])))
        (out / f"gen-{i:05d}.md").write_text(
            f"---\nid: gen-{i:05d}\ntitle: {title}\nquestions:\n{qs}\ntags: [{tags}]\n"
            f"category: {base.category}\nstatus: published\nowner: {base.owner}\n"
            f"updated: 2026-10-01\nreview_by: 2027-04-01\n---\n\n" + "\n".join(body),
            encoding="utf-8",
        )


if __name__ == "__main__":
    generate(int(sys.argv[1]), Path(sys.argv[2]))
