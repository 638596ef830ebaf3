"""The one writer: a staged site swapped in whole, unchanged files linked, nothing else touched."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import pytest

from ihv_archive.problems import ProblemsFound
from ihv_archive.render import Page, blake
from ihv_archive.write import Staging, Written, files_below, locked, recover, refuse_unsafe_out_dir, signature

from .conftest import lock_held_elsewhere


def page(name: str, content: bytes | None, digest: bytes = b"") -> Page:
    return Page(PurePosixPath(name), content, b"", blake(content) if content is not None else digest)


def write_site(pages: Iterable[Page], out: Path, old: dict[str, bytes] | None = None) -> Written:
    """Each page, with the old site's files (by their contents' digests) where they are the same."""
    with Staging(out, old or {}) as staging:
        for each in pages:
            staging.put(each)
        return staging.swap()


def test_write_replaces_the_whole_folder(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site([page("index.html", b"one"), page("old.html", b"stale")], out)
    write_site([page("index.html", b"two")], out)
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]
    assert (out / "index.html").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no staging folders left behind
    assert oct(out.stat().st_mode & 0o777) == "0o755"


def test_a_write_that_fails_midway_leaves_the_old_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site([page("index.html", b"old")], out)

    def failing() -> Iterable[Page]:
        yield page("index.html", b"new")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_site(failing(), out)
    assert (out / "index.html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_a_build_killed_between_the_two_renames_is_recovered(tmp_path: Path) -> None:
    out = tmp_path / "site"
    (tmp_path / ".site.old-abc").mkdir()
    (tmp_path / ".site.old-abc/index.html").write_text("previous")
    (tmp_path / ".site.new-def").mkdir()
    recover(out)
    assert (out / "index.html").read_text() == "previous"
    assert sorted(os.listdir(tmp_path)) == ["site"]


def test_unchanged_files_are_the_old_sites_very_files_and_changed_ones_new(tmp_path: Path) -> None:
    """A page without bytes, or with the bytes the old file holds, is a hard link to it;
    different bytes, or a file the old site's record does not vouch for, are written."""
    out = tmp_path / "site"
    pages = [page("same.html", b"same"), page("kept.html", b"kept"), page("other.html", b"abcd")]
    write_site(pages, out)
    old = {p.path.as_posix(): p.digest for p in pages}
    inode = {name: os.stat(out / name).st_ino for name in ("same.html", "kept.html", "other.html")}
    changed = [
        page("same.html", b"same"),
        page("kept.html", None, old["kept.html"]),
        page("other.html", b"wxyz"),
    ]
    second = write_site(changed, out, old)
    assert second.rewritten == 1
    assert [(out / n).read_bytes() for n in ("same.html", "kept.html", "other.html")] == [
        b"same",
        b"kept",
        b"wxyz",
    ]
    assert os.stat(out / "same.html").st_ino == inode["same.html"]
    assert os.stat(out / "kept.html").st_ino == inode["kept.html"]
    assert os.stat(out / "other.html").st_ino != inode["other.html"]
    assert second.files == {name: signature(out / name) for name in ("same.html", "kept.html", "other.html")}
    with pytest.raises(ValueError, match="no bytes"):  # a page without bytes the old site lacks
        write_site([page("missing.html", None)], out, old)


def test_no_file_outside_the_staging_folder_is_written(tmp_path: Path) -> None:
    for name in ("../escape.html", "/etc/passwd", ""):
        with pytest.raises(ValueError):
            write_site([page(name, b"x")], tmp_path / "site")
    assert not (tmp_path / "escape.html").exists()


def test_files_below_lists_files_and_links_but_never_follows_them(tmp_path: Path) -> None:
    for name in ("index.html", ".nojekyll", "posts/2024/a/index.html"):
        (tmp_path / "site" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "site" / name).write_text(name)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/secret.html").write_text("not below")
    (tmp_path / "site/linked-folder").symlink_to(tmp_path / "elsewhere")
    found = files_below(tmp_path / "site")
    assert found == {"index.html", ".nojekyll", "posts/2024/a/index.html", "linked-folder"}
    assert files_below(tmp_path / "missing") == set()


@pytest.mark.parametrize(
    "out",
    [".", "content", "content/posts", "templates", "sources", "docs", "..", ".git"],
)
def test_the_output_folder_may_not_be_hold_or_lie_inside_the_project_folders(
    tmp_path: Path, out: str
) -> None:
    root = tmp_path / "project"
    kept = [root / name for name in ("content", "templates", "sources", "docs", ".git")]
    for folder in kept:
        folder.mkdir(parents=True)
    with pytest.raises(ProblemsFound, match="cannot be the output folder"):
        refuse_unsafe_out_dir(root / out, root, kept)


def test_the_default_and_outside_folders_are_fine(tmp_path: Path) -> None:
    root = tmp_path / "project"
    refuse_unsafe_out_dir(root / "site", root, [root / "content"])
    refuse_unsafe_out_dir(tmp_path / "elsewhere", root, [root / "content"])


def test_a_second_build_of_the_same_folder_is_told_plainly(tmp_path: Path) -> None:
    """The lock is a real one: another process holds it while this one asks."""
    out, lock = tmp_path / "site", tmp_path / ".cache/site.lock"
    lock.parent.mkdir()
    refused = pytest.raises(ProblemsFound, match="another build is writing this folder")
    with lock_held_elsewhere(lock), refused, locked(out, lock):
        pass
    with locked(out, lock):  # free again once the other has finished
        pass
