"""The build cache (.cache/): a build that uses it always equals a cold build, byte for byte.

Every build here goes through the command line. The reference is a cold build of a fresh
copy of the project (no .cache/, no site/), made after the same changes.
"""

from __future__ import annotations

import gc
import gzip
import io
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ihv_archive import cache as cache_module
from ihv_archive import cli, pipeline, search
from ihv_archive import load as load_module
from ihv_archive import write as write_module
from ihv_archive.cli import LiveCount, main
from ihv_archive.config import load_config
from ihv_archive.load import ParseCache, changed_since_loaded, load, signature_of
from ihv_archive.render import Memo
from ihv_archive.urls import Urls
from ihv_archive.validate import Site

if TYPE_CHECKING:
    from ihv_archive import serve

from .conftest import PROJECT, cold_build, loads_counted, run, search_index_is_whole, tree_bytes
from .test_incremental import EDITS, POSTS, edit

ONE_PAGE = "posts/2023/year-only/index.html"  # a page no edit below touches unless it says so


def build(archive: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """A cached build; returns its summary line."""
    capsys.readouterr()
    assert run(archive, "build", *args) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def bodies_rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The slugs of the posts whose bodies are rendered from now on (not taken from a cache)."""
    from ihv_archive import render as render_module

    rendered: list[str] = []
    original = render_module.render_body
    monkeypatch.setattr(
        render_module,
        "render_body",
        lambda post, *a, **k: rendered.append(post.slug) or original(post, *a, **k),
    )
    return rendered


def written(summary: str) -> int:
    match = re.search(r"; ([\d,]+) written, ([\d,]+) unchanged", summary)
    assert match, summary
    return int(match.group(1).replace(",", ""))


def png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size."""

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


def change_an_image(root: Path) -> None:
    """Its new size is printed in the body of the post that shows it."""
    (root / "content/images/2024/summit-banner.png").write_bytes(png(37, 11))


CACHE_EDITS = [
    *EDITS,
    ("change an image's size", change_an_image),
]


def settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if every file had been saved long ago: each build vouches for every post file and
    every folder of the site, so the next one may find the site up to date without reading
    any post or listing any folder (pipeline.from_records)."""
    monkeypatch.setattr(load_module, "RACY_NS", 0)
    monkeypatch.setattr(write_module, "RACY_NS", 0)


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
    """With the files settled, every build also leaves a manifest for the up-to-date check:
    each change must defeat it, and with no change it must hold."""
    if settled:
        settle(monkeypatch)
    build(archive, capsys)
    for what, change in CACHE_EDITS:
        change(archive)
        summary = build(archive, capsys)
        site = archive / "site"
        assert tree_bytes(site, search_index=False) == cold_build(archive, tmp_path), what
        assert search_index_is_whole(site), what
        assert re.search(r"; search index(ed| unchanged)$", summary), what
        if settled:
            before = tree_bytes(site)
            with monkeypatch.context() as up_to_date:
                up_to_date.setattr(pipeline, "load", refuse)
                again = build(archive, capsys)
            assert written(again) == 0 and again.split(" in ")[0] == summary.split(" in ")[0], what
            assert tree_bytes(site) == before, what


TAMPERING = {
    "a page edited": lambda site: (site / ONE_PAGE).write_text("hand-edited"),
    "a page deleted": lambda site: (site / ONE_PAGE).unlink(),
    "a stray file": lambda site: (site / "posts/stray.html").write_text("not ours"),
    "a stray file in a new folder": lambda site: (
        (site / "posts/2023/year-only/extra").mkdir(),
        (site / "posts/2023/year-only/extra/stray.html").write_text("not ours"),
    ),
    "a file of the search index lost": lambda site: next(
        site.glob("pagefind/*/pagefind-entry.json")
    ).unlink(),
    "the whole site deleted": lambda site: shutil.rmtree(site),
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_the_site_is_not_up_to_date_once_its_folder_is_changed_by_hand(
    archive: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tamper: Callable[[Path], object],
) -> None:
    settle(monkeypatch)
    build(archive, capsys)
    tamper(archive / "site")
    build(archive, capsys)
    assert tree_bytes(archive / "site", search_index=False) == cold_build(archive, tmp_path)
    assert search_index_is_whole(archive / "site")


def test_a_file_added_within_the_clock_tick_of_the_last_build_is_seen(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder's signature taken just after it changed cannot vouch that no name was added
    to it since: such a folder is listed (as git treats "racy" files)."""
    monkeypatch.setattr(load_module, "RACY_NS", 0)
    build(archive, capsys)
    folder = (archive / "site" / ONE_PAGE).parent
    before = folder.stat()
    (folder / "stray.html").write_text("not ours")
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))  # as if in the same clock tick
    build(archive, capsys)
    assert tree_bytes(archive / "site", search_index=False) == cold_build(archive, tmp_path)


def test_a_racy_folder_found_as_it_was_is_listed_no_more_and_still_guards(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folders a build has just written are racy: the next build lists them to see that
    no file was added. Once a quick rebuild's check finds them as they were, well after they
    last changed, their signatures vouch for them, and they are listed no more; a file added
    then changes the folder's signature, so it is still seen. (A build that finds the site
    up to date writes nothing, so it leaves them racy.)"""
    monkeypatch.setattr(load_module, "RACY_NS", 0)  # the post files settled; the site's folders not
    build(archive, capsys, "--no-search")
    config = load_config(archive)

    def racy() -> frozenset[str]:
        manifest = cache_module.read_manifest(config)
        assert manifest is not None and manifest.folders is not None
        return manifest.folders.racy

    just_written = racy()
    assert ONE_PAGE.rpartition("/")[0] in just_written
    post = archive / POSTS / "working-together.md"
    with monkeypatch.context() as from_records:
        from_records.setattr(pipeline, "load", refuse)
        from_records.setattr(write_module, "RACY_NS", 0)  # as if written long before the check
        build(archive, capsys, "--no-search")  # up to date: it writes nothing
        assert racy() == just_written
        from_records.setattr(write_module, "RACY_NS", 10**15)  # as if written within the check's tick
        edit(post, "A year later.", "A year later, again.")
        build(archive, capsys, "--no-search")  # a quick rebuild
        assert racy() >= just_written | {"posts/2024/working-together"}
        from_records.setattr(write_module, "RACY_NS", 0)
        edit(post, "A year later, again.", "A year later, once more.")
        build(archive, capsys, "--no-search")  # a quick rebuild: only what it wrote is racy now
        assert ONE_PAGE.rpartition("/")[0] not in racy() and "posts/2024/working-together" in racy()
        build(archive, capsys, "--no-search")  # and up to date again, the folders vouching for it
    (archive / "site" / ONE_PAGE).with_name("stray.html").write_text("not ours")
    build(archive, capsys, "--no-search")
    assert tree_bytes(archive / "site") == cold_build(archive, tmp_path)


def test_a_scheduled_post_appears_on_its_date_though_no_file_changed(archive: Path) -> None:
    config = load_config(archive)
    now = datetime(2030, 1, 1, tzinfo=config.zone)
    (archive / "content/posts/2030").mkdir()
    (archive / "content/posts/2030/scheduled.md").write_text(
        "---\ntitle: Scheduled\ndate: 2030-03-01\ntags: [policy]\nsummary: Later.\n---\nSoon.\n"
    )
    with pytest.MonkeyPatch.context() as settled:
        settle(settled)
        pipeline.build(config, now, search=False)
        page = archive / "site/posts/2030/scheduled/index.html"
        assert not page.exists()
        with pytest.MonkeyPatch.context() as up_to_date:  # the day before, nothing to do
            up_to_date.setattr(pipeline, "load", refuse)
            assert pipeline.build(config, now + timedelta(days=58), search=False).rewritten == 0
        assert not page.exists()
        pipeline.build(config, now + timedelta(days=59), search=False)  # 1 March
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


def test_a_file_changed_in_the_site_folder_is_written_again(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(archive, capsys)
    page = archive / "site" / ONE_PAGE
    page.write_bytes(page.read_bytes().replace(b"<main", b"<main data-hand-edited"))
    (archive / "site/stray.html").write_text("not ours")
    next((archive / "site").glob("pagefind/*/pagefind-entry.json")).unlink()
    summary = build(archive, capsys)
    assert written(summary) > 0
    assert tree_bytes(archive / "site", search_index=False) == cold_build(archive, tmp_path)
    assert search_index_is_whole(archive / "site")


@pytest.mark.parametrize("damage", ["garbage", "lost fragments", "lost post texts", "other code"])
def test_a_damaged_or_foreign_cache_is_never_served(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    build(archive, capsys)
    (cache_file,) = (archive / ".cache").glob("*.sqlite3")
    if damage == "garbage":
        cache_file.write_bytes(b"this is not a database" * 100)
    elif damage == "lost fragments":  # the bodies' HTML gone: pages needing it must notice
        with sqlite3.connect(cache_file) as db:
            db.execute("UPDATE fragments SET html = html || 'tampered'")
    elif damage == "lost post texts":  # read only when a page needs them: it must notice too
        with sqlite3.connect(cache_file) as db:
            db.execute("UPDATE files SET body = NULL")
    else:  # as if another version of ihv-archive had written it
        with sqlite3.connect(cache_file) as db:
            db.execute("UPDATE meta SET value = 'another version' WHERE name = 'code'")
    # a template change re-renders every page, so every cached body is needed
    edit(archive / "templates/post.html", '<article class="post"', '<article class="post y"')
    capsys.readouterr()
    assert run(archive, "build") == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if damage != "other code":
        assert "from scratch" in captured.err  # said, not silent
    assert tree_bytes(archive / "site", search_index=False) == cold_build(archive, tmp_path)


def test_the_cache_knows_the_renderers_versions_as_importlib_metadata_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache is emptied when a library it renders with changes version (code_version);
    the versions are read off the .dist-info folders' names, as importlib.metadata finds them."""
    for name in cache_module.LIBRARIES:
        assert cache_module.installed_version(name) == metadata.version(name)
    first, later = tmp_path / "first", tmp_path / "later"
    first.mkdir()
    later.mkdir()
    monkeypatch.syspath_prepend(str(later))
    monkeypatch.syspath_prepend(str(first))
    (later / "Some_Lib-1.0.dist-info").mkdir()
    assert cache_module.installed_version("some-lib") == "1.0"
    (first / "some_lib-2.0.1.dist-info").mkdir()  # earlier on sys.path: the one Python imports
    (first / "some_lib_extra-9.dist-info").mkdir()
    assert cache_module.installed_version("some.lib") == "2.0.1"
    assert cache_module.installed_version("not-installed-anywhere") == "?"


def test_compiled_templates_are_kept_and_only_ever_a_saving(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(archive, capsys)
    (compiled,) = (archive / ".cache").glob("templates-*")
    assert any(compiled.iterdir())
    shutil.rmtree(compiled)
    compiled.write_text("a file where the folder was: it can be neither read nor written")
    edit(archive / "templates/post.html", '<article class="post"', '<article class="post z"')
    build(archive, capsys)
    assert tree_bytes(archive / "site", search_index=False) == cold_build(archive, tmp_path)


def test_no_cache_builds_everything_again_and_rewrites_only_what_changed(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--no-cache renders every page again, yet the old site's files whose bytes come out the
    same are kept (linked), so that the spare it leaves is up to date for the next build."""
    build(archive, capsys, "--no-search")
    site = archive / "site"
    before = {path: (os.stat(path).st_ino, path.read_bytes()) for path in site.rglob("*") if path.is_file()}
    edited = site / "posts/2024/working-together/index.html"
    # the same length: its page keeps its size, so only its bytes can tell it from the old one
    edit(archive / "content/posts/2024/working-together.md", "A year later.", "A year after.")
    memos: list[int] = []
    real_render = pipeline.render

    def watched(site_: Site, memo: Memo | None, *args: Any, **kwargs: Any) -> Any:
        memos.append(len(memo.pages) if memo is not None else -1)  # what it could reuse
        return real_render(site_, memo, *args, **kwargs)

    monkeypatch.setattr(pipeline, "render", watched)
    summary = build(archive, capsys, "--no-cache", "--no-search")
    assert memos == [0]  # nothing to reuse: every page rendered again
    assert tree_bytes(site, search_index=False) == cold_build(archive, tmp_path)
    assert os.stat(site / ONE_PAGE).st_ino == before[site / ONE_PAGE][0]
    assert os.stat(edited).st_ino != before[edited][0]
    match = re.search(r"([\d,]+) files in .*; ([\d,]+) written, ([\d,]+) unchanged", summary)
    assert match, summary
    files, written_, unchanged = (int(group.replace(",", "")) for group in match.groups())
    assert 0 < written_ < unchanged and written_ + unchanged == files
    # every file whose bytes came out the same is the old one, and no other file is
    now = {path: (os.stat(path).st_ino, path.read_bytes()) for path in site.rglob("*") if path.is_file()}
    same_bytes = {path for path, (_, content) in now.items() if path in before and before[path][1] == content}
    kept = {path for path, (inode, _) in now.items() if path in before and before[path][0] == inode}
    assert kept == same_bytes and len(kept) == unchanged


def test_a_broken_post_leaves_site_and_cache_usable(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(archive, capsys)
    before = tree_bytes(archive / "site")
    post = archive / "content/posts/2023/year-only.md"
    good = post.read_text()
    post.write_text(good.replace("date:", "dat:"))
    assert run(archive, "build") == 1
    assert tree_bytes(archive / "site") == before
    # A mistake found while rendering: the failed build has rendered bodies (and handed
    # them to the cache) and written pages into a new site, which is given up.
    post.write_text(good.replace("Text.", "Text, see [this](missing.md)."))
    edit(archive / "content/posts/2024/summit.md", "New joining link", "A new joining link")
    assert run(archive, "build") == 1
    assert tree_bytes(archive / "site") == before
    assert [p.name for p in archive.iterdir() if p.name.startswith(".site")] == []
    post.write_text(good.replace("Text.", "Text, fixed."))
    build(archive, capsys)
    assert tree_bytes(archive / "site", search_index=False) == cold_build(archive, tmp_path)


def test_the_cache_keeps_itself_out_of_git_even_when_the_first_build_fails(archive: Path) -> None:
    """Whatever the project's own .gitignore says: a failed first build has left compiled
    templates there, and no cache file yet (every post is broken: no body to keep)."""
    for post in (archive / "content/posts").rglob("*.md"):
        post.write_text(post.read_text().replace("title:", "titel:", 1))
    assert run(archive, "build") == 1
    assert not any((archive / ".cache").glob("*.sqlite3"))
    assert any((archive / ".cache").glob("templates-*/*"))
    assert (archive / ".cache/.gitignore").read_text().splitlines()[-1] == "*"


def test_a_same_size_edit_within_the_same_second_is_seen(archive: Path) -> None:
    """The parse cache skips reading files whose size, times and inode are unchanged; a file
    changed again within the clock's granularity must not fool it (git's "racy" case)."""
    config = load_config(archive)
    cache = ParseCache()
    post = archive / "content/posts/2023/year-only.md"
    load(config, cache)
    stat = post.stat()
    post.write_text(post.read_text().replace("Text.", "Next."))  # same size
    os.utime(post, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same modification time
    (found,) = [p for p in load(config, cache).posts if p.rel_path.name == "year-only.md"]
    assert "Next." in found.body


def test_a_change_since_a_load_is_seen_even_within_the_clock_tick(archive: Path) -> None:
    """What `serve` asks of its first build's posts once it starts watching them: has one
    changed since that build read it? A file changed again so soon after it was read that
    its signature is the same is found by its bytes."""
    config = load_config(archive)
    cache = ParseCache()
    load(config, cache)
    assert not changed_since_loaded(config.posts_dir, cache)  # fresh files: read again, the same
    post, rel = archive / "content/posts/2023/year-only.md", "2023/year-only.md"
    post.write_text(post.read_text().replace("Text.", "Next."))  # same size
    assert changed_since_loaded(config.posts_dir, cache)
    read = cache.entries[rel]
    cache.entries[rel] = replace(read, signature=signature_of(post.stat()))  # as within the tick
    assert changed_since_loaded(config.posts_dir, cache)
    cache.entries[rel] = replace(read, signature=signature_of(post.stat()), trusted=True)
    assert not changed_since_loaded(config.posts_dir, cache)  # a settled signature is believed


def test_a_settled_file_is_not_read_again(archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(archive)
    cache = ParseCache()
    monkeypatch.setattr(load_module, "RACY_NS", 0)  # as if every file was saved long ago
    load(config, cache)
    reads: list[Path] = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or original(self))
    load(config, cache)
    assert reads == [] and cache.parsed == 0
    edit(archive / "content/posts/2023/year-only.md", "Text.", "Text, longer.")
    load(config, cache)
    assert [p.name for p in reads] == ["year-only.md"] and cache.parsed == 1


def test_parallel_and_single_process_builds_are_identical(tmp_path: Path) -> None:
    """Big enough that bodies are rendered in forked processes (in a fresh process: pytest's
    own may have threads, and then the build stays in one)."""
    sys.path.insert(0, str(PROJECT / "bench"))
    from make_corpus import make

    root = tmp_path / "corpus"
    make(150, root)
    script = (
        "import sys; from pathlib import Path; from ihv_archive.config import load_config;"
        "from ihv_archive.pipeline import build;"
        "config = load_config(Path(sys.argv[1]), out_dir=Path(sys.argv[2]));"
        "build(config, use_cache=False, search=False, workers=int(sys.argv[3]))"
    )
    for workers in ("1", "2"):
        subprocess.run(
            [sys.executable, "-c", script, str(root), str(tmp_path / f"out-{workers}"), workers],
            check=True,
            cwd=PROJECT,
        )
    assert tree_bytes(tmp_path / "out-1") == tree_bytes(tmp_path / "out-2")


# In a fresh process (see above): a load in one process and one with workers, where a child
# parses half the posts, each with a cache of its own; and how many posts each parsed here.
LOAD_TWICE = """
import os, sys
from pathlib import Path
from ihv_archive import load
from ihv_archive.config import load_config

config = load_config(Path(sys.argv[1]))
parsed_here = []
real = load.load_post

def counted(*args, **kwargs):
    parsed_here.append(os.getpid())
    return real(*args, **kwargs)

load.load_post = counted
made = []
for workers in (1, 2):
    parsed_here.clear()
    cache = load.ParseCache()
    loaded = load.load(config, cache, workers)
    # `trusted` follows from the clock, which may pass a file's settling time between loads
    entries = {rel: (e.signature, e.context, e.key, e.result) for rel, e in cache.entries.items()}
    made.append((loaded, entries, cache.parsed, len(parsed_here)))
(one, entries_one, parsed_one, here_one), (two, entries_two, parsed_two, here_two) = made
print("same posts and problems:", one == two)
print("same cache entries:", entries_one == entries_two)
print("parsed:", parsed_one, parsed_two, "of which here:", here_one, here_two)
print("problems:", len(two.problems), "unreadable:", sorted(str(p) for p in two.unreadable))
"""


def test_posts_a_child_parses_are_those_this_process_would_parse(tmp_path: Path) -> None:
    """A cold build's load has a child parse half the posts (load.PARSE_IN_HALVES_FROM): the
    posts, problems and cache entries it sends back must be those parsed here, and only the
    first half parsed here."""
    sys.path.insert(0, str(PROJECT / "bench"))
    from make_corpus import make

    root = tmp_path / "corpus"
    make(load_module.PARSE_IN_HALVES_FROM + 40, root)
    posts = root / "content/posts"
    (posts / "2020/zz-broken.md").write_text("---\ntitle: [unclosed\n---\nText.\n", encoding="utf-8")
    (tmp_path / "outside.md").write_text("---\ntitle: Outside\n---\n", encoding="utf-8")
    (posts / "2020/zz-outside.md").symlink_to(tmp_path / "outside.md")
    files = load_module.PARSE_IN_HALVES_FROM + 42
    said = subprocess.run(
        [sys.executable, "-c", LOAD_TWICE, str(root)], capture_output=True, text=True, check=True, cwd=PROJECT
    ).stdout
    assert "same posts and problems: True\n" in said
    assert "same cache entries: True\n" in said
    # Every file is read but the link leading out of content/; only the first half here
    assert f"parsed: {files - 1} {files - 1} of which here: {files} {files // 2}\n" in said
    assert "problems: 2 unreadable: ['2020/zz-broken.md', '2020/zz-outside.md']\n" in said


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream", [Terminal(), io.StringIO()], ids=["terminal", "log"])
def test_the_live_count_shows_on_a_terminal_only(
    stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LiveCount, "AFTER_SECONDS", 0.0)
    with LiveCount(stream) as progress:
        progress("Rendering posts", 320, 1000)
        progress("Rendering pages", 256, 0)
    shown = stream.getvalue()
    if isinstance(stream, Terminal):
        assert "Rendering posts 320/1,000 (32%)" in shown
        assert shown.endswith("\r\x1b[K")  # the line is cleared for the summary
    else:
        assert shown == ""  # logs (CI) get the summary line only


def test_a_spare_of_another_shape_is_set_aside(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The spare (the site the last build replaced, kept to start the next from) may be
    anything by then: a folder where a file should be must not break or leak into the build."""
    build(archive, capsys)
    edit(archive / "content/posts/2024/summit.md", "updated: 2024-04-24", "updated: 2024-04-25")
    build(
        archive, capsys
    )  # a whole build (the date a post was updated places it): the old site becomes the spare
    (spare,) = (archive / ".cache").glob("*.spare")
    (spare / "index.html").unlink()
    (spare / "index.html").mkdir()  # a folder where the home page goes
    (spare / "stray.html").write_text("not a page")
    edit(archive / "content/posts/2024/summit.md", "updated: 2024-04-25", "updated: 2024-04-26")
    build(archive, capsys)  # a whole build again: it starts from the spare
    assert not spare.exists() or not (spare / "index.html").is_dir()  # it was taken
    assert tree_bytes(archive / "site", search_index=False) == cold_build(archive, tmp_path)


def spare_of(archive: Path) -> Path:
    (spare,) = (archive / ".cache").glob("*.spare")
    return spare


def a_build_that_fails_after_writing_into_the_spare(archive: Path) -> None:
    post = archive / "content/posts/2023/year-only.md"
    good = post.read_text()
    post.write_text(good.replace("Text.", "Text, see [this](missing.md)."))  # found while rendering
    assert run(archive, "build") == 1
    post.write_text(good)


SPARE_TAMPERING = {
    "nothing": lambda archive: None,
    "a stray file": lambda archive: (spare_of(archive) / "posts/stray.html").write_text("not ours"),
    "a stray file in a new folder": lambda archive: (
        (spare_of(archive) / "posts/2023/year-only/extra").mkdir(),
        (spare_of(archive) / "posts/2023/year-only/extra/stray.html").write_text("not ours"),
    ),
    "a file deleted": lambda archive: (spare_of(archive) / ONE_PAGE).unlink(),
    "a stray file at the top": lambda archive: (spare_of(archive) / "stray.html").write_text("not ours"),
    "a build that failed": a_build_that_fails_after_writing_into_the_spare,
}


@pytest.mark.parametrize("tamper", SPARE_TAMPERING.values(), ids=SPARE_TAMPERING.keys())
def test_the_spare_is_taken_as_recorded_only_while_its_folders_vouch_for_it(
    archive: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tamper: Callable[[Path], object],
) -> None:
    """The site a whole build retires becomes the spare, recorded as its manifest describes it:
    the next whole build takes the spare's files from that record, without listing its
    folders (a second at 10,000 posts), unless one of its folders has changed since."""
    settle(monkeypatch)
    build(archive, capsys)
    post = archive / "content/posts/2024/summit.md"
    for day in range(24, 26):  # whole builds (the date a post was updated places it)
        edit(post, f"updated: 2024-04-{day}", f"updated: 2024-04-{day + 1}")
        build(archive, capsys)
    tamper(archive)
    listed: list[Path] = []
    files_below = write_module.files_below
    monkeypatch.setattr(write_module, "files_below", lambda f: listed.append(f) or files_below(f))
    edit(post, "updated: 2024-04-26", "updated: 2024-04-27")
    build(archive, capsys)
    assert tree_bytes(archive / "site", search_index=False) == cold_build(archive, tmp_path)
    assert (listed == []) == (tamper is SPARE_TAMPERING["nothing"]), listed


def test_the_same_project_named_another_way_is_still_up_to_date(
    archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`build` run in the project folder and `build --root <its full path>` are the same build:
    the second must find the site up to date, not start afresh as if the settings changed."""
    settle(monkeypatch)
    monkeypatch.chdir(archive)
    assert main(["build", "--no-search"]) == 0
    for args in (["--root", str(archive)], ["--root", "."], []):
        capsys.readouterr()
        with monkeypatch.context() as up_to_date:
            up_to_date.setattr(pipeline, "load", refuse)
            assert main([*args, "build", "--no-search"]) == 0, args
        assert written(capsys.readouterr().out) == 0, args
    # A template changed: every page is made again, from the bodies the cache keeps.
    rendered = bodies_rendered(monkeypatch)
    edit(archive / "templates/base.html", "<main", "<main data-edited")
    assert main(["--root", str(archive), "build", "--no-search"]) == 0
    assert rendered == []


# What a build imports only when it needs it: Jinja and markdown-it to render (with email.utils
# for feeds' dates), and what starts child processes (none for this small archive), or only
# when it cannot do without it (importlib.metadata). Importing them all takes longer than the
# up-to-date check itself. Modules that render.lazy registers are named by one that their
# import loads: they are in sys.modules from the start, but these only once they are used.
RENDERING = ("jinja2.environment", "markdown_it.main", "email._parseaddr")
UNUSED = ("multiprocessing", "ctypes", "importlib.metadata")
BUILD_AND_SAY_WHAT_IS_IMPORTED = f"""
import sys
from ihv_archive import load, write
from ihv_archive.cli import main
load.RACY_NS = write.RACY_NS = 0  # every file settled (settle() above)
code = main(sys.argv[1:])
print("imported:", *[name for name in {RENDERING + UNUSED!r} if name in sys.modules])
sys.exit(code)
"""


def build_in_a_new_python(archive: Path, script: str = BUILD_AND_SAY_WHAT_IS_IMPORTED) -> str:
    """`build --no-search` by this script in a Python of its own: what it printed."""
    command = ["-c", script, "--root", str(archive), "build", "--no-search"]
    return subprocess.run(
        [sys.executable, *command],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        check=True,
    ).stdout


def build_and_say_what_is_imported(archive: Path) -> tuple[str, set[str]]:
    """The summary of a build in a Python of its own, and what of RENDERING and UNUSED it imported."""
    printed = build_in_a_new_python(archive)
    return printed, set(printed.splitlines()[-1].removeprefix("imported:").split())


def test_a_build_imports_only_what_it_uses(archive: Path) -> None:
    summary, imported = build_and_say_what_is_imported(archive)
    assert {"jinja2.environment", "markdown_it.main"} <= imported  # a cold build renders
    assert not imported & set(UNUSED), imported
    summary, imported = build_and_say_what_is_imported(archive)  # up to date
    assert written(summary) == 0
    assert imported == set(), imported
    edit(archive / POSTS / "working-together.md", "A year later.", "A year later, again.")
    summary, imported = build_and_say_what_is_imported(archive)  # the quick rebuild: renders, in-process
    assert written(summary) > 0
    assert {"jinja2.environment", "markdown_it.main"} <= imported, imported
    assert not imported & set(UNUSED), imported


def test_a_build_from_another_folder_is_the_same_build(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages name post files as seen from the folder a build runs in, but what a post
    renders does not depend on it: a build run from elsewhere (`--root`) reuses what the
    last one parsed and rendered. Before, it parsed and rendered every post again (61.8 s
    for 41 files written at 10,000 posts)."""
    monkeypatch.chdir(archive)
    build(archive, capsys)
    parsed: list[str] = []
    real_parse = load_module.parse
    monkeypatch.setattr(
        load_module, "parse", lambda raw, shown, *a: parsed.append(shown) or real_parse(raw, shown, *a)
    )
    rendered = bodies_rendered(monkeypatch)
    monkeypatch.chdir(tmp_path)  # the archive is ./archive from here
    edit(archive / POSTS / "working-together.md", "A year later.", "A year later, from elsewhere.")
    assert written(build(archive, capsys)) > 0
    assert parsed == ["archive/content/posts/2024/working-together.md"]
    assert rendered == ["working-together"]
    assert tree_bytes(archive / "site", search_index=False) == cold_build(archive, tmp_path / "cold")
    # and a message names the file as seen from here
    edit(archive / POSTS / "working-together.md", "A year later, from elsewhere.", "See [this](gone.md).")
    status, said = check_output(archive, capsys)
    assert status == 1 and "archive/content/posts/2024/working-together.md:" in said, said


def test_the_preview_starts_from_the_last_previews_cache(archive: Path, tmp_path: Path) -> None:
    from ihv_archive.serve import Rebuilder

    first = Rebuilder(archive, tmp_path / "first", 8000, drafts=False, future=False, say=lambda _: None)
    assert first.rebuild()
    first.save_first()  # as `serve` does once the first build is served
    again = Rebuilder(archive, tmp_path / "again", 8000, drafts=False, future=False, say=lambda _: None)
    assert again.rebuild()
    assert again.parse_cache.parsed == 0 and again.memo.bodies  # nothing parsed, bodies reused
    assert tree_bytes(tmp_path / "again") == tree_bytes(tmp_path / "first")
    # The posts' texts were read with them: the preview keeps them in memory, as it was its
    # render workers, not it, that would read them (and drafts' texts are read by none)
    texts = [entry.result.__dict__["_body"] for entry in again.parse_cache.entries.values()]
    assert len(texts) > 1 and all(isinstance(text, bytes) for text in texts)


def restarted(archive: Path, say: Callable[[str], None] = lambda _: None) -> serve.Rebuilder:
    """The dev server's builder started on port 8000, as `serve` starts it: its first build
    done, and saved."""
    from ihv_archive import serve

    rebuilder = serve.Rebuilder(archive, None, 8000, drafts=False, future=False, say=say)
    assert rebuilder.rebuild()
    rebuilder.save_first()
    return rebuilder


def test_a_restarted_preview_renders_only_what_changed_since(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dev server keeps its preview beside its cache. Started again on the same port, it
    takes from it the pages still as the cache recorded them, removes every other file, and
    renders the rest; then its quick rebuild still finds every page that shows a post."""
    from ihv_archive import serve

    def cold() -> dict[str, bytes]:
        return cold_build(archive, tmp_path, "--base-url", "http://127.0.0.1:8000/news-archive/")

    preview = restarted(archive).out_dir
    assert preview.parent == archive / ".cache" and (preview / "index.html").is_file()
    # While it is stopped: a post edited; a file changed by hand, others added
    edit(archive / "content/posts/2023/year-only.md", "Text.", "Text, edited while stopped.")
    (preview / "tags/index.html").write_bytes(b"changed by hand")
    (preview / "pagefind").mkdir()
    (preview / "pagefind/pagefind.js").write_text("the last search index")
    (preview / "stray.html").write_text("?")
    killed = preview.with_name(f"{preview.name}.old-search-x")  # one a killed server set aside
    (killed / "pagefind").mkdir(parents=True)
    again = restarted(archive)
    assert again.out_dir == preview
    assert 0 < 4 * again.memo.rendered < again.memo.reused
    assert tree_bytes(preview) == cold()
    assert not (preview / "pagefind").exists()  # and the folders left empty
    assert again.tidying is not None  # the old search index, set aside, is deleted in the background
    again.tidying.join()
    assert [p.name for p in preview.parent.iterdir() if p.name.startswith(preview.name)] == [preview.name]
    (archive / POSTS / "working-together.md").unlink()  # its page goes from the preview too
    again = restarted(archive)
    assert again.memo.reused > 0  # kept again: the pages the start before kept are still vouched for
    assert tree_bytes(preview) == cold()
    loads = loads_counted(monkeypatch, serve)
    edit(archive / POSTS / "summit.md", "New joining link", "A new joining link")
    assert again.rebuild()
    assert loads == []  # the quick rebuild, with the recipes of the pages taken from the preview
    assert tree_bytes(preview) == cold()


def test_a_preview_stopped_after_a_session_starts_again_with_nothing_to_render(
    archive: Path, tmp_path: Path
) -> None:
    """What a session made (a quick rebuild, a whole one) is saved when the server stops:
    the next start renders nothing, and its preview is still a cold build's."""
    session = restarted(archive)
    edit(archive / POSTS / "summit.md", "New joining link", "A new joining link")  # quick
    assert session.rebuild()
    (archive / POSTS / "later.md").write_text(
        "---\ntitle: Later\ndate: 2024-05-01\ntags: [events]\nsummary: A post added while serving.\n---\nA new post.\n"
    )  # whole: every list changes
    assert session.rebuild() and session.memo.rendered > 0
    session.save_at_stop()
    again = restarted(archive)
    assert again.memo.rendered == 0 and again.memo.reused > 0
    assert tree_bytes(again.out_dir) == cold_build(
        archive, tmp_path, "--base-url", "http://127.0.0.1:8000/news-archive/"
    )


@pytest.mark.parametrize("how", ["failed", "interrupted"])
def test_a_preview_stopped_after_a_rebuild_that_did_not_finish_saves_nothing_of_it(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A rebuild that found problems, or that Ctrl-C stopped before its pages were in the
    preview, has rendered pages the preview does not hold. Saved with the files the preview
    does hold, the next start would take those old files for the new pages: here, the pages
    that show a post's new tags."""
    from ihv_archive import serve

    session = restarted(archive)
    edit(archive / POSTS / "summit.md", "tags: [events, safeguarding]", "tags: [events]")
    working = archive / POSTS / "working-together.md"
    good = working.read_text()
    if how == "failed":  # and, in the same rebuild, a link to a post that is not there
        working.write_text(good + "\n[gone](../2023/no-such-post.md)\n")
        assert not session.rebuild()
    else:
        monkeypatch.setattr(serve, "sync_site", lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
        with pytest.raises(KeyboardInterrupt):
            session.rebuild()
        monkeypatch.undo()
    session.save_at_stop()
    working.write_text(good)
    again = restarted(archive)
    assert tree_bytes(again.out_dir) == cold_build(
        archive, tmp_path, "--base-url", "http://127.0.0.1:8000/news-archive/"
    )


def test_a_first_build_with_no_cache_to_start_from_leaves_the_preview_as_it_was_if_it_fails(
    archive: Path, tmp_path: Path
) -> None:
    """With no cache to start from, the dev server's first build makes a new preview beside
    the old one, as `build` makes a site. If it finds problems, the old preview stays as it
    was and nothing is left beside it; once they are fixed, the preview is a cold build's
    (the pages of the build that failed are not taken for files)."""
    from ihv_archive import serve

    last = restarted(archive)
    assert last.cache is not None
    preview, before = last.out_dir, tree_bytes(last.out_dir)
    last.cache.file.unlink()  # as if deleted, or made by another version of the code
    edit(archive / POSTS / "summit.md", "New joining link", "A new joining link")
    working = archive / POSTS / "working-together.md"
    good = working.read_text()
    working.write_text(good + "\n[gone](../2023/no-such-post.md)\n")
    session = serve.Rebuilder(archive, None, 8000, drafts=False, future=False, say=lambda _: None)
    assert not session.rebuild()
    assert tree_bytes(preview) == before
    assert [p.name for p in preview.parent.iterdir() if preview.name in p.name] == [preview.name]
    working.write_text(good)
    assert session.rebuild()
    assert tree_bytes(preview) == cold_build(
        archive, tmp_path, "--base-url", "http://127.0.0.1:8000/news-archive/"
    )


def test_a_preview_whose_cache_cannot_be_saved_at_stop_says_so(archive: Path) -> None:
    """Its cache replaced by a folder while it ran (as a disk that refuses a write): the
    server stops all the same, and the terminal says what the next start will do."""
    said: list[str] = []
    session = restarted(archive, said.append)
    assert session.cache is not None
    session.cache.file.unlink()
    session.cache.file.mkdir()
    session.save_at_stop()
    assert said[-1].startswith("The preview's cache was not saved (")
    assert said[-1].endswith("the next start renders this session's pages again.")


def test_old_caches_go_with_their_spares_and_previews(tmp_path: Path) -> None:
    """Only the most recently used caches are kept; what each kept beside it goes with it."""
    folder = tmp_path / ".cache"
    folder.mkdir()
    for n in range(cache_module.KEEP + 2):
        cache = folder / f"kind-{n}.sqlite3"
        cache.write_bytes(b"")
        os.utime(cache, (n, n))  # kind-0 the oldest
        for beside in (".spare", ".preview", ".preview.old-search-1"):
            (folder / f"kind-{n}{beside}").mkdir()
    newest = folder / f"kind-{cache_module.KEEP + 1}.sqlite3"
    cache_module.prune(folder, keep=newest)
    kept = {f"kind-{n}" for n in range(2, cache_module.KEEP + 2)}
    assert {p.name.split(".")[0] for p in folder.iterdir()} == kept
    assert len(list(folder.iterdir())) == 4 * len(kept)


def test_no_cache_clears_every_cache_and_what_lies_beside_it(tmp_path: Path) -> None:
    """`build --no-cache` starts from nothing: no cache file, spare site, preview, search
    index set aside, damaged cache or compiled templates is left."""
    folder = tmp_path / ".cache"
    folder.mkdir()
    for name in ("build-1.sqlite3", "build-1.sqlite3-wal", "build-2.damaged"):
        (folder / name).write_bytes(b"")
    for name in ("build-1.spare", "serve-00-1.preview", "serve-00-1.preview.old-search-x", "templates-1"):
        (folder / name / "inside").mkdir(parents=True)
    cache_module.clear(tmp_path)
    assert list(folder.iterdir()) == []


def test_an_archive_without_posts_is_never_taken_as_up_to_date(archive: Path) -> None:
    """Its feeds can only be dated by the build's time, as a cold build would date them."""
    import feedparser

    shutil.rmtree(archive / "content/posts")
    (archive / "content/posts").mkdir()
    config = load_config(archive)
    with pytest.MonkeyPatch.context() as settled:
        settle(settled)
        for when in (
            datetime(2030, 1, 1, 9, tzinfo=config.zone),
            datetime(2030, 1, 2, 9, tzinfo=config.zone),
        ):
            pipeline.build(config, when, search=False)
            feed = feedparser.parse((archive / "site/feed.xml").read_bytes())
            assert not feed.bozo and feed.entries == []
            assert feed.feed.updated_parsed[:4] == (2030, 1, when.day, 9)


@pytest.mark.parametrize("settled", [False, True], ids=["files just saved", "files settled"])
def test_search_comes_and_goes_with_the_flag(
    archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, settled: bool
) -> None:
    """Nothing changed but the flag: the index must still appear, or go."""
    if settled:
        settle(monkeypatch)
    build(archive, capsys, "--no-search")
    assert not (archive / "site/pagefind").exists()
    assert "search indexed" in build(archive, capsys)
    assert search_index_is_whole(archive / "site")
    assert "no search index" in build(archive, capsys, "--no-search")
    assert not (archive / "site/pagefind").exists()


def test_pagefind_runs_as_its_own_binary_not_through_a_second_python(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pagefind runs once a part of the index: `python -m pagefind` started a Python each
    time, only to exec the binary (some 60 ms a part)."""
    ran: list[list[str]] = []
    real = subprocess.Popen
    monkeypatch.setattr(
        search.subprocess, "Popen", lambda command, **kw: ran.append(command) or real(command, **kw)
    )
    pipeline.build(load_config(archive))
    assert ran and all(Path(command[0]).name.startswith("pagefind") for command in ran), ran
    assert search_index_is_whole(archive / "site")


def test_when_pagefind_fails_on_a_part_the_one_beside_it_is_stopped_and_the_site_kept(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts are indexed two at a time: the first fails, the second would run for a minute."""
    with (archive / "site.toml").open("a") as settings:
        settings.write("search_part_posts = 3\n")
    build(archive, capsys)
    before = tree_bytes(archive / "site", search_index=True)
    fake = tmp_path / "pagefind"
    fake.write_text(
        "#!/bin/sh\n"
        f'if mkdir "{tmp_path}/first" 2>/dev/null; then\n'  # the first part: fails once the second runs
        f'  for i in $(seq 100); do [ -s "{tmp_path}/beside" ] && break; sleep 0.05; done\n'
        '  echo "Error: no room left on the disk" >&2; exit 3\n'
        "fi\n"
        f'echo $$ >> "{tmp_path}/beside"\n'
        "exec sleep 60\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
    search.pagefind.cache_clear()
    edit(archive / "templates/base.html", "<main", "<main data-edited")  # every part again
    try:
        capsys.readouterr()
        assert run(archive, "build") == 1
    finally:
        search.pagefind.cache_clear()
    assert "Pagefind failed: Error: no room left on the disk" in capsys.readouterr().err
    beside = [int(pid) for pid in (tmp_path / "beside").read_text().split()]
    assert len(beside) == 1
    with pytest.raises(ProcessLookupError):
        os.kill(beside[0], 0)  # stopped, and waited for
    assert tree_bytes(archive / "site", search_index=True) == before


@pytest.mark.parametrize(
    "change",
    [("Text.", "Text, with a zebra."), ("tags: []", "tags: [policy]")],
    ids=["text: the quick rebuild", "tags: the whole build"],
)
def test_index_files_that_come_out_the_same_are_not_rewritten(
    archive: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str]
) -> None:
    """Pagefind makes a part whole, but most of its files (a fragment for each page) come
    out as they were: those keep their files, and the summary counts what did change."""
    build(archive, capsys)
    site = archive / "site"

    def files() -> dict[Path, tuple[int, bytes]]:
        return {p: (p.stat().st_ino, p.read_bytes()) for p in site.rglob("*") if p.is_file()}

    before = files()
    edit(archive / "content/posts/2023/year-only.md", *change)
    summary = build(archive, capsys)
    after = files()
    same = [p for p in after if p in before and after[p][1] == before[p][1]]
    changed = len(after) - len(same)
    assert any("pagefind" in p.parts for p in same) and 0 < changed < 20, summary
    assert [p for p in same if after[p][0] != before[p][0]] == []  # each kept its very file
    assert written(summary) == changed and "search indexed" in summary
    assert search_index_is_whole(site)


def fragments(site: Path) -> dict[str, bytes]:
    """The search index's fragment files (a page's text each, named by a digest of it)."""
    return {
        p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.glob("pagefind/**/fragment/*"))
    }


@pytest.mark.parametrize(
    "change",
    [("Text.", "Text, with a zebra."), ("tags: []", "tags: [policy]")],
    ids=["text: the quick rebuild", "tags: the whole build"],
)
def test_pagefind_is_given_the_unchanged_pages_fragments_and_makes_a_cold_builds_index(
    archive: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: tuple[str, str],
) -> None:
    """Pagefind makes no fragment whose file is there already: a part indexed again is seeded
    with its unchanged pages' fragments, and Pagefind makes only the others. The index's
    fragments are then a cold build's, file for file, and none is left over."""
    build(archive, capsys)
    site = archive / "site"
    there_when_run: list[list[str]] = []
    real = search.run_pagefind

    def seen(folder: Path, language: str, parts: list[Any], *args: Any, **kwargs: Any) -> None:
        there_when_run.extend(
            sorted(f.name for f in (folder / bundle).glob("fragment/*")) for bundle, _ in parts
        )
        real(folder, language, parts, *args, **kwargs)

    monkeypatch.setattr(search, "run_pagefind", seen)
    edit(archive / "content/posts/2023/year-only.md", *change)
    assert "search indexed" in build(archive, capsys)
    made = fragments(site)
    assert there_when_run and all(there_when_run), there_when_run  # seeded, and not indexed again
    names = {name.rsplit("/", 1)[1] for name in made}
    assert all(set(seeds) < names for seeds in there_when_run)  # each seed a fragment of the index
    cold = tmp_path / "cold"
    shutil.copytree(archive, cold, ignore=shutil.ignore_patterns(".cache", "site"))
    assert run(cold, "build") == 0
    assert made == fragments(cold / "site")
    assert search_index_is_whole(site)


def small_page(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'<!DOCTYPE html><html lang="en"><head><title>{text}</title></head>'
        f"<body><main data-pagefind-body><h1>{text}</h1><p>{text}, and more words.</p></main></body></html>"
    )


def test_a_part_whose_seeds_do_not_stand_is_indexed_again_from_nothing(tmp_path: Path) -> None:
    """The last index has a fragment under a name this Pagefind would not give it (as another
    version might have): seeded, Pagefind makes the page's fragment under its own name, so the
    seed does not stand, and the part is indexed again without seeds."""
    part = [("pagefind/all/", (2020,))]
    old_site, new_site, clean = tmp_path / "old", tmp_path / "new", tmp_path / "clean"
    for slug in "abc":
        small_page(old_site / f"posts/2020/{slug}/index.html", f"Page {slug}")
    search.run_pagefind(old_site, "en", part)
    (renamed,) = [
        f
        for f in old_site.glob("pagefind/all/fragment/*")
        if search.fragment_page(f.read_bytes()) == "posts/2020/a/index.html"
    ]
    renamed.rename(renamed.with_name("en_0000000.pf_fragment"))
    for slug in "ab":
        (new_site / f"posts/2020/{slug}").mkdir(parents=True)
        os.link(old_site / f"posts/2020/{slug}/index.html", new_site / f"posts/2020/{slug}/index.html")
    small_page(new_site / "posts/2020/c/index.html", "Page c, changed")
    shutil.copytree(new_site, clean)
    search.run_pagefind(clean, "en", part)

    search.index_parts(new_site, "en", part, 1, old_site, search.part_files(old_site, "pagefind/all/"))
    assert fragments(new_site) == fragments(clean)
    assert not (new_site / "pagefind/all/fragment/en_0000000.pf_fragment").exists()


def fake_fragment(url: str) -> bytes:
    return gzip.compress(b'pagefind_dcd{"url":"' + url.encode() + b'","content":"Words."}')


SEED, SEEDED_PAGE = "pagefind/all/fragment/en_abcdef1.pf_fragment", "posts/2020/a/index.html"
SEEDS_AFTER_A_RUN: dict[str, tuple[dict[str, bytes], str, bool]] = {
    # what Pagefind left beside the seed; the version of the last index; whether the seed stands
    "another page's fragment": ({"en_1234567.pf_fragment": fake_fragment("/posts/2020/c/")}, "1.5.2", True),
    "a fragment sharing the seed's 7 digits": (
        {"en_abcdef12.pf_fragment": fake_fragment("/posts/2020/c/")},
        "1.5.2",
        False,
    ),
    "another fragment for the seed's page": (
        {"en_7654321.pf_fragment": fake_fragment("/posts/2020/a/")},
        "1.5.2",
        False,
    ),
    "the seed written into": ({"en_abcdef1.pf_fragment": fake_fragment("/posts/2020/a/")}, "1.5.2", False),
    "the last index made by another version": ({}, "1.4.0", False),
}


@pytest.mark.parametrize("after", SEEDS_AFTER_A_RUN.values(), ids=SEEDS_AFTER_A_RUN.keys())
def test_a_seed_stands_only_if_the_run_can_have_made_it_for_its_page(
    tmp_path: Path, after: tuple[dict[str, bytes], str, bool]
) -> None:
    left, old_version, stands = after
    folder, old_site = tmp_path / "new", tmp_path / "old"
    for top, version in ((folder, "1.5.2"), (old_site, old_version)):
        (top / "pagefind/all/fragment").mkdir(parents=True)
        (top / "pagefind/all/pagefind-entry.json").write_text(json.dumps({"version": version}))
    (folder / SEED).touch()  # a seed: an empty file of ours under the fragment's name
    for name, content in left.items():
        (folder / "pagefind/all/fragment" / name).write_bytes(content)
    assert search.seeds_stand(folder, "pagefind/all/", {SEED: SEEDED_PAGE}, old_site) is stands


def test_an_edit_re_indexes_only_its_part_of_the_search_index(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (archive / "site.toml").open("a") as settings:
        settings.write("search_part_posts = 3\n")
    build(archive, capsys)
    site = archive / "site"
    parts = sorted(p.parent.name for p in site.glob("pagefind/*/pagefind-entry.json"))
    assert len(parts) >= 2, parts
    inodes = {p: p.stat().st_ino for p in site.glob("pagefind/**/*") if p.is_file()}
    edit(archive / "content/posts/2023/year-only.md", "Text.", "Text, with a zebra.")
    assert "search indexed" in build(archive, capsys)
    assert search_index_is_whole(site)
    renewed = {p.relative_to(site).parts[1] for p in inodes if not p.exists() or p.stat().st_ino != inodes[p]}
    (part_2023,) = [name for name in parts if name.startswith("2023") or name.endswith("2023")]
    assert renewed == {part_2023}  # the other parts were carried over, file for file


def check_output(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    status = run(root, "check")
    captured = capsys.readouterr()
    return status, (captured.out + captured.err).replace(str(root), "<root>")


def test_check_reads_the_cache_finds_what_a_cold_check_finds_and_writes_nothing(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    build(archive, capsys)
    rendered = bodies_rendered(monkeypatch)
    edit(archive / "content/posts/2024/summit.md", "use the new link.", "use the [new link](gone.md).")
    edit(archive / "content/posts/2023/year-only.md", "date:", "dat:")
    cold = tmp_path / "cold"
    shutil.copytree(archive, cold, ignore=shutil.ignore_patterns(".cache", "site"))
    before = tree_bytes(archive)
    found = check_output(archive, capsys)
    assert rendered == ["summit"]  # only the edited post's body: the rest came from the cache
    assert found[0] == 1 and "gone.md" in found[1] and "dat" in found[1]
    assert found == check_output(cold, capsys)  # the very problems a check without a cache finds
    assert tree_bytes(archive) == before  # nothing written: not the site, not the cache
    edit(archive / "content/posts/2024/summit.md", "[new link](gone.md)", "new link, please")
    edit(archive / "content/posts/2023/year-only.md", "dat:", "date:")
    assert check_output(archive, capsys)[0] == 0


@pytest.mark.parametrize("damage", ["lost fragments", "lost post texts", "garbage"])
def test_check_with_a_damaged_cache_checks_everything_and_leaves_it(
    archive: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    build(archive, capsys)
    (cache_file,) = (archive / ".cache").glob("*.sqlite3")
    if damage == "garbage":
        cache_file.write_bytes(b"this is not a database" * 100)
    elif damage == "lost post texts":
        with sqlite3.connect(cache_file) as db:
            db.execute("UPDATE files SET body = NULL")
    else:
        with sqlite3.connect(cache_file) as db:
            db.execute("UPDATE fragments SET html = html || 'tampered'")
    # a template change re-renders every page, so every cached body is needed
    edit(archive / "templates/post.html", '<article class="post"', '<article class="post y"')
    edit(archive / "content/posts/2023/year-only.md", "Text.", "See [this](gone.md).")
    before = tree_bytes(archive)
    status, said = check_output(archive, capsys)
    assert status == 1 and "gone.md" in said and "Traceback" not in said
    assert tree_bytes(archive) == before


def test_a_build_keeps_no_body_in_memory_once_its_page_is_written(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What keeps a cold build's memory small: bodies go to the cache as they are rendered,
    and a post page lets go of its body once written (only feeds keep theirs, being few)."""
    from ihv_archive.cache import BuildCache
    from ihv_archive.pipeline import build as build_site

    held: list[str] = []
    original = BuildCache.save

    def save(self: BuildCache, *args: object) -> None:
        held.extend(key for key, (_, body) in self.memo.bodies.items() if body.page_html.held)
        original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(BuildCache, "save", save)
    build_site(load_config(archive), search=False, workers=1)
    assert held == []
    assert (archive / "site/index.html").is_file()


def test_posts_keep_their_bodies_encoded_until_read(archive: Path) -> None:
    """A build holds every post but renders few bodies in its own process (an edit build
    reuses them; a cold one renders them in workers). Bodies loaded from their files stay
    UTF-8 bytes, half the memory of curly-quoted text; those of posts read back from the
    cache stay there until read, and are then kept as bytes."""
    from ihv_archive.cache import BuildCache
    from ihv_archive.content import Post, StoredText
    from ihv_archive.pipeline import build as build_site

    config = load_config(archive)
    build_site(config, search=False, workers=1)
    cache = BuildCache.open(config, read_only=True)
    cache.close()
    posts = [entry.result for entry in cache.parse_cache.entries.values() if isinstance(entry.result, Post)]
    fresh = {post.path: post for post in load(config).posts}
    assert len(posts) == len(fresh) > 1
    assert all(isinstance(post.__dict__["_body"], bytes) for post in fresh.values())
    assert all(isinstance(post.__dict__["_body"], StoredText) for post in posts)
    bodies = [post.body for post in posts]  # read now
    assert any(not body.isascii() for body in bodies)  # and decoded as UTF-8
    assert all(isinstance(post.__dict__["_body"], bytes) for post in posts)
    for post in posts:
        assert post == fresh[post.path] and hash(post) == hash(fresh[post.path])
        assert post.body == fresh[post.path].body


def test_a_whole_build_reads_only_the_post_texts_it_renders(
    archive: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole build after an edit holds every post, but renders the pages of few: a post's
    text is read from the cache only for a post page rendered again (it shows its reading
    time). At 10,000 posts, reading them all was a tenth of such a build."""
    build(archive, capsys)
    read: list[str] = []
    real = cache_module.read_body

    def read_body(db: Callable[[], sqlite3.Connection], path: str, key: str) -> bytes:
        read.append(path)
        return real(db, path, key)

    monkeypatch.setattr(cache_module, "read_body", read_body)
    before = tree_bytes(archive / "site")
    posts = sorted((archive / POSTS).rglob("*.md"))
    copied = posts[len(posts) // 2]
    added = copied.with_name(f"added-{copied.name}")
    added.write_text(copied.read_text().replace("title: ", "title: Added ", 1))
    build(archive, capsys)  # a whole build: a post added
    after = tree_bytes(archive / "site")
    post_pages_again = {
        path for path in after if Urls.year_of_post_page(path) and before.get(path) != after[path]
    }
    assert len(posts) > len(post_pages_again) > 1  # the new one, and its neighbours at least
    assert len(read) == len(set(read)) == len(post_pages_again) - 1  # all but the new one's
    assert f"{added.parent.name}/{added.name}" not in read
    # Every post page again: every text is read, none lost by the builds that kept it (some
    # found their files just saved, read them again, and saved the same post)
    edit(archive / "templates/post.html", '<article class="post"', '<article class="post y"')
    read.clear()
    build(archive, capsys)
    post_pages = [path for path in tree_bytes(archive / "site") if Urls.year_of_post_page(path)]
    assert len(read) == len(set(read)) == len(post_pages)


def test_a_feed_with_no_posts_is_the_same_in_every_build(archive: Path) -> None:
    """A tag no post has yet still has a feed. Its date must not be the build's time, or a
    build with nothing changed would rewrite it and feed readers would see it change."""
    from datetime import UTC, datetime

    import feedparser

    from ihv_archive.pipeline import build as build_site

    with (archive / "content/tags.toml").open("a", encoding="utf-8") as tags:
        tags.write('\n[unused-topic]\nname = "Unused topic"\ndescription = "No post has it yet."\n')
    config = load_config(archive)
    build_site(config, datetime(2030, 1, 1, tzinfo=UTC), search=False)
    feed_file = archive / "site/tags/unused-topic/feed.xml"
    first = feed_file.read_bytes()
    later = build_site(config, datetime(2031, 6, 1, tzinfo=UTC), search=False)
    assert later.rewritten == 0 and feed_file.read_bytes() == first
    empty, site_feed = feedparser.parse(first), feedparser.parse((archive / "site/feed.xml").read_bytes())
    assert not empty.bozo and empty.entries == []
    assert empty.feed.updated_parsed == site_feed.feed.updated_parsed  # the archive's last change


def test_builds_and_checks_run_without_the_cycle_collector_and_give_it_back(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build's objects live until it ends, so the cyclic collector would only walk them in
    vain (cli.no_cycle_collection). It must be back on afterwards, a failed build included:
    the dev server and the tests run in processes that go on."""
    collecting: list[tuple[str, bool]] = []

    def watched(name: str) -> Callable[..., object]:
        real = getattr(cli, name)

        def wrapper(*args: object, **kwargs: object) -> object:
            collecting.append((name, gc.isenabled()))
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(cli, "build", watched("build"))
    monkeypatch.setattr(cli, "check", watched("check"))
    assert gc.isenabled()
    assert run(archive, "build", "--no-search") == 0
    assert run(archive, "check") == 0
    post = next((archive / "content/posts").rglob("*.md"))
    post.write_text(post.read_text().replace("title:", "titel:", 1))
    assert run(archive, "build", "--no-search") == 1
    assert collecting == [("build", False), ("check", False), ("build", False)]
    assert gc.isenabled()


# The program as build.py runs it, noting each cyclic collection and when the build returned.
BUILD_AND_SAY_WHEN_IT_COLLECTED = """
import gc, sys
from ihv_archive import cli
events = []
built = cli.build

def build(*args, **kwargs):
    try:
        return built(*args, **kwargs)
    finally:
        events.append("built")

cli.build = build
gc.callbacks.append(lambda phase, info: phase == "start" and events.append("collected"))
sys.argv[0] = "build.py"
code = cli.run()
print("events:", *events)
sys.exit(code)
"""


def test_a_program_that_ends_with_the_build_does_not_collect_after_it(archive: Path) -> None:
    """Exit frees the build's objects anyway: a collection after the build would walk them
    all in vain, for the 0.17 s an edit at 10,000 posts took (cli.no_cycle_collection)."""
    printed = build_in_a_new_python(archive, BUILD_AND_SAY_WHEN_IT_COLLECTED)
    events = printed.splitlines()[-1].removeprefix("events:").split()
    assert "built" in events, printed
    assert events[events.index("built") :] == ["built"], events
