"""Article files: every problem reported at once, with file and field; bad files never block."""

from click.testing import CliRunner

from kb.articles import load_all, parse
from kb.cli import main

from .helpers import write_article


def test_sample_knowledge_base_is_valid_and_large_enough(tmp_path):
    from kb.config import PACKAGE_ROOT

    articles, problems = load_all(PACKAGE_ROOT / "articles")
    assert problems == []
    assert len(articles) >= 80
    assert all(a.resolution for a in articles)
    assert len({a.category for a in articles}) >= 8


def test_every_problem_is_reported_with_file_and_field(tmp_path):
    write_article(tmp_path, "good-one", "良い記事")
    (tmp_path / "broken-yaml.md").write_text("---\nid: [unclosed\n---\n## 回答・対応手順\nx\n")
    (tmp_path / "no-title.md").write_text(
        "---\nid: no-title\nstatus: published\n---\n## 回答・対応手順\nx\n", encoding="utf-8")
    (tmp_path / "bad-status.md").write_text(
        "---\nid: bad-status\ntitle: t\nstatus: live\nupdated: 2026-13-45\n---\n"
        "## 回答・対応手順\nx\n", encoding="utf-8")
    write_article(tmp_path, "good-one", "重複", name="dup.md")
    (tmp_path / "plain.md").write_text("front matter がないファイル\n", encoding="utf-8")
    (tmp_path / "latin1.md").write_bytes("---\nid: x\n---\n\xe9".encode("latin-1"))
    (tmp_path / "no-answer.md").write_text(
        "---\nid: no-answer\ntitle: 回答なし\n---\n## 問題\nx\n", encoding="utf-8")

    articles, problems = load_all(tmp_path)

    assert [a.id for a in articles] == ["good-one"]
    found = {(p.path, p.field) for p in problems}
    assert ("broken-yaml.md", "front matter") in found
    assert ("no-title.md", "title") in found
    assert ("bad-status.md", "status") in found
    assert ("bad-status.md", "updated") in found  # both problems of one file, at once
    assert ("dup.md", "id") in found or ("good-one.md", "id") in found
    assert ("plain.md", "front matter") in found
    assert ("latin1.md", "file") in found
    assert ("no-answer.md", "body") in found


def test_kb_check_lists_problems_and_fails(tmp_path):
    write_article(tmp_path, "fine-article", "問題なし")
    (tmp_path / "bad.md").write_text("---\nid: bad\ntitle: x\nstatus: ???\n---\n## 回答・対応手順\n")
    result = CliRunner().invoke(main, ["check", "--articles", str(tmp_path)])
    assert result.exit_code == 1
    assert "bad.md: status" in result.output
    assert "1 articles valid, 1 problems" in result.output


def test_kb_check_passes_on_clean_articles(tmp_path):
    write_article(tmp_path, "fine-article", "問題なし")
    result = CliRunner().invoke(main, ["check", "--articles", str(tmp_path)])
    assert result.exit_code == 0, result.output


def test_sections_follow_the_kcs_headings():
    article = parse(
        "---\nid: kcs-example\ntitle: 例\n---\n## 問題\n困った\n## 環境\nスマホ\n"
        "## 回答・対応手順\n1. 再起動\n## 原因\n不明\n",
        "kcs-example.md",
    )
    assert article.sections == {"問題": "困った", "環境": "スマホ", "回答・対応手順": "1. 再起動", "原因": "不明"}
    assert article.resolution == "1. 再起動"
