"""The build, as a recipe: load -> validate -> render -> write, then the search index, then
the swap (`_build`). A build whose inputs (every file it reads, by name, size, times and
inode) are the last build's, whose site holds exactly what it wrote, has nothing to do."""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from .admin import script_files
from .cache import UNREADABLE, Cache, CacheDamaged, FileRecord, cache_file, code_version
from .config import Config
from .content import Post
from .digest import digest
from .load import load
from .problems import Problem, ProblemsFound
from .render import Body, Page, render, search_parts, versions
from .search import index_parts
from .urls import SearchPart, Urls
from .validate import Site, next_due, validate
from .write import Staging, files_below, intact, locked, recover, refuse_unsafe_out_dir

RACY_NS = 2_000_000_000  # a file changed this recently may change again within the same clock tick


@dataclass(frozen=True)
class BuildResult:
    posts: int
    files: int
    pages: int  # HTML pages
    feeds: int
    rewritten: int  # files written anew; the others are the last build's, untouched
    search: str  # "indexed", "reused" (no part of it changed) or "off"
    notes: tuple[str, ...] = field(default=())
    problems: tuple[Problem, ...] = ()  # with keep_going: what was left out, and why
    held_back: tuple[Post, ...] = ()  # drafts and scheduled posts, not on the site


@dataclass(frozen=True)
class Options:
    search: bool = True
    drafts: bool = False  # the dev server's --drafts and --future
    future: bool = False
    reindex: bool = True  # False: the search index's parts are carried over as they are (the dev server's)
    keep_going: bool = False  # publish what builds and return the problems (the dev server's first build)


def now_in(config: Config) -> datetime:
    return datetime.now(config.zone)


def check(config: Config, now: datetime | None = None) -> tuple[Site, int]:
    """Everything a build does but writing, from nothing: the site and how many files it
    would have, or ProblemsFound listing every problem."""
    site = validate(load(config), config, now or now_in(config))
    problems, files = list(site.problems), 0
    for item in render(site):  # one at a time: a site is not held in memory
        if isinstance(item, Problem):
            problems.append(item)
        files += isinstance(item, Page)
    if problems:
        raise ProblemsFound(problems)
    return site, files


def build(
    config: Config,
    now: datetime | None = None,
    options: Options = Options(),
    cache: Cache | None = None,
    fresh: bool = False,
) -> BuildResult:
    """Build the site into config.out_dir. With `cache` (the dev server's, in memory) it is
    used and kept; otherwise the output folder's cache in .cache/ is, unless `fresh`."""
    kept = [config.root / name for name in ("content", "templates", "sources", "docs", ".cache", ".git")]
    refuse_unsafe_out_dir(config.out_dir, config.root, kept)
    now = now or now_in(config)
    file = cache_file(config)
    # The lock goes with the cache: beside the cache file, or (a cache in memory) the output folder
    lock = file.with_suffix(".lock") if cache is None else config.out_dir.with_suffix(".lock")
    with locked(config.out_dir, lock):
        recover(config.out_dir)
        fingerprint = inputs_fingerprint(config, options)  # first: a change made meanwhile is seen next time
        own = cache is None
        cache = cache or Cache.open(file, fresh=fresh)
        try:
            if (done := up_to_date(config, cache, fingerprint, now)) is not None:
                return done
            try:
                result = _build(config, now, options, cache, fingerprint)
            except (CacheDamaged, *UNREADABLE) as error:  # damaged since it was opened: start afresh
                cache.forget()
                if own:
                    cache.close()
                    cache = Cache.set_aside(file, error)
                else:
                    cache.clear()
                result = _build(config, now, options, cache, fingerprint)
            return replace(result, notes=(cache.note,)) if cache.note else result
        finally:
            if own:
                cache.close()


def inputs_fingerprint(config: Config, options: Options) -> str | None:
    """Every file a build reads, by name, size, times and inode, with the settings and this
    code's version; None if one changed within a clock tick of now, when its signature does
    not vouch for its bytes (git's "racy" rule)."""
    recent = time.time_ns() - RACY_NS
    found = [config.key, code_version(), repr(options)]
    scripts = script_files(config)  # the CMS's, from node_modules: `npm ci` may bring another
    paths = [
        *walk(config.content_dir),
        *walk(config.templates_dir),
        *(scripts if isinstance(scripts, list) else []),
    ]
    for path in paths:
        stat = os.lstat(path)
        if stat.st_mtime_ns >= recent or stat.st_ctime_ns >= recent:
            return None
        found.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}")
    return digest(*found)


def walk(folder: Path) -> Iterator[Path]:
    """Every file below a folder, in a stable order."""
    for top, folders, names in os.walk(folder):
        folders.sort()
        yield from (Path(top, name) for name in sorted(names))


def on_disk(config: Config, recorded: dict[str, FileRecord]) -> dict[str, FileRecord]:
    """The records of the files still in the output folder as the last build wrote them."""
    return {path: recorded[path] for path in intact(config.out_dir, {p: r[2] for p, r in recorded.items()})}


def up_to_date(config: Config, cache: Cache, fingerprint: str | None, now: datetime) -> BuildResult | None:
    """The last build's result, if it read the same inputs, no held-back post is due since,
    and the site folder holds exactly what it wrote; otherwise None."""
    last = cache.last_build()
    if fingerprint is None or last is None or last[0] != fingerprint or (last[1] and now >= last[1]):
        return None
    recorded = {path: signature for path, (_, _, signature) in cache.files().items()}
    if files_below(config.out_dir) != recorded.keys() or intact(config.out_dir, recorded) != recorded.keys():
        return None
    posts, pages, feeds, search = last[2]
    return BuildResult(posts, len(recorded), pages, feeds, 0, "reused" if search else "off")


def _build(
    config: Config, now: datetime, options: Options, cache: Cache, fingerprint: str | None
) -> BuildResult:
    loaded = load(config, cache.parsed())
    site = validate(loaded, config, now, options.drafts, options.future)
    recorded = cache.files()
    kept = on_disk(config, recorded)
    problems = list(site.problems)
    made: dict[str, tuple[bytes, bytes]] = {}  # every page's inputs and content digests, by its file
    shapes = versions(site)  # read once: it reads every template and image
    with Staging(config.out_dir, {path: content for path, (_, content, _) in kept.items()}) as staging:
        for item in render(site, cache.memo(kept), shapes):
            if isinstance(item, Problem):
                problems.append(item)
            elif isinstance(item, Body):
                cache.add_body(item)
            elif not problems or options.keep_going:  # else nothing will be published: write no more
                staging.put(item)
                made[item.path.as_posix()] = (item.inputs, item.digest)
        if problems and not options.keep_going:
            cache.forget()
            raise ProblemsFound(problems)
        parts = search_parts(site) if options.search else []
        keys = part_keys(site, parts, shapes[1])
        indexed = index_search(config, staging, parts, keys, cache.parts(), recorded.keys(), options)
        written = staging.swap()
    pages = sum(1 for path in made if path.endswith(".html"))
    feeds = sum(1 for path in made if path.endswith(".xml") and path != Urls.SITEMAP)
    records: dict[str, FileRecord] = {
        path: (*made.get(path, (b"", b"")), sig) for path, sig in written.files.items()
    }
    due = next_due(site, options.drafts, options.future)
    last = (
        (fingerprint, due, (len(site.posts), pages, feeds, options.search))
        if site.posts and fingerprint and not problems
        else None
    )
    cache.save(loaded.parsed, records, last, keys)
    search = "off" if not options.search else "indexed" if indexed else "reused"
    counts = (len(site.posts), len(written.files), pages, feeds, written.rewritten, search)
    return BuildResult(*counts, problems=tuple(problems), held_back=site.held_back)


def part_keys(site: Site, parts: list[SearchPart], version: str) -> dict[str, str]:
    """What each part of the search index is made from: its posts' articles (all Pagefind
    reads of a page), so the posts themselves and what shapes every page (`version`)."""
    return {
        bundle: digest(version, bundle, *(f"{Urls.post(p)}:{p.key}" for p in site.posts if p.year in years))
        for bundle, years in parts
    }


def index_search(
    config: Config,
    staging: Staging,
    parts: list[SearchPart],
    keys: dict[str, str],
    last_keys: dict[str, str],
    recorded: Collection[str],
    options: Options,
) -> bool:
    """Each part of the search index: the last build's, if made from the same posts and its
    files are intact; otherwise Pagefind makes it in the staging folder. Whether it ran."""
    to_index = []
    for bundle, years in parts:
        files = [path for path in recorded if path.startswith(bundle)]
        if (
            (last_keys.get(bundle) == keys[bundle] or not options.reindex)
            and files
            and all(path in staging.old_files for path in files)
        ):
            for path in files:
                staging.keep(path)
        else:
            to_index.append((bundle, years))
    index_parts(staging.folder, config.language, to_index)
    for bundle, _ in to_index:
        staging.add_made_below(bundle)
    return bool(to_index)
