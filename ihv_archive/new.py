"""`python build.py new "Title"`: a new post file with complete front matter, never
overwriting anything."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from .config import Config
from .content import SLUG_PATTERN, Tag
from .post_format import slug_from_title, yaml_string
from .problems import Problem, ProblemsFound, did_you_mean, display_path, quoted


def post_text(title: str, when: date, tags: list[str], draft: bool) -> str:
    """The new file's text. The title is written as a JSON string, which YAML reads as a
    double-quoted scalar: quotes, &, £ and any letters stay exactly as typed."""
    lines = [
        "---",
        f"title: {yaml_string(title)}",
        f"date: {when.isoformat()}",
        f"tags: [{', '.join(tags)}]",
        'summary: ""  # one or two sentences, shown in lists and feeds',
    ]
    if draft:
        lines.append("draft: true  # remove this line to publish")
    return "\n".join([*lines, "---", "Write the post here, in Markdown.", ""])


def slug_taken(year_dir: Path, slug: str) -> Path | None:
    """A post in that year already at this slug: by file name, or by its own `slug:`."""
    if (year_dir / f"{slug}.md").exists():
        return year_dir / f"{slug}.md"
    for file in sorted(year_dir.glob("*.md")) if year_dir.is_dir() else []:
        head = file.read_text(encoding="utf-8", errors="replace")[:4000]
        if re.search(rf"^slug:\s*['\"]?{re.escape(slug)}['\"]?\s*$", head, re.MULTILINE):
            return file
    return None


def new_post(
    config: Config,
    vocabulary: dict[str, Tag],
    title: str,
    when: date,
    tags: list[str],
    draft: bool,
    slug: str | None = None,
) -> Path:
    problems: list[Problem] = []
    title = title.strip()
    if not title:
        problems.append(
            Problem("new", None, "the title is empty", 'give it in quotes: new "Title of the post"')
        )
    for tag in tags:
        if tag not in vocabulary:
            hint = did_you_mean(tag, vocabulary) or f"known tags: {', '.join(sorted(vocabulary))}"
            problems.append(Problem(display_path(config.tags_file), None, f"unknown tag '{tag}'", hint))
    if slug is not None and not SLUG_PATTERN.match(slug):
        fix = "use lower-case letters, digits and single hyphens, e.g. spring-update"
        problems.append(Problem("new", None, f"--slug {quoted(slug)} is not a slug", fix))
    given, slug = slug is not None, slug or slug_from_title(title)
    if title and not given and not SLUG_PATTERN.match(slug):
        problems.append(
            Problem(
                "new", None, f"no web address can be made from {quoted(title)}", "add --slug my-post-name"
            )
        )
    if problems:
        raise ProblemsFound(problems)
    year_dir = config.posts_dir / str(when.year)
    taken = slug_taken(year_dir, slug)
    if taken is not None:
        raise ProblemsFound.one(
            display_path(taken),
            None,
            f"already uses the address '{slug}' in {when.year}",
            f"choose another title, or add --slug {slug}-2",
        )
    year_dir.mkdir(parents=True, exist_ok=True)
    path = year_dir / f"{slug}.md"
    with path.open("x", encoding="utf-8") as out:  # "x": fail rather than overwrite, even in a race
        out.write(post_text(title, when, tags, draft))
    return path
