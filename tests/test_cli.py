"""The command line: every problem as `file:line: message (fix)`, exit status 1, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PROJECT, run


def test_cli_reports_every_problem_without_a_traceback(archive: Path) -> None:
    posts = archive / "content/posts/2024"
    (posts / "bad-date.md").write_text("---\ntitle: T\ndate: yesterday\ntags: []\nsummary: S\n---\n")
    (posts / "bad-tag.md").write_text(
        "---\ntitle: T\ndate: 2024-01-01\ntags: [safeguardng]\nsummary: S\n---\n"
    )
    (posts / "bad-link.md").write_text(
        "---\ntitle: T\ndate: 2024-01-02\ntags: []\nsummary: S\n---\nIntro.\n\nSee [x](gone.md).\n"
    )
    for command in ("check", "build"):
        result = subprocess.run(
            [sys.executable, str(PROJECT / "build.py"), "--root", str(archive), command],
            capture_output=True,
            text=True,
            cwd=archive,
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert (
            "content/posts/2024/bad-date.md:3: date: 'yesterday' is not a date (use YYYY-MM-DD)"
            in result.stderr
        )
        assert (
            "content/posts/2024/bad-tag.md:4: tags: unknown tag 'safeguardng' (did you mean 'safeguarding'?)"
            in result.stderr
        )
        assert (
            "content/posts/2024/bad-link.md:9: links to 'gone.md', but content/posts/2024/gone.md does not exist"
            in result.stderr
        )
    assert not (archive / "site").exists()


def test_problems_with_and_without_lines_in_one_file_are_listed_in_order(archive: Path) -> None:
    clash = archive / "content/posts/2024/summit-copy.md"
    clash.write_text(
        "---\ntitle: T\ndate: 2024-05-05\ntags: [nope]\nsummary: S\nslug: summit\n---\n"  # two problems
    )
    (archive / "content/posts/2024/clash.md").write_text(
        "---\ntitle: T\ndate: 2024-05-05\ntags: []\nsummary: S\nslug: summit\n---\n"
    )
    result = subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), "check"], capture_output=True, text=True, cwd=archive
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert (
        "content/posts/2024/summit-copy.md:4: tags: unknown tag 'nope' (add it to content/tags.toml first)"
        in lines
    )
    assert (
        "content/posts/2024/summit.md: slug 'summit' in 2024 is also used by content/posts/2024/clash.md"
        in result.stderr
    )


def test_check_writes_nothing_and_says_all_is_well(archive: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), "check"], capture_output=True, text=True, cwd=archive
    )
    assert result.returncode == 0, result.stderr
    assert "No problems: 7 posts" in result.stdout
    assert not (archive / "site").exists()


def test_a_build_ends_with_one_line_saying_what_it_made(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(archive, "build", "--no-search") == 0
    first = capsys.readouterr().out.strip().splitlines()
    assert len(first) == 1 and first[0].startswith("Built 7 posts: 25 pages, 5 feeds, ")
    assert first[0].endswith("written, 0 unchanged; no search index")
    assert run(archive, "build", "--no-search") == 0
    assert "; 0 written, " in capsys.readouterr().out


def test_a_date_that_is_not_a_date_is_a_message_for_new(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(archive, "new", "A title", "--date", "19/03/2024") == 1
    err = capsys.readouterr().err
    assert "new: --date '19/03/2024' is not a date (use YYYY-MM-DD, e.g. 2024-03-19)" in err
    assert "Traceback" not in err
