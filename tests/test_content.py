"""content.parse: a post's text -> Post, or problems that name the line and the fix."""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

import pytest

from ihv_archive.content import Post, Tag, parse, parse_tags, slug_from_filename
from ihv_archive.problems import Problem

LONDON = ZoneInfo("Europe/London")
TAGS = {slug: Tag(slug, slug.title(), "") for slug in ("safeguarding", "policy", "events")}
GOOD = """---
title: "Manifesto for Babies"
date: 2024-03-19
tags: [policy]
summary: One or two sentences.
---
Body text.
"""


def parse_text(text: str | bytes, name: str = "2024/x.md") -> Post | list[Problem]:
    return parse(text, f"content/posts/{name}", PurePosixPath(name), TAGS, LONDON)


def problems_of(text: str | bytes) -> list[str]:
    result = parse_text(text)
    assert isinstance(result, list), f"expected problems, got {result}"
    return [str(p) for p in result]


def test_a_good_post() -> None:
    post = parse_text(GOOD)
    assert isinstance(post, Post)
    assert post.title == "Manifesto for Babies"
    assert post.date == datetime(2024, 3, 19, tzinfo=LONDON)
    assert (post.tags, post.slug, post.date_precision, post.draft) == (("policy",), "x", "day", False)
    assert post.body == "Body text.\n"
    assert post.body_line == 7


def test_every_key_of_the_contract_is_accepted() -> None:
    post = parse_text(
        GOOD.replace(
            "summary:",
            "date_precision: month\nupdated: 2024-03-20T10:00:00Z\ndraft: true\nslug: my-slug\n"
            "aliases: [/old/url/, /old/page.html]\n"
            'sources:\n  - {file: sources/ihv/a.txt, lines: "4-9", listing: policy}\n'
            'date_basis: "Between neighbours."\nimported_hash: "sha256:ab"\nsummary:',
        )
    )
    assert isinstance(post, Post)
    assert post.updated == datetime(2024, 3, 20, 10, 0, tzinfo=LONDON)  # 10:00 UTC is 10:00 GMT
    assert (post.slug, post.draft, post.date_precision) == ("my-slug", True, "month")
    assert post.aliases == ("/old/url/", "/old/page.html")
    assert post.sources[0].lines == "4-9"


def test_bom_and_crlf_parse_the_same_as_plain_text() -> None:
    windows = b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode()
    assert parse_text(windows) == parse_text(GOOD)


def test_datetimes_are_read_in_london_time() -> None:
    post = parse_text(GOOD.replace("2024-03-19", "2024-07-01T09:30:00"))
    assert isinstance(post, Post)
    assert post.date.utcoffset().total_seconds() == 3600  # BST


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("2024-03-19", "yesterday"),
            "content/posts/2024/x.md:3: date: 'yesterday' is not a date (use YYYY-MM-DD)",
        ),
        (("2024-03-19", "2023-02-30"), "content/posts/2024/x.md:3: date: '2023-02-30' is not a real date"),
        (
            ("tags: [policy]", "tags: 7"),
            "content/posts/2024/x.md:4: tags: expected a list of tag names, got 7",
        ),
        (
            ("tags: [policy]", "tags: [polcy]"),
            "content/posts/2024/x.md:4: tags: unknown tag 'polcy' (did you mean 'policy'?)",
        ),
        (
            ("summary:", "sumary: x\nsummary:"),
            "content/posts/2024/x.md:5: sumary: unknown key (did you mean 'summary'?)",
        ),
        (
            ("summary:", "draft: maybe\nsummary:"),
            "content/posts/2024/x.md:5: draft: expected true or false, got 'maybe'",
        ),
        (
            ("summary:", "slug: ../../etc\nsummary:"),
            "content/posts/2024/x.md:5: slug: '../../etc' is not a slug",
        ),
        (
            ("summary:", "aliases: [/../../x]\nsummary:"),
            "content/posts/2024/x.md:5: aliases: '/../../x' is not a path on this site",
        ),
        (
            ("summary:", "aliases: ['/%2e%2e/x']\nsummary:"),
            "content/posts/2024/x.md:5: aliases: '/%2e%2e/x' is not a path",
        ),
        (
            ("summary:", "date_precision: week\nsummary:"),
            "date_precision: 'week' is not one of day, month, year",
        ),
        (('title: "Manifesto for Babies"\n', ""), "content/posts/2024/x.md:2: title: missing"),
        (("summary: One or two sentences.", "summary: ''"), ":5: summary: empty (write one or two sentences"),
        (('title: "Manifesto for Babies"', "title: [a, b]"), "title: expected text"),
        (("summary:", "updated: 2024-01-01\nsummary:"), "updated: is before the post's date"),
    ],
)
def test_field_mistakes_name_the_line_and_the_fix(change: tuple[str, str], expected: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    assert any(expected in problem for problem in problems_of(text)), problems_of(text)


def test_all_problems_of_a_file_are_reported_together() -> None:
    text = (
        GOOD.replace("2024-03-19", "soon")
        .replace("[policy]", "[nope]")
        .replace("summary:", "colour: red\nsummary:")
    )
    assert len(problems_of(text)) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Just text\n", ":1: no front matter"),
        ("---\ntitle: x\n", ":1: front matter is not closed"),
        (
            "---\ntitle: [unclosed\ndate: 2024-01-01\n---\n",
            "content/posts/2024/x.md:2: front matter is not valid YAML",
        ),
        (
            '---\ntitle: "unclosed\ndate: 2024-01-01\n---\n',
            "content/posts/2024/x.md:2: front matter is not valid YAML",
        ),
        ("---\ntitle: a: b\n---\n", "(put quotes around a value that contains a colon)"),
        ("---\n- a\n- b\n---\n", ":2: front matter is a list (write it as key: value lines)"),
        ("---\njust words\n---\n", "front matter is a str"),
        ("---\n---\nbody", "front matter is empty"),
        (
            "---\ndate: 2024-01-01\ntitle: T\ndate: 2025-01-01\n---\n",
            ":4: date: appears twice (also on line 2)",
        ),
        ("", "content/posts/2024/x.md: is empty"),
        (
            b"---\ntitle: caf\xe9\n---\n",
            "content/posts/2024/x.md:2: is not UTF-8 text (save the file as UTF-8",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is not a text file"),
    ],
)
def test_broken_files_get_one_clear_problem(text: str | bytes, expected: str) -> None:
    problems = problems_of(text)
    assert len(problems) == 1 and expected in problems[0], problems


def test_slug_from_file_name() -> None:
    assert slug_from_filename("Manifesto for Babies") == "manifesto-for-babies"
    assert slug_from_filename("Café £ & Co") == "cafe-co"
    assert slug_from_filename("2024-03-19-news") == "2024-03-19-news"


def test_tag_vocabulary() -> None:
    tags = parse_tags('[safer-sleep]\nname = "Safer sleep"\ndescription = "Reducing risk."\n', "tags.toml")
    assert tags == {"safer-sleep": Tag("safer-sleep", "Safer sleep", "Reducing risk.")}
    problems = parse_tags('["Bad Slug"]\nname = "x"\n[ok]\ndescription = "no name"\n', "tags.toml")
    assert isinstance(problems, list) and len(problems) == 2
