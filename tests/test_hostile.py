"""Broken and hostile posts, each dropped into a good archive: a clear error, nothing lost.

For every case, `build` and `check` exit with status 1, the message names the file (and
line) and says how to fix it, no traceback is printed, nothing is written outside the
output folder, and the site built before is left byte for byte as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from .conftest import PROJECT, run, tree_bytes

GOOD = "---\ntitle: T\ndate: 2024-05-05\ntags: [policy]\nsummary: S\n{extra}---\nBody.\n"


def post(extra: str = "", **replace: str) -> bytes:
    text = GOOD.format(extra=extra)
    for old, new in replace.items():
        text = text.replace(old.replace("_", " ") if old != "title" else "title: T", new)
    return text.encode()


CATALOGUE: list[tuple[str, bytes, str]] = [
    (
        "no front matter",
        b"Just some text.\n",
        "bad.md:1: no front matter: the file must start with a line of three dashes (---)",
    ),
    (
        "unterminated front matter",
        b"---\ntitle: T\ndate: 2024-01-01\n",
        "bad.md:1: front matter is not closed: add a line of three dashes (---) after it",
    ),
    ("invalid YAML", b"---\ntitle: [T\ndate: 2024-01-01\n---\n", "bad.md:2: front matter is not valid YAML"),
    (
        "front matter is a list",
        b"---\n- a\n- b\n---\n",
        "bad.md:2: front matter is a list (write it as key: value lines)",
    ),
    (
        "front matter is a scalar",
        b"---\njust words\n---\n",
        "bad.md:2: front matter is a str (write it as key: value lines)",
    ),
    ("empty file", b"", 'bad.md: is empty (start from `python build.py new "Title"`)'),
    (
        "binary file",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "bad.md: is not a text file (posts must be Markdown text files)",
    ),
    (
        "not UTF-8",
        "---\ntitle: Café\n---\n".encode("latin-1"),
        "bad.md:2: is not UTF-8 text (save the file as UTF-8 in your editor)",
    ),
    (
        "missing field",
        post().replace(b"title: T\n", b""),
        "bad.md:2: title: missing (add 'title:' to the front matter)",
    ),
    (
        "empty field",
        post().replace(b"summary: S", b"summary:"),
        "bad.md:5: summary: empty (write one or two sentences",
    ),
    (
        "tags as a number",
        post().replace(b"tags: [policy]", b"tags: 7"),
        "bad.md:4: tags: expected a list of tag names, got 7 (write tags: [safeguarding, policy])",
    ),
    (
        "title as a list",
        post().replace(b"title: T", b"title: [a, b]"),
        "bad.md:2: title: expected text, got ['a', 'b'] (put the text in quotes)",
    ),
    (
        "draft as maybe",
        post("draft: maybe\n"),
        "bad.md:6: draft: expected true or false, got 'maybe' (write draft: true or draft: false)",
    ),
    (
        "date as a word",
        post().replace(b"2024-05-05", b"soon"),
        "bad.md:3: date: 'soon' is not a date (use YYYY-MM-DD)",
    ),
    (
        "impossible date",
        post().replace(b"2024-05-05", b"2023-02-30"),
        "bad.md:3: date: '2023-02-30' is not a real date (check the day and month)",
    ),
    (
        "unknown precision",
        post("date_precision: week\n"),
        "bad.md:6: date_precision: 'week' is not one of day, month, year (write day, month or year",
    ),
    ("unknown key", post("colour: red\n"), "bad.md:6: colour: unknown key (known keys:"),
    ("misspelt key", post("sumary: x\n"), "bad.md:6: sumary: unknown key (did you mean 'summary'?)"),
    (
        "unknown tag",
        post().replace(b"[policy]", b"[gardening]"),
        "bad.md:4: tags: unknown tag 'gardening' (add it to content/tags.toml first)",
    ),
    (
        "slug climbing out",
        post("slug: ../../../etc\n"),
        "bad.md:6: slug: '../../../etc' is not a slug (use lower-case letters",
    ),
    ("slug as an absolute path", post("slug: /etc/passwd\n"), "bad.md:6: slug: '/etc/passwd' is not a slug"),
    (
        "alias climbing out",
        post("aliases: [/../../../tmp/x/]\n"),
        "bad.md:6: aliases: '/../../../tmp/x/' is not a path on this site (start it with /",
    ),
    (
        "alias encoded",
        post("aliases: ['/%2e%2e/%2e%2e/x/']\n"),
        "bad.md:6: aliases: '/%2e%2e/%2e%2e/x/' is not a path on this site",
    ),
    (
        "alias to another site",
        post("aliases: ['https://evil.example/']\n"),
        "aliases: 'https://evil.example/' is not a path on this site",
    ),
    (
        "alias over an existing page",
        post("aliases: [/tags/]\n"),
        "bad.md: aliases: '/tags/' is already a page of the site (choose another old URL",
    ),
    (
        "duplicate slug",
        post("slug: summit\n"),
        "content/posts/2024/summit.md: slug 'summit' in 2024 is also used by content/posts/2024/bad.md (rename one file",
    ),
    (
        "link to a missing post",
        post().replace(b"Body.", b"See [it](gone.md)."),
        "bad.md:7: links to 'gone.md', but content/posts/2024/gone.md does not exist (check the file name",
    ),
    (
        "duplicate key",
        post("title: Again\n"),
        "bad.md:6: title: appears twice (also on line 2) (keep one and delete the other)",
    ),
    ("huge file", post().replace(b"Body.", b"x" * 3_000_000), "bad.md: is too large (3,000,"),
    (
        "a billion laughs",
        b"---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        + b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        + b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        + b"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\ntitle: *g\ndate: 2024-05-05\ntags: [policy]\nsummary: S\n---\n",
        "bad.md:2: front matter uses a YAML anchor (&a) (write each value out in full)",
    ),
    (
        "an alias used as a title",
        post().replace(b"title: T", b"title: *t").replace(b"summary: S", b"summary: &t S"),
        "bad.md:2: front matter uses a YAML alias (*t) (write each value out in full)",
    ),
    (
        "a date pushed past 9999 by its offset",
        post().replace(b"2024-05-05", b"9999-12-31T23:00:00-05:00"),
        "bad.md:3: date: '9999-12-31T23:00:00-05:00' is out of range (use a date between years 1 and 9999)",
    ),
    (
        "an updated date pushed before year 1 by its offset",
        post("updated: 0001-01-01T00:30:00+14:00\n"),
        "bad.md:6: updated: '0001-01-01T00:30:00+14:00' is out of range",
    ),
    ("a long bad value", post("slug: " + "x-" * 5000 + "!\n"), "bad.md:6: slug: 'x-x-x-x"),
    (
        "an alias over a folder of the site",
        post("aliases: [/posts]\n"),
        "bad.md: aliases: '/posts' is already",
    ),
    ("an alias over a feed", post("aliases: [/feed.xml/]\n"), "bad.md: aliases: '/feed.xml/' is already"),
    (
        "an alias in the search index",
        post("aliases: [/pagefind/x/]\n"),
        "bad.md: aliases: '/pagefind/x/' is already",
    ),
    (
        "an image that is not there",
        post().replace(b"Body.", b"Intro.\n\n![A chart](/images/missing.png)"),
        "bad.md:9: image '/images/missing.png' is not in content/images/ (check its name)",
    ),
    (
        "an image without a description",
        post().replace(b"Body.", b"![](/images/2024/summit-banner.png)"),
        "bad.md:7: an image has no description (write what it shows between the brackets: ![A chart of",
    ),
]


def snapshot_outside_site(root: Path) -> dict[str, bytes]:
    """Every file of the project but the site and the bad post. Not the build cache either: a
    failed build may leave in it what it rendered (known by digest, checked when read), and
    test_build_cache shows that the next build still equals a cold one."""
    return {
        k: v
        for k, v in tree_bytes(root).items()
        if not k.startswith(("site/", ".cache/", "content/posts/2024/bad.md"))
    }


def assert_clear_failure(archive: Path, expected: str) -> None:
    site_before = tree_bytes(archive / "site")
    rest_before = snapshot_outside_site(archive)
    for command in ("build", "check"):
        result = subprocess.run(
            [sys.executable, str(PROJECT / "build.py"), command], capture_output=True, text=True, cwd=archive
        )
        assert result.returncode == 1, (command, result.stdout)
        assert "Traceback" not in result.stderr and "Error:" not in result.stderr
        assert expected in result.stderr, result.stderr
    assert tree_bytes(archive / "site") == site_before
    assert snapshot_outside_site(archive) == rest_before
    assert sorted(p.name for p in archive.iterdir() if p.name.startswith(".site")) == []


@pytest.mark.parametrize(("name", "content", "expected"), CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_a_bad_post_is_a_clear_error_and_nothing_is_lost(
    built: Path, name: str, content: bytes, expected: str
) -> None:
    archive = built.parent
    (archive / "content/posts/2024/bad.md").write_bytes(content)
    assert_clear_failure(archive, expected)


def test_a_link_to_a_file_outside_content(built: Path, tmp_path: Path) -> None:
    archive = built.parent
    outside = tmp_path / "elsewhere.md"
    outside.write_text(GOOD.format(extra=""))
    (archive / "content/posts/2024/bad.md").symlink_to(outside)
    assert_clear_failure(
        archive, "bad.md: is a link to a file outside content/ (copy the file into content/posts instead)"
    )


def test_all_problems_in_one_run_are_reported_together(built: Path) -> None:
    archive = built.parent
    for n, (_, content, _) in enumerate(CATALOGUE[:10]):
        (archive / f"content/posts/2024/bad-{n}.md").write_bytes(content)
    result = subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), "check"], capture_output=True, text=True, cwd=archive
    )
    assert result.returncode == 1
    assert sum(1 for n in range(10) if f"bad-{n}.md" in result.stderr) == 10
    assert "10 problems found" in result.stderr


HOSTILE_TITLE = '<script>alert("t")</script> & “quotes” </title><img src=x onerror=alert(1)>'


def test_hostile_but_valid_content_builds_safely(archive: Path) -> None:
    (archive / "content/posts/2024/hostile.md").write_text(
        "---\n"
        f"title: {HOSTILE_TITLE!r}\n"
        "date: 2024-06-11\ntags: [policy]\n"
        "summary: '</script><script>alert(2)</script> ]]> --> \"'\n"
        "---\n"
        "<script>alert(3)</script>\n\n"
        "[js](javascript:alert(4)) [data](data:text/html;base64,PHNjcmlwdD4=) "
        "[vb](vbscript:msgbox) <img src=x onerror=alert(5)>\n"
    )
    assert run(archive, "build") == 0
    page = BeautifulSoup((archive / "site/posts/2024/hostile/index.html").read_text(), "html.parser")
    scripts = page.find_all("script")
    assert [s.get("type") for s in scripts] == ["application/ld+json"]  # data, not code
    assert json.loads(scripts[0].string)["headline"] == HOSTILE_TITLE  # the title cannot close it early
    assert "</script" not in scripts[0].string
    assert page.find("img", onerror=True) is None
    assert page.h1.get_text() == HOSTILE_TITLE  # shown as text, exactly
    hrefs = [a.get("href", "") for a in page.find_all("a")]
    assert not any(h.lower().startswith(("javascript:", "data:", "vbscript:")) for h in hrefs)
    import feedparser

    for feed_name in ("feed.xml", "atom.xml", "tags/policy/feed.xml"):
        feed = feedparser.parse((archive / "site" / feed_name).read_bytes())
        assert not feed.bozo, feed_name
        entry = next(e for e in feed.entries if "hostile" in e.link)
        assert entry.title == HOSTILE_TITLE
        assert "<script" not in (entry.get("content", [{"value": entry.summary}])[0]["value"])


@pytest.mark.parametrize(
    "content",
    [
        post("slug: " + "x-" * 5000 + "!\n"),
        post("k" * 5000 + ": 1\n"),
        post().replace(b"[policy]", b"[" + b"t" * 5000 + b"]"),
        post().replace(b"title: T", b"title: [" + b"a, " * 3000 + b"]"),
    ],
    ids=["slug", "unknown key", "unknown tag", "title as a long list"],
)
def test_no_message_prints_an_unbounded_value(built: Path, content: bytes) -> None:
    archive = built.parent
    (archive / "content/posts/2024/bad.md").write_bytes(content)
    result = subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), "check"], capture_output=True, text=True, cwd=archive
    )
    assert result.returncode == 1 and max(len(line) for line in result.stderr.splitlines()) < 250


@pytest.mark.parametrize(
    "where", ["content/posts/2024/pipe.md", "content/images/pipe.png", "content/tags.toml", "site.toml"]
)
def test_a_pipe_is_named_never_opened_and_nothing_hangs(built: Path, where: str) -> None:
    archive = built.parent
    before = tree_bytes(built)
    (archive / where).unlink(missing_ok=True)
    os.mkfifo(archive / where)
    for command in ("build", "check"):
        result = subprocess.run(
            [sys.executable, str(PROJECT / "build.py"), command],
            capture_output=True,
            text=True,
            cwd=archive,
            timeout=60,
        )
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert f"{where}: is not a regular file" in result.stderr, result.stderr
    assert tree_bytes(built) == before


@pytest.mark.parametrize("folder", ["content/images", "templates/static"])
def test_a_link_out_of_the_project_is_never_published(built: Path, tmp_path: Path, folder: str) -> None:
    archive = built.parent
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the web")
    (archive / folder / "leak.png").symlink_to(secret)
    result = subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), "build"], capture_output=True, text=True, cwd=archive
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{folder}/leak.png: is a link to a file outside the project" in result.stderr
    assert not any(p.read_bytes() == b"not for the web" for p in built.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ("", "content/tags.toml: has no tags (add one [slug] table a tag"),
        ('[policy]\nname = "Policy"\n[broken\n', "content/tags.toml:3: not valid TOML"),
    ],
)
def test_a_broken_vocabulary_is_one_message_not_one_a_post(built: Path, tags: str, expected: str) -> None:
    archive = built.parent
    (archive / "content/tags.toml").write_text(tags)
    result = subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), "check"], capture_output=True, text=True, cwd=archive
    )
    assert result.returncode == 1 and expected in result.stderr, result.stderr
    assert "unknown tag" not in result.stderr and "1 problem found" in result.stderr


def test_site_settings_that_are_not_toml_name_the_line(built: Path) -> None:
    archive = built.parent
    (archive / "site.toml").write_text('title = "T"\ndescription = "D"\nbase_url = \n')
    result = subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), "build"], capture_output=True, text=True, cwd=archive
    )
    assert result.returncode == 1 and "site.toml:3: not valid TOML" in result.stderr, result.stderr
