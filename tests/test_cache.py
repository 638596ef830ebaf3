"""The build cache: a build that uses it always equals a build from nothing, byte for byte;
a cache that cannot be read is set aside with one line and never served."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ihv_archive import pipeline
from ihv_archive.cache import Cache
from ihv_archive.config import load_config
from ihv_archive.pipeline import Options

from .conftest import cold_build, lock_held_elsewhere, run, search_index_is_whole, tree_bytes

POSTS = "content/posts/2024"
ONE_PAGE = "posts/2023/year-only/index.html"  # a page no edit below touches unless it says so


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def rename_linked(root: Path) -> None:
    (root / POSTS / "summit.md").rename(root / POSTS / "the-summit.md")
    edit(root / POSTS / "added.md", "(summit.md)", "(the-summit.md)")
    edit(root / POSTS / "manifesto-for-babies.md", "(summit.md)", "(the-summit.md)")


def png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


EDITS: list[tuple[str, Callable[[Path], object]]] = [
    ("edit a title", lambda r: edit(r / POSTS / "summit.md", "New joining link", "A new joining link")),
    (
        "edit a body",
        lambda r: edit(r / POSTS / "working-together.md", "A year later.", "A year later, again."),
    ),
    (
        "re-date a post into another year",
        lambda r: edit(r / POSTS / "windows-post.md", "2024-02-01", "2022-05-05"),
    ),
    (
        "change tags",
        lambda r: edit(r / POSTS / "summit.md", "tags: [events, safeguarding]", "tags: [events]"),
    ),
    (
        "add a post",
        lambda r: (r / POSTS / "added.md").write_text(
            "---\ntitle: Added\ndate: 2024-07-01\ntags: [policy]\nsummary: New.\n---\nLinks to [summit](summit.md).\n"
        ),
    ),
    ("delete a post", lambda r: (r / POSTS / "working-together.md").unlink()),
    ("rename a linked post, and fix the links to it", rename_linked),
    ("publish a draft", lambda r: edit(r / POSTS / "draft-post.md", "draft: true", "draft: false")),
    (
        "edit a template",
        lambda r: edit(r / "templates/post.html", '<article class="post"', '<article class="post x"'),
    ),
    ("edit the settings", lambda r: edit(r / "site.toml", "posts_per_page = 2", "posts_per_page = 3")),
    ("edit the tag vocabulary", lambda r: edit(r / "content/tags.toml", "Keeping children safe.", "Safety.")),
    (
        "change an image's size",
        lambda r: (r / "content/images/2024/summit-banner.png").write_bytes(png(37, 11)),
    ),
]


def build(archive: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """A build through the command line; returns its summary line."""
    capsys.readouterr()
    assert run(archive, "build", *args) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def written(summary: str) -> int:
    match = re.search(r"; ([\d,]+) written, ([\d,]+) unchanged", summary)
    assert match, summary
    return int(match.group(1).replace(",", ""))


def refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("the site was up to date: nothing should have been loaded")


@pytest.mark.parametrize("settled", [False, True], ids=["files just saved", "files settled"])
def test_every_cached_build_equals_a_cold_build(
    archive: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    settled: bool,
) -> None:
    """With the files settled, each build also leaves a fingerprint of its inputs: each change
    must defeat it, and with no change it must hold."""
    if settled:
        monkeypatch.setattr(pipeline, "RACY_NS", 0)
    build(archive, capsys)
    for what, change in EDITS:
        change(archive)
        summary = build(archive, capsys)
        site = archive / "site"
        assert tree_bytes(site, search_index=False) == cold_build(archive, tmp_path), what
        assert search_index_is_whole(site), what
        if settled:
            before = tree_bytes(site)
            with monkeypatch.context() as up_to_date:
                up_to_date.setattr(pipeline, "load", refuse)
                again = build(archive, capsys)
            assert written(again) == 0 and again.split(" in ")[0] == summary.split(" in ")[0], what
            assert tree_bytes(site) == before, what


def test_the_dev_servers_cache_in_memory_gives_a_cold_builds_site_after_each_edit(
    archive: Path, tmp_path: Path
) -> None:
    """The same cache code, held in memory between builds of one folder (serve.Rebuilder)."""
    cache = Cache.in_memory()
    config = load_config(archive, out_dir=tmp_path / "preview")
    pipeline.build(config, options=Options(search=False), cache=cache)
    for what, change in EDITS:
        change(archive)
        config = load_config(archive, out_dir=tmp_path / "preview")
        pipeline.build(config, options=Options(search=False), cache=cache)
        assert tree_bytes(tmp_path / "preview") == cold_build(archive, tmp_path), what


TAMPERING = {
    "a page edited": lambda site: (site / ONE_PAGE).write_text("hand-edited"),
    "a page deleted": lambda site: (site / ONE_PAGE).unlink(),
    "a stray file": lambda site: (site / "posts/stray.html").write_text("not ours"),
    "a file of the search index lost": lambda site: next(
        site.glob("pagefind/*/pagefind-entry.json")
    ).unlink(),
    "the whole site deleted": lambda site: shutil.rmtree(site),
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_the_site_is_built_again_once_its_folder_is_changed_by_hand(
    archive: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tamper: Callable[[Path], object],
) -> None:
    monkeypatch.setattr(pipeline, "RACY_NS", 0)
    build(archive, capsys)
    tamper(archive / "site")
    build(archive, capsys)
    assert tree_bytes(archive / "site", search_index=False) == cold_build(archive, tmp_path)
    assert search_index_is_whole(archive / "site")


def test_a_scheduled_post_appears_on_its_date_though_no_file_changed(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "RACY_NS", 0)
    config = load_config(archive)
    now = datetime(2030, 1, 1, tzinfo=config.zone)
    (archive / "content/posts/2030").mkdir()
    (archive / "content/posts/2030/scheduled.md").write_text(
        "---\ntitle: Scheduled\ndate: 2030-03-01\ntags: [policy]\nsummary: Later.\n---\nSoon.\n"
    )
    pipeline.build(config, now, Options(search=False))
    page = archive / "site/posts/2030/scheduled/index.html"
    assert not page.exists()
    with monkeypatch.context() as up_to_date:  # the day before, nothing to do
        up_to_date.setattr(pipeline, "load", refuse)
        assert pipeline.build(config, now + timedelta(days=58), Options(search=False)).rewritten == 0
    assert not page.exists()
    pipeline.build(config, now + timedelta(days=59), Options(search=False))  # 1 March
    assert page.exists()


def test_an_edit_rewrites_only_the_files_whose_bytes_change(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(archive, capsys, "--no-search")
    site = archive / "site"
    before = tree_bytes(site)
    inodes = {p: os.stat(site / p).st_ino for p in before}
    edit(archive / "content/posts/2023/year-only.md", "Text.", "Text, edited.")
    summary = build(archive, capsys, "--no-search")
    after = tree_bytes(site)
    changed = {p for p in after if after[p] != before.get(p)}
    rewritten = {p for p in after if os.stat(site / p).st_ino != inodes.get(p)}
    assert ONE_PAGE in changed and len(changed) < len(after) / 4
    assert rewritten == changed and written(summary) == len(changed)


def test_a_build_with_nothing_changed_writes_nothing(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(archive, capsys)
    before = tree_bytes(archive / "site")
    inodes = {p: p.stat().st_ino for p in (archive / "site").rglob("*") if p.is_file()}
    summary = build(archive, capsys)
    assert written(summary) == 0 and "search index unchanged" in summary
    assert tree_bytes(archive / "site") == before  # the search index too
    assert {p: p.stat().st_ino for p in (archive / "site").rglob("*") if p.is_file()} == inodes


def damage_texts(file: Path) -> None:
    with sqlite3.connect(file) as db:
        db.execute("UPDATE bodies SET page_html = page_html || 'tampered'")


def truncate(file: Path) -> None:
    with open(file, "r+b") as db:
        db.truncate(file.stat().st_size // 3)


DAMAGE = {
    "garbage": lambda file: file.write_bytes(b"this is not a database" * 100),
    "truncated": truncate,
    "bodies' HTML tampered with": damage_texts,
    "a table gone": lambda file: sqlite3.connect(file).execute("DROP TABLE bodies").connection.commit(),
    # one flipped byte can turn a pickle's memo index into a request for gigabytes
    "a pickle asking for more memory than there is": lambda file: (
        sqlite3.connect(file)
        .execute("UPDATE posts SET value = ?", (b"\x80\x05K\x01r\xff\xff\xff\x7f.",))
        .connection.commit()
    ),
    "another version's": lambda file: (
        sqlite3.connect(file)
        .execute("UPDATE meta SET value = 'other' WHERE name = 'code'")
        .connection.commit()
    ),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_or_foreign_cache_is_set_aside_and_never_served(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Callable[[Path], object]
) -> None:
    build(archive, capsys)
    (file,) = (archive / ".cache").glob("*.sqlite3")
    damage(file)
    # a template change makes every page again, so every cached body's HTML is read
    edit(archive / "templates/post.html", '<article class="post"', '<article class="post y"')
    capsys.readouterr()
    assert run(archive, "build") == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if damage in (DAMAGE["garbage"], DAMAGE["truncated"], DAMAGE["bodies' HTML tampered with"]):
        assert len(err.strip().splitlines()) == 1 and "building from nothing" in err  # said, in one line
    assert tree_bytes(archive / "site", search_index=False) == cold_build(archive, tmp_path)
    assert run(archive, "check") == 0
    assert run(archive, "build") == 0 and "could not be read" not in capsys.readouterr().err


def test_check_with_a_damaged_cache_checks_everything_and_leaves_it(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(archive, capsys)
    (file,) = (archive / ".cache").glob("*.sqlite3")
    file.write_bytes(b"garbage" * 100)
    (archive / POSTS / "summit.md").write_text("---\ntitle: x\n---\n")
    assert run(archive, "check") == 1
    err = capsys.readouterr().err
    assert "summit.md" in err and "Traceback" not in err
    assert file.read_bytes() == b"garbage" * 100  # check writes nothing


def test_a_broken_post_leaves_site_and_cache_usable(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(archive, capsys)
    before = tree_bytes(archive / "site")
    post = archive / POSTS / "summit.md"
    good = post.read_text()
    post.write_text("---\ntitle: [unclosed\n---\n")
    assert run(archive, "build") == 1
    assert tree_bytes(archive / "site") == before
    post.write_text(good.replace("New joining link", "Fixed"))
    build(archive, capsys)
    assert tree_bytes(archive / "site", search_index=False) == cold_build(archive, tmp_path)


def test_a_second_build_at_once_is_told_plainly_and_the_first_finishes(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(archive, capsys)
    (lock,) = (archive / ".cache").glob("*.lock")
    with lock_held_elsewhere(lock):
        capsys.readouterr()
        assert run(archive, "build") == 1
        err = capsys.readouterr().err
        assert "another build is writing this folder" in err and "Traceback" not in err
    assert run(archive, "build") == 0
    assert search_index_is_whole(archive / "site")


@pytest.mark.parametrize("out", ["content/posts", "content", "templates", ".", "sources", "docs"])
def test_an_output_folder_that_would_replace_the_projects_files_is_refused_and_nothing_moves(
    archive: Path, capsys: pytest.CaptureFixture[str], out: str
) -> None:
    (archive / "sources").mkdir(exist_ok=True)
    (archive / "docs").mkdir(exist_ok=True)
    (archive / "docs/EDITING.md").write_text("editors' work")
    before = {p: p.read_bytes() for p in archive.rglob("*") if p.is_file()}
    capsys.readouterr()
    for flags in ([], ["--no-cache"]):
        assert run(archive, "build", "--out", str(archive / out), *flags) == 1
        assert "cannot be the output folder" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in archive.rglob("*") if p.is_file()} == before
