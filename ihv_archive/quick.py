"""The quick rebuild: after edits to what a post shows, that leave its place as it was.

That is the usual edit: to a post's text, and now and then its title or summary. The post
keeps its date, tags, address and everything else that places it (PLACING), so it keeps its
place in every list, feed and archive, its neighbours and related posts stay the same, and
so does every link to it. Every page is made from its template and the posts it shows
(render.py), which reads what a post shows (its title, summary, text) only as the page is
rendered: so a page that does not show the edited post is made from exactly what it was
made from last time, and is the same. The pages to render again are therefore known
from the build cache alone: those whose recipe (render.recipe) names the post. This renders
only those, from their recipes, reading from the cache only the posts they show, and writes
only the files whose bytes changed: it reads no other post file and renders no other page.
If the site has a search index, the part of it that holds a page written anew is indexed
again, from a folder of that part's pages (reindex), as the whole build would index it.

Anything else takes the whole build (pipeline._build), to which this gives way by returning
None before it has changed anything: a post added or removed, or changed in what places
it; a problem in the edited post; a draft or scheduled post edited; a site folder whose
files are not the ones the last build wrote; a cache that is not whole. The settings,
tags, templates, images and the search flag are pipeline.from_records's to check.

The site is changed in place, pages and search index together, all or nothing
(write.replace_files), and then the cache in one transaction, into the very records a
whole build would have left: the next build, quick or whole, cannot tell the difference.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import closing, nullcontext
from dataclasses import fields, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .cache import Manifest, PageRecord, Records, compiled_templates_folder
from .config import Config
from .content import Post, Tag
from .load import ParseCache, load_post, load_tags, vocabulary_key
from .problems import Problem, display_path
from .render import (
    Body,
    Followed,
    Fragment,
    FragmentLost,
    LinkTargets,
    Memo,
    Page,
    Templates,
    from_recipe,
    image_sizes,
    lazy,
    make_environment,
    posts_named,
    render_body,
)
from .search import part_files, run_pagefind, same_as_before
from .urls import Urls
from .validate import is_published
from .write import files_intact, holds_only, link_file, replace_files, write_file

if TYPE_CHECKING:
    from . import markdown
else:
    markdown = lazy("ihv_archive.markdown")  # as render.py: loaded when first used

# What of a post is only shown, by the templates, as they render a page given the post: the
# build derives nothing else from it (no order, address, grouping, count or date), so an edit
# to it changes only the pages whose recipes name the post. The line its text starts on is
# only for messages, and the importer's fields are shown nowhere. The key is of the bytes.
SHOWN_ONLY = ("title", "summary", "body", "body_line", "sources", "date_basis", "imported_hash", "key")
# The rest places the post: which pages show it, where, and what they derive from it
# (the sitemap's and feeds' dates come from `date` and `updated`).
PLACING = tuple(f.name for f in fields(Post) if f.name not in SHOWN_ONLY)


def placing(post: Post) -> tuple[Any, ...]:
    return tuple(getattr(post, name) for name in PLACING)


class GiveWay(Exception):
    """The edits are not for the quick rebuild: the whole build is to run."""


class StoredPosts(Mapping[PurePosixPath, Post]):
    """Every post, by its file below content/posts, read from the cache when asked (a body
    asks only for the posts it links to); the edited posts as they are now."""

    def __init__(self, records: Records, edited: dict[str, Post]) -> None:
        self.records, self.edited = records, edited

    def find(self, rel: str) -> Post | None:
        if rel in self.edited:
            return self.edited[rel]
        entry = self.records.entry(rel)
        return entry.result if entry is not None and isinstance(entry.result, Post) else None

    def post(self, rel: str) -> Post:
        """A post that a page shows: the cache must have it."""
        if (post := self.find(rel)) is None:
            raise GiveWay
        return post

    def __getitem__(self, file: PurePosixPath) -> Post:
        if (post := self.find(file.as_posix())) is None:
            raise KeyError(file)  # a link to a post that is not there: a problem to report
        return post

    def __iter__(self) -> Iterator[PurePosixPath]:  # not needed to resolve a link
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class PublishedAt:
    """The posts a build at `now` publishes (validate.is_published), as a container."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __contains__(self, post: object) -> bool:
        return isinstance(post, Post) and is_published(post, self.now)


def quick_build(
    config: Config, now: datetime, manifest: Manifest, changed: set[str]
) -> tuple[int, int, bool] | None:
    """The build after these post files changed (by their paths below content/posts), if it
    can be made from the records: the number of files it wrote, of files the site has, and
    whether it indexed a part of the search index again. Otherwise None, with nothing
    changed."""
    if not files_intact(config.out_dir, manifest.files):
        return None  # the pages it would keep must be the very files the last build wrote
    records = Records.open(config)
    if records is None:
        return None
    with closing(records):
        try:
            return _quick_build(config, now, manifest, changed, records)
        except (GiveWay, FragmentLost):
            return None


def _quick_build(
    config: Config, now: datetime, manifest: Manifest, changed: set[str], records: Records
) -> tuple[int, int, bool]:
    tags = load_tags(config)
    if isinstance(tags, list):
        raise GiveWay
    parse_cache, edited = edited_posts(config, now, tags, changed, records)
    files = {rel: parse_cache.entries[rel] for rel in changed}
    manifest = replace(
        manifest,
        posts={**manifest.posts, **{rel: entry.signature for rel, entry in files.items()}},
        racy=(manifest.racy - changed) | {rel for rel, entry in files.items() if not entry.trusted},
    )
    if not edited:  # the same bytes after all (read again: their signatures could not vouch)
        if not holds_only(config.out_dir, manifest.files.keys(), manifest.folders):
            raise GiveWay  # but a file was added to the site by hand (as from_records checks)
        records.save(files, {}, [], set(), {}, manifest)
        return 0, len(manifest.files), False

    urls = Urls(config.base_url)
    posts = StoredPosts(records, {rel: new for rel, (_, new) in edited.items()})
    bodies, instead = new_bodies(config, now, urls, edited, posts, records)
    shown = records.pages_naming(set(edited))
    templates, pages = pages_again(config, tags, urls, shown, posts, instead, records)

    # The site, then the cache (a build killed between them finds the site's files changed,
    # and takes the whole build).
    contents = {page.path.as_posix(): page.content for page in pages if page.content is not None}
    out = config.out_dir
    # Where a part of the search index is made again: beside the site, on the same disk.
    indexing = (
        tempfile.TemporaryDirectory(prefix=f".{out.name}.new-index-", dir=out.parent)
        if manifest.search
        else nullcontext(None)
    )
    with indexing as folder:
        moved, removed = reindex(config, manifest, contents, Path(folder)) if folder else ({}, set())
        written = replace_files(out, contents, moved, removed)
    now_shown = {
        site_path: PageRecord(
            record.path,
            templates.made[site_path][0],
            templates.contents[site_path],
            written.get(record.path, record.signature),
            templates.recipes[site_path],
        )
        for site_path, record in shown.items()
    }
    gone = [(old.key, in_feed) for old, _ in edited.values() for in_feed in (False, True)]
    fragments_gone = set(instead) - {f.key for f in instead.values()}
    search_files = None
    if moved or removed:
        kept = {name: found for name, found in records.search_files().items() if name not in removed}
        search_files = {**kept, **{name: written[name] for name in moved}}
    folders = manifest.folders.touched(out, [*written, *removed]) if manifest.folders else None
    site_files = {name: found for name, found in manifest.files.items() if name not in removed}
    manifest = replace(manifest, files={**site_files, **written}, folders=folders)
    records.save(files, bodies, gone, fragments_gone, now_shown, manifest, search_files)
    return len(written), len(manifest.files), bool(moved)


def reindex(
    config: Config, manifest: Manifest, contents: dict[str, bytes], folder: Path
) -> tuple[dict[str, str], set[str]]:
    """The parts of the search index whose years have a post page written anew, indexed again
    (Pagefind indexes a part whole) from a folder of those years' post pages: the site's, linked,
    and the new ones. Returns the new index files whose bytes are not already the site's (by
    their path in the site: where they are now) and the old files of those parts that are
    not made again (to be removed)."""
    years = {year for name in contents if (year := Urls.year_of_post_page(name)) is not None}
    parts = [(bundle, part_years) for bundle, part_years in manifest.parts if years.intersection(part_years)]
    their_years = {year for _, part_years in parts for year in part_years}
    for name in manifest.files:
        if Urls.year_of_post_page(name) in their_years:
            if name in contents:
                write_file(str(folder), name, contents[name])
            else:
                link_file(str(folder), name, f"{config.out_dir}/{name}")
    run_pagefind(folder, config.language, parts, os.cpu_count() or 1)
    moved: dict[str, str] = {}
    removed: set[str] = set()
    for bundle, _ in parts:
        made = part_files(folder, bundle)
        same = same_as_before(folder, made, config.out_dir)
        moved.update({name: f"{folder}/{name}" for name in made if name not in same})
        folder_of_part = bundle.rstrip("/") + "/"
        removed |= {name for name in manifest.files if name.startswith(folder_of_part)} - made.keys()
    return moved, removed


def pages_again(
    config: Config,
    tags: dict[str, Tag],
    urls: Urls,
    shown: dict[str, PageRecord],
    posts: StoredPosts,
    instead: dict[str, Fragment],
    records: Records,
) -> tuple[Templates, list[Page]]:
    """The pages that show the edited posts, rendered again from their recipes, with the new
    fragments instead of the old; those whose bytes did not change come back without them.
    The Templates hold each page's new digests and recipe."""
    recipes = {site_path: record.recipe for site_path, record in shown.items() if record.recipe is not None}
    if len(recipes) != len(shown):
        raise GiveWay
    # Every post these pages show, read from the cache at once (a year's archive shows hundreds)
    records.read_entries(
        {rel for recipe in recipes.values() for rel in posts_named(recipe)} - posts.edited.keys()
    )

    def fragment(key: str) -> Fragment:
        return instead.get(key) or Fragment(key, fetch=records.fragment)

    jobs = [(site_path, *from_recipe(recipe, posts.post, fragment)) for site_path, recipe in recipes.items()]
    env = make_environment(config, tags, urls, compiled_templates_folder(config.root))
    memo = Memo(
        keep_recipes=True,
        env=env,
        pages={site_path: (r.inputs, Page(PurePosixPath(r.path), None)) for site_path, r in shown.items()},
        contents={site_path: r.content for site_path, r in shown.items()},
    )
    problems: list[Problem] = []
    templates = Templates(env, config.templates_dir, problems, memo)
    pages = [page for page in templates.many(jobs) if page is not None]
    if problems or len(pages) != len(jobs):
        raise GiveWay
    return templates, pages


def edited_posts(
    config: Config, now: datetime, tags: dict[str, Tag], changed: set[str], records: Records
) -> tuple[ParseCache, dict[str, tuple[Post, Post]]]:
    """The changed post files parsed again (a parse cache holding them), and those whose bytes
    did change: each as it was and as it is, in the same place."""
    records.read_entries(changed)  # at once: after a build of files just saved, that is all of them
    before = {rel: records.entry(rel) for rel in sorted(changed)}
    parse_cache = ParseCache({rel: entry for rel, entry in before.items() if entry is not None})
    shown_dir, tags_key = display_path(config.posts_dir), vocabulary_key(tags)
    edited: dict[str, tuple[Post, Post]] = {}
    for rel, entry in before.items():
        post = load_post(rel, str(config.posts_dir / rel), config, tags, parse_cache, shown_dir, tags_key)
        if entry is None or not isinstance(entry.result, Post) or not isinstance(post, Post):
            raise GiveWay
        if post is entry.result:
            continue  # the same bytes: the parse cache gave back what it had
        if placing(post) != placing(entry.result) or not is_published(entry.result, now):
            raise GiveWay
        edited[rel] = (entry.result, post)
    return parse_cache, edited


def new_bodies(
    config: Config,
    now: datetime,
    urls: Urls,
    edited: dict[str, tuple[Post, Post]],
    posts: StoredPosts,
    records: Records,
) -> tuple[dict[tuple[str, bool], tuple[Followed, Body]], dict[str, Fragment]]:
    """The edited posts' bodies rendered again (by post key and whether made for feeds too),
    and for each fragment of their old bodies, the new fragment that takes its place."""
    targets = LinkTargets(urls, posts, PublishedAt(now), frozenset())
    md = markdown.make_markdown(config.allow_html)
    sizes = image_sizes(config.images_dir, urls)
    bodies: dict[tuple[str, bool], tuple[Followed, Body]] = {}
    instead: dict[str, Fragment] = {}
    for old, new in edited.values():
        found = records.bodies_of(old.key)
        if len(found) != 1:
            raise GiveWay
        in_feed, page_key, feed_key = found[0]
        if records.bodies_showing([page_key, *([feed_key] if feed_key else [])]) != 1:
            raise GiveWay  # another post's body is the same HTML: pages showing it name that post
        body, problems, followed = render_body(new, targets, md, in_feed, sizes(new))
        if problems:
            raise GiveWay  # the whole build reports them, with any others
        bodies[(new.key, in_feed)] = (followed, body)
        instead[page_key] = body.page_html
        if feed_key and body.feed_html is not None:
            instead[feed_key] = body.feed_html
    return bodies, instead
