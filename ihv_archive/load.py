"""Load: read the tag vocabulary and every post file under content/posts.

Nothing here decides what gets published; it only turns files into Posts and problems.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .config import Config
from .content import Post, Tag, parse, parse_tags
from .problems import Problem, display_path


@dataclass
class ParseCache:
    """Parsed posts kept between loads by a long-running caller (the dev server). A post is
    parsed again when its bytes differ (not its timestamp: a save within the same clock tick
    still counts), or when the vocabulary or time zone it was checked against changed."""

    entries: dict[Path, tuple[bytes, dict[str, Tag], str, Post | list[Problem]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Loaded:
    posts: tuple[Post, ...]
    tags: dict[str, Tag]
    problems: tuple[Problem, ...]
    unreadable: frozenset[PurePosixPath] = frozenset()  # post files with problems, below content/posts


def is_post_file(path: Path) -> bool:
    """Markdown files, leaving out editors' temporary and backup files (.#x.md, x.md~, ~x.md)."""
    return path.suffix == ".md" and not path.name.startswith((".", "~", "#"))


def post_files(posts_dir: Path) -> list[Path]:
    """Every post file below posts_dir, in a stable order; hidden folders are skipped."""
    found: list[Path] = []
    for folder, subfolders, names in os.walk(posts_dir, followlinks=False):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        found.extend(Path(folder, name) for name in names if is_post_file(Path(name)))
    return sorted(found)


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
    file: Path, config: Config, tags: dict[str, Tag], cache: ParseCache | None = None, shown_dir: str = ""
) -> Post | list[Problem]:
    """One post file; shown_dir is the posts folder as editors see it (worked out once a load)."""
    posts_dir = config.posts_dir
    rel_path = PurePosixPath(os.path.relpath(file, posts_dir).replace(os.sep, "/"))
    shown = f"{shown_dir or display_path(posts_dir)}/{rel_path}"
    if file.is_symlink() and not file.resolve().is_relative_to(config.content_dir.resolve()):
        return [
            Problem(
                shown,
                None,
                "is a link to a file outside content/",
                "copy the file into content/posts instead",
            )
        ]
    try:
        raw = file.read_bytes()
    except OSError as error:
        return [Problem(shown, None, f"cannot be read: {error.strerror}")]
    entry = cache.entries.get(file) if cache else None
    if entry is not None and entry[:3] == (raw, tags, config.timezone):
        return entry[3]
    result = parse(raw, shown, rel_path, tags, config.zone)
    if cache is not None:
        cache.entries[file] = (raw, tags, config.timezone, result)
    return result


def load(config: Config, cache: ParseCache | None = None) -> Loaded:
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
    if cache is not None:  # forget deleted files
        present = set(files)
        cache.entries = {f: e for f, e in cache.entries.items() if f in present}
    shown_dir = display_path(config.posts_dir)
    for file in files:
        result = load_post(file, config, tags, cache, shown_dir)
        if isinstance(result, Post):
            posts.append(result)
        else:
            problems.extend(result)
            unreadable.add(PurePosixPath(os.path.relpath(file, config.posts_dir).replace(os.sep, "/")))
    return Loaded(tuple(posts), tags, tuple(problems), frozenset(unreadable))
