"""Search: Pagefind indexes the staged site part by part; a failure is a problem, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ihv_archive import search
from ihv_archive.problems import ProblemsFound

from .conftest import run, search_index_is_whole


def test_each_part_indexes_exactly_its_years_post_pages(built: Path) -> None:
    posts = [p for p in built.glob("posts/*/*/index.html")]
    for entry in sorted(built.glob("pagefind/*/pagefind-entry.json")):
        years = [int(y) for y in entry.parent.name.split("-")]
        expected = sum(1 for p in posts if years[0] <= int(p.parts[-3]) <= years[-1])
        (language,) = json.loads(entry.read_text())["languages"].values()
        assert language["page_count"] == expected, entry
    assert search_index_is_whole(built)


def test_a_failing_pagefind_is_reported_and_no_other_part_is_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, runs = tmp_path / "pagefind", tmp_path / "runs"
    fake.write_text(
        f"#!/bin/sh\necho run >> {runs}\necho 'Error: the index could not be written' >&2\nexit 3\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(search, "pagefind", lambda: (str(fake),))
    with pytest.raises(ProblemsFound) as found:
        search.index_parts(tmp_path, "en-GB", [("pagefind/2024/", (2024,)), ("pagefind/2023/", (2023,))])
    assert [str(p) for p in found.value.problems] == [
        "search index: Pagefind failed: Error: the index could not be written"
    ]
    assert runs.read_text() == "run\n"  # the second part was never started


def test_a_build_whose_pagefind_fails_leaves_the_site_as_it_was(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    fake = tmp_path / "pagefind"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(search, "pagefind", lambda: (str(fake),))
    post = built.parent / "content/posts/2023/year-only.md"
    post.write_text(post.read_text().replace("Text.", "Text, edited."))
    capsys.readouterr()
    assert run(built.parent, "build") == 1
    assert "search index: Pagefind failed" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in built.rglob("*") if p.is_file()} == before
