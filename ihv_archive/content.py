"""Posts and the tag vocabulary: text -> Post or problems.

`parse()` is pure (text in, Post or problems out); load.load_post is the thin I/O around it.
The post contract (front matter keys and their types) is in shared/DESIGN.md.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from frontmatter.default_handlers import YAMLHandler

from .problems import Problem, did_you_mean, quoted, toml_problem

PRECISIONS = ("day", "month", "year")
REQUIRED_KEYS = ("title", "date", "tags", "summary")
OPTIONAL_KEYS = tuple(
    ["date_precision", "updated", "draft", "slug", "aliases", "sources", "date_basis", "imported_hash"]
)
KNOWN_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS
REQUIRED_HINTS = {
    "title": 'write the headline in quotes: title: "…"',
    "date": "write the date as YYYY-MM-DD",
    "tags": "list at least one tag from content/tags.toml, e.g. tags: [policy], or write tags: []",
    "summary": 'write one or two sentences for lists and feeds: summary: "…"',
}
SOURCE_KEYS = ("file", "lines", "listing")

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# An alias is a path under the site root: "/old/url/" or "/old/page.html".
ALIAS_PATTERN = re.compile(r"^/(?:[A-Za-z0-9._~-]+/)*(?:[A-Za-z0-9._~-]+)?$")
MAX_POST_BYTES = 2_000_000


@dataclass(frozen=True)
class Tag:
    slug: str
    name: str
    description: str


@dataclass(frozen=True)
class Source:
    file: str
    lines: str
    listing: str


@dataclass(frozen=True)
class Post:
    path: str  # as shown to editors, e.g. content/posts/2024/x.md
    rel_path: PurePosixPath  # below content/posts, for links between posts
    title: str
    date: datetime  # aware, in the site's time zone
    date_precision: str
    tags: tuple[str, ...]
    summary: str
    body: str
    body_line: int  # file line of the body's first line, for messages
    slug: str
    updated: datetime | None = None
    draft: bool = False
    aliases: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    date_basis: str = ""
    imported_hash: str = ""
    # A digest of what the post was parsed from (load.py): posts of equal keys render the
    # same, so the cache compares keys instead of whole posts.
    key: str = field(default="", compare=False, repr=False)

    @property
    def year(self) -> int:
        return self.date.year


# --- YAML with line numbers -------------------------------------------------------------

# libyaml's C loader where the machine has it: the same results, several times faster.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FrontMatterLoader(_Loader):  # type: ignore[misc]
    """Safe YAML that leaves dates as text, so that we can say what is wrong with a bad one."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}


def decode(raw: bytes | str) -> str:
    """Text as every stage sees it: BOM dropped, Windows and old Mac line endings made \\n."""
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def split_front_matter(text: str) -> tuple[str, int, str, int] | str:
    """(yaml, its first line, body, its first line), or a message saying what is wrong."""
    boundary = YAMLHandler.FM_BOUNDARY
    if not YAMLHandler().detect(text) or boundary.match(text) is None:
        return "no front matter: the file must start with a line of three dashes (---)"
    opening = boundary.match(text)
    assert opening is not None
    closing = boundary.search(text, opening.end())
    if closing is None:
        return "front matter is not closed: add a line of three dashes (---) after it"
    yaml_start = opening.end() + 1 if text[opening.end() : opening.end() + 1] == "\n" else opening.end()
    body_start = closing.end()
    while body_start < len(text) and text[body_start] == "\n":  # blank lines after the closing ---
        body_start += 1
    return (
        text[yaml_start : closing.start()],
        _line_of(text, yaml_start),
        text[body_start:],
        _line_of(text, body_start),
    )


def load_yaml_mapping(source: str, first_line: int) -> tuple[dict[Any, Any], dict[Any, int]] | Problem:
    """The YAML mapping and each key's file line; a Problem (with its line) when it is not one."""
    loader = _FrontMatterLoader(source)
    try:
        for event in yaml.parse(source, Loader=_FrontMatterLoader):  # before any value is built
            if (name := getattr(event, "anchor", None)) is not None:
                alias = isinstance(event, yaml.AliasEvent)
                shown = f"{'alias' if alias else 'anchor'} ({'*' if alias else '&'}{name[:40]})"
                line = first_line + event.start_mark.line
                # an alias repeats a value, and a few nested ones make one too large to hold
                return Problem("", line, f"front matter uses a YAML {shown}", "write each value out in full")
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        # Where the broken construct (an unclosed bracket or quote) starts is where the editor
        # must look; where the parser noticed is often the line after.
        mark = error.context_mark or error.problem_mark
        line = first_line + mark.line if mark else None
        what = error.problem or error.context or "invalid YAML"
        return Problem("", line, f"front matter is not valid YAML: {what}", _yaml_hint(what))
    except yaml.YAMLError as error:
        return Problem("", first_line, f"front matter is not valid YAML: {error}")
    finally:
        loader.dispose()
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        return Problem("", first_line, f"front matter is {kind}", "write it as key: value lines")
    lines: dict[Any, int] = {}
    for key_node, _ in node.value:
        line = first_line + key_node.start_mark.line
        if key_node.value in lines:  # YAML would silently keep the last one
            return Problem(
                "",
                line,
                f"{str(key_node.value)[:80]}: appears twice (also on line {lines[key_node.value]})",
                "keep one and delete the other",
            )
        lines[key_node.value] = line
    return data, lines


def _yaml_hint(what: str) -> str:
    if "mapping values" in what or "could not find expected ':'" in what:
        return "put quotes around a value that contains a colon"
    if "found character '\\t'" in what:
        return "indent with spaces, not tabs"
    return "check the quotes and indentation on this line"


# --- field checks ---------------------------------------------------------------------


def parse_when(value: Any, zone: ZoneInfo) -> datetime | str:
    """A front-matter date or datetime as an aware datetime in the site's zone, or an error."""
    if isinstance(value, datetime):  # a YAML loader that resolves timestamps
        parsed: date | datetime = value
    elif isinstance(value, date):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            parsed = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return f"{quoted(text)} is not a real date (check the day and month)"
            return f"{quoted(text)} is not a date (use YYYY-MM-DD)"
    else:
        return f"{quoted(value)} is not a date (use YYYY-MM-DD)"
    try:  # in the site's zone, and as UTC (every comparison of two dates goes through it)
        if not isinstance(parsed, datetime):
            parsed = datetime.combine(parsed, time(0, 0), tzinfo=zone)
        when = parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed.astimezone(zone)
        when.astimezone(UTC)
    except OverflowError:
        return f"{quoted(str(value).strip())} is out of range (use a date between years 1 and 9999)"
    return when


def slug_from_filename(stem: str) -> str:
    """A URL slug from a file name: 'Manifesto for Babies' -> 'manifesto-for-babies'.
    Apostrophes join ("what’s" -> "whats"); any other non-word character separates."""
    words = re.sub(r"[^\w'’]+", " ", stem)
    ascii_text = unicodedata.normalize("NFKD", words).encode("ascii", "ignore").decode().replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _check_fields(
    data: dict[Any, Any], lines: dict[Any, int], first_line: int, vocabulary: dict[str, Tag] | None
) -> list[Problem]:
    problems: list[Problem] = []

    def report(key: str, message: str, fix: str = "") -> None:
        problems.append(Problem("", lines.get(key, first_line), f"{key[:80]}: {message}", fix))

    for key in data:
        if not isinstance(key, str):
            problems.append(Problem("", lines.get(str(key), first_line), f"{quoted(key)} is not a key name"))
        elif key not in KNOWN_KEYS:
            hint = did_you_mean(key, KNOWN_KEYS) or f"known keys: {', '.join(KNOWN_KEYS)}"
            report(key, "unknown key", hint)
    for key in REQUIRED_KEYS:
        if key not in data:
            problems.append(Problem("", first_line, f"{key}: missing", f"add '{key}:' to the front matter"))
        elif data[key] is None or (isinstance(data[key], str) and not data[key].strip()):
            problems.append(Problem("", lines.get(key, first_line), f"{key}: empty", REQUIRED_HINTS[key]))

    for key in ("title", "summary", "date_basis", "imported_hash"):
        if key in data and data[key] not in (None, "") and not _text(data[key]):
            report(key, f"expected text, got {quoted(data[key])}", "put the text in quotes")
    for key in ("draft",):
        if key in data and not isinstance(data[key], bool):
            report(
                key, f"expected true or false, got {quoted(data[key])}", f"write {key}: true or {key}: false"
            )
    if "date_precision" in data and data["date_precision"] not in PRECISIONS:
        report(
            "date_precision",
            f"{quoted(data['date_precision'])} is not one of day, month, year",
            "write day, month or year: how exactly the date is known",
        )
    if "slug" in data and not (isinstance(data["slug"], str) and SLUG_PATTERN.match(data["slug"])):
        report(
            "slug",
            f"{quoted(data['slug'])} is not a slug",
            "use lower-case letters, digits and single hyphens, e.g. manifesto-for-babies",
        )

    tags = data.get("tags")
    if tags is not None and tags != "":
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            report(
                "tags",
                f"expected a list of tag names, got {quoted(tags)}",
                "write tags: [safeguarding, policy]",
            )
        else:
            for tag in tags:
                if vocabulary is not None and tag not in vocabulary:  # None: it could not be read
                    hint = did_you_mean(tag, vocabulary) or "add it to content/tags.toml first"
                    report("tags", f"unknown tag {quoted(tag)}", hint)
            if len(set(tags)) != len(tags):
                report("tags", "a tag is listed twice")

    aliases = data.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        report("aliases", f"expected a list of old URLs, got {quoted(aliases)}", "write aliases: [/old/url/]")
    else:
        for alias in aliases:
            if not ALIAS_PATTERN.match(alias) or "/../" in alias + "/" or "/./" in alias + "/":
                report(
                    "aliases",
                    f"{quoted(alias)} is not a path on this site",
                    "start it with / and use only letters, digits, '-', '_', '.', e.g. /news/old-title/",
                )

    sources = data.get("sources", [])
    if not isinstance(sources, list) or not all(
        isinstance(s, dict) and set(s) <= set(SOURCE_KEYS) and all(_text(s.get(k)) for k in SOURCE_KEYS)
        for s in sources
    ):
        report(
            "sources",
            "each entry needs file, lines and listing",
            'write - {file: …, lines: "1-9", listing: …}',
        )
    return problems


# --- the post ---------------------------------------------------------------------------


def parse(
    raw: bytes | str,
    path: str,
    rel_path: PurePosixPath,
    vocabulary: dict[str, Tag] | None,
    zone: ZoneInfo,
) -> Post | list[Problem]:
    """One post file's text -> Post, or every problem found in it (each naming the file)."""

    def located(problems: list[Problem]) -> list[Problem]:
        return [Problem(path, p.line, p.message, p.fix) for p in problems]

    if isinstance(raw, bytes) and b"\x00" in raw:
        return located([Problem("", None, "is not a text file", "posts must be Markdown text files")])
    if len(raw) > MAX_POST_BYTES:
        return located(
            [Problem("", None, f"is too large ({len(raw):,} bytes)", "split it; a post must be under 2 MB")]
        )
    try:
        text = decode(raw)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1 if isinstance(raw, bytes) else None
        return located([Problem("", line, "is not UTF-8 text", "save the file as UTF-8 in your editor")])
    if not text.strip():
        return located([Problem("", None, "is empty", 'start from `python build.py new "Title"`')])

    parts = split_front_matter(text)
    if isinstance(parts, str):
        return located([Problem("", 1, parts)])
    yaml_text, first_line, body, body_line = parts
    loaded = load_yaml_mapping(yaml_text, first_line)
    if isinstance(loaded, Problem):
        return located([loaded])
    data, lines = loaded

    problems = _check_fields(data, lines, first_line, vocabulary)
    when = parse_when(data["date"], zone) if data.get("date") not in (None, "") else None
    if isinstance(when, str):
        problems.append(Problem("", lines.get("date"), f"date: {when}"))
    updated = parse_when(data["updated"], zone) if data.get("updated") is not None else None
    if isinstance(updated, str):
        problems.append(Problem("", lines.get("updated"), f"updated: {updated}"))
    elif isinstance(updated, datetime) and isinstance(when, datetime) and updated < when:
        problems.append(Problem("", lines.get("updated"), "updated: is before the post's date"))

    slug = data.get("slug") or slug_from_filename(rel_path.stem)
    if not slug:
        what = f"no slug can be made from the file name {quoted(rel_path.name)}"
        problems.append(Problem("", None, what, "add slug: to the front matter"))

    if problems:
        return located(problems)
    assert isinstance(when, datetime)
    return Post(
        path=path,
        rel_path=rel_path,
        title=data["title"].strip(),
        date=when,
        date_precision=data.get("date_precision", "day"),
        tags=tuple(data["tags"]),
        summary=data["summary"].strip(),
        body=body,
        body_line=body_line,
        slug=slug,
        updated=updated if isinstance(updated, datetime) else None,
        draft=data.get("draft", False),
        aliases=tuple(data.get("aliases", [])),
        sources=tuple(Source(**s) for s in data.get("sources", [])),
        date_basis=data.get("date_basis", "") or "",
        imported_hash=data.get("imported_hash", "") or "",
    )


# --- the tag vocabulary -----------------------------------------------------------------


def parse_tags(text: str, shown: str) -> dict[str, Tag] | list[Problem]:
    """content/tags.toml: one table a tag, keyed by its slug, with name and description."""
    try:
        raw = tomllib.loads(decode(text))
    except tomllib.TOMLDecodeError as error:
        return [toml_problem(shown, error)]
    if not raw:
        return [
            Problem(shown, None, "has no tags", 'add one [slug] table a tag, e.g. [policy] name = "Policy"')
        ]
    tags: dict[str, Tag] = {}
    problems: list[Problem] = []
    for slug, entry in raw.items():
        if not SLUG_PATTERN.match(slug):
            problems.append(
                Problem(shown, None, f"[{slug}]: a tag's key must be a slug", "e.g. [infant-feeding]")
            )
        elif (
            not isinstance(entry, dict)
            or not _text(entry.get("name"))
            or not isinstance(entry.get("description", ""), str)
        ):
            problems.append(Problem(shown, None, f'[{slug}]: needs name = "…" and description = "…"'))
        elif unknown := set(entry) - {"name", "description"}:
            what = f"[{slug}]: unknown key {quoted(sorted(unknown)[0])}"
            problems.append(Problem(shown, None, what, "a tag has name and description"))
        else:
            tags[slug] = Tag(slug, entry["name"].strip(), entry.get("description", "").strip())
    return problems or tags
