"""Render: a validated Site + templates -> every output file as a Page. Writes nothing.

The steps are a flat list (`render`). Given the Memo of the last render, a page whose inputs
(a digest of its template and values) are unchanged comes back without content: the file
the last build wrote holds it. Pages are yielded one by one, so a build need not hold the
whole site in memory; the bodies used are yielded too, for the cache.
"""

from __future__ import annotations

import hashlib
import pickle
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from markdown_it import MarkdownIt

from . import admin, markdown
from .bodies import Body, Html, LinkTargets, render_body
from .config import Config
from .content import Post, Tag
from .digest import digest
from .presentation import (
    Pager,
    date_note,
    groupby_month,
    human_date,
    json_ld,
    last_change,
    machine_date,
    modified,
    paginate,
    reading_time,
    related_posts,
    rfc822,
    rfc3339,
)
from .problems import Problem, display_path, quoted
from .urls import SearchPart, UnsafePath, Urls
from .validate import Site

Job = tuple[str, str, dict[str, Any]]  # a page to make: its site path, template and values


@dataclass(frozen=True)
class Page:
    path: PurePosixPath  # relative to the output folder
    content: bytes | None  # None: the file the memo's build wrote holds it already
    inputs: bytes  # a digest of what it is made from: the memo of the next render
    digest: bytes  # of its content


@dataclass(frozen=True)
class Memo:
    """What the last render made: its bodies (their texts fetched only when needed) and, for
    each page whose file is still as it wrote it, by output path, its inputs and content digests."""

    bodies: Mapping[str, Body] = field(default_factory=dict)
    pages: Mapping[str, tuple[bytes, bytes]] = field(default_factory=dict)
    texts: Callable[[list[str]], Mapping[str, str]] = lambda keys: {}


def reduce(value: Any) -> Any:
    """A template's inputs as plain values, posts and HTML standing as their keys."""
    if isinstance(value, Post | Html) and value.key:
        return value.key
    if isinstance(value, dict):
        return tuple((reduce(k), reduce(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return tuple(reduce(v) for v in value)
    if isinstance(value, Pager):  # every field, so that a field added later is never left out
        return tuple(reduce(getattr(value, f.name)) for f in fields(value))
    return value  # text, numbers, dates, None and our frozen dataclasses


def inputs_digest(version: str, template: str, context: dict[str, Any]) -> bytes:
    return blake(pickle.dumps((version, template, reduce(context)), protocol=5))


def blake(content: bytes) -> bytes:
    return hashlib.blake2b(content, digest_size=16).digest()


def reused(memo: Memo, path: PurePosixPath, inputs: bytes) -> Page | None:
    """The memo's page at this path, if made from these inputs."""
    found = memo.pages.get(path.as_posix())
    return Page(path, None, inputs, found[1]) if found is not None and found[0] == inputs else None


@dataclass(frozen=True)
class Work:
    """What every step of one render shares; read-only."""

    site: Site
    urls: Urls
    env: jinja2.Environment
    md: MarkdownIt
    targets: LinkTargets
    in_feeds: frozenset[Post]
    body_version: str  # settings and images: what every body's HTML depends on besides its post
    page_version: str  # that, the tag vocabulary and the templates: what every page depends on

    def body_key(self, post: Post) -> str:
        return digest(post.key, str(post in self.in_feeds), self.body_version)


# --- templates ------------------------------------------------------------------------


def make_environment(config: Config, tags: dict[str, Tag], urls: Urls) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(config.templates_dir),
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
        modified=modified,
        date_note=date_note,
        # Called by post.html rather than passed to it: both follow from the post alone, so a
        # page's inputs need not include them.
        reading_time=reading_time,
        structured_data=partial(json_ld, config=config, urls=urls),
    )
    return env


def render_page(work: Work, job: Job, inputs: bytes) -> Page | Problem:
    """One page, or the problem that kept it from being made (a template mistake, with the
    template's file and line)."""
    site_path, template, context = job
    templates_dir = work.site.config.templates_dir
    try:
        path = Urls.output_file(site_path)
        text = work.env.get_template(template).render(page_path=site_path, **context)
    except UnsafePath:
        return Problem(site_path, None, "would be written outside the site folder")
    except jinja2.TemplateSyntaxError as error:
        shown = display_path(Path(error.filename)) if error.filename else template
        return Problem(shown, error.lineno, f"template error: {error.message}")
    except jinja2.TemplateNotFound as error:
        return Problem(display_path(templates_dir), None, f"template '{error.name}' not found")
    except Exception as error:  # a mistake inside a template: name the template line
        frames = [
            f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(str(templates_dir))
        ]
        if frames:
            return Problem(
                display_path(Path(frames[-1].filename)), frames[-1].lineno, f"template error: {error}"
            )
        return Problem(template, None, f"template error: {error}")
    content = text.encode("utf-8")
    return Page(path, content, inputs, blake(content))


# --- the steps --------------------------------------------------------------------------


def pages(work: Work, memo: Memo, jobs: list[Job]) -> Iterator[Page | Problem]:
    """Each job's page: the memo's, if made from the same inputs; otherwise rendered."""
    for job in jobs:
        inputs = inputs_digest(work.page_version, job[1], job[2])
        try:
            path = Urls.output_file(job[0])
        except UnsafePath:
            yield Problem(job[0], None, "would be written outside the site folder")
            continue
        yield reused(memo, path, inputs) or render_page(work, job, inputs)


def post_context(site: Site, i: int, body: Html, related: Mapping[str, tuple[Post, ...]]) -> dict[str, Any]:
    posts = site.posts
    return {
        "post": posts[i],
        "body": body,
        "newer": posts[i - 1] if i > 0 else None,
        "older": posts[i + 1] if i + 1 < len(posts) else None,
        "related": related[posts[i].path],
    }


def post_pages(
    work: Work,
    memo: Memo,
    related: Mapping[str, tuple[Post, ...]],
    feed_bodies: dict[Post, Html],
) -> Iterator[Page | Body | Problem]:
    """Each post's page, with its body: the memo's body while it still holds; a body made anew
    is made with its page. Bodies for feeds are kept in `feed_bodies`."""
    site = work.site
    todo: list[tuple[int, Body | None]] = []
    for i, post in enumerate(site.posts):
        body = memo.bodies.get(work.body_key(post)) if post.key else None
        if body is None or any(work.targets.resolve(file) != outcome for file, outcome in body.followed):
            todo.append((i, None))
            continue
        yield body  # used again: the cache keeps it
        if body.feed_html is not None:
            feed_bodies[post] = body.feed_html
        context = post_context(site, i, body.page_html, related)
        inputs = inputs_digest(work.page_version, "post.html", context)
        if page := reused(memo, Urls.output_file(work.urls.post(post)), inputs):
            yield page
        else:
            todo.append((i, body))
    texts = memo.texts(sorted({body.page_html.key for _, body in todo if body is not None}))
    for i, body in todo:
        post = site.posts[i]
        if body is None:
            images, in_feed = site.config.images_dir, post in work.in_feeds
            body, problems = render_body(post, work.md, work.targets, images, in_feed, work.body_key(post))
            yield from problems
            if body.feed_html is not None:
                feed_bodies[post] = body.feed_html
            if not problems and post.key:  # a body with broken links is made again until fixed
                yield body
            html = body.page_html
        else:  # the memo's body, its HTML read from the cache
            html = Html(body.page_html.key, texts[body.page_html.key])
        context = post_context(site, i, html, related)
        job = (work.urls.post(post), "post.html", context)
        yield render_page(work, job, inputs_digest(work.page_version, "post.html", context))


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


def search_parts(site: Site) -> list[SearchPart]:
    """The search index's parts for this site's posts (the rule is Urls.search_parts)."""
    return Urls.search_parts(Counter(post.year for post in site.posts), site.config.search_part_posts)


def list_jobs(site: Site, urls: Urls, by_tag: dict[str, tuple[Post, ...]]) -> list[Job]:
    """The home pages, each tag's pages, the tags index, the archive and each year's page."""
    per_page = site.config.posts_per_page
    years = posts_by_year(site)
    span = (min(years), max(years)) if years else None  # the home page says what the archive holds
    jobs: list[Job] = [
        (pager.path, "list.html", {"pager": pager, "tag": None, "span": span})
        for pager in paginate(site.posts, per_page, urls.home)
    ]
    for slug, posts in by_tag.items():
        jobs += [
            (pager.path, "list.html", {"pager": pager, "tag": site.tags[slug]})
            for pager in paginate(posts, per_page, partial(urls.tag, slug))
        ]
    jobs.append((urls.tags_index(), "tags.html", {"counts": tag_counts(by_tag)}))
    # The archive page is given each year's count, not its posts: an edit to a post need not make it again
    counts = {year: len(posts) for year, posts in years.items()}
    jobs.append((urls.archive(), "archive.html", {"years": counts}))
    newest_first = tuple(years)  # each year's page links the years either side that have posts
    jobs += [
        (urls.archive(year), "archive_year.html", {"year": year, "posts": posts, "years": newest_first})
        for year, posts in years.items()
    ]
    return jobs


def tag_counts(by_tag: dict[str, tuple[Post, ...]]) -> dict[str, int]:
    return {slug: len(posts) for slug, posts in by_tag.items()}


def feed_updated(posts: tuple[Post, ...], site: Site) -> datetime:
    """A feed's last change: its newest post's, so that an unchanged archive gives the same
    bytes. An empty feed (a tag that no post has yet) takes the archive's last change, for the
    same reason. Only an archive without posts has nothing else to go by."""
    return max((last_change(p) for p in posts or site.posts), default=site.now)


def feed_jobs(
    site: Site, urls: Urls, feeds: dict[str | None, tuple[Post, ...]], bodies: dict[Post, Html]
) -> list[Job]:
    """The site's RSS and Atom feeds and each tag's RSS feed, with full-content bodies."""
    jobs: list[Job] = []
    for slug, posts in feeds.items():
        values = {
            "posts": posts,
            "bodies": {p: bodies[p] for p in posts},
            "updated": feed_updated(posts, site),
        }
        path = urls.RSS if slug is None else urls.tag_feed(slug)
        jobs.append(
            (path, "feeds/rss.xml", {**values, "tag": site.tags[slug] if slug else None, "self_path": path})
        )
        if slug is None:
            jobs.append((urls.ATOM, "feeds/atom.xml", values))
    return jobs


def small_jobs(site: Site, urls: Urls, listed: Iterable[str], counts: dict[str, int]) -> list[Job]:
    changed = {urls.post(p): modified(p) for p in site.posts}
    bundles = [urls.href(bundle) for bundle, _ in search_parts(site)]
    form = admin.form_settings(site.config)
    return [
        (urls.SITEMAP, "sitemap.xml", {"entries": [(path, changed.get(path)) for path in sorted(listed)]}),
        (urls.ROBOTS, "robots.txt", {}),
        (urls.FEED_STYLE, "feeds/feed.xsl", {}),
        (urls.NOT_FOUND, "404.html", {"posts": site.posts[:5]}),
        (urls.search(), "search.html", {"bundles": bundles}),
        (urls.subscribe(), "subscribe.html", {"counts": counts}),
        *((admin.FOLDER + name, "admin/" + name, form) for name in ("index.html", "config.yml", "cms.js")),
    ]


def copied_files(site: Site, urls: Urls, memo: Memo) -> Iterator[Page | Problem]:
    """Files copied as they are: the theme's (templates/static/), editors' images, the CMS,
    .nojekyll. Never a link to a file outside the project, nor a pipe or device (reading it
    could hang)."""
    config = site.config
    found = [(urls.NOJEKYLL, b"")]
    cms = admin.script_files(config)
    if isinstance(cms, Problem):
        yield cms
    else:
        found += [(admin.FOLDER + file.name, file.read_bytes()) for file in cms]
    for folder, prefix in ((config.templates_dir / "static", urls.STATIC), (config.images_dir, urls.IMAGES)):
        for file in sorted(folder.rglob("*")) if folder.is_dir() else []:
            shown = display_path(file)
            if file.is_symlink() and not file.resolve().is_relative_to(config.root.resolve()):
                yield Problem(
                    shown, None, "is a link to a file outside the project", "copy the file in instead"
                )
            elif not file.is_file() and not file.is_dir():
                yield Problem(shown, None, "is not a regular file", "remove it, or save it as a plain file")
            elif file.is_file() and not file.name.startswith("."):
                found.append((prefix + file.relative_to(folder).as_posix(), file.read_bytes()))
    for site_path, content in found:
        path, inputs = Urls.output_file(site_path), blake(content)
        yield reused(memo, path, inputs) or Page(path, content, inputs, inputs)


def alias_jobs(site: Site, urls: Urls, taken: set[PurePosixPath]) -> Iterator[Job | Problem]:
    """A redirect page for each old URL of a post: never over a page, a folder of pages, or
    the search index."""
    folders = {folder for path in taken for folder in path.parents}
    for post in site.posts:
        for alias in post.aliases:
            try:
                path = Urls.output_file(urls.alias(alias))
            except UnsafePath:
                yield Problem(post.path, None, f"aliases: {quoted(alias)} would be outside the site folder")
                continue
            clash = path in taken or path in folders or taken.intersection(path.parents)
            if clash or path.parts[0] + "/" == urls.SEARCH_BUNDLE:
                yield Problem(
                    post.path,
                    None,
                    f"aliases: {quoted(alias)} is already a page of the site",
                    "choose another old URL or remove it",
                )
                continue
            taken.add(path)
            yield (urls.alias(alias), "redirect.html", {"post": post})


def files_fingerprint(folder: Path) -> str:
    """Every file below a folder, by name and bytes."""
    h = hashlib.blake2b(digest_size=16)
    for f in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if f.is_file():
            h.update(f"{f.relative_to(folder).as_posix()}\0{f.stat().st_size}\0".encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def versions(site: Site) -> tuple[str, str]:
    """What every body depends on besides its post (the settings and images), and what every
    page does besides its values (that, the tag vocabulary and the templates)."""
    config = site.config
    body_version = digest(config.key, files_fingerprint(config.images_dir))
    return body_version, digest(
        body_version, repr(sorted(site.tags.items())), files_fingerprint(config.templates_dir)
    )


def render(
    site: Site, memo: Memo | None = None, shapes: tuple[str, str] | None = None
) -> Iterator[Page | Body | Problem]:
    """Every file of the site, the bodies used, and the problems found while rendering
    (broken links between posts, aliases that clash, template mistakes). Pages are only to
    be published if there are none. `shapes`: versions(site), if worked out already."""
    memo = memo or Memo()
    config = site.config
    urls = Urls(config.base_url)
    by_tag = posts_by_tag(site)
    n = config.feed_length
    feeds: dict[str | None, tuple[Post, ...]] = {
        None: site.posts[:n],
        **{s: p[:n] for s, p in by_tag.items()},
    }
    body_version, page_version = shapes or versions(site)
    work = Work(
        site,
        urls,
        make_environment(config, site.tags, urls),
        markdown.make_markdown(config.allow_html),
        LinkTargets.of(site, urls),
        frozenset(p for posts in feeds.values() for p in posts),
        body_version,
        page_version,
    )
    by_path = {p.path: p for p in site.posts}
    related = {path: tuple(by_path[r] for r in rs) for path, rs in related_posts(site.posts, by_tag).items()}
    feed_bodies: dict[Post, Html] = {}
    made: set[PurePosixPath] = set()  # the pages' files, which no alias may take

    def noting(items: Iterable[Page | Body | Problem]) -> Iterator[Page | Body | Problem]:
        for item in items:
            if isinstance(item, Page):
                made.add(item.path)
            yield item

    yield from noting(post_pages(work, memo, related, feed_bodies))
    # The feeds' bodies, with their texts: a few hundred at most
    texts = memo.texts(sorted(html.key for html in feed_bodies.values() if html.text is None))
    feed_bodies = {
        post: html if html.text is not None else Html(html.key, texts[html.key])
        for post, html in feed_bodies.items()
    }
    lists = list_jobs(site, urls, by_tag)
    listed = [urls.post(p) for p in site.posts] + [site_path for site_path, _, _ in lists]
    small = small_jobs(site, urls, listed, tag_counts(by_tag))
    yield from noting(pages(work, memo, lists + feed_jobs(site, urls, feeds, feed_bodies) + small))
    yield from noting(copied_files(site, urls, memo))
    aliases = list(alias_jobs(site, urls, made))
    yield from (item for item in aliases if isinstance(item, Problem))
    yield from pages(work, memo, [item for item in aliases if not isinstance(item, Problem)])
