"""The build cache: the parse cache and the render memo, kept on disk between builds.

`build` is the dev server's incremental rebuild with its memory written down: the same
ParseCache and Memo (load.py, render.py), saved to `.cache/` after a build and read back
before the next. Nothing here decides what is reused; it only makes sure that what is read
back is what was saved, for this version of the code and these settings:

- one SQLite file for each kind of build (address, output folder, drafts), so that `build`
  and `build --base-url` do not evict each other; SQLite makes every save all-or-nothing;
- everything is dropped when the code, a library it renders with or Python changes;
- a post is reused only under its key (its bytes, path below content/posts, vocabulary and
  time zone); its body is kept apart and read, under that key too, only if the build
  renders it;
- an HTML fragment is checked against its digest when it is read;
- a page is reused only while its file in the output folder is the very file the last
  build wrote (same size, time and inode); otherwise it is rendered again;
- a cache that cannot be read (damaged, another format, a disk error) is set aside, and the
  build goes on as a cold one.

Beside them: the manifest of a successful build, which the next build checks before it
reads anything else (pipeline.from_records), and Jinja's compiled templates, in a folder of
their own for each version of the code. The quick rebuild (quick.py) reads and changes the
same tables a row at a time (Records), instead of reading them whole.
"""

from __future__ import annotations

import operator
import os
import pickle
import re
import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterable
from contextlib import closing, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache, partial
from itertools import chain
from pathlib import Path, PurePosixPath
from typing import Any, cast

from .config import Config
from .content import Post, body_apart, body_given
from .digest import digest
from .load import ParseCache, ParsedFile
from .load import Signature as PostSignature
from .render import Body, Fragment, FragmentLost, Memo, Page
from .urls import SearchPart
from .write import Folders, Listing, Signature, signature_if_present

FORMAT = "4"
LIBRARIES = (
    "jinja2",
    "markupsafe",
    "markdown-it-py",
    "mdit-py-plugins",
    "linkify-it-py",
    "pyyaml",
    "imagesize",
)
KEEP = 4  # cache files kept: the most recently used kinds of build
# What reading a damaged or foreign cache can raise (pickles of classes since changed included)
UNREADABLE = (
    sqlite3.Error,
    pickle.UnpicklingError,
    EOFError,
    AttributeError,
    ImportError,
    ValueError,
    TypeError,
    OSError,
)

TABLES = ("meta", "files", "bodies", "fragments", "pages")  # as SCHEMA makes them
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, key TEXT, entry BLOB, body BLOB);
CREATE TABLE IF NOT EXISTS bodies (
    post TEXT, in_feed INTEGER, followed BLOB, page TEXT, feed TEXT, PRIMARY KEY (post, in_feed));
CREATE TABLE IF NOT EXISTS fragments (key TEXT PRIMARY KEY, html TEXT);
CREATE TABLE IF NOT EXISTS pages (
    site_path TEXT PRIMARY KEY, path TEXT, inputs BLOB, content BLOB, size INTEGER, mtime INTEGER, inode INTEGER,
    recipe BLOB);
"""


@lru_cache(maxsize=1)
def code_version() -> str:
    """This package's source and the versions of what renders: a change to either can change
    any output, so it empties the cache."""
    here = Path(__file__).parent
    sources = [f.read_bytes() for f in sorted(here.glob("*.py"))]
    versions = [f"{name}={installed_version(name)}" for name in LIBRARIES]
    return digest(FORMAT, sys.version, *versions, *sources)


def installed_version(distribution: str) -> str:
    """A distribution's version, as importlib.metadata.version finds it: from the first
    `<name>-<version>.dist-info` folder on sys.path. Read off the folder's name when there is
    one, because importing importlib.metadata takes 40 ms, a tenth of a quick rebuild; by
    importlib.metadata otherwise (an egg, a zip); "?" if it is not installed."""
    prefix = re.sub(r"[-_.]+", "_", distribution).lower() + "-"
    for entry in sys.path:
        with suppress(OSError):
            for name in sorted(os.listdir(entry or ".")):
                if name.endswith(".dist-info") and name.lower().startswith(prefix):
                    return name[len(prefix) : -len(".dist-info")]
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "?"


@dataclass(frozen=True)
class Manifest:
    """What a successful build read and wrote, in a form that is quick to check again. While
    none of it has changed, a build would make the very same site (pipeline.from_records)."""

    search: bool  # whether the site has a search index
    inputs: str  # the settings, tag vocabulary, templates and images, as a digest (pipeline.py)
    posts: dict[str, PostSignature]  # every post file, as it was when it was read
    held_back_until: datetime | None  # the date of the next scheduled post: the site changes then
    counts: tuple[int, int, int]  # posts, HTML pages and feeds (for the summary)
    files: dict[str, Signature] = field(default_factory=dict)  # every file of the site, as written
    # Post files changed just before they were read: their signature does not vouch for their
    # bytes (load.ParseCache), so they must be read again.
    racy: frozenset[str] = frozenset()
    folders: Folders | None = None  # the site's folders, to tell no file was added without listing them
    parts: tuple[SearchPart, ...] = ()  # the search index's, if it has one


def make_cache_folder(folder: Path) -> None:
    """.cache/, which git must never see, whatever the project's own .gitignore says."""
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# the build cache: made by `build`, safe to delete\n*\n", encoding="utf-8")


def cache_file(config: Config, kind: str = "build") -> Path:
    """One cache file for each kind of build, address and output folder."""
    name = digest(kind, config.base_url, str(config.out_dir.absolute()))[:12]
    return config.root / ".cache" / f"{kind}-{name}.sqlite3"


def compiled_templates_folder(root: Path) -> Path:
    """Where Jinja keeps compiled templates (render.compiled_templates), one folder for each
    version of the code: Jinja checks a template's source, not how our code compiles it."""
    return root / ".cache" / f"templates-{code_version()[:12]}"


def connect_read_only(file: Path) -> sqlite3.Connection:
    """For `check` and the up-to-date check, which change nothing."""
    uri = f"{file.absolute().as_uri()}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)


def read_manifest(config: Config) -> Manifest | None:
    """The last build's manifest, if it was made by this version of the code. Opening the
    cache this way reads nothing else, and changes nothing."""
    file = cache_file(config)
    if not file.exists():
        return None
    try:
        with closing(connect_read_only(file)) as db:
            meta = dict(db.execute("SELECT name, value FROM meta WHERE name IN ('code', 'manifest')"))
        manifest = pickle.loads(meta["manifest"]) if meta.get("code") == code_version() else None
    except (*UNREADABLE, KeyError):
        return None
    return manifest if isinstance(manifest, Manifest) else None


def mark_used(config: Config) -> None:
    """A build that had nothing to do still counts as recent use of its cache (prune)."""
    with suppress(OSError):
        os.utime(cache_file(config))


@dataclass
class BuildCache:
    """What one kind of build remembers. `parse_cache` and `memo` are handed to load and render."""

    file: Path
    out_dir: Path
    parse_cache: ParseCache = field(default_factory=ParseCache)
    memo: Memo = field(default_factory=Memo)
    signatures: dict[str, Signature] = field(default_factory=dict)  # page files, by site path
    loaded: dict[str, Any] = field(default_factory=dict)  # what was read, to save only changes
    note: str = ""  # why the cache was not used, if it was not
    search_files: dict[str, Signature] = field(default_factory=dict)  # the search index the site has
    spare: Path | None = None  # where the site a build replaces is kept for the next (write.py)
    spare_holds: Listing | None = None  # what the spare held when it was put there, if known
    spilled: bool = False  # fragments written before save (spill)
    stale: bool = False  # made by another version of the code: its tables are replaced on writing
    read_only: bool = False  # for `check`, which writes nothing
    # Posts' texts read only when a page needs one (a build), or with the posts (the dev
    # server, which then keeps them in memory: its render workers would read them, not it).
    texts_when_needed: bool = True
    _connection: sqlite3.Connection | None = None
    _connection_pid: int = 0  # the process that opened it: a forked render worker opens its own

    @classmethod
    def open(
        cls,
        config: Config,
        kind: str = "build",
        read_only: bool = False,
        texts_when_needed: bool = True,
        out_dir: Path | None = None,
    ) -> BuildCache:
        """The cache of this kind of build; `out_dir`, where its pages' files are, if not
        the site folder (the dev server's preview)."""
        cache = cls(
            cache_file(config, kind),
            (out_dir or config.out_dir).absolute(),
            read_only=read_only,
            texts_when_needed=texts_when_needed,
        )
        cache.spare = cache.file.with_suffix(".spare")
        if not read_only:
            cache.memo.compiled = compiled_templates_folder(config.root)
            with suppress(OSError):
                make_cache_folder(cache.memo.compiled.parent)
                cache.memo.compiled.mkdir(exist_ok=True)
        if cache.file.exists():
            try:
                cache._read()
            except UNREADABLE as error:
                cache.close()
                cache.note = f"the build cache could not be read ({error}); building from scratch"
                cache.parse_cache, cache.signatures, cache.loaded = ParseCache(), {}, {}
                cache.memo = Memo(compiled=cache.memo.compiled)
                if not read_only:
                    cache._set_aside()
        return cache

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            return connect_read_only(self.file)
        make_cache_folder(self.file.parent)
        connection = sqlite3.connect(self.file, timeout=30, check_same_thread=False)
        connection.executescript(SCHEMA)
        return connection

    def close(self) -> None:
        if self._connection is not None and self._connection_pid == os.getpid():
            self._connection.close()
        self._connection = None

    def _db(self) -> sqlite3.Connection:
        """This process's connection (one must not be used across a fork)."""
        if self._connection is None or self._connection_pid != os.getpid():
            self._connection, self._connection_pid = self._connect(), os.getpid()
        return self._connection

    def _read(self) -> None:
        db = self._db()
        meta = dict(db.execute("SELECT name, value FROM meta"))
        if meta.get("code") != code_version():
            self.stale = True  # another version of the code made it: start afresh
            return
        texts = "NULL" if self.texts_when_needed else "body"
        for path, blob, text in db.execute(f"SELECT path, entry, {texts} FROM files"):
            self.parse_cache.entries[path] = entry_of(path, blob, self._body if text is None else text)
        memo = self.memo
        memo.body_version, memo.page_version = meta.get("body_version", ""), meta.get("page_version", "")
        memo.related_key = meta.get("related_key", "")
        memo.related = pickle.loads(meta["related"]) if "related" in meta else {}
        self.search_files = pickle.loads(meta["search_files"]) if "search_files" in meta else {}
        self.spare_holds = pickle.loads(meta["spare"]) if "spare" in meta else None
        if not isinstance(self.spare_holds, Listing | None):
            raise ValueError("unexpected record of the spare")
        fetch = self._fragment
        for post, in_feed, followed, page, feed in db.execute("SELECT * FROM bodies"):
            body = Body(Fragment(page, fetch=fetch), Fragment(feed, fetch=fetch) if feed else None)
            memo.bodies[(post, bool(in_feed))] = (tuple(pickle.loads(followed)) if followed else (), body)
        out = str(self.out_dir)  # a plain string: 10,000s of paths, no pathlib overhead
        for site_path, path, inputs, content, size, mtime, inode in db.execute(
            "SELECT site_path, path, inputs, content, size, mtime, inode FROM pages"
        ):  # not the recipes: only the quick rebuild reads them, a few at a time
            # Verified now, against the file the last build wrote: a page is reused only
            # if its file is still exactly that one.
            if signature_if_present(f"{out}/{path}") == (size, mtime, inode):
                memo.pages[site_path] = (inputs, Page(PurePosixPath(path), None))
                memo.contents[site_path] = content
                self.signatures[site_path] = (size, mtime, inode)
        self.loaded = {
            "files": dict(self.parse_cache.entries),
            "bodies": dict(memo.bodies),
            "pages": dict(memo.pages),
        }

    def recipes(self) -> dict[str, bytes]:
        """The recipe of every page read back (its file vouched for): the dev server keeps
        them all in memory, for its quick rebuild (quick.InMemory)."""
        rows = self._db().execute("SELECT site_path, recipe FROM pages WHERE recipe IS NOT NULL")
        return {site_path: recipe for site_path, recipe in rows if site_path in self.memo.pages}

    def files_made_since(self) -> dict[PurePosixPath, Signature]:
        """The files of the pages made since the cache was read or last saved, by their
        signatures now: for save(), when the pages' folder is written by its owner rather
        than a build's staging (the dev server's preview). A page whose file is gone has none."""
        before, out = self.loaded.get("pages", {}), str(self.out_dir)
        return {
            page.path: found
            for site_path, (inputs, page) in self.memo.pages.items()
            if site_path not in before or not same_page(before[site_path], (inputs, page))
            if (found := signature_if_present(f"{out}/{page.path.as_posix()}")) is not None
        }

    def _fragment(self, key: str) -> str:
        """An HTML fragment's text, read when a page that shows it is rendered again."""
        return read_fragment(self._db, key)

    def _body(self, path: str, key: str) -> bytes:
        """A post's body, read when it is rendered again."""
        return read_body(self._db, path, key)

    def spill(self, fragments: list[Fragment]) -> None:
        """Keep new fragments' text on disk now, not in memory until save: a cold build of
        10,000 posts would otherwise hold every body. The rows are known by their digest and
        checked when read, so writing them before the build succeeds is harmless; save()
        deletes any that no body shows."""
        assert not self.read_only
        if self.stale:
            self._start_afresh()
        db = self._db()
        with db:
            db.executemany(
                "INSERT OR IGNORE INTO fragments VALUES (?, ?)", [(f.key, f.text) for f in fragments]
            )
        for fragment in fragments:
            fragment.spill(self._fragment)
        self.spilled = True

    def _start_afresh(self) -> None:
        """Replace another version's tables by empty ones of this version (whose layout may differ)."""
        with closing(self._connect()) as db, db:
            for table in TABLES:
                db.execute(f"DROP TABLE IF EXISTS {table}")
            db.executescript(SCHEMA)
        self.stale = False

    def _set_aside(self) -> None:
        with suppress(OSError):
            self.file.replace(self.file.with_suffix(".damaged"))

    def save(
        self,
        written: dict[PurePosixPath, Signature],
        search_files: dict[str, Signature],
        manifest: Manifest | None = None,
    ) -> None:
        """Write down what this build made: only what changed since the cache was read, in one
        transaction (a build killed meanwhile leaves the cache as it was). The manifest's files
        are filled in here, from every page's file and the search index."""
        assert not self.read_only
        memo = self.memo
        self.close()
        if self.stale:
            self._start_afresh()
        with closing(self._connect()) as db, db:
            meta = dict(db.execute("SELECT name, value FROM meta"))
            if meta.get("code") != code_version():  # another version's: start afresh
                for table in [t for t in TABLES if t != "fragments"]:  # fragments: checked when read
                    db.execute(f"DELETE FROM {table}")
                self.loaded = {}
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [
                    ("code", code_version()),
                    ("body_version", memo.body_version),
                    ("page_version", memo.page_version),
                    ("related_key", memo.related_key),
                    ("related", pickle.dumps(memo.related, protocol=5)),
                    ("search_files", pickle.dumps(search_files, protocol=5)),
                    ("spare", pickle.dumps(self.spare_holds, protocol=5)),
                ],
            )
            self._save_changes(
                db,
                "files",
                ("path",),
                self.parse_cache.entries,
                lambda path, entry: [file_row(path, entry)],
                SAVE_FILE,
            )
            self._save_bodies(db)
            signatures = {
                site_path: found
                for site_path, (_, page) in memo.pages.items()
                if (found := written.get(page.path) or self.signatures.get(site_path))
            }

            def page_rows(site_path: str, entry: tuple[bytes, Page]) -> list[tuple[Any, ...]]:
                if site_path not in signatures:
                    return []  # no file vouches for it: the next build renders it again
                inputs, page = entry
                return [
                    (
                        site_path,
                        page.path.as_posix(),
                        inputs,
                        memo.contents[site_path],
                        *signatures[site_path],
                        memo.recipes.get(site_path),
                    )
                ]

            self._save_changes(db, "pages", ("site_path",), memo.pages, page_rows, same=same_page)
            files = {
                page.path.as_posix(): signatures.get(site_path) for site_path, (_, page) in memo.pages.items()
            }
            if manifest is not None and all(files.values()):  # every file vouched for
                vouched = {**cast(dict[str, Signature], files), **search_files}
                manifest = replace(manifest, files=vouched, folders=Folders.of(self.out_dir, vouched))
                db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('manifest', ?)",
                    (pickle.dumps(manifest, protocol=5),),
                )
            else:
                db.execute("DELETE FROM meta WHERE name = 'manifest'")
        self.signatures = signatures
        self.search_files = search_files
        self.loaded = {
            "files": dict(self.parse_cache.entries),
            "bodies": dict(memo.bodies),
            "pages": {k: (inputs, Page(page.path, None)) for k, (inputs, page) in memo.pages.items()},
        }
        prune(self.file.parent, keep=self.file)

    def _save_bodies(self, db: sqlite3.Connection) -> None:
        new_fragments: list[tuple[str, str]] = []

        def rows(key: tuple[str, bool], entry: tuple[Any, Body]) -> list[tuple[Any, ...]]:
            for fragment in (entry[1].page_html, entry[1].feed_html):
                if fragment is not None and not fragment.stored:  # made by this build
                    new_fragments.append((fragment.key, fragment.text))
            return [body_row(key, entry)]

        removed = self._save_changes(db, "bodies", ("post", "in_feed"), self.memo.bodies, rows)
        db.executemany("INSERT OR IGNORE INTO fragments VALUES (?, ?)", new_fragments)
        if removed or self.spilled:  # fragments no body shows any more
            db.execute(
                "DELETE FROM fragments WHERE key NOT IN "
                "(SELECT page FROM bodies UNION SELECT feed FROM bodies WHERE feed IS NOT NULL)"
            )

    def _save_changes(
        self,
        db: sqlite3.Connection,
        table: str,
        key_columns: tuple[str, ...],
        current: dict[Any, Any],
        rows: Any,
        insert: str | None = None,
        same: Callable[[Any, Any], bool] = operator.is_,
    ) -> int:
        """Insert what is new or different from what was read or last written (by `insert`,
        if not by replacing the row), delete what is gone."""
        before = self.loaded.get(table, {})
        changed = (
            row
            for key, value in current.items()
            if key not in before or not same(before[key], value)
            for row in rows(key, value)
        )  # a generator: a cold build's rows are not all held at once
        first = next(changed, None)
        if first is not None:
            placeholders = ", ".join("?" * len(first))
            insert = insert or f"INSERT OR REPLACE INTO {table} VALUES ({placeholders})"
            db.executemany(insert, chain([first], changed))
        gone = [key if isinstance(key, tuple) else (key,) for key in before if key not in current]
        where = " AND ".join(f"{column} = ?" for column in key_columns)
        db.executemany(f"DELETE FROM {table} WHERE {where}", gone)
        return len(gone)


def same_page(before: tuple[bytes, Page], now: tuple[bytes, Page]) -> bool:
    """A page as saved: made from the same inputs, into the same file. (Not the very entry:
    after a save, the cache keeps pages without their bytes, which the dev server's memo
    holds, so that the next save, when it stops, finds only the pages made since.)"""
    return before[0] == now[0] and before[1].path == now[1].path


def read_fragment(db: Callable[[], sqlite3.Connection], key: str) -> str:
    """A fragment's text, checked against its key (its digest), from the cache `db` gives."""
    try:
        row = db().execute("SELECT html FROM fragments WHERE key = ?", (key,)).fetchone()
    except sqlite3.Error:
        row = None
    if row is None or digest(row[0]) != key:
        raise FragmentLost(f"the build cache lost or damaged a part of a post ({key})")
    text: str = row[0]
    return text


# A row of `files` (file_row) whose body is None keeps the body its row has, if of the same key
# (a post read back from the row, its body still unread, whose file was found unchanged).
SAVE_FILE = """INSERT INTO files VALUES (?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET
    key = excluded.key, entry = excluded.entry,
    body = CASE WHEN excluded.body IS NOT NULL THEN excluded.body WHEN key = excluded.key THEN body END"""


def file_row(path: str, entry: ParsedFile) -> tuple[str, str, bytes, bytes | None]:
    """A parsed post file as a row of `files` (SAVE_FILE): its path below content/posts, its
    key, and the entry, with its post's body apart."""
    if not isinstance(entry.result, Post):  # its problems
        return (path, entry.key, pickle.dumps(entry, protocol=5), None)
    bare, body = body_apart(entry.result)
    return (path, entry.key, pickle.dumps(replace(entry, result=bare), protocol=5), body)


def entry_of(path: str, blob: bytes, body: bytes | Callable[[str, str], bytes]) -> ParsedFile:
    """A row of `files` read back: the entry, with its post's body, or with `body` reading
    it (read_body) when it is needed."""
    entry = pickle.loads(blob)
    if not isinstance(entry, ParsedFile):
        raise ValueError(f"unexpected entry for {path}")
    if isinstance(entry.result, Post):
        body_given(entry.result, body if isinstance(body, bytes) else partial(body, path, entry.key))
    return entry


def read_body(db: Callable[[], sqlite3.Connection], path: str, key: str) -> bytes:
    """A post's body as `file_row` kept it, from the cache `db` gives: only while its row
    holds the post of this key (a later build may have parsed the file again)."""
    try:
        row = db().execute("SELECT body FROM files WHERE path = ? AND key = ?", (path, key)).fetchone()
    except sqlite3.Error:
        row = None
    if row is None or not isinstance(row[0], bytes):
        raise FragmentLost(f"the build cache lost the text of a post ({path})")
    body: bytes = row[0]
    return body


def body_row(key: tuple[str, bool], entry: tuple[Any, Body]) -> tuple[Any, ...]:
    """A body as a row of `bodies`: its post's key, whether made for feeds too, the posts it
    links to, and its fragments' keys."""
    followed, body = entry
    links = pickle.dumps(followed, protocol=5) if followed else None  # most bodies link to no post
    return (key[0], key[1], links, body.page_html.key, body.feed_html.key if body.feed_html else None)


@dataclass(frozen=True)
class ShownPage:
    """A page as the last build made it, for the quick rebuild (quick.py) to make it again."""

    path: str  # its file, below the output folder
    inputs: bytes  # the digest of its template and context (render.inputs_digest)
    content: bytes  # the digest of its bytes
    recipe: bytes | None  # what it was made from (render.recipe)


@dataclass(frozen=True)
class PageRecord(ShownPage):
    """A page as the build cache records it (a row of `pages`): with its file."""

    signature: Signature  # of its file, as written


class Records:
    """The build cache read a row at a time, and changed in place: for the quick rebuild
    (quick.py), which needs a few posts and pages of it, not all of them (BuildCache)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.posts: dict[str, ParsedFile | None] = {}  # read so far

    @classmethod
    def open(cls, config: Config) -> Records | None:
        """The cache of `build` for this address and output folder, if there is one and it was
        made by this version of the code (read_manifest has checked as much)."""
        file = cache_file(config)
        if not file.exists():
            return None
        try:
            db = sqlite3.connect(file, timeout=30)
            code = db.execute("SELECT value FROM meta WHERE name = 'code'").fetchone()
        except sqlite3.Error:
            return None
        if code is None or code[0] != code_version():
            db.close()
            return None
        return cls(db)

    def close(self) -> None:
        self.db.close()

    def entry(self, rel: str) -> ParsedFile | None:
        """What the last build parsed from a post file (by its path below content/posts)."""
        if rel not in self.posts:
            self.read_entries([rel])
        return self.posts[rel]

    def read_entries(self, rels: Iterable[str]) -> None:
        """Read these posts' entries now, in a few queries rather than one each."""
        wanted = sorted(set(rels) - self.posts.keys())
        for start in range(0, len(wanted), 500):  # SQLite takes at most 999 parameters
            some = wanted[start : start + 500]
            self.posts.update(dict.fromkeys(some))
            marks = ", ".join("?" * len(some))
            for rel, blob in self.db.execute(f"SELECT path, entry FROM files WHERE path IN ({marks})", some):
                try:
                    self.posts[rel] = entry_of(rel, blob, self._body)
                except ValueError:
                    self.posts[rel] = None

    def _body(self, path: str, key: str) -> bytes:
        return read_body(lambda: self.db, path, key)

    def bodies_of(self, post_key: str) -> list[tuple[bool, str, str | None]]:
        """A post's bodies: whether each was made for feeds too, and its fragments' keys."""
        rows = self.db.execute("SELECT in_feed, page, feed FROM bodies WHERE post = ?", (post_key,))
        return [(bool(in_feed), page, feed) for in_feed, page, feed in rows]

    def bodies_showing(self, keys: list[str]) -> int:
        """How many bodies show any of these fragments."""
        marks = ", ".join("?" * len(keys))
        query = f"SELECT count(*) FROM bodies WHERE page IN ({marks}) OR feed IN ({marks})"
        found: int = self.db.execute(query, [*keys, *keys]).fetchone()[0]
        return found

    def search_files(self) -> dict[str, Signature]:
        """Every file of the site's search index, with its signature."""
        row = self.db.execute("SELECT value FROM meta WHERE name = 'search_files'").fetchone()
        files = pickle.loads(row[0]) if row else {}
        if not isinstance(files, dict):
            raise ValueError("unexpected search_files")
        return files

    def fragment(self, key: str) -> str:
        """A fragment's text, checked against its key."""
        return read_fragment(lambda: self.db, key)

    def pages_naming(self, rels: set[str]) -> dict[str, ShownPage]:
        """The pages whose recipe names any of these posts (by their paths below content/posts):
        every page that shows one of them, and perhaps a few more whose recipe holds the same
        characters in some other way (rendering those again changes nothing)."""
        found: dict[str, ShownPage] = {}
        for rel in sorted(rels):
            for site_path, path, inputs, content, recipe in self.db.execute(
                "SELECT site_path, path, inputs, content, recipe FROM pages WHERE instr(recipe, ?) > 0",
                (rel.encode("utf-8"),),
            ):
                found[site_path] = ShownPage(path, inputs, content, recipe)
        return found

    def save(
        self,
        files: dict[str, ParsedFile],
        bodies: dict[tuple[str, bool], tuple[Any, Body]],
        bodies_gone: list[tuple[str, bool]],
        fragments_gone: set[str],
        pages: dict[str, PageRecord],
        manifest: Manifest,
        search_files: dict[str, Signature] | None = None,
    ) -> None:
        """Write down what a quick rebuild changed, in one transaction, as `BuildCache.save`
        would have written it after a whole build (with the search index's files, if it
        changed them)."""
        with self.db:
            if search_files is not None:
                self.db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('search_files', ?)",
                    (pickle.dumps(search_files, protocol=5),),
                )
            self.db.executemany(SAVE_FILE, [file_row(rel, entry) for rel, entry in files.items()])
            self.db.executemany("DELETE FROM bodies WHERE post = ? AND in_feed = ?", bodies_gone)
            fragments = [f for _, body in bodies.values() for f in (body.page_html, body.feed_html) if f]
            self.db.executemany(
                "INSERT OR IGNORE INTO fragments VALUES (?, ?)", [(f.key, f.text) for f in fragments]
            )
            self.db.executemany(
                "INSERT OR REPLACE INTO bodies VALUES (?, ?, ?, ?, ?)",
                [body_row(key, entry) for key, entry in bodies.items()],
            )
            self.db.executemany("DELETE FROM fragments WHERE key = ?", [(key,) for key in fragments_gone])
            self.db.executemany(
                "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (site_path, r.path, r.inputs, r.content, *r.signature, r.recipe)
                    for site_path, r in pages.items()
                ],
            )
            self.db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('manifest', ?)", (pickle.dumps(manifest, protocol=5),)
            )


# Beside a dev server's preview: a search index it set aside to delete, or the snapshot of
# the preview that one is being made from (serve.py)
OLD_SEARCH = ".old-search-"


def set_aside_beside(preview: Path) -> list[Path]:
    """What a dev server set aside beside its preview and has not deleted yet: old search
    indexes, and the snapshot a stopped or killed server was indexing."""
    return list(preview.parent.glob(f"{preview.name}{OLD_SEARCH}*"))


def delete_folders(folders: Iterable[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def prune(folder: Path, keep: Path) -> None:
    """Keep the most recently used cache files; older kinds of build are forgotten."""
    files = sorted(folder.glob("*.sqlite3"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in [f for f in files if f != keep][KEEP - 1 :]:
        old.unlink(missing_ok=True)
        preview = old.with_suffix(".preview")  # the dev server's (serve.py)
        delete_folders([old.with_suffix(".spare"), preview, *set_aside_beside(preview)])
    for damaged in folder.glob("*.damaged"):
        damaged.unlink(missing_ok=True)
    current = compiled_templates_folder(folder.parent)
    for compiled in folder.glob("templates-*"):
        if compiled != current:  # another version's
            shutil.rmtree(compiled, ignore_errors=True)


def clear(root: Path) -> None:
    """Delete every cache file of a project (`build --no-cache` starts from nothing)."""
    folder = root / ".cache"
    for path in [
        p
        for pattern in (
            "*.sqlite3*",
            "*.spare",
            "*.preview",
            f"*.preview{OLD_SEARCH}*",
            "*.damaged",
            "templates-*",
        )
        for p in folder.glob(pattern)
    ]:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
