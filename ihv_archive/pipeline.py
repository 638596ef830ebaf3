"""The build, as a recipe: write(render(validate(load(config)))).

With the build cache (cache.py), load and render get last build's parse cache and render
memo, so only what changed is parsed and rendered again, and the writer keeps the files
whose pages did not change. Before any of that, from_records asks whether the last build's
records are enough: if nothing it read or wrote has changed, there is nothing to do; if
only what some posts show changed (their text, title or summary), the quick rebuild
(quick.py) renders only the pages that show them, from the records, and reads nothing else.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path

from .cache import BuildCache, Manifest, clear, mark_used, read_manifest
from .children import Progress, meanwhile
from .config import Config
from .digest import digest
from .load import ParseCache, changed_posts, load
from .problems import ProblemsFound
from .quick import quick_build
from .render import FragmentLost, Page, files_fingerprint, render, search_parts
from .search import index_search
from .urls import Urls
from .validate import Site, next_due, validate
from .write import (
    WRONG_SHAPE,
    Listing,
    Signature,
    Staging,
    files_below,
    files_intact,
    holds_exactly,
    recover,
    refuse_unsafe_out_dir,
)


@dataclass(frozen=True)
class BuildResult:
    posts: int
    files: int
    pages: int  # HTML pages
    feeds: int
    rewritten: int  # files written anew; the others are the last build's, untouched
    search: str  # "indexed", "reused" (no page changed) or "off"
    notes: tuple[str, ...] = field(default=())


def now_in(config: Config) -> datetime:
    return datetime.now(config.zone)


def check(
    config: Config, now: datetime | None = None, *, workers: int = 1, progress: Progress | None = None
) -> tuple[Site, list[Page]]:
    """Everything a build does except writing: raises ProblemsFound listing every problem.
    It reads the last build's cache, so that only what changed since is parsed and rendered
    (a memo finds the same problems: it keeps no body or page that had one), and writes
    nothing, not even the cache."""
    now = now or now_in(config)
    cache = BuildCache.open(config, read_only=True)
    try:
        site = validate(load(config, cache.parse_cache, workers), config, now)
        try:
            pages, problems = render(site, cache.memo, workers, progress)
        except FragmentLost:  # a damaged cache: check everything, posts read again included
            site = validate(load(config, ParseCache(), workers), config, now)
            pages, problems = render(site, None, workers, progress)
    finally:
        cache.close()
    if site.problems or problems:
        raise ProblemsFound([*site.problems, *problems])
    return site, pages


def build(
    config: Config,
    now: datetime | None = None,
    *,
    use_cache: bool = True,
    search: bool = True,
    workers: int | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    refuse_unsafe_out_dir(config.out_dir, [config.root, config.content_dir, config.templates_dir])
    now = now or now_in(config)
    workers = workers or os.cpu_count() or 1
    # Taken before anything else is read: a change made meanwhile is seen by the next build.
    inputs = inputs_fingerprint(config)
    live = read_manifest(config) if use_cache else None  # the site as the last build left it
    if not use_cache:
        clear(config.root)
    elif (result := from_records(config, now, search, inputs, live)) is not None:
        return result
    cache = BuildCache.open(config)
    try:
        return _build(config, now, inputs, cache, search, workers, progress, live)
    except FragmentLost as lost:  # the cache was damaged after it was opened: start again without it
        cache.close()
        clear(config.root)
        note = f"{lost}; built again from scratch"
    except WRONG_SHAPE:  # the spare had a folder where a file goes, or the reverse: it is gone now
        note = ""
    finally:
        cache.close()
    cache = BuildCache.open(config)
    try:
        result = _build(config, now, inputs, cache, search, workers, progress, live)
    finally:
        cache.close()
    return replace(result, notes=(note,)) if note else result


def inputs_fingerprint(config: Config) -> str:
    """Everything a build reads besides the post files and the time: the settings, the tag
    vocabulary, and every file of the templates and the images, by its bytes."""
    try:
        vocabulary = config.tags_file.read_bytes()
    except OSError:
        vocabulary = b""
    return digest(
        config.key,
        vocabulary,
        files_fingerprint(config.templates_dir, contents=True),
        files_fingerprint(config.images_dir, contents=True),
    )


def from_records(
    config: Config, now: datetime, search: bool, inputs: str, manifest: Manifest | None
) -> BuildResult | None:
    """A build made from the last build's records (its manifest and cache) alone, when they
    are enough; otherwise None, and the whole build runs. They are enough when nothing but
    the post files may have changed since: the same settings, tag vocabulary, templates and
    images (`inputs`, inputs_fingerprint(config) taken now), no scheduled post due, the same
    post files, and a site folder that holds exactly the files the last build wrote. Then, if
    none of the posts changed either, the site is up to date; if some did, the quick rebuild
    tries. `manifest` is the last build's (cache.read_manifest)."""
    if (
        manifest is None
        or manifest.search != search
        or (manifest.held_back_until is not None and now >= manifest.held_back_until)
        or manifest.inputs != inputs
    ):
        return None
    recover(config.out_dir)  # what a killed build may have left: the site as it was, if it can
    # Whether the site holds exactly the files the last build wrote is found by a child
    # meanwhile: 13,500 files at 10,000 posts, a sixth of a build after an edit, before.
    checked_from = time.time_ns()  # the check begins no earlier (Folders.settled, below)
    with meanwhile(partial(holds_exactly, config.out_dir, manifest.files, manifest.folders)) as site_as_left:
        if (changed := changed_posts(config.posts_dir, manifest.posts)) is None:
            return None
        if not changed and not manifest.racy:
            if not site_as_left():
                return None
            mark_used(config)
            return recorded_result(manifest, 0, len(manifest.files))
        # What the quick rebuild records if the check finds the site as left: the racy
        # folders it listed, once settled, need not be listed again (after a whole build, a
        # few thousand). A build that finds the site up to date writes nothing: it leaves
        # them to this.
        if manifest.folders is not None:
            manifest = replace(manifest, folders=manifest.folders.settled(checked_from))
        if (quick := quick_build(config, now, manifest, changed | manifest.racy, site_as_left)) is None:
            return None
    written, files, indexed = quick
    return recorded_result(manifest, written, files, indexed)


def recorded_result(manifest: Manifest, written: int, files: int, indexed: bool = False) -> BuildResult:
    """The result of a build made from the records: the last build's pages (a quick rebuild
    changes no page's path), with the files written now and the site's count of files."""
    posts, pages, feeds = manifest.counts
    search = "indexed" if indexed else "reused" if manifest.search else "off"
    return BuildResult(posts, files, pages, feeds, written, search)


def _manifest(
    inputs: str, site: Site, cache: BuildCache, search: bool, counts: tuple[int, int, int]
) -> Manifest | None:
    """What from_records will check before the next build."""
    if not site.posts:  # an empty archive's feeds are dated by the build's time
        return None
    signatures, racy = cache.parse_cache.signatures()
    parts = tuple(search_parts(site)) if search else ()
    return Manifest(search, inputs, signatures, next_due(site), counts, racy=racy, parts=parts)


def _build(
    config: Config,
    now: datetime,
    inputs: str,
    cache: BuildCache,
    search: bool,
    workers: int,
    progress: Progress | None,
    live: Manifest | None,
) -> BuildResult:
    before = {page.path for _, page in cache.memo.pages.values()}
    cache.memo.keep_recipes = True  # for the quick rebuild of the next build (quick.py)
    site = validate(load(config, cache.parse_cache, workers), config, now)
    # Pages are written into the new site as they are rendered, and bodies handed to the
    # cache, so that a build holds neither in memory. If there are problems, the new site
    # is given up (the live one stays as it was).
    with Staging(config.out_dir, cache.spare, cache.spare_holds) as staging:
        pages, problems = render(site, cache.memo, workers, progress, sink=staging, spill=cache.spill)
        if site.problems or problems:
            raise ProblemsFound([*site.problems, *problems])
        html = [page for page in pages if page.path.suffix == ".html"]
        feeds = sum(
            1 for page in pages if page.path.suffix == ".xml" and page.path.as_posix() != Urls.SITEMAP
        )
        result = BuildResult(
            len(site.posts), len(pages), len(html), feeds, 0, "off", (cache.note,) if cache.note else ()
        )
        manifest = _manifest(inputs, site, cache, search, (len(site.posts), len(html), feeds))
        if not staging.signatures and {p.path for p in pages} == before:
            # Nothing to write, if the output folder holds exactly the last build's files (and
            # the search index: it is made from the pages alone).
            index = cache.search_files if search else {}
            expected = {page.path.as_posix() for page in pages} | set(index)
            has_index = bool(index) or not search  # the last build may have been --no-search
            if has_index and files_intact(config.out_dir, index) and files_below(config.out_dir) == expected:
                staging.abandon()  # the spare, as it was
                cache.save({}, index, manifest)
                return replace(result, files=len(expected), search="reused" if search else "off")

        # Only the parts of the search index whose years had a post page made anew, added or
        # removed are indexed again; the others are carried over.
        parts = search_parts(site)
        html_before = {path for path in before if path.suffix == ".html"}
        changed = {p.path for p in html if p.path in staging.signatures} | (
            {p.path for p in html} ^ html_before
        )
        changed_years = {Urls.year_of_post_page(path.as_posix()) for path in changed}
        unchanged_years = frozenset(year for _, years in parts for year in years if year not in changed_years)
        search_files: dict[str, Signature] = {}
        fresh = 0

        def finish(folder: Path) -> None:
            nonlocal search_files, fresh
            if search:
                search_files, fresh = index_search(
                    folder,
                    config.language,
                    parts,
                    config.out_dir,
                    cache.search_files,
                    unchanged_years,
                    at_once=workers,
                )

        written = staging.complete(pages, finish)
    # The site it replaced is the spare now (if it could be kept), as its manifest describes it
    cache.spare_holds = Listing.moved(live.files, live.folders) if live and live.folders else None
    cache.save(written.signatures, search_files, manifest)
    how = "off" if not search else "indexed" if fresh else "reused"
    return replace(
        result, files=written.files + len(search_files), rewritten=written.rewritten + fresh, search=how
    )
