"""Bodies: Markdown -> HTML, links between posts followed to their URLs, broken ones reported."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ihv_archive.bodies import LinkTargets, render_body
from ihv_archive.markdown import make_markdown
from ihv_archive.urls import Urls

from .test_content import GOOD, parse_text

URLS = Urls("https://example.github.io/news-archive/")


def targets(*posts: object) -> LinkTargets:
    return LinkTargets(URLS, {p.rel_path: p for p in posts}, frozenset(posts), frozenset())  # type: ignore[attr-defined]


def test_a_link_to_a_post_file_becomes_its_url_and_in_feeds_absolute() -> None:
    other = parse_text(GOOD, "2023/other.md")
    post = parse_text(
        GOOD.replace("Body text.", "See [it](../2023/other.md#part) and [img](/static/x.png)."), "2024/p.md"
    )
    body, problems = render_body(post, make_markdown(), targets(other, post), Path("/nowhere"), True, "key")  # type: ignore[arg-type]
    assert problems == []
    assert 'href="/news-archive/posts/2024/other/#part"' in (body.page_html.text or "")
    assert 'href="https://example.github.io/news-archive/posts/2024/other/#part"' in (
        body.feed_html.text or ""
    )  # type: ignore[union-attr]
    assert body.followed == ((PurePosixPath("2023/other.md"), "/news-archive/posts/2024/other/"),)


def test_a_broken_link_is_a_problem_at_its_line() -> None:
    post = parse_text(GOOD.replace("Body text.", "Intro.\n\nSee [x](gone.md)."), "2024/p.md")
    body, problems = render_body(post, make_markdown(), targets(post), Path("/nowhere"), False, "key")  # type: ignore[arg-type]
    assert [str(p) for p in problems] == [
        "content/posts/2024/p.md:9: links to 'gone.md', but content/posts/2024/gone.md does not exist "
        "(check the file name, or link to the post's web address instead)"
    ]
    assert body.feed_html is None
