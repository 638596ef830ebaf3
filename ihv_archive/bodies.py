"""Bodies: a post's Markdown -> its HTML, for its page and for feeds, with links between
posts followed to their URLs (a broken one is a problem at the post's line)."""

from __future__ import annotations

import posixpath
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import imagesize
from markdown_it import MarkdownIt
from markdown_it.token import Token

from . import markdown
from .content import Post
from .digest import digest
from .problems import Problem, quoted
from .urls import Urls
from .validate import Site

Followed = tuple[tuple[PurePosixPath, str], ...]  # the post files a body links to, and where they led


@dataclass(frozen=True)
class Html:
    """HTML known by its key (a digest of it): pages that show it depend on the key alone, so
    a page can be found unchanged without the text, which is then not read from the cache."""

    key: str
    text: str | None = field(default=None, compare=False)

    @classmethod
    def of(cls, text: str) -> Html:
        return cls(digest(text), text)

    def __html__(self) -> str:  # how Jinja prints it: as HTML, not escaped
        if self.text is None:
            raise LookupError(f"the text of {self.key} was not fetched")
        return self.text


@dataclass(frozen=True)
class Body:
    key: str  # its post's key, whether it is made for feeds too, and what shapes every body
    followed: Followed
    page_html: Html
    feed_html: Html | None  # only for posts that appear in a feed


# --- links, images and bodies -----------------------------------------------------------


@dataclass(frozen=True)
class LinkTargets:
    """Where a link to another post's file leads. Built once a render, not once a post."""

    urls: Urls
    by_file: Mapping[PurePosixPath, Post]  # every post, drafts too
    published: Container[Post]
    unreadable: frozenset[PurePosixPath]

    @classmethod
    def of(cls, site: Site, urls: Urls) -> LinkTargets:
        return cls(urls, {p.rel_path: p for p in site.all_posts}, frozenset(site.posts), site.unreadable)

    def resolve(self, target_file: PurePosixPath) -> str:
        """The target's URL, or why there is none: 'missing', 'unreadable', 'draft', 'scheduled'."""
        target = self.by_file.get(target_file)
        if target is None:
            return "unreadable" if target_file in self.unreadable else "missing"
        if target not in self.published:
            return "draft" if target.draft else "scheduled"
        return self.urls.href(self.urls.post(target))


def page_link_rewriter(
    post: Post, targets: LinkTargets, problems: list[Problem], followed: list[tuple[PurePosixPath, str]]
) -> markdown.Rewrite:
    """Links as printed on the post's page: `other.md` -> that post's URL, `/x` -> under the
    base path; anything else is left as written. Broken links to posts become problems."""

    def rewrite(href: str, line: int | None) -> str:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path:
            return href
        if parts.path.endswith(".md"):
            target_file = PurePosixPath(
                posixpath.normpath((post.rel_path.parent / unquote(parts.path)).as_posix())
            )
            outcome = targets.resolve(target_file)
            followed.append((target_file, outcome))
            where = post.body_line + line if line is not None else None
            if outcome == "missing":  # the paths as written, cut short: a link can be any length
                what = f"links to {quoted(href)}, but content/posts/{str(target_file)[:80]} does not exist"
                fix = "check the file name, or link to the post's web address instead"
                problems.append(Problem(post.path, where, what, fix))
            elif outcome in ("draft", "scheduled"):
                state = "a draft" if outcome == "draft" else "scheduled for later"
                what = f"links to {targets.by_file[target_file].path}, which is {state}"
                problems.append(
                    Problem(post.path, where, what, "publish that post first, or remove the link")
                )
            elif outcome != "unreadable":  # an unreadable file's own problems are reported already
                return outcome + (f"#{parts.fragment}" if parts.fragment else "")
            return href
        if parts.path.startswith("/"):  # a path from the site's root: keep it under the base path
            return targets.urls.href(href[1:])
        return href

    return rewrite


def image_file(images_dir: Path, urls: Urls, post: Post, src: str) -> Path | None:
    """The file in content/images/ an image's URL names, if it names one of ours."""
    parts = urlsplit(src)
    if parts.scheme or parts.netloc:
        return None
    path = posixpath.normpath(parts.path[1:] if parts.path.startswith("/") else urls.post(post) + parts.path)
    return images_dir / unquote(path[len(urls.IMAGES) :]) if path.startswith(urls.IMAGES) else None


def image_size(images_dir: Path, urls: Urls, post: Post, src: str) -> tuple[int, int] | None:
    try:
        width, height = imagesize.get(image_file(images_dir, urls, post, src) or "")
    except (OSError, ValueError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def image_problems(post: Post, tokens: list[Token], images_dir: Path, urls: Urls) -> Iterator[Problem]:
    """Every image needs a description, and one of ours its file in content/images/."""
    for token, line in markdown.images(tokens):
        where, src = post.body_line + line if line is not None else None, str(token.attrGet("src"))
        if not token.content.strip():
            fix = "write what it shows between the brackets: ![A chart of visits by month](…)"
            yield Problem(post.path, where, "an image has no description", fix)
        if (file := image_file(images_dir, urls, post, src)) is not None and not file.is_file():
            yield Problem(
                post.path, where, f"image {quoted(src)} is not in content/images/", "check its name"
            )


def render_body(
    post: Post, md: MarkdownIt, targets: LinkTargets, images_dir: Path, in_feed: bool, key: str
) -> tuple[Body, list[Problem]]:
    """A post's body for its page (and, if it is in a feed, for feeds: every URL absolute)."""
    problems: list[Problem] = []
    followed: list[tuple[PurePosixPath, str]] = []
    tokens = md.parse(post.body, {})
    problems.extend(image_problems(post, tokens, images_dir, targets.urls))
    markdown.decorate_images(tokens, partial(image_size, images_dir, targets.urls, post))
    page_html = markdown.render(md, tokens, page_link_rewriter(post, targets, problems, followed))
    feed_html = None
    if in_feed:
        here = targets.urls.absolute(targets.urls.post(post))
        on_page = page_link_rewriter(post, targets, [], [])  # its problems are counted above

        def for_feed(href: str, line: int | None) -> str:
            return markdown.absolute(on_page(href, line), here)

        feed_html = Html.of(markdown.render(md, tokens, for_feed, absolute_base=here))
    return Body(key, tuple(followed), Html.of(page_html), feed_html), problems
