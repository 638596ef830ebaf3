"""Load: the tag vocabulary and every post file under content/posts -> Posts and problems.

Each file's result is known by its key, a digest of all it depends on: given an earlier
load's results (the cache's), an unchanged file is not parsed again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from .config import Config
from .content import Post, Tag, parse, parse_tags
from .digest import digest
from .problems import Problem, display_path

Parsed = Post | list[Problem]  # what one post file holds


@dataclass(frozen=True)
class Loaded:
    posts: tuple[Post, ...]
    tags: dict[str, Tag]
    problems: tuple[Problem, ...]
    unreadable: frozenset[PurePosixPath] = frozenset()  # post files with problems, below content/posts
    parsed: dict[str, Parsed] = field(default_factory=dict)  # every file's result, by its key


def post_files(posts_dir: Path) -> list[tuple[str, Path]]:
    """Every post file below posts_dir as (path below posts_dir, file), in a stable order;
    hidden folders are skipped."""
    found: list[tuple[str, Path]] = []
    for folder, subfolders, names in os.walk(posts_dir, followlinks=False):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        for name in names:
            if name.endswith(".md") and not name.startswith((".", "~", "#")):  # not editors' temporary files
                file = Path(folder, name)
                found.append((file.relative_to(posts_dir).as_posix(), file))
    return sorted(found)


def load_tags(config: Config) -> dict[str, Tag] | list[Problem]:
    shown = display_path(config.tags_file)
    if config.tags_file.exists() and not config.tags_file.is_file():  # a pipe: reading could wait for ever
        return [Problem(shown, None, "is not a regular file", "save the tag vocabulary as a plain file")]
    try:
        text = config.tags_file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return [Problem(shown, None, "tag vocabulary not found", "create it with one [slug] table a tag")]
    except (OSError, UnicodeDecodeError) as error:
        return [Problem(shown, None, f"cannot be read: {error}", "save it as UTF-8 text")]
    return parse_tags(text, shown)


def load_post(
    rel: str,
    file: Path,
    config: Config,
    tags: dict[str, Tag] | list[Problem],
    known: Mapping[str, Parsed],
    context: tuple[str, str],
) -> tuple[str, Parsed]:
    """One post file: its key and what it holds (from `known`, if parsed before). `context`:
    the posts folder as editors see it, and the vocabulary's digest (worked out once a load)."""
    shown_dir, vocabulary = context
    shown = f"{shown_dir}/{rel}"
    if file.is_symlink() and not file.resolve().is_relative_to(config.content_dir.resolve()):
        fix = "copy the file into content/posts instead"
        return "", [Problem(shown, None, "is a link to a file outside content/", fix)]
    if not file.is_file():  # a pipe, socket or device: opening it could wait for ever
        return "", [
            Problem(shown, None, "is not a regular file", "remove it, or save the post as a plain file")
        ]
    try:
        raw = file.read_bytes()
    except OSError as error:
        return "", [Problem(shown, None, f"cannot be read: {error.strerror}")]
    key = digest(raw, rel, shown, vocabulary, config.timezone)
    if key in known:
        return key, known[key]
    # a vocabulary that could not be read is one problem, not one for every tag of every post
    result = parse(raw, shown, PurePosixPath(rel), tags if isinstance(tags, dict) else None, config.zone)
    return key, replace(result, key=key) if isinstance(result, Post) else result


def load(config: Config, known: Mapping[str, Parsed] | None = None) -> Loaded:
    vocabulary = load_tags(config)
    problems = vocabulary if isinstance(vocabulary, list) else []
    tags = vocabulary if isinstance(vocabulary, dict) else {}
    if not config.posts_dir.is_dir():
        problems.append(
            Problem(display_path(config.posts_dir), None, "posts folder not found", "create content/posts/")
        )
        return Loaded((), tags, tuple(problems))
    posts: list[Post] = []
    unreadable = set()
    parsed: dict[str, Parsed] = {}
    context = (display_path(config.posts_dir), digest(repr(sorted(tags.items()))))
    for rel, file in post_files(config.posts_dir):
        key, result = load_post(rel, file, config, vocabulary, known or {}, context)
        if key:
            parsed[key] = result
        if isinstance(result, Post):
            posts.append(result)
        else:
            problems.extend(result)
            unreadable.add(PurePosixPath(rel))
    if isinstance(vocabulary, list):  # no post can be shown without it: only their own problems count
        posts = []
    return Loaded(tuple(posts), tags, tuple(problems), frozenset(unreadable), parsed)
