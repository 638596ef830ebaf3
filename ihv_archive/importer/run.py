"""`python build.py import`: read the manifest's sources, make the posts, write them.

Everything is read and checked before the first file is written. A post an editor has
changed since it was imported is never overwritten (unless --force); unchanged files are
not rewritten, so a second run on the same input changes nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .manifest import ImportFailed, Source, load_manifest
from .posts import Post, file_text, is_unedited, make_posts, recorded_hash
from .rules import Rules, load_rules
from .segment import Article, content_lines, segment, shared_edges

PROVENANCE = re.compile(r'^\s*- \{file: "(?P<file>[^"]+)", lines: "(?P<lines>\d+-\d+)"', re.MULTILINE)


@dataclass(frozen=True)
class Action:
    kind: str  # new | updated | unchanged | kept | renamed | removed
    path: Path
    text: str = ""
    old_path: Path | None = None


def check_vocabulary(content_dir: Path, sources: list[Source], rules: Rules) -> None:
    """Every tag the import can give must be in content/tags.toml, or the build would fail."""
    tags_file = content_dir / "tags.toml"
    try:
        vocabulary = set(tomllib.loads(tags_file.read_text(encoding="utf-8-sig")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ImportFailed(
            [f"{tags_file}: cannot read the tag vocabulary: {error} (save it as UTF-8 TOML)"]
        ) from None
    wanted = {s.tag for s in sources} | {r.tag for r in rules.tags}
    if unknown := sorted(wanted - vocabulary):
        raise ImportFailed(
            [f"{tags_file}: has no tag {', '.join(unknown)} (add it, or change the manifest or rules)"]
        )


def read_articles(sources: list[Source], rules: Rules) -> tuple[list[Article], dict[str, list[int]]]:
    lines, debris = {}, {}
    for source in sources:
        lines[source.file], debris[source.file] = content_lines(source, rules)
    edges = shared_edges(lines)
    articles = [a for s in sources for a in segment(s, lines[s.file], rules, edges[s.file])]
    return articles, debris


def provenance_key(text: str) -> tuple[str, str] | None:
    match = PROVENANCE.search(text)
    return (match["file"], match["lines"]) if match else None


def plan(posts: list[Post], sources: list[Source], content_dir: Path, force: bool) -> list[Action]:
    """What to do with each post; only posts imported from these sources are ever renamed or
    removed (another manifest's posts are left as they are)."""
    ours = {source.file for source in sources}
    imported: dict[tuple[str, str], Path] = {}
    for file in sorted((content_dir / "posts").rglob("*.md")):
        text = file.read_text(encoding="utf-8", errors="replace")
        if recorded_hash(text) and (key := provenance_key(text)) and key[0] in ours:
            imported[key] = file
    actions: list[Action] = []
    produced: set[Path] = set()
    for post in posts:
        target = content_dir / post.path
        text = file_text(post)
        key = provenance_key(text)
        produced.add(target)
        old = imported.get(key) if key else None
        if target.exists():
            current = target.read_text(encoding="utf-8", errors="replace")
            if current == text:
                actions.append(Action("unchanged", target))
            elif force or is_unedited(current):
                actions.append(Action("updated", target, text))
            else:
                actions.append(Action("kept", target))
        elif old is not None and old != target:
            produced.add(old)
            if force or is_unedited(old.read_text(encoding="utf-8", errors="replace")):
                actions.append(Action("renamed", target, text, old_path=old))
            else:
                actions.append(Action("kept", old))
        else:
            actions.append(Action("new", target, text))
    for file in imported.values():
        if file not in produced and is_unedited(file.read_text(encoding="utf-8", errors="replace")):
            actions.append(Action("removed", file))
    return actions


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def carry_out(actions: list[Action]) -> None:
    for action in actions:
        if action.kind in ("new", "updated", "renamed"):
            write_atomically(action.path, action.text)
        if action.kind == "renamed" and action.old_path:
            action.old_path.unlink()
        if action.kind == "removed":
            action.path.unlink()


def report(
    sources: list[Source],
    posts: list[Post],
    debris: dict[str, list[int]],
    actions: list[Action],
    content_dir: Path,
) -> list[str]:
    rows = [("source", "articles", "merged", "debris", "pins", "day", "month", "year")]
    for source in sources:
        mine = [(p, a) for p in posts for a in p.articles if a.source.file == source.file]
        merged = sum(1 for p, a in mine if p.articles[0] is not a)
        precision = Counter(p.dated.precision for p, _ in mine)
        rows.append(
            (
                source.file,
                str(len(mine)),
                str(merged),
                str(len(debris[source.file])),
                str(len(source.split_before)),
                str(precision["day"]),
                str(precision["month"]),
                str(precision["year"]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    counts = Counter(a.kind for a in actions)
    lines.append(
        f"{len(posts)} posts: "
        + ", ".join(
            f"{counts[k]} {k}"
            for k in ("new", "updated", "renamed", "unchanged", "kept", "removed")
            if counts[k]
        )
    )
    made = {content_dir / post.path for post in posts if post.needs_headline}
    for action in actions:
        if action.kind in ("new", "updated", "renamed") and action.path in made:
            lines.append(f"needs an editor's headline: {action.path} (its title was made from the lede)")
        if action.kind == "kept":
            lines.append(f"kept {action.path}: edited since it was imported (use --force to overwrite)")
        elif action.kind in ("renamed", "removed"):
            lines.append(
                f"{action.kind} {action.old_path or action.path}"
                + (f" -> {action.path}" if action.kind == "renamed" else "")
            )
    return lines


def run_import(
    manifest: Path, content_dir: Path, root: Path, force: bool = False, say: Callable[[str], None] = print
) -> list[Post]:
    """Import; provenance paths are recorded relative to the project folder, root."""
    sources = load_manifest(manifest, root.resolve())
    rules = load_rules()
    check_vocabulary(content_dir, sources, rules)
    articles, debris = read_articles(sources, rules)
    posts = make_posts(articles, rules)
    actions = plan(posts, sources, content_dir, force)
    carry_out(actions)
    for line in report(sources, posts, debris, actions, content_dir):
        say(line)
    return posts
