"""Load: read the tag vocabulary and every post file under content/posts.

Nothing here decides what gets published; it only turns files into Posts and problems.
"""

from __future__ import annotations

import os
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .children import in_halves
from .config import Config
from .content import Post, Tag, keyed, parse, parse_tags, shown_as
from .digest import digest
from .problems import Problem, display_path

Signature = tuple[int, int, int, int]  # size, mtime, ctime (ns) and inode of a post file
RACY_NS = 2_000_000_000  # a file changed this recently may change again within the same clock tick
PARSE_IN_HALVES_FROM = 256  # posts to parse: below this, a child costs about what it saves


@dataclass(frozen=True)
class ParsedFile:
    signature: Signature
    trusted: bool  # taken long enough after the file's last change to stand for its bytes
    context: tuple[str, str, str]  # the name shown, tag vocabulary and time zone it was parsed with
    key: str  # of the bytes, the path below content/posts and that context but the name shown
    result: Post | list[Problem]


def signature_of(stat: os.stat_result) -> Signature:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


@dataclass
class ParseCache:
    """Parsed posts kept between loads: by the dev server in memory, and by `build` on disk
    (cache.py). As git does for its index, a file whose size, times and inode are unchanged
    since a signature taken well after its last change is not read again; any other file is
    read and parsed again only if its bytes (or the vocabulary or time zone) differ."""

    entries: dict[str, ParsedFile] = field(default_factory=dict)  # by path below content/posts
    parsed: int = 0  # files parsed by the last load (the rest came from here)

    def signatures(self) -> tuple[dict[str, Signature], frozenset[str]]:
        """Every post file's signature as the last load found it, and the files whose
        signature does not stand for the bytes that were parsed (changed just before)."""
        racy = frozenset(rel for rel, entry in self.entries.items() if not entry.trusted)
        return {rel: entry.signature for rel, entry in self.entries.items()}, racy


def vocabulary_key(tags: dict[str, Tag]) -> str:
    return digest(repr(sorted(tags.items())))


@dataclass(frozen=True)
class Loaded:
    posts: tuple[Post, ...]
    tags: dict[str, Tag]
    problems: tuple[Problem, ...]
    unreadable: frozenset[PurePosixPath] = frozenset()  # post files with problems, below content/posts


def is_post_file(name: str) -> bool:
    """Markdown files, leaving out editors' temporary and backup files (.#x.md, x.md~, ~x.md)."""
    return name.endswith(".md") and not name.startswith((".", "~", "#"))


def post_files(posts_dir: Path) -> list[tuple[str, str]]:
    """Every post file below posts_dir as (path below posts_dir, file), in a stable order;
    hidden folders are skipped. Plain strings: 10,000s of files, no pathlib overhead."""
    found: list[tuple[str, str]] = []
    top = str(posts_dir)
    for folder, subfolders, names in os.walk(top, followlinks=False):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        below = folder[len(top) + 1 :].replace(os.sep, "/")
        prefix = f"{below}/" if below else ""
        # f-strings, not os.path.join: a third of the listing's time at 10,000 posts
        found.extend((prefix + name, f"{folder}/{name}") for name in names if is_post_file(name))
    return sorted(found)


def changed_posts(posts_dir: Path, recorded: dict[str, Signature]) -> set[str] | None:
    """The post files whose signature is no longer the recorded one, if the post files are
    still exactly those; None if one was added or removed."""
    files = post_files(posts_dir)
    if len(files) != len(recorded):
        return None
    changed = set()
    for rel, file in files:
        if rel not in recorded:
            return None
        try:
            if signature_of(os.stat(file)) != recorded[rel]:
                changed.add(rel)
        except OSError:  # deleted meanwhile
            return None
    return changed


def changed_since_loaded(posts_dir: Path, cache: ParseCache) -> bool:
    """Has a post file been added, removed or changed since the cache's last load read them?
    By their signatures; and for a file whose signature cannot vouch for the bytes that were
    read (it had changed just before), by its bytes."""
    signatures, racy = cache.signatures()
    if changed_posts(posts_dir, signatures) != set():
        return True
    for rel in racy:
        entry = cache.entries[rel]
        try:
            raw = (posts_dir / rel).read_bytes()
        except OSError:
            return True
        if digest(raw, rel, *entry.context[1:]) != entry.key:
            return True
    return False


def load_tags(config: Config) -> dict[str, Tag] | list[Problem]:
    shown = display_path(config.tags_file)
    try:
        text = config.tags_file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return [Problem(shown, None, "tag vocabulary not found", "create it with one [slug] table a tag")]
    except (OSError, UnicodeDecodeError) as error:
        return [Problem(shown, None, f"cannot be read: {error}", "save it as UTF-8 text")]
    return parse_tags(text, shown)


def load_post(
    rel: str,
    file: str,
    config: Config,
    tags: dict[str, Tag],
    cache: ParseCache | None = None,
    shown_dir: str = "",
    tags_key: str = "",
) -> Post | list[Problem]:
    """One post file; shown_dir is the posts folder as editors see it (worked out once a load)."""
    shown = f"{shown_dir or display_path(config.posts_dir)}/{rel}"
    context = (shown, tags_key or vocabulary_key(tags), config.timezone)
    if os.path.islink(file) and not Path(file).resolve().is_relative_to(config.content_dir.resolve()):
        refused = [
            Problem(
                shown,
                None,
                "is a link to a file outside content/",
                "copy the file into content/posts instead",
            )
        ]
        # Never read (it could be anything), but kept as a file read, so that
        # changed_since_loaded does not count it as changed ever after. By its target's
        # signature, which vouches for what refuses it whenever it was taken: another target
        # or a copy in the link's place is another file (inode), and the bytes do not matter.
        if cache is not None:
            with suppress(OSError):  # a link to nothing: left to count as changed
                cache.entries[rel] = ParsedFile(signature_of(os.stat(file)), True, context, "", refused)
        return refused
    entry = cache.entries.get(rel) if cache else None
    try:
        stat = os.stat(file)
        signature = signature_of(stat)
        if entry is not None and entry.trusted and entry.signature == signature and entry.context == context:
            return entry.result
        raw = Path(file).read_bytes()
    except OSError as error:
        return [Problem(shown, None, f"cannot be read: {error.strerror}")]
    # Not of the name shown: from another working folder, a post is the same post, shown
    # under another name (its messages, from problems found now, give the name shown now).
    key = digest(raw, rel, *context[1:])
    if entry is not None and entry.key == key and entry.context[0] == shown:
        result = entry.result
    elif entry is not None and entry.key == key and isinstance(entry.result, Post):
        result = shown_as(entry.result, shown)
    else:
        result = parse(raw, shown, PurePosixPath(rel), tags, config.zone)
        if isinstance(result, Post):
            result = keyed(result, key)
        if cache is not None:
            cache.parsed += 1
    if cache is not None:
        settled = time.time_ns() - RACY_NS
        trusted = stat.st_mtime_ns < settled and stat.st_ctime_ns < settled
        cache.entries[rel] = ParsedFile(signature, trusted, context, key, result)
    return result


def load(config: Config, cache: ParseCache | None = None, workers: int = 1) -> Loaded:
    tags = load_tags(config)
    problems: list[Problem] = []
    if isinstance(tags, list):
        problems.extend(tags)
        tags = {}
    if not config.posts_dir.is_dir():
        problems.append(
            Problem(display_path(config.posts_dir), None, "posts folder not found", "create content/posts/")
        )
        return Loaded((), tags, tuple(problems))
    posts: list[Post] = []
    unreadable = set()
    files = post_files(config.posts_dir)
    shown_dir = display_path(config.posts_dir)
    tags_key = vocabulary_key(tags)
    if cache is not None:
        cache.parsed = 0

    def parse_new(item: tuple[str, str]) -> tuple[Post | list[Problem], ParsedFile | None, int]:
        """A file the cache has no entry for: what it holds, its entry (if it has one now),
        and whether it was parsed (1) or not (0: unreadable, or refused unread)."""
        own = ParseCache()  # so that a child's entries come back with its results
        result = load_post(*item, config, tags, own, shown_dir, tags_key)
        return result, own.entries.get(item[0]), own.parsed

    # Most of a cold build's loading: with workers, a child parses half meanwhile.
    unknown = [item for item in files if cache is None or item[0] not in cache.entries]
    if workers > 1 and len(unknown) >= PARSE_IN_HALVES_FROM:
        new = in_halves(parse_new, unknown)
    else:
        new = [parse_new(item) for item in unknown]
    made = dict(zip((rel for rel, _ in unknown), new, strict=True))
    for rel, file in files:
        if rel in made:
            result, entry, parsed = made[rel]
            if cache is not None and entry is not None:
                cache.entries[rel] = entry
                cache.parsed += parsed
        else:
            result = load_post(rel, file, config, tags, cache, shown_dir, tags_key)
        if isinstance(result, Post):
            posts.append(result)
        else:
            problems.extend(result)
            unreadable.add(PurePosixPath(rel))
    if cache is not None:  # forget deleted files
        present = {rel for rel, _ in files}
        cache.entries = {f: e for f, e in cache.entries.items() if f in present}
    return Loaded(tuple(posts), tags, tuple(problems), frozenset(unreadable))
