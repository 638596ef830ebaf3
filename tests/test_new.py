"""`python build.py new`: a post scaffold an editor can fill in straight away."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

import frontmatter
import pytest

from ihv_archive.content import Post, Tag, parse

from .conftest import PROJECT


def new(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), "new", *args], capture_output=True, text=True, cwd=root
    )


def test_a_new_post_has_complete_front_matter_and_today_in_london(archive: Path) -> None:
    result = new(archive, "Health visitors welcome new funding", "--tags", "policy,events")
    assert result.returncode == 0, result.stderr
    today = datetime.now(ZoneInfo("Europe/London")).date()
    path = f"content/posts/{today.year}/health-visitors-welcome-funding.md"
    assert result.stdout.splitlines()[0] == path
    post = frontmatter.load(archive / path)
    assert (post["title"], post["date"], post["tags"], post["summary"]) == (
        "Health visitors welcome new funding",
        today,
        ["policy", "events"],
        "",
    )
    assert "draft" not in post.metadata


def test_the_empty_summary_is_the_one_thing_check_asks_for(archive: Path) -> None:
    assert new(archive, "Fill me in", "--date", "2024-05-01").returncode == 0
    check = subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), "check"], capture_output=True, text=True, cwd=archive
    )
    assert check.returncode == 1
    assert check.stderr.splitlines()[0].startswith(
        "content/posts/2024/fill-me.md:5: summary: empty (write one or two sentences"
    )
    path = archive / "content/posts/2024/fill-me.md"
    path.write_text(path.read_text().replace('summary: ""', 'summary: "Now written."'))
    check = subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), "check"], capture_output=True, text=True, cwd=archive
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Babies’ “Manifesto” & £1bn: what’s next?", "babies-manifesto-1bn"),  # not ending "…-whats"
        ('He said "hello" \\ goodbye: #1', "he-said-hello-goodbye-1"),
        ("Café für Säuglinge – Ålesund", "cafe-fur-sauglinge-alesund"),
        ("Pasted\x7ffrom\x85Word\u2028text", "pasted-word-text"),
        ("Today: a new report on babies during the pandemic", "report-babies-pandemic"),  # no "today"
    ],
)
def test_awkward_titles_make_valid_yaml_and_sensible_slugs(archive: Path, title: str, slug: str) -> None:
    result = new(archive, title, "--date", "2024-05-01", "--draft")
    assert result.returncode == 0, result.stderr
    text = (
        (archive / f"content/posts/2024/{slug}.md").read_text().replace('summary: ""', "summary: Filled in.")
    )
    tags = {"policy": Tag("policy", "Policy", "")}
    post = parse(text, "x.md", PurePosixPath(f"2024/{slug}.md"), tags, ZoneInfo("Europe/London"))
    assert isinstance(post, Post), post
    assert (post.title, post.slug, post.draft, post.date.date()) == (title, slug, True, date(2024, 5, 1))


def test_it_never_overwrites_and_says_what_to_do(archive: Path) -> None:
    existing = archive / "content/posts/2024/summit.md"
    before = existing.read_bytes()
    result = new(archive, "Summit", "--date", "2024-08-08")
    assert result.returncode == 1
    assert (
        "content/posts/2024/summit.md: already uses the address 'summit' in 2024 (choose another title, or add --slug summit-2)"
        in result.stderr
    )
    assert existing.read_bytes() == before
    assert new(archive, "Summit", "--date", "2024-08-08", "--slug", "summit-2").returncode == 0
    assert (archive / "content/posts/2024/summit-2.md").exists()


def test_a_slug_set_in_another_posts_front_matter_is_taken_too(archive: Path) -> None:
    (archive / "content/posts/2024/odd-name.md").write_text(
        "---\ntitle: T\ndate: 2024-01-01\ntags: []\nsummary: S\nslug: spring-update\n---\n"
    )
    result = new(archive, "Spring update", "--date", "2024-03-03")
    assert result.returncode == 1 and "odd-name.md: already uses the address 'spring-update'" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Title", "--tags", "safeguardng"], "unknown tag 'safeguardng' (did you mean 'safeguarding'?)"),
        (["Title", "--date", "2024-02-30"], "--date '2024-02-30' is not a date (use YYYY-MM-DD"),
        (["   "], "the title is empty"),
        (["£££"], "no web address can be made from '£££' (add --slug my-post-name)"),
        (
            ["Title", "--slug", "../.."],
            "--slug '../..' is not a slug (use lower-case letters, digits and single hyphens",
        ),
        (["Title", "--slug", "a/b"], "--slug 'a/b' is not a slug"),
    ],
)
def test_mistakes_get_a_clear_message_and_write_nothing(archive: Path, args: list[str], message: str) -> None:
    before = sorted(archive.rglob("*"))
    result = new(archive, *args)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert sorted(archive.rglob("*")) == before
