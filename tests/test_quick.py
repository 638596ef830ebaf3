"""The quick rebuild (quick.py): after an edit to what posts show (their text, title or
summary) that leaves their place as it was, a build made from the build cache's records, which must equal a cold build byte for byte, and must give way to
the whole build for every other edit.

Every build goes through the command line, with --no-search: the search index is made by
the whole build alone. The reference is a cold build of a fresh copy of the project. That
a build was quick is seen from outside: it never loads the posts (pipeline.load).
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ihv_archive import load as load_module
from ihv_archive import pipeline, write
from ihv_archive.cache import Records
from ihv_archive.config import load_config

from .conftest import cold_build, loads_counted, run, search_index_is_whole, tree_bytes
from .test_build_cache import CACHE_EDITS, TAMPERING, build, refuse, settle, written
from .test_incremental import edit

POSTS = "content/posts"
NOT_IN_FEEDS = f"{POSTS}/2023/year-only.md"  # an old post: only its own page shows its text
IN_FEEDS = f"{POSTS}/2024/manifesto-for-babies.md"  # the newest: feeds show its text too


def edit_text(root: Path) -> None:
    edit(root / IN_FEEDS, "Funding matters.", "Funding counts.")


def edit_two(root: Path) -> None:
    edit(root / NOT_IN_FEEDS, "Text.", "Text, edited.")
    edit_text(root)


QUICK_EDITS: list[tuple[str, Callable[[Path], object]]] = [
    ("a post's text", lambda r: edit(r / NOT_IN_FEEDS, "Text.", "Text, edited.")),
    ("the text of a post in the feeds", lambda r: edit(r / IN_FEEDS, "Funding matters.", "Funding counts.")),
    (
        "a link added to another post",
        lambda r: edit(r / IN_FEEDS, "Funding matters.", "See [covid](../2023/covid-lessons.md)."),
    ),
    ("two posts' text at once", lambda r: edit_two(r)),
    ("text saved again unchanged in HTML", lambda r: edit(r / NOT_IN_FEEDS, "Text.", "Text.\n\n\n")),
    ("a title", lambda r: edit(r / NOT_IN_FEEDS, "An undated announcement", "An announcement")),
    ("a summary", lambda r: edit(r / NOT_IN_FEEDS, "Only the year is known.", "Just the year.")),
    # Its title is on every kind of page that lists a post: its neighbours', lists, its tags'
    # pages, the feeds, the 404 page, its old address's redirect, related posts' pages.
    ("the title of a post in the feeds", lambda r: edit(r / IN_FEEDS, "Babies & <toddlers>", "Babies")),
    ("the summary of a post in the feeds", lambda r: edit(r / IN_FEEDS, "publishes its", "sets out its")),
]

WHOLE_EDITS: list[tuple[str, Callable[[Path], object]]] = [
    ("a date", lambda r: edit(r / NOT_IN_FEEDS, "date: 2023-01-01", "date: 2022-01-01")),
    ("tags", lambda r: edit(r / NOT_IN_FEEDS, "tags: []", "tags: [policy]")),
    # Shown, but also the date of the post in the sitemap and of the feeds that hold it.
    (
        "a date updated",
        lambda r: edit(r / IN_FEEDS, "date: 2024-06-10", "date: 2024-06-10\nupdated: 2024-06-20"),
    ),
    ("a draft's text", lambda r: edit(r / f"{POSTS}/2024/draft-post.md", "Secret draft", "Hidden draft")),
    ("a post added", lambda r: (r / f"{POSTS}/2023/new.md").write_text((r / NOT_IN_FEEDS).read_text())),
    ("a post deleted", lambda r: (r / NOT_IN_FEEDS).unlink()),
    *[
        (f"a post's text, and {what} by hand", lambda r, tamper=tamper: (tamper(r / "site"), edit_text(r)))
        for what, tamper in TAMPERING.items()
        if what in ("a page edited", "a page deleted")  # the pages the quick rebuild would keep
    ],
]


def changed_files(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


@pytest.mark.parametrize("settled", [False, True], ids=["files just saved", "files settled"])
@pytest.mark.parametrize("change", [c for _, c in QUICK_EDITS], ids=[w for w, _ in QUICK_EDITS])
def test_an_edit_to_what_a_post_shows_is_built_from_the_records_and_equals_a_cold_build(
    archive: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Path], object],
    settled: bool,
) -> None:
    if settled:
        settle(monkeypatch)
    build(archive, capsys, "--no-search")
    before = tree_bytes(archive / "site")
    inodes = {p: os.stat(archive / "site" / p).st_ino for p in before}
    change(archive)
    with monkeypatch.context() as quick:
        quick.setattr(pipeline, "load", refuse)
        summary = build(archive, capsys, "--no-search")
    after = tree_bytes(archive / "site")
    assert after == cold_build(archive, tmp_path)
    rewritten = changed_files(before, after)
    assert written(summary) == len(rewritten)
    kept = {p for p in before if p not in rewritten}
    assert {p for p in kept if os.stat(archive / "site" / p).st_ino != inodes[p]} == set()
    assert not list(archive.glob(".site.patch-*"))  # nothing left beside the site


def test_the_feeds_show_the_new_text_and_other_pages_stay_as_they_were(
    archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a reader sees: the post's page and the feeds carry the edit; nothing else changed."""
    build(archive, capsys, "--no-search")
    before = tree_bytes(archive / "site")
    edit(archive / IN_FEEDS, "Funding matters.", "Funding counts.")
    with monkeypatch.context() as quick:
        quick.setattr(pipeline, "load", refuse)
        build(archive, capsys, "--no-search")
    after = tree_bytes(archive / "site")
    changed = changed_files(before, after)
    assert "posts/2024/manifesto-for-babies/index.html" in changed
    assert {"feed.xml", "atom.xml"} <= changed
    assert all(b"Funding counts." in after[path] for path in changed)


def index_files(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in (site / "pagefind").rglob("*") if p.is_file())


def indexed_text(site: Path) -> bytes:
    """Every page's text as the search index holds it (Pagefind's fragments are gzipped JSON)."""
    return b"".join(gzip.decompress(p.read_bytes()) for p in sorted(site.rglob("*.pf_fragment")))


def test_an_edit_to_text_with_the_search_index_indexes_only_its_part_again(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As published, with the search index: the quick rebuild indexes the edited post's part
    again, from that part's pages, and carries the other parts over, file for file."""
    with (archive / "site.toml").open("a") as settings:
        settings.write("search_part_posts = 3\n")
    build(archive, capsys)
    site = archive / "site"
    inodes = {name: os.stat(site / name).st_ino for name in index_files(site)}
    edit(archive / NOT_IN_FEEDS, "Text.", "Text, with a zebra.")
    with monkeypatch.context() as quick:
        quick.setattr(pipeline, "load", refuse)
        summary = build(archive, capsys)
    assert summary.endswith("; search indexed")
    assert b"zebra" in indexed_text(site)
    assert search_index_is_whole(site)
    cold = tmp_path / "cold"
    shutil.copytree(archive, cold, ignore=shutil.ignore_patterns(".cache", "site"))
    assert run(cold, "build") == 0
    assert tree_bytes(site, search_index=False) == tree_bytes(cold / "site", search_index=False)
    assert len(index_files(site)) == len(index_files(cold / "site"))  # none of the old part's left
    renewed = {name.split("/")[1] for name in inodes if not (site / name).exists()}
    renewed |= {name.split("/")[1] for name in index_files(site) if name not in inodes}
    assert len(renewed) == 1 and "2023" in next(iter(renewed))  # the other parts kept their files
    assert all(
        os.stat(site / name).st_ino == inodes[name]
        for name in index_files(site)
        if name in inodes and name.split("/")[1] not in renewed
    )


@pytest.mark.parametrize("change", [c for _, c in WHOLE_EDITS], ids=[w for w, _ in WHOLE_EDITS])
def test_every_other_edit_takes_the_whole_build(
    archive: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Path], object],
) -> None:
    build(archive, capsys, "--no-search")
    change(archive)
    loads = loads_counted(monkeypatch, pipeline)
    build(archive, capsys, "--no-search")
    assert loads == [1]
    assert tree_bytes(archive / "site") == cold_build(archive, tmp_path)


def test_whole_builds_after_quick_ones_still_equal_a_cold_build(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The records a quick rebuild leaves are those a whole build would have left: every kind
    of change after one, and a quick one after each, gives the cold build's site."""
    settle(monkeypatch)
    build(archive, capsys, "--no-search")
    for n, (what, change) in enumerate(CACHE_EDITS):
        edit(archive / NOT_IN_FEEDS, "Text", f"Text {n}")
        with monkeypatch.context() as quick:
            quick.setattr(pipeline, "load", refuse)
            build(archive, capsys, "--no-search")
        change(archive)
        build(archive, capsys, "--no-search")
        assert tree_bytes(archive / "site") == cold_build(archive, tmp_path), what
        with monkeypatch.context() as up_to_date:
            up_to_date.setattr(pipeline, "load", refuse)
            assert written(build(archive, capsys, "--no-search")) == 0, what


def test_an_edit_to_one_of_two_posts_with_the_same_text_takes_the_whole_build(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their bodies are one fragment in the cache, shown by pages that name either post (the
    feeds show both): the quick rebuild cannot tell whose it is on those pages, so gives way."""
    for name, day in (("twin-a", "2025-01-01"), ("twin-b", "2025-01-02")):
        (archive / f"{POSTS}/2024/{name}.md").write_text(
            f"---\ntitle: {name}\ndate: {day}\ntags: [policy]\nsummary: Twins.\n---\nThe same words.\n"
        )
    build(archive, capsys, "--no-search")
    edit(archive / f"{POSTS}/2024/twin-a.md", "The same words.", "Other words.")
    loads = loads_counted(monkeypatch, pipeline)
    build(archive, capsys, "--no-search")
    assert loads == [1]
    site = tree_bytes(archive / "site")
    assert site == cold_build(archive, tmp_path)
    assert b"The same words." in site["feed.xml"] and b"Other words." in site["feed.xml"]


def test_a_build_after_a_quick_one_with_nothing_changed_writes_nothing(
    archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The edited file was saved just before the quick build read it, so its signature cannot
    vouch for its bytes: the next build reads it again, finds them the same, and is done."""
    build(archive, capsys, "--no-search")
    edit(archive / NOT_IN_FEEDS, "Text.", "Text, edited.")
    build(archive, capsys, "--no-search")
    before = tree_bytes(archive / "site")
    with monkeypatch.context() as quick:
        quick.setattr(pipeline, "load", refuse)
        assert written(build(archive, capsys, "--no-search")) == 0
    assert tree_bytes(archive / "site") == before


def test_a_same_size_edit_just_after_a_quick_build_is_seen(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """git's "racy" case, for the records: a file that the quick build read just after it was
    saved cannot vouch for its bytes by its signature, so the next build reads it again."""
    # A clock too coarse to tell two saves apart, and nothing to tell by but size and time:
    monkeypatch.setattr(load_module, "signature_of", lambda s: (s.st_size, s.st_mtime_ns, 0, s.st_ino))
    settle(monkeypatch)
    build(archive, capsys, "--no-search")
    post = archive / NOT_IN_FEEDS
    edit(post, "Text.", "Texts")
    monkeypatch.setattr(load_module, "RACY_NS", 10**18)  # every file read now was just saved
    with monkeypatch.context() as quick:
        quick.setattr(pipeline, "load", refuse)
        build(archive, capsys, "--no-search")
    stat = post.stat()
    edit(post, "Texts", "Tekst")  # the same size, and saved within the same tick:
    os.utime(post, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    build(archive, capsys, "--no-search")
    assert tree_bytes(archive / "site") == cold_build(archive, tmp_path)


def test_a_file_added_to_the_site_by_hand_goes_when_nothing_was_edited(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(archive, capsys, "--no-search")
    path = archive / NOT_IN_FEEDS
    path.write_text(path.read_text())  # saved again: read again, the same bytes
    (archive / "site/stray.html").write_text("not ours")
    build(archive, capsys, "--no-search")
    assert tree_bytes(archive / "site") == cold_build(archive, tmp_path)


def test_a_file_added_by_hand_where_a_quick_build_writes_goes_with_the_build_after_an_edit(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick build keeps the site's files only if they are the last build's and no
    others: a file added by hand takes the whole build, which leaves the site as a cold
    build does. (The quick build once left it there until the build after.)"""
    settle(monkeypatch)
    build(archive, capsys, "--no-search")
    (archive / "site/posts/2024/manifesto-for-babies/stray.html").write_text("not ours")
    edit_text(archive)
    build(archive, capsys, "--no-search")
    assert tree_bytes(archive / "site") == cold_build(archive, tmp_path)


def test_a_broken_link_in_the_new_text_is_reported_and_the_site_stays(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(archive, capsys, "--no-search")
    before = tree_bytes(archive / "site")
    edit(archive / NOT_IN_FEEDS, "Text.", "Text.\n\nSee [this](gone.md).")
    capsys.readouterr()
    assert run(archive, "build", "--no-search") == 1
    message = capsys.readouterr().err
    assert "year-only.md:10" in message and "gone.md" in message
    assert tree_bytes(archive / "site") == before


def test_a_cache_missing_a_part_takes_the_whole_build(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page to render again shows a fragment the cache has lost: the quick rebuild gives way."""
    build(archive, capsys, "--no-search")
    records = Records.open(load_config(archive))
    assert records is not None
    with records.db:
        records.db.execute("DELETE FROM fragments")
    records.close()
    edit(archive / NOT_IN_FEEDS, "Text.", "Text, edited.")
    loads = loads_counted(monkeypatch, pipeline)
    build(archive, capsys, "--no-search")
    assert loads
    assert tree_bytes(archive / "site") == cold_build(archive, tmp_path)


def test_a_quick_build_stopped_between_the_site_and_the_cache_is_mended_by_the_next(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The site has the new pages, the cache still the old records: the next build must not
    trust them, and makes the cold build's site. Search on, so the index is in it too."""
    build(archive, capsys)
    edit(archive / NOT_IN_FEEDS, "Text.", "Text, with a zebra.")
    with monkeypatch.context() as stopped:
        stopped.setattr(Records, "save", lambda *args: (_ for _ in ()).throw(KeyboardInterrupt))
        assert run(archive, "build") == 130
    assert b"zebra" in (archive / "site/posts/2023/year-only/index.html").read_bytes()
    (archive / ".site.new-index-left").mkdir()  # and what a build killed outright may leave
    summary = build(archive, capsys)
    site = archive / "site"
    assert tree_bytes(site, search_index=False) == cold_build(archive, tmp_path)
    assert search_index_is_whole(site) and b"zebra" in indexed_text(site)
    assert written(build(archive, capsys)) == 0, summary
    assert sorted(p.name for p in archive.iterdir() if p.name.startswith(".site")) == []


def test_files_replaced_in_place_are_all_or_none_even_when_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "a").mkdir(parents=True)
    (site / "a/index.html").write_bytes(b"old a")
    (site / "b.xml").write_bytes(b"old b")
    new = {"a/index.html": b"new a", "b.xml": b"new b"}

    def killed(*args: object) -> None:
        raise KeyboardInterrupt

    # Killed while writing the new files, before the commit: the site is as it was.
    with monkeypatch.context() as writing:
        writing.setattr(write, "json", None)  # the commit cannot be written
        with pytest.raises(AttributeError):
            write.replace_files(site, new)
    write.recover(site)
    assert tree_bytes(site) == {"a/index.html": b"old a", "b.xml": b"old b"}
    assert [p.name for p in tmp_path.iterdir()] == ["site"]

    # Killed after the commit, before the renames: the next build's recover finishes them.
    with monkeypatch.context() as renaming:
        renaming.setattr(write, "put_in_place", killed)
        with pytest.raises(KeyboardInterrupt):
            write.replace_files(site, new)
    assert tree_bytes(site) == {"a/index.html": b"old a", "b.xml": b"old b"}
    write.recover(site)
    assert tree_bytes(site) == new
    assert [p.name for p in tmp_path.iterdir()] == ["site"]

    # And a patch folder left without its commit (killed before it) is cleared away.
    leftover = tmp_path / ".site.patch-x"
    leftover.mkdir()
    (leftover / "0").write_bytes(b"half")
    write.recover(site)
    assert tree_bytes(site) == new and not leftover.exists()
