"""Property-based tests: random text into the front matter parser, the Markdown renderer, the
importer and a whole build. Every outcome is a result or a clean list of problems; never an
unhandled exception."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ihv_archive import markdown
from ihv_archive.config import load_config
from ihv_archive.content import KNOWN_KEYS, Post, Tag, parse
from ihv_archive.importer.manifest import Source
from ihv_archive.importer.posts import make_posts
from ihv_archive.importer.rules import load_rules
from ihv_archive.importer.segment import content_lines, segment
from ihv_archive.load import load
from ihv_archive.problems import Problem
from ihv_archive.render import Page, render
from ihv_archive.validate import validate

from .conftest import FIXTURE, PROJECT

LONDON = ZoneInfo("Europe/London")
TAGS = {"policy": Tag("policy", "Policy", "")}
RULES = load_rules()
MD = markdown.make_markdown()

# YAML-able values, including the awkward ones: dates as text, nesting, odd scalars.
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["2024-01-01", "2024-02-30", "yes", "~", "policy", "[policy]", "/old/"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
front_matter = st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=10), values, max_size=8)


def is_outcome(result: object) -> bool:
    return isinstance(result, Post) or (
        isinstance(result, list) and all(isinstance(p, Problem) for p in result)
    )


@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
@settings(max_examples=300, deadline=None)
def test_any_bytes_are_a_post_or_problems(raw: bytes) -> None:
    assert is_outcome(parse(raw, "x.md", PurePosixPath("2024/x.md"), TAGS, LONDON))


@given(front_matter, st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_any_front_matter_is_a_post_or_problems(data: dict[str, object], body: str) -> None:
    text = "---\n" + yaml.safe_dump(data, allow_unicode=True) + "---\n" + body
    result = parse(text, "x.md", PurePosixPath("2024/x.md"), TAGS, LONDON)
    assert is_outcome(result)
    if isinstance(result, list):
        assert all(p.file == "x.md" and p.message for p in result)


@given(st.text(max_size=600))
@settings(max_examples=300, deadline=None)
def test_any_markdown_renders_and_raw_html_stays_text(text: str) -> None:
    html = markdown.render(MD, MD.parse(text, {}), lambda href, line: href)
    assert isinstance(html, str)
    assert "<script" not in html.lower()
    assert 'href="javascript:' not in html.lower()


@given(
    st.lists(
        st.text(max_size=120) | st.sampled_from(["\u00a0", "", "  • item", "1.An item", "[1] Note"]),
        max_size=30,
    )
)
@example(lines=["()"])  # a headline that was all aside once became an empty title
@example(lines=[".", "00"])  # so did a title line of a full stop
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_listing_imports_into_posts_the_builder_accepts(lines: list[str]) -> None:
    source = Source("sources/x.txt", "X", "policy", "ihv.org.uk", False, (), (), tuple(lines))
    found, _ = content_lines(source, RULES)
    articles = segment(source, found, RULES, set()) if found else []
    posts = make_posts(articles, RULES)
    vocabulary = {r.tag: Tag(r.tag, r.tag, "") for r in RULES.tags} | TAGS
    from ihv_archive.importer.posts import file_text

    for post in posts:
        result = parse(file_text(post), "p.md", PurePosixPath(post.path), vocabulary, LONDON)
        assert isinstance(result, Post), result  # what the importer writes, the builder accepts


@given(st.text(min_size=1, max_size=60), st.text(max_size=120), st.text(max_size=300))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_post_builds_or_fails_cleanly(
    tmp_path_factory: object, title: str, summary: str, body: str
) -> None:
    root = Path(tmp_path_factory.mktemp("prop"))  # type: ignore[attr-defined]
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    shutil.copytree(PROJECT / "templates", root / "templates")
    (root / "content/posts/2024/random.md").write_text(
        f"---\ntitle: {json.dumps(title)}\ndate: 2024-06-01\ntags: [policy]\nsummary: {json.dumps(summary)}\n---\n{body}",
        encoding="utf-8",
    )
    config = load_config(root)
    site = validate(load(config), config, datetime(2026, 1, 1, tzinfo=LONDON))
    made = list(render(site))  # render reports problems; it must not raise
    pages = [item for item in made if isinstance(item, Page)]
    problems = [item for item in made if isinstance(item, Problem)]
    assert all(isinstance(p, Problem) for p in site.problems)
    if not site.problems and not problems:
        page = next(p for p in pages if p.path.as_posix() == "posts/2024/random/index.html")
        assert b"<script" not in page.content.split(b"<main")[1]


def related_by_definition(posts: tuple[Post, ...]) -> dict[str, tuple[str, ...]]:
    """The rule for related posts, written as plainly as possible (and quadratic): rank every
    other post by tags in common (more first), then distance in time, then the newer; posts
    with no tag in common come last, nearest in time first."""
    related = {}
    for i, post in enumerate(posts):
        others = [j for j in range(len(posts)) if j != i]
        ranked = sorted(others, key=lambda j: (-len(set(post.tags) & set(posts[j].tags)), abs(j - i), j))
        related[post.path] = tuple(posts[j].path for j in ranked[:3])
    return related


# Up to 8 tags of 9: some posts are "wide" (more than presentation.FEW_TAGS tags), counted another way.
@given(st.lists(st.lists(st.sampled_from("abcdefghi"), min_size=1, max_size=8, unique=True), max_size=40))
@settings(max_examples=400, deadline=None)
def test_related_posts_follow_their_definition(tag_lists: list[list[str]]) -> None:
    from ihv_archive.presentation import related_posts

    when = datetime(2024, 1, 1, tzinfo=LONDON)
    posts = tuple(
        Post(f"p{n}.md", PurePosixPath(f"p{n}.md"), f"P{n}", when, "day", tuple(tags), "", "", 1, f"p{n}")
        for n, tags in enumerate(tag_lists)
    )
    by_tag = {t: tuple(p for p in posts if t in p.tags) for t in "abcdefghi"}
    assert related_posts(posts, by_tag) == related_by_definition(posts)


# --- hostile input (issue: nothing crashes, nothing hangs) --------------------------------

anchors = st.lists(st.sampled_from(["a", "b", "long_name"]), min_size=1, max_size=3)


@given(anchors, st.sampled_from(["title", "summary", "tags", "slug"]), st.integers(1, 9))
@settings(max_examples=100, deadline=None)
def test_yaml_anchors_and_aliases_are_refused_at_their_line(names: list[str], key: str, fan: int) -> None:
    """Any front matter with an anchor or alias: one problem at its line, never the value
    expanded (a billion laughs)."""
    lines = [
        f"{n}{i}: &{n}{i} [{', '.join(['*' + names[i - 1] + str(i - 1)] * fan) if i else 'x'}]"
        for i, n in enumerate(names)
    ]
    text = (
        "---\n" + "\n".join(lines) + f"\n{key}: *{names[-1]}{len(names) - 1}\ndate: 2024-01-01\n---\nBody.\n"
    )
    result = parse(text, "x.md", PurePosixPath("2024/x.md"), TAGS, LONDON)
    assert isinstance(result, list) and len(result) == 1
    assert result[0].line == 2 and "YAML anchor" in result[0].message and len(str(result[0])) < 200


@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
    st.integers(-24 * 60 + 1, 24 * 60 - 1),
)
@settings(max_examples=300, deadline=None)
def test_any_date_with_any_offset_is_a_date_or_a_clean_problem(when: datetime, minutes: int) -> None:
    sign, offset = ("+" if minutes >= 0 else "-"), abs(minutes)
    stamp = f"{when.isoformat(timespec='seconds')}{sign}{offset // 60:02d}:{offset % 60:02d}"
    for key in ("date", "updated"):
        extra = f"updated: '{stamp}'\n" if key == "updated" else ""
        date_line = f"date: '{stamp}'" if key == "date" else "date: 0001-01-01"
        text = f"---\ntitle: T\n{date_line}\ntags: [policy]\nsummary: S\n{extra}---\nBody.\n"
        result = parse(text, "x.md", PurePosixPath("2024/x.md"), TAGS, LONDON)
        assert is_outcome(result)
        if isinstance(result, list):
            assert all(p.line is not None and key in p.message for p in result), result


@given(st.binary(max_size=300).filter(lambda raw: b"\x00" in raw or any(b < 9 for b in raw)))
@settings(max_examples=100, deadline=None)
def test_a_source_with_binary_bytes_is_refused_and_nothing_is_read_from_it(raw: bytes) -> None:
    import tempfile

    from ihv_archive.importer.manifest import ImportFailed, read_source_text

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.txt"
        path.write_bytes(b"Today, a report.\n" + raw)
        try:
            read_source_text(path, "s.txt")
        except ImportFailed as failed:
            assert all(m.startswith("s.txt") for m in failed.messages)
        else:
            raise AssertionError("a source with binary bytes was read")


@given(st.binary(min_size=1, max_size=4000), st.integers(0, 100_000))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_damage_to_the_cache_file_is_set_aside_and_the_build_equals_a_cold_one(
    tmp_path_factory: object, garbage: bytes, at: int
) -> None:
    from ihv_archive.cli import main

    from .conftest import tree_bytes

    root = Path(tmp_path_factory.mktemp("cache"))  # type: ignore[attr-defined]
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    shutil.copytree(PROJECT / "templates", root / "templates")
    assert main(["--root", str(root), "build", "--no-search"]) == 0
    reference = tree_bytes(root / "site")
    (file,) = (root / ".cache").glob("*.sqlite3")
    data = bytearray(file.read_bytes())
    at %= len(data)
    data[at : at + len(garbage)] = garbage
    file.write_bytes(bytes(data))
    post = root / "content/posts/2023/year-only.md"  # and an edit, so that the cache is read
    post.write_text(post.read_text().replace("Text.", "Text, edited."))
    assert main(["--root", str(root), "build", "--no-search"]) == 0
    shutil.rmtree(root / ".cache")
    edited = tree_bytes(root / "site")
    assert main(["--root", str(root), "build", "--no-search"]) == 0
    assert tree_bytes(root / "site") == edited != reference
