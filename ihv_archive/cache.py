"""The ONE build cache: parsed posts, bodies and pages, by digests of their inputs.

`build` and `check` keep it in `.cache/` (SQLite, a file an output folder); `serve` holds it
in memory (SQLite's own): the same code. It decides nothing: load.py and render.py look up
what they need by key. It keeps each post file's result, each body's HTML (read only for
pages made again, checked against its digest), and every file the last build wrote with its
page's inputs and its signature: a page is reused only while its file is the one written.
A change of this code, a library that renders or Python empties it; a cache that cannot be
read is set aside with one line saying so.
"""

from __future__ import annotations

import pickle
import sqlite3
import sys
from collections.abc import Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from .config import Config
from .digest import digest
from .load import Parsed
from .render import Body, Html, Memo

FORMAT = "5"
LIBRARIES = [
    "jinja2",
    "markupsafe",
    "markdown-it-py",
    "mdit-py-plugins",
    "linkify-it-py",
    "pyyaml",
    "imagesize",
    "pagefind",
]
Signature = tuple[int, int, int]  # size, mtime (ns) and inode of a file written (write.py)
FileRecord = tuple[bytes, bytes, Signature]  # a file's page's inputs, its content's digest, its signature

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS posts (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS bodies (
    key TEXT PRIMARY KEY, followed BLOB, page_key TEXT, page_html TEXT, feed_key TEXT, feed_html TEXT);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, inputs BLOB, digest BLOB, size INTEGER, mtime INTEGER, inode INTEGER);
"""
TABLES = ("meta", "posts", "bodies", "files")
# What reading a damaged or foreign cache can raise (pickles of classes since changed included)
UNREADABLE = (
    sqlite3.Error,
    pickle.PickleError,
    EOFError,
    AttributeError,
    ImportError,
    ValueError,
    TypeError,
    KeyError,
    OSError,
    MemoryError,  # a damaged pickle can ask for gigabytes
)


class CacheDamaged(Exception):
    """Something the cache should hold could not be read back intact."""


@lru_cache(maxsize=1)
def code_version() -> str:
    """This package's source and the versions of what renders: a change to either can change
    any output, so it empties the cache."""
    sources = [f.read_bytes() for f in sorted(Path(__file__).parent.glob("*.py"))]
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}=?")
    return digest(FORMAT, sys.version, *versions, *sources)


def cache_file(config: Config) -> Path:
    """One cache file for each output folder."""
    return config.root / ".cache" / f"build-{digest(str(config.out_dir.absolute()))[:12]}.sqlite3"


class Cache:
    def __init__(self, db: sqlite3.Connection, note: str = "") -> None:
        self.db = db
        self.note = note  # why the cache on disk was not used, if it was not
        self.bodies_used: set[str] = set()

    @classmethod
    def in_memory(cls) -> Cache:
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.executescript(SCHEMA)
        return cls(db)

    @classmethod
    def open(cls, file: Path, fresh: bool = False) -> Cache:
        """The cache in `file` (`fresh`: deleted first); one that cannot be read is set aside
        and a new one begun, with a note saying so; one of another version is emptied."""
        try:
            if fresh:
                file.unlink(missing_ok=True)
            file.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(file, timeout=30, check_same_thread=False)
            db.executescript(SCHEMA)
            code = db.execute("SELECT value FROM meta WHERE name = 'code'").fetchone()
            if code is not None and code[0] != code_version():
                db.executescript("".join(f"DROP TABLE {table};" for table in TABLES) + SCHEMA)
            db.execute("SELECT count(*) FROM posts").fetchone()
            return cls(db)
        except UNREADABLE as error:
            return cls.set_aside(file, error)

    @classmethod
    def set_aside(cls, file: Path, error: BaseException) -> Cache:
        """Move a cache that cannot be read out of the way and begin a new one."""
        aside = file.with_suffix(".damaged")
        try:
            file.replace(aside)
            db = sqlite3.connect(file, timeout=30, check_same_thread=False)
            db.executescript(SCHEMA)
        except (OSError, sqlite3.Error):  # this build goes on with one in memory
            db = cls.in_memory().db
        return cls(
            db,
            f"the build cache could not be read ({error}); set aside as {aside.name}, building from nothing",
        )

    def close(self) -> None:
        self.db.close()

    def _meta(self, name: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return pickle.loads(row[0]) if row else None

    def parsed(self) -> dict[str, Parsed]:
        return {key: pickle.loads(value) for key, value in self.db.execute("SELECT key, value FROM posts")}

    def files(self) -> dict[str, FileRecord]:
        rows = self.db.execute("SELECT path, inputs, digest, size, mtime, inode FROM files")
        return {path: (inputs, made, (size, mtime, inode)) for path, inputs, made, size, mtime, inode in rows}

    def last_build(self) -> tuple[Any, ...] | None:
        """The last build's fingerprint, when its first held-back post is due, and its counts (pipeline.py)."""
        found = self._meta("last_build")
        return found if isinstance(found, tuple) else None

    def parts(self) -> dict[str, str]:
        """The search index's parts in the last build's site, by bundle: what each was made from."""
        found = self._meta("parts")
        return found if isinstance(found, dict) else {}

    def memo(self, on_disk: Mapping[str, FileRecord]) -> Memo:
        """What render needs of the last build: every body, and the inputs and digest of each
        page whose file is still as written (`on_disk`, by output path)."""
        bodies = {
            key: Body(key, pickle.loads(followed), Html(page), Html(feed) if feed else None)
            for key, followed, page, feed in self.db.execute(
                "SELECT key, followed, page_key, feed_key FROM bodies"
            )
        }
        pages = {path: (inputs, made) for path, (inputs, made, _) in on_disk.items() if inputs}
        return Memo(bodies, pages, self.texts)

    def texts(self, keys: list[str]) -> Mapping[str, str]:
        """Bodies' HTML by key, each checked against its digest."""
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):  # SQLite takes at most 999 parameters
            some = keys[start : start + 500]
            marks = ", ".join("?" * len(some))
            for kind in ("page", "feed"):
                query = f"SELECT {kind}_key, {kind}_html FROM bodies WHERE {kind}_key IN ({marks})"
                found.update(self.db.execute(query, some))
        for key in keys:
            if key not in found or digest(found[key]) != key:
                raise CacheDamaged(f"the build cache lost or damaged a post's HTML ({key})")
        return found

    def add_body(self, body: Body) -> None:
        """A body this render used: kept, with its HTML if made anew; the others go on saving."""
        self.bodies_used.add(body.key)
        if body.page_html.text is not None:  # replaced: one made again under a key links to posts that moved
            feed = (body.feed_html.key, body.feed_html.text) if body.feed_html else (None, None)
            row = (body.key, pickle.dumps(body.followed), body.page_html.key, body.page_html.text, *feed)
            self.db.execute("INSERT OR REPLACE INTO bodies VALUES (?, ?, ?, ?, ?, ?)", row)

    def save(
        self,
        parsed: Mapping[str, Parsed],
        files: Mapping[str, FileRecord],
        last_build: tuple[Any, ...] | None,
        parts: Mapping[str, str],
    ) -> None:
        """Keep what this build made and used, forget the rest: all at once (one transaction)."""
        with self.db:
            known = {key for (key,) in self.db.execute("SELECT key FROM posts")}
            self.db.executemany(
                "INSERT INTO posts VALUES (?, ?)",
                # a generator: a cold build's 10,000 pickled posts are never all held at once
                ((key, pickle.dumps(value, protocol=5)) for key, value in parsed.items() if key not in known),
            )
            self.db.executemany("DELETE FROM posts WHERE key = ?", [(key,) for key in known - parsed.keys()])
            gone = {key for (key,) in self.db.execute("SELECT key FROM bodies")} - self.bodies_used
            self.db.executemany("DELETE FROM bodies WHERE key = ?", [(key,) for key in gone])
            self.db.execute("DELETE FROM files")
            self.db.executemany(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)",
                [(path, inputs, made, *signature) for path, (inputs, made, signature) in files.items()],
            )
            for name, value in (("code", code_version()), ("last_build", last_build), ("parts", dict(parts))):
                stored = value if name == "code" else pickle.dumps(value, protocol=5)
                self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, stored))
        self.bodies_used = set()

    def clear(self) -> None:
        """Empty the cache (one in memory found damaged: the dev server's)."""
        self.db.executescript("".join(f"DELETE FROM {table};" for table in TABLES))
        self.bodies_used = set()

    def forget(self) -> None:
        """Undo what this build added (it failed): the cache stays as the last good build left it."""
        self.db.rollback()
        self.bodies_used = set()
