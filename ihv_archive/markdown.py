"""The one configured Markdown renderer, and link rewriting for pages and feeds.

CommonMark plus tables, strikethrough, footnotes, heading anchors and linkified bare URLs.
Raw HTML stays off unless site.toml's allow_html turns it on. markdown-it refuses
javascript:, vbscript:, file: and (non-image) data: links by itself: they stay plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast
from urllib.parse import urljoin

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin

# rewrite(href, line) -> the href to print. line is the Markdown line (0-based in the body).
Rewrite = Callable[[str, int | None], str]

ABSOLUTE_BASE = "absolute_base"  # env key: when set, footnote links are made absolute against it


def make_markdown(allow_html: bool = False) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": allow_html, "linkify": True, "xhtmlOut": False})
    md.enable(["table", "strikethrough", "linkify"])
    md.use(footnote_plugin)
    md.use(anchors_plugin, min_level=2, max_level=4)
    md.use(absolute_footnote_links)
    md.use(headed_footnotes)
    md.use(no_second_h1)
    return md


def no_second_h1(md: MarkdownIt) -> None:
    """The page's title is its only h1: a `# Heading` in a body becomes an h2."""

    def demote(state: Any) -> None:
        for token in state.tokens:
            if token.type in ("heading_open", "heading_close") and token.tag == "h1":
                token.tag = "h2"

    md.core.ruler.before("anchor", "no_second_h1", demote)  # so the demoted heading gets its id


def headed_footnotes(md: MarkdownIt) -> None:
    """Give the footnotes section a heading, so that it is a named region for screen readers."""

    def rule(
        self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        return '<section class="footnotes">\n<h2 class="footnotes-heading">Notes</h2>\n<ol class="footnotes-list">\n'

    md.add_render_rule("footnote_block_open", rule)


def absolute_footnote_links(md: MarkdownIt) -> None:
    """Footnote references and back-links are written by renderer rules, not link tokens:
    wrap those rules so that in a feed (env[ABSOLUTE_BASE] set) they point at the post page."""
    for name in ("footnote_ref", "footnote_anchor"):
        original = cast(RendererHTML, md.renderer).rules[name]

        def rule(
            self: RendererHTML,
            tokens: Sequence[Token],
            idx: int,
            options: OptionsDict,
            env: EnvType,
            _original: Any = original,
        ) -> str:
            html: str = _original(tokens, idx, options, env)
            base = env.get(ABSOLUTE_BASE)
            return html.replace('href="#', f'href="{base}#') if base else html

        md.add_render_rule(name, rule)


def _links(tokens: Sequence[Token], line: int | None = None) -> Iterator[tuple[Token, str, int | None]]:
    """Every (token, attribute, line) that holds a URL: links and images, nested inline too."""
    for token in tokens:
        here = token.map[0] if token.map else line
        if token.type == "link_open" and token.attrGet("href") is not None:
            yield token, "href", here
        elif token.type == "image" and token.attrGet("src") is not None:
            yield token, "src", here
        if token.children:
            yield from _links(token.children, here)


ImageSize = Callable[[str], tuple[int, int] | None]  # an image's URL as printed -> its size


def images(tokens: Sequence[Token]) -> Iterator[tuple[Token, int | None]]:
    """Every image token, with its Markdown line (0-based in the body)."""
    return ((token, line) for token, attr, line in _links(tokens) if token.type == "image" and attr == "src")


def decorate_images(tokens: Sequence[Token], size_of: ImageSize) -> None:
    """Images load lazily and, when their size is known, reserve their space (no layout jump)."""
    for token, _ in images(tokens):
        token.attrSet("loading", "lazy")
        token.attrSet("decoding", "async")
        if size := size_of(str(token.attrGet("src"))):
            token.attrSet("width", str(size[0]))
            token.attrSet("height", str(size[1]))


def render(md: MarkdownIt, tokens: list[Token], rewrite: Rewrite, absolute_base: str | None = None) -> str:
    """HTML for the tokens, each link's URL passed through rewrite (original URLs kept, so
    the same tokens can be rendered again, e.g. for a page and then for a feed)."""
    originals = []
    for token, attr, line in _links(tokens):
        original = str(token.attrGet(attr))
        originals.append((token, attr, original))
        token.attrSet(attr, rewrite(original, line))
    try:
        env = {ABSOLUTE_BASE: absolute_base} if absolute_base else {}
        return str(md.renderer.render(tokens, md.options, env))
    finally:
        for token, attr, original in originals:
            token.attrSet(attr, original)


def absolute(href: str, page_url: str) -> str:
    """An href as printed on a page -> the absolute URL a feed reader needs."""
    return urljoin(page_url, href)
