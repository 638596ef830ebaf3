"""Render: a validated Site + templates -> every output file as a Page. Writes nothing.

The steps are a flat list (see `render`): post pages, paginated home and tag pages, the
tags index, year archives, feeds, sitemap and the small files GitHub Pages wants. Every URL
comes from urls.Urls; every body from the one Markdown renderer.
"""

from __future__ import annotations

import bisect
import calendar
import hashlib
import heapq
import importlib.util
import io
import json
import pickle
import posixpath
import sys
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from itertools import combinations
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

from markupsafe import Markup

from .children import Progress, in_parallel
from .config import Config
from .content import Post, Tag
from .digest import digest
from .problems import Problem, display_path
from .urls import SearchPart, UnsafePath, Urls
from .validate import Site


def lazy(name: str) -> ModuleType:
    """A module that is imported when one of its names is first used (importlib's recipe)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, name
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:  # as `import a.b` does: b is an attribute of a (the recipe leaves that out)
        setattr(sys.modules[parent], child, module)
    return module


if TYPE_CHECKING:
    import imagesize
    import jinja2
    from markdown_it import MarkdownIt

    from . import markdown
else:  # loaded when first used: a build that finds the site up to date needs none of them
    imagesize, jinja2, markdown = lazy("imagesize"), lazy("jinja2"), lazy("ihv_archive.markdown")

Followed = tuple[tuple[PurePosixPath, str], ...]  # the post files a body links to, and where they led


@dataclass(frozen=True)
class Page:
    path: PurePosixPath  # relative to the output folder
    content: bytes | None  # None: unchanged since the last build, whose file the writer keeps


class FragmentLost(Exception):
    """A fragment's or a post's text could not be read back intact from the build cache
    (it is damaged, or the post was parsed again since)."""


class Fragment:
    """A piece of HTML known by its key (a digest of the text). Pages that show it depend on
    the key alone, so a page can be found unchanged without the text; the text itself is
    loaded (from the build cache) only when a page showing it is rendered again."""

    __slots__ = ("key", "_text", "_fetch")

    def __init__(self, key: str, text: str | None = None, fetch: Callable[[str], str] | None = None) -> None:
        self.key, self._text, self._fetch = key, text, fetch

    @classmethod
    def of(cls, text: str) -> Fragment:
        return cls(digest(text), text)

    @property
    def text(self) -> str:
        if self._text is not None:
            return self._text
        assert self._fetch is not None
        self._text = self._fetch(self.key)
        return self._text

    def spill(self, fetch: Callable[[str], str]) -> None:
        """Let go of the text, now kept elsewhere (the build cache): fetched again when needed."""
        self._text, self._fetch = None, fetch

    def let_go(self) -> None:
        """Forget the text if it can be fetched again."""
        if self._fetch is not None:
            self._text = None

    @property
    def held(self) -> bool:
        """Is the text in memory now?"""
        return self._text is not None

    @property
    def stored(self) -> bool:
        """Read back from the build cache (rather than made by this render)?"""
        return self._fetch is not None

    def __html__(self) -> str:  # how Jinja prints it: as HTML, not escaped
        return self.text

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fragment) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)


@dataclass(frozen=True)
class Pager:
    """One page of a paginated list: its posts and where the newer/older pages are."""

    number: int
    count: int
    posts: tuple[Post, ...]
    path: str
    newer: str | None
    older: str | None


@dataclass(frozen=True)
class Body:
    page_html: Fragment
    feed_html: Fragment | None  # only for posts that appear in a feed


BodyKey = tuple[str, bool]  # a post's key, and whether the body is made for feeds too


@dataclass
class Memo:
    """What the last render made, so that the next render re-renders only what changed: kept
    in memory by the dev server, and on disk between builds (cache.py). One mechanism for both.

    A page is reused when the digest of everything it is made from (its template and every
    value passed to it) equals last time's. A body is reused while its post is unchanged and
    every post it links to is still where it was. A change to the templates or the tag
    vocabulary re-renders every page but keeps the bodies; a change to the settings or the
    images starts afresh. So a render with a memo always gives the same pages as one without."""

    body_version: str = ""
    page_version: str = ""
    env: jinja2.Environment | None = None
    pages: dict[str, tuple[bytes, Page]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)  # each page's bytes, as a digest
    bodies: dict[BodyKey, tuple[Followed, Body]] = field(default_factory=dict)
    compiled: Path | None = None  # where compiled templates are kept between runs (cache.py)
    related_key: str = ""  # every post's path, date and tags: what related posts depend on
    related: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Each page's recipe, for the quick rebuild (quick.py), if kept: by a build, which writes
    # those of the pages it made to its cache, and by the dev server, which keeps every one
    # in memory (`check` keeps none).
    keep_recipes: bool = False
    recipes: dict[str, bytes] = field(default_factory=dict)
    rendered: int = 0  # pages the last render made anew
    reused: int = 0  # pages it took from the memo


def reduce(value: Any) -> Any:
    """A template's inputs as plain values, posts and HTML fragments standing as their keys."""
    if isinstance(value, Post) and value.key:
        return value.key
    if isinstance(value, Fragment):
        return value.key
    if isinstance(value, dict):
        return tuple((reduce(k), reduce(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return tuple(reduce(v) for v in value)
    if isinstance(value, Pager):
        return (value.number, value.count, value.path, value.newer, value.older, reduce(value.posts))
    if isinstance(value, str):
        return str(value)  # Markup too: plain text pickles fastest
    return value  # numbers, dates, None and our frozen dataclasses


def inputs_digest(template: str, context: dict[str, Any]) -> bytes:
    return hashlib.blake2b(pickle.dumps((template, reduce(context)), protocol=5), digest_size=16).digest()


class _RecipePickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> tuple[str, str] | None:
        if isinstance(obj, Post):
            return ("post", obj.rel_path.as_posix())
        if isinstance(obj, Fragment):
            return ("fragment", obj.key)
        return None


class _RecipeUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, post: Callable[[str], Any], fragment: Callable[[str], Any]) -> None:
        super().__init__(io.BytesIO(data))
        self.post, self.fragment = post, fragment

    def persistent_load(self, pid: Any) -> Any:
        kind, reference = pid
        return self.post(reference) if kind == "post" else self.fragment(reference)


def recipe(template: str, context: dict[str, Any]) -> bytes:
    """What a page was made from, so that it can be rendered again on its own (quick.py): its
    template and context, each post standing as its path below content/posts and each HTML
    fragment as its key. So the pages that show a post are those whose recipe names it."""
    buffer = io.BytesIO()
    _RecipePickler(buffer, protocol=5).dump((template, context))
    return buffer.getvalue()


def from_recipe(
    data: bytes, post: Callable[[str], Post], fragment: Callable[[str], Fragment]
) -> tuple[str, dict[str, Any]]:
    """A recipe's template and context, its posts and fragments given by `post` and `fragment`."""
    template, context = _RecipeUnpickler(data, post, fragment).load()
    return template, context


def posts_named(data: bytes) -> set[str]:
    """The posts a recipe names (by their paths below content/posts), without reading them."""
    named: set[str] = set()
    _RecipeUnpickler(data, named.add, lambda key: None).load()
    return named


# --- presentation helpers (pure; exposed to templates as filters) -------------------------


def human_date(post_or_date: Post | datetime, precision: str = "day") -> str:
    """A date as honest as we know it: '19 March 2024', 'March 2020' or '2020'."""
    if isinstance(post_or_date, Post):
        when, precision = post_or_date.date, post_or_date.date_precision
    else:
        when = post_or_date
    if precision == "year":
        return str(when.year)
    if precision == "month":
        return f"{calendar.month_name[when.month]} {when.year}"
    return f"{when.day} {calendar.month_name[when.month]} {when.year}"


def machine_date(post: Post) -> str:
    """The <time datetime> value at the post's precision: 2024-03-19, 2020-03 or 2020."""
    return post.date.strftime({"year": "%Y", "month": "%Y-%m"}.get(post.date_precision, "%Y-%m-%d"))


def groupby_month(posts: Iterable[Post]) -> list[tuple[str, list[Post]]]:
    """Posts of one year under month headings, newest first; year-precise posts last, apart."""
    groups: dict[str, list[Post]] = {}
    for post in sorted(posts, key=lambda p: (p.date_precision != "year", p.date), reverse=True):
        heading = "Month not known" if post.date_precision == "year" else human_date(post.date, "month")
        groups.setdefault(heading, []).append(post)
    return list(groups.items())


def rfc822(when: datetime) -> str:
    # Imported here, for feeds only: 13 ms. Not by `lazy`: the dev server's request threads
    # use email.utils too, and on Python 3.11 a lazily loaded module is not safe to load
    # from two threads at once (CPython gh-114763).
    from email.utils import format_datetime

    return format_datetime(when)


def rfc3339(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def last_change(post: Post) -> datetime:
    return post.updated or post.date


WORDS_PER_MINUTE = 200


# The per-post helpers below are pure and run for every post on every render; caching them
# keeps the dev server's incremental rebuild from redoing 5,000 of them for one edit.
@lru_cache(maxsize=32_768)
def reading_time(post: Post) -> str:
    minutes = max(1, round(len(post.body.split()) / WORDS_PER_MINUTE))
    return f"{minutes} min read"


@lru_cache(maxsize=32_768)
def json_ld(post: Post, config: Config, urls: Urls) -> Markup:
    """schema.org NewsArticle for search engines. '<', '>' and '&' are escaped inside the
    JSON, so no title or summary can close the script element it sits in."""
    organisation = {"@type": "Organization", "name": config.author or config.title}
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": post.title,
        "description": post.summary,
        "datePublished": post.date.isoformat(timespec="seconds"),
        "dateModified": last_change(post).isoformat(timespec="seconds"),
        "inLanguage": config.language,
        "author": organisation,
        "publisher": organisation,
        "mainEntityOfPage": urls.absolute(urls.post(post)),
        "url": urls.absolute(urls.post(post)),
        "keywords": list(post.tags),
    }
    text = json.dumps(data, ensure_ascii=False)  # no indent: that would take the slow pure-Python encoder
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


RELATED = 3


FEW_TAGS = 5  # posts with more are "wide": related posts for them are counted one by one


def related_posts(posts: tuple[Post, ...], by_tag: dict[str, tuple[Post, ...]]) -> dict[str, tuple[str, ...]]:
    """For each post (by path), up to three others: most tags in common, then nearest in time
    (then the newer); posts with no tag in common only when there are not three that share one.

    Counting every post that shares a tag, or intersecting whole tags, would be quadratic: at
    10,000 posts in 40 tags each post shares one with thousands. Instead every set of two or
    more tags that a post has indexes it, in time order, and the posts sharing k tags with
    a post come from the lists of its k-tag sets, from k = all its tags down to 2: only
    the nearest few on each side of it in each list, found by bisection. Level k is reached
    only when fewer than three share more, so those are all chosen already. Then posts
    sharing one tag, nearest first in each tag's list, then the posts nearest in time.
    Wide posts (more than FEW_TAGS tags, rare) are not indexed by their 2^n sets: they are
    counted against every post, and every post is counted against them."""
    position = {p.path: i for i, p in enumerate(posts)}
    members = {tag: [position[p.path] for p in tagged] for tag, tagged in by_tag.items()}  # ascending
    tags_of = [sorted(t for t in set(post.tags) if t in members) for post in posts]
    by_set: defaultdict[tuple[str, ...], list[int]] = defaultdict(list)  # ascending, as posts are
    wide: list[int] = []
    for j, tags in enumerate(tags_of):
        if len(tags) > FEW_TAGS:
            wide.append(j)
            continue
        for k in range(2, len(tags) + 1):
            for subset in combinations(tags, k):
                by_set[subset].append(j)
    related: dict[str, tuple[str, ...]] = {}
    for i, post in enumerate(posts):
        tags = tags_of[i]
        if len(tags) > FEW_TAGS:
            chosen = _most_shared_counted(i, tags, members)
        else:
            chosen = _most_shared_indexed(i, tags, tags_of, by_set, wide)
        if len(chosen) < RELATED:  # every post sharing 2+ tags is chosen: add those sharing one
            need = RELATED - len(chosen)
            nearby: set[int] = set()
            for tag in tags:
                found = members[tag]
                at = bisect.bisect_left(found, i)
                nearby.update(found[max(0, at - need - 3) : at + need + 4])  # enough to skip chosen and i
            nearby.difference_update(chosen, (i,))
            chosen += heapq.nsmallest(need, nearby, key=lambda j: (abs(j - i), j))
        step = 1
        while len(chosen) < RELATED and step < len(posts):  # fill from the posts nearest in time
            for j in (i - step, i + step):
                if 0 <= j < len(posts) and j not in chosen and len(chosen) < RELATED:
                    chosen.append(j)
            step += 1
        related[post.path] = tuple(posts[j].path for j in chosen)
    return related


def _most_shared_indexed(
    i: int,
    tags: list[str],
    tags_of: list[list[str]],
    by_set: dict[tuple[str, ...], list[int]],
    wide: list[int],
) -> list[int]:
    """Up to three posts sharing two or more of post i's tags, most first, then nearest."""
    chosen: list[int] = []
    mine = set(tags)
    wide_shared = {j: len(mine.intersection(tags_of[j])) for j in wide}  # counted once, for every k
    for k in range(len(tags), 1, -1):
        if len(chosen) == RELATED:
            break
        need, skip = RELATED - len(chosen), len(chosen) + 1  # the chosen ones and post i
        found: set[int] = set()
        for subset in combinations(tags, k):
            listed = by_set.get(subset, [])
            at = bisect.bisect_left(listed, i)
            found.update(listed[max(0, at - need - skip) : at + need + skip])
        found.update(j for j, count in wide_shared.items() if count >= k)
        found.difference_update(chosen, (i,))
        chosen += heapq.nsmallest(need, found, key=lambda j: (abs(j - i), j))
    return chosen


def _most_shared_counted(i: int, tags: list[str], members: dict[str, list[int]]) -> list[int]:
    """The same for a wide post, by counting the tags it shares with every post that shares one
    (linear, for this post)."""
    shared = Counter(j for tag in tags for j in members[tag])
    shared.pop(i, None)
    return heapq.nsmallest(
        RELATED, (j for j, count in shared.items() if count >= 2), key=lambda j: (-shared[j], abs(j - i), j)
    )


def paginate(posts: tuple[Post, ...], per_page: int, path_of: Callable[[int], str]) -> list[Pager]:
    """Always at least one page, so that an empty tag still has a page and a feed."""
    count = max(1, -(-len(posts) // per_page))
    return [
        Pager(
            number=n,
            count=count,
            posts=posts[(n - 1) * per_page : n * per_page],
            path=path_of(n),
            newer=path_of(n - 1) if n > 1 else None,
            older=path_of(n + 1) if n < count else None,
        )
        for n in range(1, count + 1)
    ]


# --- links between posts ----------------------------------------------------------------


@dataclass(frozen=True)
class LinkTargets:
    """Where a link to another post's file leads. Built once a render, not once a post."""

    urls: Urls
    by_file: Mapping[PurePosixPath, Post]  # every post, drafts too (quick.py reads them as asked)
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
            if outcome == "missing":
                problems.append(
                    Problem(
                        post.path,
                        where,
                        f"links to '{href}', but content/posts/{target_file} does not exist",
                        "check the file name, or link to the post's web address instead",
                    )
                )
            elif outcome in ("draft", "scheduled"):
                state = "a draft" if outcome == "draft" else "scheduled for later"
                problems.append(
                    Problem(
                        post.path,
                        where,
                        f"links to {targets.by_file[target_file].path}, which is {state}",
                        "publish that post first, or remove the link",
                    )
                )
            elif outcome != "unreadable":  # an unreadable file's own problems are reported already
                return outcome + (f"#{parts.fragment}" if parts.fragment else "")
            return href
        if parts.path.startswith("/"):  # a path from the site's root: keep it under the base path
            return targets.urls.href(href[1:])
        return href

    return rewrite


def image_sizes(images_dir: Path, urls: Urls) -> Callable[[Post], markdown.ImageSize]:
    """For a post: an image's size from its file in content/images/, if it is one of ours."""

    def for_post(post: Post) -> markdown.ImageSize:
        def size_of(src: str) -> tuple[int, int] | None:
            parts = urlsplit(src)
            if parts.scheme or parts.netloc:
                return None
            path = (
                parts.path[1:]
                if parts.path.startswith("/")
                else posixpath.normpath(urls.post(post) + parts.path)
            )
            if not path.startswith(urls.IMAGES):
                return None
            file = images_dir / unquote(path[len(urls.IMAGES) :])
            try:
                width, height = imagesize.get(file)
            except (OSError, ValueError):
                return None
            return (width, height) if width > 0 and height > 0 else None

        return size_of

    return for_post


def render_body(
    post: Post,
    targets: LinkTargets,
    md: MarkdownIt,
    in_feed: bool,
    size_of: markdown.ImageSize = lambda src: None,
) -> tuple[Body, list[Problem], Followed]:
    """A post's body for its page (and, if it is in a feed, for feeds: every URL absolute)."""
    problems: list[Problem] = []
    followed: list[tuple[PurePosixPath, str]] = []
    tokens = markdown.parse(md, post.body)
    markdown.decorate_images(tokens, size_of)
    page_html = markdown.render(md, tokens, page_link_rewriter(post, targets, problems, followed))
    feed_html = None
    if in_feed:
        here = targets.urls.absolute(targets.urls.post(post))
        on_page = page_link_rewriter(post, targets, [], [])  # its problems are counted above

        def for_feed(href: str, line: int | None) -> str:
            return markdown.absolute(on_page(href, line), here)

        feed_html = Fragment.of(markdown.render(md, tokens, for_feed, absolute_base=here))
    return Body(Fragment.of(page_html), feed_html), problems, tuple(followed)


Spill = Callable[[list[Fragment]], None]  # hands fragments' text over to be kept on disk (cache.py)
SPILL_EVERY = 256  # bodies: a cold build hands their text over in batches, as workers send them


FileSignature = tuple[int, int, int]  # size, mtime (ns) and inode of a file written (write.Signature)


class PageSink(Protocol):
    """Where a build puts each page's bytes as soon as they are rendered (write.Staging), so
    that it need not hold the whole site in memory."""

    def write(self, path: PurePosixPath, content: bytes) -> FileSignature:
        """Write a page's file (also from a render worker); its size, time and inode."""
        ...

    def wrote(self, path: PurePosixPath, signature: FileSignature) -> None:
        """Note a file written, in the process that runs the build."""
        ...


def render_bodies(
    site: Site,
    targets: LinkTargets,
    md: MarkdownIt,
    in_feeds: set[Post],
    memo: Memo | None,
    sizes: Callable[[Post], markdown.ImageSize] = lambda post: lambda src: None,
    workers: int = 1,
    progress: Progress | None = None,
    spill: Spill | None = None,
) -> tuple[dict[Post, Body], list[Problem]]:
    """Every published post's body; with a memo, a body is reused while its post is unchanged
    and every post it links to is still where it was. Bodies are most of a cold build's
    work, so with workers > 1 they are rendered in that many processes. With `spill`, new
    bodies' text is handed over as it comes (a cold build would otherwise hold them all)."""
    problems: list[Problem] = []
    bodies: dict[Post, Body] = {}
    kept: dict[BodyKey, tuple[Followed, Body]] = {}
    todo: list[Post] = []
    for post in site.posts:
        cached = memo.bodies.get((post.key, post in in_feeds)) if memo and post.key else None
        if cached and all(targets.resolve(file) == outcome for file, outcome in cached[0]):
            bodies[post] = cached[1]
            kept[(post.key, post in in_feeds)] = cached
        else:
            todo.append(post)

    def one(post: Post) -> tuple[Body, list[Problem], Followed]:
        return render_body(post, targets, md, post in in_feeds, sizes(post))

    to_spill: list[Fragment] = []
    for post, (body, found, followed) in zip(
        todo, in_parallel(one, todo, workers, "Rendering posts", progress), strict=True
    ):
        bodies[post] = body
        problems.extend(found)
        if not found and post.key:  # a body with broken links is rendered again until they are fixed
            kept[(post.key, post in in_feeds)] = (followed, body)
        if spill is not None:
            to_spill += [fragment for fragment in (body.page_html, body.feed_html) if fragment is not None]
            if len(to_spill) >= SPILL_EVERY:
                spill(to_spill)
                to_spill = []
    if spill is not None and to_spill:
        spill(to_spill)
    if memo is not None:
        memo.bodies = kept
    return bodies, problems


# --- templates ------------------------------------------------------------------------

# A page rendered: the digest of its bytes, its Page, and its file's signature if written now
Settled = tuple[bytes, Page, FileSignature | None]


def make_environment(
    config: Config, tags: dict[str, Tag], urls: Urls, compiled: Path | None = None
) -> jinja2.Environment:
    """The templates' environment; with `compiled`, each template is compiled once and read
    back by later runs while its source is unchanged (Jinja checks), instead of compiled
    again by every build (0.07 s for ours)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(config.templates_dir),
        bytecode_cache=compiled_templates(compiled) if compiled is not None else None,
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        human_date=human_date,
        machine_date=machine_date,
        groupby_month=groupby_month,
        rfc822=rfc822,
        rfc3339=rfc3339,
    )
    env.globals.update(
        site=config,
        tags=tags,
        urls=urls,
        href=urls.href,
        absolute=urls.absolute,
        last_change=last_change,
        # Called by post.html rather than passed to it: both follow from the post alone, so a
        # page's inputs (what the memo compares) need not include them.
        reading_time=reading_time,
        structured_data=partial(json_ld, config=config, urls=urls),
    )
    env.globals["summary_card"] = SummaryCards(env)
    return env


class SummaryCards:
    """A post's summary card, the post_summary macro of _macros.html, rendered once and shown
    on every list page that lists the post (as Hugo's partialCached). The lists are most of
    the pages that a new post makes again in the dev server: every page of the home list, each
    showing ten cards, nearly all of them made already. A card follows from the post and the
    environment's globals alone (the macro is imported without a page's context), and the
    cards live as long as their environment: a change to the templates, the tag vocabulary
    or the settings makes a new one (render: Memo.env). Posts of equal keys render the same."""

    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env
        self.made: dict[tuple[str, str], Markup] = {}

    def __call__(self, post: Post, heading: str = "h2") -> Markup:
        if not post.key:  # a post not loaded from a file (as in some tests) has no key to keep it by
            return self._macro(post, heading)
        if (card := self.made.get((post.key, heading))) is None:
            card = self.made[(post.key, heading)] = self._macro(post, heading)
        return card

    def _macro(self, post: Post, heading: str) -> Markup:
        return self.env.get_template("_macros.html").module.post_summary(post, heading)  # type: ignore[attr-defined, no-any-return]


def compiled_templates(folder: Path) -> jinja2.BytecodeCache:
    """Jinja's own cache of compiled templates in a folder. Keeping one is only ever a saving:
    if the folder cannot be written (deleted meanwhile, a full disk), the build goes on
    without it. (A class made here, not at the top: Jinja is loaded when first used.)"""

    class CompiledTemplates(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            with suppress(OSError):
                super().load_bytecode(bucket)

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            with suppress(OSError):
                super().dump_bytecode(bucket)

    return CompiledTemplates(str(folder))


class Templates:
    """Renders templates to Pages, turning template mistakes into problems with file and line,
    and taking unchanged pages from the memo when there is one. With a sink, each page's
    bytes go there as soon as they are rendered, and its Page holds none."""

    def __init__(
        self,
        env: jinja2.Environment,
        templates_dir: Path,
        problems: list[Problem],
        memo: Memo | None,
        progress: Progress | None = None,
        sink: PageSink | None = None,
    ) -> None:
        self.env = env
        self.progress = progress
        self.sink = sink
        self.templates_dir = templates_dir
        self.problems = problems
        self.memo = memo
        self.made: dict[str, tuple[bytes, Page]] = {}
        self.contents: dict[str, bytes] = {}
        self.recipes: dict[str, bytes] = {}

    def page(self, site_path: str, template: str, **context: Any) -> Page | None:
        return self.many([(site_path, template, context)])[0]

    def many(self, jobs: list[tuple[str, str, dict[str, Any]]], workers: int = 1) -> list[Page | None]:
        """page() for each (site path, template, context); those not in the memo are rendered
        in `workers` processes (post pages: most of the template work of a cold build)."""
        results: list[Page | None] = [None] * len(jobs)
        todo: list[tuple[int, PurePosixPath, bytes]] = []
        for n, (site_path, template, context) in enumerate(jobs):
            inputs = inputs_digest(template, context) if self.memo is not None else b""
            if (kept := self._reused(site_path, inputs)) is not None:
                results[n] = kept
                continue
            try:
                todo.append((n, Urls.output_file(site_path), inputs))
            except UnsafePath:
                self.problems.append(Problem(site_path, None, "would be written outside the site folder"))
        if workers > 1 and self.sink is None:
            # Without a sink, every page's bytes are kept in memory anyway (the dev server's
            # preview): fetch the fragments once, here, rather than in each worker.
            for n, _, _ in todo:
                for value in jobs[n][2].values():
                    if isinstance(value, Fragment):
                        value.text  # noqa: B018 (loads it)

        def render_one(item: tuple[int, PurePosixPath, bytes]) -> Settled | Problem:
            n, path, _ = item
            outcome = self._render(*jobs[n])
            if self.sink is not None:  # the page goes to disk: so may the bodies it showed, or
                for value in jobs[n][2].values():  # a cold build would hold them all again
                    if isinstance(value, Fragment):
                        value.let_go()
            return outcome if isinstance(outcome, Problem) else self._settle(jobs[n][0], path, outcome)

        progress = self.progress if len(jobs) > 1 else None
        for (n, _, inputs), outcome in zip(
            todo, in_parallel(render_one, todo, workers, "Rendering pages", progress), strict=True
        ):
            if isinstance(outcome, Problem):
                self.problems.append(outcome)
            else:
                results[n] = self._made(jobs[n][0], inputs, outcome)
                if self.memo is not None and self.memo.keep_recipes:
                    self.recipes[jobs[n][0]] = recipe(jobs[n][1], jobs[n][2])
        return results

    def _render(self, site_path: str, template: str, context: dict[str, Any]) -> bytes | Problem:
        try:
            return self.env.get_template(template).render(page_path=site_path, **context).encode("utf-8")
        except jinja2.TemplateSyntaxError as error:
            shown = display_path(Path(error.filename)) if error.filename else template
            return Problem(shown, error.lineno, f"template error: {error.message}")
        except jinja2.TemplateNotFound as error:
            return Problem(display_path(self.templates_dir), None, f"template '{error.name}' not found")
        except FragmentLost:
            raise  # not a template mistake: the caller builds again without the cache
        except Exception as error:  # a mistake inside a template: name the template line
            return self._template_problem(template, error)

    def file(self, site_path: str, content: bytes) -> Page:
        """A file copied as it is (theme files, images): reused, like a page, while its bytes are."""
        inputs = hashlib.blake2b(content, digest_size=16).digest() if self.memo is not None else b""
        if (kept := self._reused(site_path, inputs)) is not None:
            return kept
        return self._made(site_path, inputs, self._settle(site_path, Urls.output_file(site_path), content))

    def _reused(self, site_path: str, inputs: bytes) -> Page | None:
        """Last render's page, if it was made from these very inputs."""
        previous = self.memo.pages.get(site_path) if self.memo is not None else None
        if self.memo is None or previous is None or previous[0] != inputs:
            return None
        self.made[site_path] = previous
        self.contents[site_path] = self.memo.contents[site_path]
        self.memo.reused += 1
        return previous[1]

    def _settle(self, site_path: str, path: PurePosixPath, content: bytes) -> Settled:
        """What becomes of a page just rendered: if its bytes are the file's on disk, that file
        stays; with a sink, they are written now; otherwise the Page holds them. (In a render
        worker too: it reads the memo but changes nothing.)"""
        digest_ = b""
        if self.memo is not None:
            digest_ = hashlib.blake2b(content, digest_size=16).digest()
            previous = self.memo.pages.get(site_path)
            if previous and previous[1].content is None and self.memo.contents.get(site_path) == digest_:
                return digest_, previous[1], None  # made again, to the same bytes: the file on disk stays
        if self.sink is not None:
            return digest_, Page(path, None), self.sink.write(path, content)
        return digest_, Page(path, content), None

    def _made(self, site_path: str, inputs: bytes, settled: Settled) -> Page:
        content, page, signature = settled
        if signature is not None:
            assert self.sink is not None
            self.sink.wrote(page.path, signature)
        if self.memo is not None:
            self.made[site_path] = (inputs, page)
            self.contents[site_path] = content
            self.memo.rendered += 1
        return page

    def _template_problem(self, template: str, error: Exception) -> Problem:
        frames = [
            f
            for f in traceback.extract_tb(error.__traceback__)
            if f.filename.startswith(str(self.templates_dir))
        ]
        if frames:
            return Problem(
                display_path(Path(frames[-1].filename)), frames[-1].lineno, f"template error: {error}"
            )
        return Problem(template, None, f"template error: {error}")


# --- the steps --------------------------------------------------------------------------


Feeds = tuple[tuple[Post, ...], dict[str, tuple[Post, ...]]]  # the site feed's posts; each tag's


def feed_posts(site: Site, by_tag: dict[str, tuple[Post, ...]]) -> Feeds:
    """The newest N posts for the site feed, and for each tag's feed."""
    n = site.config.feed_length
    return site.posts[:n], {slug: posts[:n] for slug, posts in by_tag.items()}


def posts_by_tag(site: Site) -> dict[str, tuple[Post, ...]]:
    grouped: dict[str, list[Post]] = {slug: [] for slug in site.tags}
    for post in site.posts:
        for tag in post.tags:
            grouped[tag].append(post)
    return {slug: tuple(posts) for slug, posts in grouped.items()}


def search_parts(site: Site) -> list[SearchPart]:
    """The search index's parts for this site's posts (the rule is Urls.search_parts)."""
    return Urls.search_parts(Counter(post.year for post in site.posts), site.config.search_part_posts)


def posts_by_year(site: Site) -> dict[int, tuple[Post, ...]]:
    grouped: dict[int, list[Post]] = defaultdict(list)
    for post in site.posts:
        grouped[post.year].append(post)
    return {year: tuple(grouped[year]) for year in sorted(grouped, reverse=True)}


def post_pages(
    t: Templates,
    site: Site,
    urls: Urls,
    bodies: dict[Post, Body],
    related: dict[str, tuple[str, ...]],
    workers: int = 1,
) -> list[Page | None]:
    posts = site.posts
    by_path = {p.path: p for p in posts}
    return t.many(
        [
            (
                urls.post(post),
                "post.html",
                {
                    "post": post,
                    "body": bodies[post].page_html,
                    "newer": posts[i - 1] if i > 0 else None,
                    "older": posts[i + 1] if i + 1 < len(posts) else None,
                    "related": tuple(by_path[path] for path in related[post.path]),
                },
            )
            for i, post in enumerate(posts)
        ],
        workers,
    )


def list_pages(
    t: Templates, site: Site, urls: Urls, by_tag: dict[str, tuple[Post, ...]], workers: int = 1
) -> list[Page | None]:
    per_page = site.config.posts_per_page
    lists: list[tuple[str, str, dict[str, Any]]] = [
        (pager.path, "list.html", {"pager": pager, "tag": None})
        for pager in paginate(site.posts, per_page, urls.home)
    ]
    for slug, posts in by_tag.items():
        lists += [
            (pager.path, "list.html", {"pager": pager, "tag": site.tags[slug]})
            for pager in paginate(posts, per_page, partial(urls.tag, slug))
        ]
    return [*t.many(lists, workers), t.page(urls.tags_index(), "tags.html", counts=tag_counts(by_tag))]


def tag_counts(by_tag: dict[str, tuple[Post, ...]]) -> dict[str, int]:
    return {slug: len(posts) for slug, posts in by_tag.items()}


def archive_pages(t: Templates, urls: Urls, years: dict[int, tuple[Post, ...]]) -> Iterator[Page | None]:
    # The archive page shows each year's count, so it is given counts, not posts: then it
    # depends on no post (an edit to one need not render it again, quick.py).
    yield t.page(urls.archive(), "archive.html", years={year: len(posts) for year, posts in years.items()})
    for year, posts in years.items():
        yield t.page(urls.archive(year), "archive_year.html", year=year, posts=posts)


def feed_updated(posts: tuple[Post, ...], site: Site) -> datetime:
    """A feed's last change: its newest post's, so that an unchanged archive gives the same
    bytes. An empty feed (a tag that no post has yet) takes the archive's last change, for the
    same reason: with the time of the build, every build would change it for feed readers.
    Only an archive without posts has nothing else to go by."""
    return max((last_change(p) for p in posts or site.posts), default=site.now)


def feed_pages(
    t: Templates, site: Site, urls: Urls, bodies: dict[Post, Body], feeds: Feeds
) -> Iterator[Page | None]:
    site_feed, tag_feeds = feeds

    def feed_bodies(posts: tuple[Post, ...]) -> dict[Post, Fragment | None]:
        return {p: bodies[p].feed_html for p in posts}  # a feed's page depends on its own posts only

    updated = feed_updated(site_feed, site)
    yield t.page(
        urls.RSS,
        "feeds/rss.xml",
        posts=site_feed,
        bodies=feed_bodies(site_feed),
        tag=None,
        self_path=urls.RSS,
        updated=updated,
    )
    yield t.page(urls.ATOM, "feeds/atom.xml", posts=site_feed, bodies=feed_bodies(site_feed), updated=updated)
    for slug, posts in tag_feeds.items():
        path = urls.tag_feed(slug)
        yield t.page(
            path,
            "feeds/rss.xml",
            posts=posts,
            bodies=feed_bodies(posts),
            tag=site.tags[slug],
            self_path=path,
            updated=feed_updated(posts, site),
        )


def small_pages(
    t: Templates, site: Site, urls: Urls, listed: Iterable[str], counts: dict[str, int]
) -> Iterator[Page | None]:
    changed = {urls.post(p): last_change(p) for p in site.posts}
    entries = [(path, changed.get(path)) for path in sorted(listed)]
    yield t.page(urls.SITEMAP, "sitemap.xml", entries=entries)
    yield t.page(urls.ROBOTS, "robots.txt")
    yield t.page(urls.NOT_FOUND, "404.html", posts=site.posts[:5])
    yield t.page(
        urls.search(), "search.html", bundles=[urls.href(bundle) for bundle, _ in search_parts(site)]
    )
    yield t.page(urls.subscribe(), "subscribe.html", counts=counts)
    yield t.file(urls.NOJEKYLL, b"")


def static_files(t: Templates, site: Site, urls: Urls) -> Iterator[Page]:
    """Files copied as they are: the theme's (templates/static/) and editors' images."""
    for folder, prefix in (
        (site.config.templates_dir / "static", urls.STATIC),
        (site.config.images_dir, urls.IMAGES),
    ):
        for file in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if file.is_file() and not file.name.startswith("."):
                yield t.file(prefix + file.relative_to(folder).as_posix(), file.read_bytes())


def alias_pages(t: Templates, site: Site, urls: Urls, taken: set[PurePosixPath]) -> Iterator[Page | None]:
    for post in site.posts:
        for alias in post.aliases:
            try:
                path = Urls.output_file(urls.alias(alias))
            except UnsafePath:
                t.problems.append(
                    Problem(post.path, None, f"aliases: {alias!r} would be outside the site folder")
                )
                continue
            if path in taken:
                t.problems.append(
                    Problem(
                        post.path,
                        None,
                        f"aliases: {alias!r} is already a page of the site",
                        "choose another old URL or remove it",
                    )
                )
                continue
            taken.add(path)
            yield t.page(urls.alias(alias), "redirect.html", post=post)


def files_fingerprint(folder: Path, contents: bool = False) -> str:
    """Every file below a folder: by name and bytes (templates), or name, size and time (images)."""
    h = hashlib.blake2b(digest_size=16)
    for f in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if f.is_file():
            stat = f.stat()
            h.update(f"{f.relative_to(folder).as_posix()}\0{stat.st_size}\0".encode())
            h.update(f.read_bytes() if contents else str(stat.st_mtime_ns).encode())
    return h.hexdigest()


def related_for(
    site: Site, by_tag: dict[str, tuple[Post, ...]], memo: Memo | None
) -> dict[str, tuple[str, ...]]:
    """Related posts, reused from the memo while no post's path, date or tags changed (an
    edit to a body, the usual case, changes none of them)."""
    key = hashlib.blake2b(
        pickle.dumps([(p.path, p.date, p.tags) for p in site.posts]), digest_size=16
    ).hexdigest()
    if memo is not None and memo.related_key == key:
        return memo.related
    related = related_posts(site.posts, by_tag)
    if memo is not None:
        memo.related_key, memo.related = key, related
    return related


def render(
    site: Site,
    memo: Memo | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    sink: PageSink | None = None,
    spill: Spill | None = None,
) -> tuple[list[Page], list[Problem]]:
    """Every file of the site, and the problems found while rendering (broken links between
    posts, aliases that clash, template mistakes). Pages are only to be published if there are
    none. With a memo, only pages whose inputs changed are rendered again (the others come
    back with content None when the memo has no bytes for them: the writer keeps their files).
    With a sink (a build's staging folder), pages are written there as they are rendered and
    come back with content None too; with `spill`, bodies' text is handed to the cache."""
    urls = Urls(site.config.base_url)
    problems: list[Problem] = []
    if memo is not None:
        body_version = digest(site.config.key, files_fingerprint(site.config.images_dir))
        page_version = digest(
            body_version, repr(sorted(site.tags.items())), files_fingerprint(site.config.templates_dir, True)
        )
        if memo.body_version != body_version:  # image sizes and settings are printed in bodies
            memo.body_version, memo.bodies = body_version, {}
        if memo.page_version != page_version:  # the files on disk stay usable: keep their digests
            memo.page_version, memo.env = page_version, None
            memo.pages = {path: (b"", page) for path, (_, page) in memo.pages.items()}
        if memo.env is None:
            memo.env = make_environment(site.config, site.tags, urls, memo.compiled)
        memo.rendered = memo.reused = 0
        env = memo.env
    else:
        env = make_environment(site.config, site.tags, urls)
    t = Templates(env, site.config.templates_dir, problems, memo, progress, sink)
    md = markdown.make_markdown(site.config.allow_html)
    by_tag = posts_by_tag(site)  # grouped once: lists, feeds, counts and related posts all use it
    feeds = feed_posts(site, by_tag)
    in_feeds = {p for posts in (feeds[0], *feeds[1].values()) for p in posts}
    sizes = image_sizes(site.config.images_dir, urls)
    targets = LinkTargets.of(site, urls)
    bodies, link_problems = render_bodies(site, targets, md, in_feeds, memo, sizes, workers, progress, spill)
    problems.extend(link_problems)
    related = related_for(site, by_tag, memo)

    rendered: list[Page | None] = [
        *post_pages(t, site, urls, bodies, related, workers),
        *list_pages(t, site, urls, by_tag, workers),
        *archive_pages(t, urls, posts_by_year(site)),
        *feed_pages(t, site, urls, bodies, feeds),
    ]
    html_pages = [p for p in rendered if p is not None and p.path.suffix == ".html"]
    listed = {p.path.parent.as_posix() + "/" if p.path.parent.parts else "" for p in html_pages}
    rendered += [*small_pages(t, site, urls, listed, tag_counts(by_tag)), *static_files(t, site, urls)]
    pages = [p for p in rendered if p is not None]
    pages += [p for p in alias_pages(t, site, urls, {p.path for p in pages}) if p is not None]
    if memo is not None:
        memo.pages, memo.contents = t.made, t.contents  # only this render's: deleted ones are forgotten
        # The recipes of the pages made now, and of those reused that the memo has: the dev
        # server's keeps them all (a build's has none of those: its cache keeps them on disk).
        kept = {site_path: memo.recipes[site_path] for site_path in t.made.keys() & memo.recipes.keys()}
        memo.recipes = {**kept, **t.recipes}
    return pages, problems
