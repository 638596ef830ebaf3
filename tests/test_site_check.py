"""`check --site`: a built site checked the way readers' tools will see it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PROJECT


def check_site(archive: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), "check", "--site", *extra],
        capture_output=True,
        text=True,
        cwd=archive,
    )


def test_a_good_build_passes(built: Path) -> None:
    result = check_site(built.parent)
    assert result.returncode == 0, result.stderr
    assert (
        "No problems:" in result.stdout and "under https://example.github.io/news-archive/" in result.stdout
    )


def break_page(built: Path) -> str:
    (built / "posts/2024/summit/index.html").unlink()
    return "link to /news-archive/posts/2024/summit/ does not resolve under /news-archive/"


def break_fragment(built: Path) -> str:
    page = built / "posts/2023/working-together/index.html"
    page.write_text(page.read_text().replace('id="what-changed"', 'id="renamed"'))
    return (
        "link to /news-archive/posts/2023/working-together/#what-changed: no id 'what-changed' on that page"
    )


def break_asset(built: Path) -> str:
    (built / "static/style.css").unlink()
    return "link to /news-archive/static/style.css does not resolve"


def break_feed_url(built: Path) -> str:
    feed = built / "feed.xml"
    feed.write_text(
        feed.read_text().replace(
            "https://example.github.io/news-archive/posts/2024/summit/", "/posts/2024/summit/", 1
        )
    )
    return "feed.xml: entry 'Babies & <toddlers>: the “Manifesto” costs £1bn' has a relative URL: /posts/2024/summit/"


def break_feed_xml(built: Path) -> str:
    (built / "atom.xml").write_text("<feed><entry>")
    return "atom.xml: does not parse as a feed"


def break_metadata(built: Path) -> str:
    page = built / "tags/index.html"
    page.write_text(
        page.read_text().replace('<meta name="description"', '<meta name="x"').replace('lang="en-GB"', "")
    )
    return "tags/index.html: has no lang attribute"


@pytest.mark.parametrize(
    "breakage", [break_page, break_fragment, break_asset, break_feed_url, break_feed_xml, break_metadata]
)
def test_each_kind_of_breakage_is_found_and_named(built: Path, breakage: object) -> None:
    expected = breakage(built)  # type: ignore[operator]
    result = check_site(built.parent)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert expected in result.stderr, result.stderr


def test_a_site_built_for_another_address_is_caught(archive: Path) -> None:
    assert (
        subprocess.run(
            [
                sys.executable,
                str(PROJECT / "build.py"),
                "build",
                "--base-url",
                "https://other.example/elsewhere/",
            ],
            cwd=archive,
            capture_output=True,
        ).returncode
        == 0
    )
    result = check_site(archive)
    assert result.returncode == 1
    assert "does not resolve under /news-archive/" in result.stderr
    assert check_site(archive, "--base-url", "https://other.example/elsewhere/").returncode == 0


def test_no_site_is_a_clear_message(archive: Path) -> None:
    result = check_site(archive)
    assert result.returncode == 1
    assert "site: is not a built site (no index.html) (run build first)" in result.stderr
