"""Render: a validated Site + templates -> every output file as a Page. Writes nothing.

The steps are a flat list (see `render`): post pages, paginated home and tag pages, the
tags index, year archives, feeds, sitemap and the small files GitHub Pages wants. Every URL
comes from urls.Urls; every body from the one Markdown renderer.
"""

from __future__ import annotations

import calendar
import heapq
import json
import posixpath
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from functools import lru_cache, partial
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import imagesize
import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from . import markdown
from .config import Config
from .content import Post
from .problems import Problem, display_path
from .urls import UnsafePath, Urls
from .validate import Site

Followed = tuple[tuple[PurePosixPath, str], ...]  # the post files a body links to, and where they led


@dataclass(frozen=True)
class Page:
    path: PurePosixPath  # relative to the output folder
    content: bytes


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
    page_html: Markup
    feed_html: Markup | None  # only for posts that appear in a feed


@dataclass
class Memo:
    """What the last render made, kept by a long-running caller (the dev server) so that the
    next render re-renders only what changed. A page is reused when everything it is made
    from (its template and every value passed to it) is equal to last time; a change to the
    templates, the settings or the tag vocabulary starts afresh. So a render with a memo
    always gives the same pages as one without."""

    version: object = None
    env: jinja2.Environment | None = None
    pages: dict[str, tuple[object, Page]] = field(default_factory=dict)
    bodies: dict[tuple[Post, bool], tuple[Followed, Body]] = field(default_factory=dict)
    related_key: object = None  # every post's path, date and tags: what related posts depend on
    related: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rendered: int = 0  # pages the last render made anew
    reused: int = 0  # pages it took from the memo


def freeze(value: Any) -> Any:
    """A template's inputs as one comparable value (dicts and lists become tuples)."""
    if isinstance(value, dict):
        return tuple((freeze(k), freeze(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value  # text, numbers, dates, None and our frozen dataclasses compare as they are


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


def related_posts(posts: tuple[Post, ...], by_tag: dict[str, tuple[Post, ...]]) -> dict[str, tuple[str, ...]]:
    """For each post (by path), up to three others: most tags in common, then nearest in time;
    posts with no tag in common only when there are not three that share one."""
    position = {p.path: i for i, p in enumerate(posts)}
    related: dict[str, tuple[str, ...]] = {}
    for i, post in enumerate(posts):
        shared: Counter[str] = Counter()
        for tag in post.tags:
            for other in by_tag.get(tag, ()):
                if other.path != post.path:
                    shared[other.path] += 1
        chosen = heapq.nsmallest(
            RELATED, shared, key=lambda o: (-shared[o], abs(position[o] - i), position[o])
        )
        step = 1
        while len(chosen) < RELATED and step < len(posts):  # fill from the posts nearest in time
            for j in (i - step, i + step):
                if 0 <= j < len(posts) and posts[j].path not in chosen and len(chosen) < RELATED:
                    chosen.append(posts[j].path)
            step += 1
        related[post.path] = tuple(chosen)
    return related


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
    by_file: dict[PurePosixPath, Post]
    published: frozenset[Post]
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

        feed_html = Markup(markdown.render(md, tokens, for_feed, absolute_base=here))
    return Body(Markup(page_html), feed_html), problems, tuple(followed)


def render_bodies(
    site: Site,
    targets: LinkTargets,
    md: MarkdownIt,
    in_feeds: set[Post],
    memo: Memo | None,
    sizes: Callable[[Post], markdown.ImageSize] = lambda post: lambda src: None,
) -> tuple[dict[Post, Body], list[Problem]]:
    """Every published post's body; with a memo, a body is reused while its post is unchanged
    and every post it links to is still where it was."""
    problems: list[Problem] = []
    bodies: dict[Post, Body] = {}
    kept: dict[tuple[Post, bool], tuple[Followed, Body]] = {}
    for post in site.posts:
        key = (post, post in in_feeds)
        cached = memo.bodies.get(key) if memo else None
        if cached and all(targets.resolve(file) == outcome for file, outcome in cached[0]):
            bodies[post] = cached[1]
            kept[key] = cached
            continue
        body, found, followed = render_body(post, targets, md, key[1], sizes(post))
        bodies[post] = body
        problems.extend(found)
        if not found:  # a body with broken links is rendered again until they are fixed
            kept[key] = (followed, body)
    if memo is not None:
        memo.bodies = kept
    return bodies, problems


# --- templates ------------------------------------------------------------------------


def make_environment(site: Site, urls: Urls) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(site.config.templates_dir),
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
        site=site.config,
        tags=site.tags,
        urls=urls,
        href=urls.href,
        absolute=urls.absolute,
        last_change=last_change,
    )
    return env


class _Templates:
    """Renders templates to Pages, turning template mistakes into problems with file and line,
    and taking unchanged pages from the memo when there is one."""

    def __init__(
        self, env: jinja2.Environment, templates_dir: Path, problems: list[Problem], memo: Memo | None
    ) -> None:
        self.env = env
        self.templates_dir = templates_dir
        self.problems = problems
        self.memo = memo
        self.made: dict[str, tuple[object, Page]] = {}

    def page(self, site_path: str, template: str, **context: Any) -> Page | None:
        inputs = (template, freeze(context))
        if self.memo is not None:
            previous = self.memo.pages.get(site_path)
            if previous is not None and previous[0] == inputs:
                self.made[site_path] = previous
                self.memo.reused += 1
                return previous[1]
        try:
            path = Urls.output_file(site_path)
        except UnsafePath:
            self.problems.append(Problem(site_path, None, "would be written outside the site folder"))
            return None
        try:
            content = self.env.get_template(template).render(page_path=site_path, **context).encode("utf-8")
        except jinja2.TemplateSyntaxError as error:
            shown = display_path(Path(error.filename)) if error.filename else template
            self.problems.append(Problem(shown, error.lineno, f"template error: {error.message}"))
            return None
        except jinja2.TemplateNotFound as error:
            self.problems.append(
                Problem(display_path(self.templates_dir), None, f"template '{error.name}' not found")
            )
            return None
        except Exception as error:  # a mistake inside a template: name the template line
            self.problems.append(self._template_problem(template, error))
            return None
        page = Page(path, content)
        if self.memo is not None:
            self.made[site_path] = (inputs, page)
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


def posts_by_year(site: Site) -> dict[int, tuple[Post, ...]]:
    grouped: dict[int, list[Post]] = defaultdict(list)
    for post in site.posts:
        grouped[post.year].append(post)
    return {year: tuple(grouped[year]) for year in sorted(grouped, reverse=True)}


def post_pages(
    t: _Templates, site: Site, urls: Urls, bodies: dict[Post, Body], related: dict[str, tuple[str, ...]]
) -> Iterator[Page | None]:
    posts = site.posts
    by_path = {p.path: p for p in posts}
    for i, post in enumerate(posts):
        yield t.page(
            urls.post(post),
            "post.html",
            post=post,
            body=bodies[post].page_html,
            newer=posts[i - 1] if i > 0 else None,
            older=posts[i + 1] if i + 1 < len(posts) else None,
            related=tuple(by_path[path] for path in related[post.path]),
            reading_time=reading_time(post),
            structured_data=json_ld(post, site.config, urls),
        )


def list_pages(
    t: _Templates, site: Site, urls: Urls, by_tag: dict[str, tuple[Post, ...]]
) -> Iterator[Page | None]:
    for pager in paginate(site.posts, site.config.posts_per_page, urls.home):
        yield t.page(pager.path, "list.html", pager=pager, tag=None)
    for slug, posts in by_tag.items():
        for pager in paginate(posts, site.config.posts_per_page, partial(urls.tag, slug)):
            yield t.page(pager.path, "list.html", pager=pager, tag=site.tags[slug])
    yield t.page(urls.tags_index(), "tags.html", counts=tag_counts(by_tag))


def tag_counts(by_tag: dict[str, tuple[Post, ...]]) -> dict[str, int]:
    return {slug: len(posts) for slug, posts in by_tag.items()}


def archive_pages(t: _Templates, site: Site, urls: Urls) -> Iterator[Page | None]:
    years = posts_by_year(site)
    yield t.page(urls.archive(), "archive.html", years=years)
    for year, posts in years.items():
        yield t.page(urls.archive(year), "archive_year.html", year=year, posts=posts)


def feed_updated(posts: tuple[Post, ...], site: Site) -> datetime:
    """A feed's last change: its newest post's, so that an unchanged archive gives the same bytes."""
    return max((last_change(p) for p in posts), default=site.now)


def feed_pages(
    t: _Templates, site: Site, urls: Urls, bodies: dict[Post, Body], feeds: Feeds
) -> Iterator[Page | None]:
    site_feed, tag_feeds = feeds
    feed_bodies = {p: bodies[p].feed_html for p in bodies if bodies[p].feed_html is not None}
    updated = feed_updated(site_feed, site)
    yield t.page(
        urls.RSS,
        "feeds/rss.xml",
        posts=site_feed,
        bodies=feed_bodies,
        tag=None,
        self_path=urls.RSS,
        updated=updated,
    )
    yield t.page(urls.ATOM, "feeds/atom.xml", posts=site_feed, bodies=feed_bodies, updated=updated)
    for slug, posts in tag_feeds.items():
        path = urls.tag_feed(slug)
        yield t.page(
            path,
            "feeds/rss.xml",
            posts=posts,
            bodies=feed_bodies,
            tag=site.tags[slug],
            self_path=path,
            updated=feed_updated(posts, site),
        )


def small_pages(
    t: _Templates, site: Site, urls: Urls, listed: Iterable[str], counts: dict[str, int]
) -> Iterator[Page | None]:
    changed = {urls.post(p): last_change(p) for p in site.posts}
    entries = [(path, changed.get(path)) for path in sorted(listed)]
    yield t.page(urls.SITEMAP, "sitemap.xml", entries=entries)
    yield t.page(urls.ROBOTS, "robots.txt")
    yield t.page(urls.NOT_FOUND, "404.html", posts=site.posts[:5])
    yield t.page(urls.search(), "search.html")
    yield t.page(urls.subscribe(), "subscribe.html", counts=counts)
    yield Page(Urls.output_file(urls.NOJEKYLL), b"")


def static_files(site: Site, urls: Urls) -> Iterator[Page]:
    """Files copied as they are: the theme's (templates/static/) and editors' images."""
    for folder, prefix in (
        (site.config.templates_dir / "static", urls.STATIC),
        (site.config.images_dir, urls.IMAGES),
    ):
        for file in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if file.is_file() and not file.name.startswith("."):
                yield Page(Urls.output_file(prefix + file.relative_to(folder).as_posix()), file.read_bytes())


def alias_pages(t: _Templates, site: Site, urls: Urls, taken: set[PurePosixPath]) -> Iterator[Page | None]:
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


def templates_fingerprint(templates_dir: Path) -> tuple[tuple[str, bytes], ...]:
    return tuple(
        (f.relative_to(templates_dir).as_posix(), f.read_bytes())
        for f in sorted(templates_dir.rglob("*"))
        if f.is_file()
    )


def files_fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple(
        (f.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns)
        for f in sorted(folder.rglob("*"))
        if f.is_file() and (stat := f.stat())
    )


def related_for(
    site: Site, by_tag: dict[str, tuple[Post, ...]], memo: Memo | None
) -> dict[str, tuple[str, ...]]:
    """Related posts, reused from the memo while no post's path, date or tags changed (an
    edit to a body, the usual case, changes none of them)."""
    key = tuple((p.path, p.date, p.tags) for p in site.posts)
    if memo is not None and memo.related_key == key:
        return memo.related
    related = related_posts(site.posts, by_tag)
    if memo is not None:
        memo.related_key, memo.related = key, related
    return related


def render(site: Site, memo: Memo | None = None) -> tuple[list[Page], list[Problem]]:
    """Every file of the site, and the problems found while rendering (broken links between
    posts, aliases that clash, template mistakes). Pages are only to be written if there are none.
    With a memo (the dev server's), only pages whose inputs changed are rendered again."""
    urls = Urls(site.config.base_url)
    problems: list[Problem] = []
    if memo is not None:
        version = (
            site.config,
            tuple(site.tags.items()),
            templates_fingerprint(site.config.templates_dir),
            files_fingerprint(site.config.images_dir),  # image sizes are printed in bodies
        )
        if memo.version != version or memo.env is None:
            memo.version, memo.env, memo.pages, memo.bodies = version, make_environment(site, urls), {}, {}
        memo.rendered = memo.reused = 0
        env = memo.env
    else:
        env = make_environment(site, urls)
    t = _Templates(env, site.config.templates_dir, problems, memo)
    md = markdown.make_markdown(site.config.allow_html)
    by_tag = posts_by_tag(site)  # grouped once: lists, feeds, counts and related posts all use it
    feeds = feed_posts(site, by_tag)
    in_feeds = {p for posts in (feeds[0], *feeds[1].values()) for p in posts}
    sizes = image_sizes(site.config.images_dir, urls)
    bodies, link_problems = render_bodies(site, LinkTargets.of(site, urls), md, in_feeds, memo, sizes)
    problems.extend(link_problems)
    related = related_for(site, by_tag, memo)

    rendered: list[Page | None] = [
        *post_pages(t, site, urls, bodies, related),
        *list_pages(t, site, urls, by_tag),
        *archive_pages(t, site, urls),
        *feed_pages(t, site, urls, bodies, feeds),
    ]
    html_pages = [p for p in rendered if p is not None and p.path.suffix == ".html"]
    listed = {p.path.parent.as_posix() + "/" if p.path.parent.parts else "" for p in html_pages}
    rendered += [*small_pages(t, site, urls, listed, tag_counts(by_tag)), *static_files(site, urls)]
    pages = [p for p in rendered if p is not None]
    pages += [p for p in alias_pages(t, site, urls, {p.path for p in pages}) if p is not None]
    if memo is not None:
        memo.pages = t.made  # only this render's pages: deleted ones are forgotten
    return pages, problems
