"""Load: read the tag vocabulary and every post file under content/posts.

Nothing here decides what gets published; it only turns files into Posts and problems.
"""

from __future__ import annotations

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
    return sorted(p for p in posts_dir.rglob("*.md") if is_post_file(p) and not _hidden(p, posts_dir))


def _hidden(path: Path, top: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(top).parts)


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
    file: Path, config: Config, tags: dict[str, Tag], cache: ParseCache | None = None
) -> Post | list[Problem]:
    shown = display_path(file)
    content_root = config.content_dir.resolve()
    if file.is_symlink() and not file.resolve().is_relative_to(content_root):
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
    rel_path = PurePosixPath(file.relative_to(config.posts_dir).as_posix())
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
    for file in files:
        result = load_post(file, config, tags, cache)
        if isinstance(result, Post):
            posts.append(result)
        else:
            problems.extend(result)
            unreadable.add(PurePosixPath(file.relative_to(config.posts_dir).as_posix()))
    return Loaded(tuple(posts), tags, tuple(problems), frozenset(unreadable))
