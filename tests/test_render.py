"""Article Markdown as an operator sees it: nested steps stay nested, nothing unsafe survives."""

import xml.etree.ElementTree as ET
from pathlib import Path

from kb.articles import load_all
from kb.render import to_html

ARTICLES = Path(__file__).resolve().parent.parent / "articles"


def _tree(markdown_text: str) -> ET.Element:
    """The rendered HTML as a tree (lists, paragraphs and code are well-formed XML)."""
    return ET.fromstring(f"<div>{to_html(markdown_text)}</div>")


def _texts(tree: ET.Element, path: str) -> list[str]:
    return ["".join(el.itertext()).strip() for el in tree.findall(path)]


def _has_nested_list(tree: ET.Element) -> bool:
    return bool(tree.findall(".//li/ul/li") or tree.findall(".//li/ol/li"))


def test_items_indented_to_the_text_of_a_numbered_step_are_nested_under_it():
    tree = _tree("1. 本人確認\n2. マイあおばを案内\n   - 無料\n   - その場で印刷\n3. 郵送\n")
    steps = tree.findall("./ol/li")
    assert len(steps) == 3
    assert _texts(steps[1], "./ul/li") == ["無料", "その場で印刷"]


def test_two_space_and_four_space_nesting_both_work_at_every_depth():
    tree = _tree("- a\n  - b\n    - c\n- d\n\n1. e\n    - f\n        - g\n")
    assert [li.text for li in tree.findall("./ul/li")] == ["a", "d"]
    assert [li.text for li in tree.findall("./ul/li/ul/li")] == ["b"]
    assert _texts(tree, "./ul/li/ul/li/ul/li") == ["c"]
    assert _texts(tree, "./ol/li/ul/li/ul/li") == ["g"]


def test_a_paragraph_after_a_list_and_fenced_code_are_left_alone():
    tree = _tree("1. a\n   - b\n\n本文です。\n\n```\n   - not a list\n```\n")
    assert _texts(tree, "./p") == ["本文です。"]
    assert tree.find("./pre/code").text == "   - not a list\n"
    assert len(tree.findall(".//li")) == 2


def test_code_and_rules_outside_lists_are_not_read_as_list_items():
    tree = _tree("設定例:\n\n    items:\n      - a\n")
    assert tree.find("./pre/code").text == "items:\n  - a\n" and not tree.findall(".//li")
    tree = _tree("例:\n\n    1. first\n")
    assert tree.find("./pre/code").text == "1. first\n" and not tree.findall(".//li")
    assert to_html("- - -\n\n  段落\n") == "<hr>\n<p>段落</p>"


def test_lines_after_a_paragraph_that_python_markdown_does_not_read_as_a_list_are_left_alone():
    import markdown

    from kb.render import sanitize

    for text in ("手順:\n- a\n\n  続き\n", "手順:\n- a\n\n  - b\n", "<pre>\n- a\n  - b\n</pre>\n"):
        plain = sanitize(markdown.markdown(text, extensions=["tables", "sane_lists", "fenced_code"]))
        assert to_html(text) == plain, text


def test_a_list_right_after_a_heading_nests():
    tree = _tree("## 手順\n1. a\n   - b\n")
    assert _texts(tree, "./ol/li/ul/li") == ["b"]


def test_code_inside_a_step_stays_code():
    tree = _tree("1. 次を実行する\n\n        kb index\n")
    assert "kb index" in tree.find("./ol/li/pre/code").text


def test_every_sample_article_with_indented_items_renders_them_nested():
    articles, problems = load_all(ARTICLES)
    assert not problems
    nested_sources = [a for a in articles if any(
        line.startswith(("   - ", "  - ", "     1. ")) for line in a.body.splitlines())]
    assert len(nested_sources) >= 10
    for article in nested_sources:
        assert _has_nested_list(_tree(article.body)), article.id


def test_script_in_article_content_does_not_survive_rendering():
    out = to_html('- <script>alert(1)</script>\n   - <img src=x onerror="alert(2)">\n')
    assert "<script" not in out and "onerror" not in out
