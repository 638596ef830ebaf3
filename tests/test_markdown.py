"""The one configured Markdown renderer and its link rewriting."""

from __future__ import annotations

import pytest

from ihv_archive import markdown


def render(text: str, allow_html: bool = False) -> str:
    md = markdown.make_markdown(allow_html)
    return markdown.render(md, md.parse(text, {}), lambda href, line: href)


def test_markdown_features() -> None:
    html = render(
        "## A heading\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~ see www.ihv.org.uk\n\nNote.[^1]\n\n[^1]: The note.\n"
    )
    assert '<h2 id="a-heading">A heading</h2>' in html
    assert "<table>" in html and "<td>1</td>" in html
    assert "<s>gone</s>" in html
    assert '<a href="http://www.ihv.org.uk">www.ihv.org.uk</a>' in html
    assert 'class="footnotes"' in html and 'href="#fn1"' in html


def test_raw_html_is_escaped_unless_allowed() -> None:
    assert "&lt;script&gt;" in render("<script>alert(1)</script>\n")
    assert "<aside>x</aside>" in render("<aside>x</aside>\n", allow_html=True)


@pytest.mark.parametrize(
    "href", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,<b>x</b>", "vbscript:x"]
)
def test_dangerous_links_are_not_emitted(href: str) -> None:
    html = render(f"[click]({href})\n")
    assert "<a" not in html


def test_rewrite_sees_every_link_with_its_line_and_restores_tokens() -> None:
    md = markdown.make_markdown()
    tokens = md.parse("Intro.\n\n- [a](a.md)\n- ![i](i.png)\n", {})
    seen: list[tuple[str, int | None]] = []
    markdown.render(md, tokens, lambda h, n: seen.append((h, n)) or "X")
    assert seen == [("a.md", 2), ("i.png", 3)]
    again = markdown.render(md, tokens, lambda h, n: h)
    assert 'href="a.md"' in again  # the first render's rewrite did not stick


def test_feed_rendering_makes_every_link_absolute() -> None:
    md = markdown.make_markdown()
    here = "https://e.org/news/posts/2024/a/"
    tokens = md.parse("[x](/news/tags/) [y](img.png) [z](#top) t.[^1]\n\n[^1]: n\n", {})
    html = markdown.render(md, tokens, lambda h, n: markdown.absolute(h, here), absolute_base=here)
    for expected in (
        "https://e.org/news/tags/",
        here + "img.png",
        here + "#top",
        here + "#fn1",
        here + "#fnref1",
    ):
        assert f'href="{expected}"' in html
    assert 'href="#' not in html
