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

The dev server makes its rebuilds the same way (made_again), from the records it keeps in
memory (InMemory) rather than the cache on disk, and writes them into its preview.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, nullcontext
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from .cache import Manifest, PageRecord, Records, ShownPage, compiled_templates_folder
from .config import Config
from .content import Post, Tag
from .load import ParseCache, ParsedFile, load_post, load_tags, vocabulary_key
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
from .search import index_parts, part_files, same_as_before
from .urls import Urls
from .validate import is_published
from .write import link_file, replace_files, write_file

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


class RecordsRead(Protocol):
    """What the quick rebuild reads of the last build: from the build cache on disk
    (cache.Records), or from what the dev server keeps in memory (InMemory)."""

    def entry(self, rel: str) -> ParsedFile | None:
        """What was parsed from a post file (by its path below content/posts)."""
        ...

    def read_entries(self, rels: Iterable[str]) -> None:
        """Have these posts' entries at hand (a hint: many are about to be asked for)."""
        ...

    def bodies_of(self, post_key: str) -> list[tuple[bool, str, str | None]]:
        """A post's bodies: whether each was made for feeds too, and its fragments' keys."""
        ...

    def bodies_showing(self, keys: list[str]) -> int:
        """How many bodies show any of these fragments."""
        ...

    def fragment(self, key: str) -> str:
        """A fragment's text."""
        ...

    def pages_naming(self, rels: set[str]) -> Mapping[str, ShownPage]:
        """The pages whose recipe names any of these posts, by site path."""
        ...


class StoredPosts(Mapping[PurePosixPath, Post]):
    """Every post, by its file below content/posts, read from the records when asked (a body
    asks only for the posts it links to); the edited posts as they are now."""

    def __init__(self, records: RecordsRead, edited: dict[str, Post]) -> None:
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
    """The posts a build at `now` publishes (validate.is_published), as a container; the
    dev server's may show drafts and scheduled posts too."""

    def __init__(self, now: datetime, drafts: bool = False, future: bool = False) -> None:
        self.now, self.drafts, self.future = now, drafts, future

    def __contains__(self, post: object) -> bool:
        return isinstance(post, Post) and is_published(post, self.now, self.drafts, self.future)


@dataclass
class Edit:
    """What the quick rebuild makes of edits to post files, before anything is written: the
    changed files parsed again, the posts whose bytes did change (each as it was and as it
    is), their new bodies (by post key and whether made for feeds too), the fragment that
    takes the place of each old one, and the pages that showed them made again (by site
    path: its new digests and Page, which holds bytes only if they changed; its recipe)."""

    files: dict[str, ParsedFile]
    edited: dict[str, tuple[Post, Post]]
    bodies: dict[tuple[str, bool], tuple[Followed, Body]] = field(default_factory=dict)
    instead: dict[str, Fragment] = field(default_factory=dict)
    made: dict[str, tuple[bytes, Page]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    recipes: dict[str, bytes] = field(default_factory=dict)

    @property
    def new_files(self) -> dict[str, bytes]:
        """The pages' files whose bytes changed, by their paths below the site folder."""
        return {
            page.path.as_posix(): page.content for _, page in self.made.values() if page.content is not None
        }


def made_again(config: Config, published: PublishedAt, changed: set[str], records: RecordsRead) -> Edit:
    """The quick rebuild's work on these post files (by their paths below content/posts),
    from the records; GiveWay (or FragmentLost) if it cannot be made from them."""
    tags = load_tags(config)
    if isinstance(tags, list):
        raise GiveWay
    parse_cache, edited = edited_posts(config, published, tags, changed, records)
    files = {rel: parse_cache.entries[rel] for rel in changed}
    if not edited:  # the same bytes after all (read again: their signatures could not vouch)
        return Edit(files, edited)
    urls = Urls(config.base_url)
    posts = StoredPosts(records, {rel: new for rel, (_, new) in edited.items()})
    bodies, instead = new_bodies(config, published, urls, edited, posts, records)
    shown = records.pages_naming(set(edited))
    templates = pages_again(config, tags, urls, shown, posts, instead, records)
    return Edit(files, edited, bodies, instead, templates.made, templates.contents, templates.recipes)


class InMemory:
    """The dev server's records: its parse cache and render memo, which it keeps in memory
    between rebuilds. Its memo keeps every page's bytes (but for the pages whose files the
    last start left in the preview: serve.Rebuilder.publish) and, for this, every page's recipe
    (Memo.keep_recipes, from its first render on, and read from the cache for those pages:
    files copied as they are have none, and show no post)."""

    def __init__(self, memo: Memo, parse_cache: ParseCache) -> None:
        self.memo, self.parse_cache = memo, parse_cache
        self._fragments: dict[str, Fragment] | None = None

    def entry(self, rel: str) -> ParsedFile | None:
        return self.parse_cache.entries.get(rel)

    def read_entries(self, rels: Iterable[str]) -> None:
        pass  # at hand already

    def bodies_of(self, post_key: str) -> list[tuple[bool, str, str | None]]:
        return [
            (in_feed, body.page_html.key, body.feed_html.key if body.feed_html else None)
            for (key, in_feed), (_, body) in self.memo.bodies.items()
            if key == post_key
        ]

    def bodies_showing(self, keys: list[str]) -> int:
        wanted = set(keys)
        return sum(
            1
            for _, body in self.memo.bodies.values()
            if body.page_html.key in wanted or (body.feed_html is not None and body.feed_html.key in wanted)
        )

    def fragment(self, key: str) -> str:
        if self._fragments is None:
            self._fragments = {
                fragment.key: fragment
                for _, body in self.memo.bodies.values()
                for fragment in (body.page_html, body.feed_html)
                if fragment is not None
            }
        if (found := self._fragments.get(key)) is None:
            raise FragmentLost(f"no body shows fragment {key}")
        return found.text

    def pages_naming(self, rels: set[str]) -> dict[str, ShownPage]:
        names = [rel.encode("utf-8") for rel in rels]  # as Records looks for them
        return {
            site_path: ShownPage(page.path.as_posix(), inputs, self.memo.contents[site_path], recipe)
            for site_path, (inputs, page) in self.memo.pages.items()
            if (recipe := self.memo.recipes.get(site_path)) is not None and any(n in recipe for n in names)
        }

    def save(self, edit: Edit) -> None:
        """Keep what the quick rebuild made, as a render that made the same pages would."""
        memo = self.memo
        self.parse_cache.entries.update(edit.files)
        for old, _ in edit.edited.values():
            for in_feed in (False, True):
                memo.bodies.pop((old.key, in_feed), None)
        memo.bodies.update(edit.bodies)
        for site_path, (inputs, page) in edit.made.items():
            if page.content is None:  # the same bytes: the memo's Page holds them (or its file does)
                page = memo.pages[site_path][1]
            memo.pages[site_path] = (inputs, page)
            memo.contents[site_path] = edit.contents[site_path]
            memo.recipes[site_path] = edit.recipes[site_path]
        memo.rendered, memo.reused = len(edit.made), len(memo.pages) - len(edit.made)
        self._fragments = None


def quick_build(
    config: Config, now: datetime, manifest: Manifest, changed: set[str], site_as_left: Callable[[], bool]
) -> tuple[int, int, bool] | None:
    """The build after these post files changed (by their paths below content/posts), if it
    can be made from the records: the number of files it wrote, of files the site has, and
    whether it indexed a part of the search index again. Otherwise None, with nothing
    changed. site_as_left() says whether the site folder holds exactly the files the last
    build wrote (write.holds_exactly), which the pages it keeps must be: asked before
    anything is written."""
    records = Records.open(config)
    if records is None:
        return None
    with closing(records):
        try:
            return _quick_build(config, now, manifest, changed, records, site_as_left)
        except (GiveWay, FragmentLost):
            return None


def _quick_build(
    config: Config,
    now: datetime,
    manifest: Manifest,
    changed: set[str],
    records: Records,
    site_as_left: Callable[[], bool],
) -> tuple[int, int, bool]:
    edit = made_again(config, PublishedAt(now), changed, records)
    if not site_as_left():
        raise GiveWay  # a page's file changed, or a file was added or removed, by hand
    files = edit.files
    manifest = replace(
        manifest,
        posts={**manifest.posts, **{rel: entry.signature for rel, entry in files.items()}},
        racy=(manifest.racy - changed) | {rel for rel, entry in files.items() if not entry.trusted},
    )
    if not edit.edited:
        records.save(files, {}, [], set(), {}, manifest)
        return 0, len(manifest.files), False

    # The site, then the cache (a build killed between them finds the site's files changed,
    # and takes the whole build).
    contents = edit.new_files
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
    folders = manifest.folders.touched(out, [*written, *removed]) if manifest.folders else None
    site_files = {name: found for name, found in manifest.files.items() if name not in removed}
    manifest = replace(manifest, files={**site_files, **written}, folders=folders)
    now_shown = {  # each page's file as written now, or as site_as_left found it
        site_path: PageRecord(
            page.path.as_posix(),
            inputs,
            edit.contents[site_path],
            edit.recipes[site_path],
            manifest.files[page.path.as_posix()],
        )
        for site_path, (inputs, page) in edit.made.items()
    }
    gone = [(old.key, in_feed) for old, _ in edit.edited.values() for in_feed in (False, True)]
    fragments_gone = set(edit.instead) - {f.key for f in edit.instead.values()}
    search_files = None
    if moved or removed:
        kept = {name: found for name, found in records.search_files().items() if name not in removed}
        search_files = {**kept, **{name: written[name] for name in moved}}
    records.save(files, edit.bodies, gone, fragments_gone, now_shown, manifest, search_files)
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
    kept = index_parts(folder, config.language, parts, os.cpu_count() or 1, config.out_dir, manifest.files)
    moved: dict[str, str] = {}
    removed: set[str] = set()
    for bundle, _ in parts:
        made = part_files(folder, bundle)
        same = kept | same_as_before(folder, made.keys() - kept, config.out_dir)
        moved.update({name: f"{folder}/{name}" for name in made if name not in same})
        folder_of_part = bundle.rstrip("/") + "/"
        removed |= {name for name in manifest.files if name.startswith(folder_of_part)} - made.keys()
    return moved, removed


def pages_again(
    config: Config,
    tags: dict[str, Tag],
    urls: Urls,
    shown: Mapping[str, ShownPage],
    posts: StoredPosts,
    instead: dict[str, Fragment],
    records: RecordsRead,
) -> Templates:
    """The pages that show the edited posts, rendered again from their recipes, with the new
    fragments instead of the old: the Templates hold each page's new digests, its Page (with
    its bytes only if they changed) and its recipe."""
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
    return templates


def edited_posts(
    config: Config, published: PublishedAt, tags: dict[str, Tag], changed: set[str], records: RecordsRead
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
        if placing(post) != placing(entry.result) or entry.result not in published:
            raise GiveWay
        edited[rel] = (entry.result, post)
    return parse_cache, edited


def new_bodies(
    config: Config,
    published: PublishedAt,
    urls: Urls,
    edited: dict[str, tuple[Post, Post]],
    posts: StoredPosts,
    records: RecordsRead,
) -> tuple[dict[tuple[str, bool], tuple[Followed, Body]], dict[str, Fragment]]:
    """The edited posts' bodies rendered again (by post key and whether made for feeds too),
    and for each fragment of their old bodies, the new fragment that takes its place."""
    targets = LinkTargets(urls, posts, published, frozenset())
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
